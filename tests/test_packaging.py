"""Packaging: the wheel ships the architecture files and workloads, and the shipped names resolve from any directory.

The data live once, at the repo root (arch_configs/, workloads/); pyproject.toml maps them into the packages
neurosim.arch_configs and neurosim.workloads. The wheel is built from a copy of the source tree in a temp folder
(no install, nothing written into the repo)."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from neurosim.hw.arch import ARCH_DIR, find_arch, load_arch, shipped_archs
from neurosim.schema.workload import WORKLOAD_DIR, WorkloadError, load_workload, resolve_workload_path

REPO = Path(__file__).resolve().parents[1]
ARCHS = sorted(p.name for p in (REPO / "arch_configs").glob("*.yaml"))
WORKLOADS = sorted(p.name for p in (REPO / "workloads").iterdir() if p.suffix in (".yaml", ".csv"))
# what a build never needs (and the repo may hold: virtual environments, build outputs, reports, data)
_SKIP = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", "*.nbi",
                               "*.nbc", ".pytest_cache", ".hypothesis", "reports", "shared")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=_SKIP)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "-w", str(tmp / "dist"), "--no-deps", "-q"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"pip wheel failed:\n{r.stdout}\n{r.stderr}"
    wheels = list((tmp / "dist").glob("neurosim_dst-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as z:
        yield z


@pytest.mark.slow
def test_wheel_ships_the_architecture_files_and_workloads(wheel):
    names = set(wheel.namelist())
    assert "neurosim/arch_configs/gxnor.yaml" in names
    assert "neurosim/workloads/digits_mlp.yaml" in names
    assert {"neurosim/workloads/scalesim_lenet.csv", "neurosim/workloads/scalesim_alexnet.csv",
            "neurosim/workloads/neurosim_vgg8.csv"} <= names
    assert {f"neurosim/arch_configs/{n}" for n in ARCHS} <= names
    assert {f"neurosim/workloads/{n}" for n in WORKLOADS} <= names
    assert wheel.read("neurosim/arch_configs/gxnor.yaml") == (REPO / "arch_configs" / "gxnor.yaml").read_bytes()
    # inside the package, never as top-level folders of site-packages
    assert not [n for n in names if n.split("/")[0] in ("arch_configs", "workloads")]


@pytest.mark.slow
def test_wheel_holds_every_subpackage(wheel):
    """pyproject.toml lists the packages by hand (packages.find cannot pick up the mapped data folders)."""
    names = set(wheel.namelist())
    missing = [str(p.relative_to(REPO)) for p in sorted((REPO / "neurosim").rglob("*.py"))
               if "__pycache__" not in p.parts and str(p.relative_to(REPO).as_posix()) not in names]
    assert missing == [], f"not in the wheel (add the subpackage to [tool.setuptools] packages): {missing}"


def test_shipped_names_resolve_from_an_empty_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arch = find_arch("gxnor")
    assert arch.is_file() and arch.read_text().strip()
    assert arch.parent == ARCH_DIR
    assert load_arch("crossbar_training_itself").name  # the architecture seed 004's tables read by name
    wl = resolve_workload_path("digits_mlp")
    assert wl.is_file() and wl.read_text().strip()
    assert wl.parent == WORKLOAD_DIR
    assert load_workload("digits_mlp").source == str(wl)
    csv = resolve_workload_path("scalesim_lenet.csv")  # a shipped topology CSV by its bare name
    assert csv.is_file() and csv == WORKLOAD_DIR / "scalesim_lenet.csv"
    assert {p.stem for p in shipped_archs()} >= {"gxnor", "crossbar_dst", "bwn_offchip", "dst_onchip"}


def test_a_local_workloads_folder_comes_before_the_shipped_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "workloads").mkdir()
    mine = tmp_path / "workloads" / "digits_mlp.yaml"
    mine.write_text((WORKLOAD_DIR / "digits_mlp.yaml").read_text())
    assert resolve_workload_path("digits_mlp").resolve() == mine.resolve()
    given = tmp_path / "x.csv"
    given.write_text("")
    assert resolve_workload_path(given) == given  # a path as given if it exists
    with pytest.raises(WorkloadError, match="not found .*./workloads and the shipped workloads"):
        resolve_workload_path("no_such_workload")
