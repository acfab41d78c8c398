"""The Python API (neurosim.run, simulate, train, load_arch, load_workload, RunResult): typed results, the same
reports and numbers as the CLI for the same arguments (the CLI run in this process through neurosim.cli.main),
the CLI's default report folders, and bad arguments raising the CLI's ValueError subclasses with messages that
name the file, the key or the argument, before anything is written."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import neurosim
import neurosim.cli
from neurosim.hw.arch import ArchError, Architecture
from neurosim.pipeline.outputs import OutputError
from neurosim.schema.overrides import OverrideError
from neurosim.schema.workload import Workload, WorkloadError

REPO = Path(__file__).resolve().parents[1]
# a small network and one epoch: the API and the CLI each train it once for the whole module
NET = "64-32-10"
FAST = {"workload.network": NET}
CLI_FAST = ["--set", f"workload.network={NET}"]
# the numbers of a report that do not depend on the wall clock (times, throughput, paths are left out)
NUMBERS = ("accuracy", "cycles", "latency_s", "energy_pj", "energy_pj_by_component", "leakage_pj", "area_um2",
           "inference", "training", "weights", "resting_probability", "config_hash", "config", "network", "seed")


def _numbers(summary: dict) -> dict:
    return {k: summary[k] for k in NUMBERS if k in summary}


def _cli(*argv: str) -> None:
    assert neurosim.cli.main(list(argv)) == 0


def _only_report(cwd: Path) -> Path:
    folders = [p for p in (cwd / "reports").iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1, folders
    return folders[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The same training through the API and through the CLI, each in its own current folder, default ``out``."""
    tmp = tmp_path_factory.mktemp("api")
    with pytest.MonkeyPatch.context() as mp:
        (tmp / "api").mkdir()
        mp.chdir(tmp / "api")
        result = neurosim.run("digits_mlp", "gxnor", epochs=1, seed=0, sets=FAST)
        (tmp / "cli").mkdir()
        mp.chdir(tmp / "cli")
        _cli("run", "--epochs", "1", "--quiet", *CLI_FAST)
        cli_folder = _only_report(tmp / "cli")
    return tmp, result, cli_folder


# ---------------------------------------------------------------------------------------------- run
@pytest.mark.slow  # it carries the module's two trainings (API and CLI, ~15 s)
def test_run_writes_the_same_report_as_the_cli(trained):
    tmp, r, cli_folder = trained
    assert r.folder.parent == tmp / "api" / "reports"  # the CLI's default folder, under the current folder ...
    assert r.folder.name == cli_folder.name  # ... with the very same name (run id, arch, configuration hash)
    assert (r.folder / "summary.json").is_file()
    cli = json.loads((cli_folder / "summary.json").read_text())
    assert _numbers(r.summary) == _numbers(cli)
    assert r.summary["network"] == NET and r.summary["epochs"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(r.folder / "layers.csv"), pd.read_csv(cli_folder /
                                                                                                  "layers.csv"))


@pytest.mark.slow
def test_run_result_is_typed(trained):
    tmp, r, _ = trained
    r = neurosim.RunResult.load(r.folder)  # absolute: independent of the current folder
    assert dataclasses.is_dataclass(r) and isinstance(r, neurosim.RunResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.folder = Path("elsewhere")  # type: ignore[misc]
    assert isinstance(r.folder, Path) and isinstance(r.summary, dict)
    assert r.kind == "training" and r.split == "test"
    assert isinstance(r.accuracy, float) and r.accuracy == r.summary["accuracy"]["test"] and 0.5 < r.accuracy <= 1
    assert isinstance(r.energy_pj, float) and r.energy_pj == r.summary["energy_pj"] > 0
    assert isinstance(r.cycles, int) and r.cycles == r.summary["cycles"] > 0
    assert r.latency_s == pytest.approx(r.cycles / r.summary["clock_hz"])
    assert r.inference["samples"] == 297 and r.inference["energy_pj_per_sample"] > 0
    assert r.model_path == r.folder / "model.npz" and r.model_path.is_file()
    layers = r.layers
    assert isinstance(layers, pd.DataFrame) and r.layers is layers  # read once
    assert set(layers["mode"]) == {"train", "eval"}
    assert {"fc1", "out"} <= set(layers["name"]) and {"cycles", "energy_pj", "phase"} <= set(layers.columns)
    train = layers[layers["mode"] == "train"]
    assert train["energy_pj"].sum() == pytest.approx(r.energy_pj, rel=1e-9)
    assert layers[layers["mode"] == "eval"]["energy_pj"].sum() == pytest.approx(r.inference["energy_pj"], rel=1e-9)
    fp = r.footprint
    assert isinstance(fp, pd.DataFrame) and set(fp["component"]) == set(r.summary["energy_pj_by_component"])
    assert fp["area_um2"].sum() == pytest.approx(r.summary["area_um2"], rel=1e-9)
    assert isinstance(r.counts, pd.DataFrame) and len(r.counts) > 0
    text, page = repr(r), r._repr_html_()
    assert text.startswith("RunResult(training,") and f"cycles={r.cycles}" in text and "summary" not in text
    assert "<table>" in page and f"{100 * r.accuracy:.2f} %" in page and "gxnor" in page and "report.html" in page


@pytest.mark.slow
def test_run_a_saved_model_equals_the_cli_run_eval(trained, tmp_path):
    tmp, r, _ = trained
    model = r.model_path
    mine = neurosim.run(model=model, arch="gxnor", out=tmp_path / "api")
    _cli("run", "--eval", str(model), "--arch", "gxnor", "--out", str(tmp_path / "cli"))
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert mine.kind == "inference" and mine.folder == tmp_path / "api"
    assert _numbers(mine.summary) == _numbers(cli)
    assert mine.accuracy == r.accuracy  # the same model on the same test split
    assert mine.cycles == r.inference["cycles"] and mine.energy_pj == pytest.approx(r.inference["energy_pj"])


@pytest.mark.slow
def test_run_a_topology_csv_equals_the_cli(tmp_path):
    mine = neurosim.run("scalesim_lenet.csv", "gxnor_skip", density=0.25, seed=3, out=tmp_path / "api",
                        sets={"arch.pe_array.lanes": 128})
    _cli("run", "scalesim_lenet.csv", "--arch", "gxnor_skip", "--density", "0.25", "--seed", "3",
         "--set", "arch.pe_array.lanes=128", "--out", str(tmp_path / "cli"))
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert mine.kind == "topology" and mine.accuracy is None and mine.split is None
    assert _numbers(mine.summary) == _numbers(cli) and mine.summary["operands"] == cli["operands"]
    assert mine.summary["arch_file"].endswith("with --set arch.pe_array.lanes=128")
    assert list(mine.layers["name"]) == ["Conv1", "Conv2", "Conv3", "FC1", "FC2"]
    other = neurosim.run("scalesim_lenet.csv", "gxnor_skip", density=0.25, seed=3, out=tmp_path / "256")
    # the override took effect: half the lanes of the default 256, half the array's area
    lanes = [r.footprint.set_index("component").loc["pe_array", "area_units"] for r in (mine, other)]
    assert lanes == [4 * 128, 4 * 256]


@pytest.mark.slow
def test_run_an_onnx_model_equals_the_cli(tmp_path):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((10, 64)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(10, np.float32), "b")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], "fc",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], [w, b])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(tmp_path / "fc.onnx"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path / "a")
        mine = neurosim.run(tmp_path / "fc.onnx", "gxnor", batch=2, seed=1)
        mp.chdir(tmp_path / "b")
        _cli("run", str(tmp_path / "fc.onnx"), "--arch", "gxnor", "--batch", "2", "--seed", "1")
    cli_folder = _only_report(tmp_path / "b")
    assert mine.kind == "onnx" and mine.accuracy is None and mine.folder.name == cli_folder.name == "fc-gxnor-b2"
    cli = json.loads((cli_folder / "summary.json").read_text())
    assert _numbers(mine.summary) == _numbers(cli) and mine.summary["batch"] == 2
    with pytest.raises(ValueError, match=r"epochs=: does not apply to an ONNX model"):
        neurosim.run(tmp_path / "fc.onnx", epochs=1, out=tmp_path / "x")


# ---------------------------------------------------------------------------------------------- simulate, train
@pytest.mark.slow
def test_simulate_equals_the_cli_simulate(trained, tmp_path):
    tmp, r, _ = trained
    model = str(r.model_path)
    mine = neurosim.simulate(model, "gxnor_skip", split="validation", batch=50, out=tmp_path / "api",
                             sets={"arch.pe_array.lanes": 128, "workload.dataset.validation": [1300, 1400]})
    _cli("simulate", model, "--arch", "gxnor_skip", "--split", "validation", "--batch", "50", "--out",
         str(tmp_path / "cli"), "--set", "arch.pe_array.lanes=128", "--set", "workload.dataset.validation=[1300, 1400]")
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert _numbers(mine.summary) == _numbers(cli)
    assert mine.kind == "inference" and mine.split == "validation" and mine.summary["samples"] == 100
    assert mine.accuracy == cli["accuracy"]["validation"]
    assert set(mine.layers["mode"]) == {"eval"}
    pd.testing.assert_frame_equal(mine.layers, pd.read_csv(tmp_path / "cli" / "layers.csv"))


@pytest.mark.slow
def test_simulate_default_folder_is_the_clis(trained, tmp_path, monkeypatch):
    tmp, r, _ = trained
    model = str(r.model_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    mine = neurosim.simulate(model, "gxnor")
    monkeypatch.chdir(tmp_path / "b")
    _cli("simulate", model, "--arch", "gxnor")
    assert mine.folder.name == _only_report(tmp_path / "b").name and "-gxnor-test-" in mine.folder.name


@pytest.mark.slow
def test_train_without_an_accelerator(tmp_path):
    r = neurosim.train(epochs=1, sets={**FAST, "workload.train.batch": 100}, out=tmp_path / "t")
    _cli("train", "--epochs", "1", "--batch", "100", *CLI_FAST, "--quiet", "--out", str(tmp_path / "cli"))
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert r.kind == "training" and r.energy_pj is None and r.cycles is None and r.area_mm2 is None
    assert r.accuracy == cli["accuracy"]["test"] and r.summary["config_hash"] == cli["config_hash"]
    assert isinstance(r.layers, pd.DataFrame) and "operand_pairs" in r.layers.columns
    assert r.model_path is not None and r.inference == {}
    with pytest.raises(OutputError, match="footprint.csv: not in this report"):
        r.footprint


# ---------------------------------------------------------------------------------------------- loading
def test_load_arch_applies_sets_as_the_file_would():
    a = neurosim.load_arch("gxnor")
    assert isinstance(a, Architecture) and a.name == "gxnor" and a.component("pe_array").attributes.lanes == 256
    b = neurosim.load_arch("gxnor", {"arch.pe_array.lanes": 128, "arch.clock_mhz": 500})
    c = neurosim.load_arch(REPO / "arch_configs" / "gxnor.yaml", ["arch.pe_array.lanes=128", "arch.clock_mhz=500"])
    for x in (b, c):
        assert x.component("pe_array").attributes.lanes == 128 and x.clock_hz == 5e8
        assert x.source_file.endswith("gxnor.yaml with --set arch.pe_array.lanes=128, --set arch.clock_mhz=500")


def test_load_workload_applies_sets():
    w = neurosim.load_workload("digits_mlp")
    assert isinstance(w, Workload) and w.network == "64-256-256-10" and w.train["epochs"] == 30
    v = neurosim.load_workload("digits_mlp", {"workload.train.epochs": 2, "seed": 4, "workload.network": NET})
    assert v.train["epochs"] == 2 and v.seed == 4 and v.network == NET and "with --set" in v.source


@pytest.mark.parametrize("call, error, message", [
    (lambda: neurosim.load_arch("gxnor", {"arch.pe_array.lane": 3}), OverrideError,
     r"--set arch.pe_array.lane: unknown key 'lane' of component 'pe_array'.*allowed: its attributes \(kind, lanes"),
    (lambda: neurosim.load_arch("gxnor", {"arch.pe_array.lanes": -3}), ArchError,
     r"--set arch.pe_array.lanes=-3: .*gxnor.yaml: components\[3\].attributes.lanes: must be >= 1"),
    (lambda: neurosim.load_arch("no_such_arch"), ArchError, r"unknown architecture 'no_such_arch'; shipped: .*gxnor"),
    (lambda: neurosim.load_arch("gxnor", {"workload.N": 2}), ValueError, r"--set workload.N=2: an architecture takes"),
    (lambda: neurosim.load_arch("gxnor", "arch.clock_mhz=5"), OverrideError, r"sets='arch.clock_mhz=5': give a "),
    (lambda: neurosim.load_arch("gxnor", ["arch.clock_mhz"]), OverrideError, r"--set arch.clock_mhz: expected KEY="),
    (lambda: neurosim.load_arch("gxnor", {"pe_array.lanes": 3}), OverrideError, r"must start with 'workload.' or"),
    (lambda: neurosim.load_workload("digits_mlp", {"workload.train.epochs": 0}), WorkloadError,
     r"--set workload.train.epochs=0: .*digits_mlp.yaml: train.epochs: must be >= 1, got 0"),
    (lambda: neurosim.load_workload("digits_mlp", {"workload.nope": 1}), OverrideError,
     r"--set workload.nope: unknown workload key 'nope'; allowed: name, "),
    (lambda: neurosim.load_workload("digits_mlp", {"seed": 1, "workload.seed": 2}), OverrideError,
     r"--set workload.seed: given twice"),
    (lambda: neurosim.load_workload("no_such_workload"), WorkloadError, r"workload 'no_such_workload' not found"),
    (lambda: neurosim.load_workload("scalesim_lenet.csv"), WorkloadError, r"a topology CSV is simulated"),
    (lambda: neurosim.load_workload("digits_mlp", {"arch.clock_mhz": 5}), ValueError, r"a workload takes workload"),
    (lambda: neurosim.load_workload(3), ValueError, r"name_or_path=: expected a name or a path, got 3"),
])
def test_bad_loads_name_the_key(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------------------------- bad runs
@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": 0}, ValueError, r"epochs=: must be an integer >= 1, got 0"),
    ({"N": True}, ValueError, r"N=: must be an integer >= 0"),
    ({"method": "nope"}, ValueError, r"--method: got 'nope'; allowed: fp, bwn"),
    ({"N": 2}, ValueError, r"--N: method 'gxnor' is ternary"),
    ({"seed": 1, "sets": {"seed": 2}}, ValueError, r"--seed and --set seed=2: both set seed"),
    ({"density": 0.3}, ValueError, r"density=: applies to topology CSV and ONNX workloads only"),
    ({"workload": "scalesim_lenet.csv", "epochs": 2}, ValueError, r"epochs=: does not apply to a topology CSV"),
    ({"workload": "scalesim_lenet.csv", "sets": {"workload.N": 2}}, ValueError,
     r"--set workload.N=2: does not apply to a topology CSV"),
    ({"sets": {"arch.pe_array.lanes": 0}}, ArchError, r"--set arch.pe_array.lanes=0: .*lanes: must be >= 1"),
    ({"sets": {"workload.train.lr_start": -1}}, WorkloadError, r"--set workload.train.lr_start=-1: .*lr_start"),
    ({"arch": "no_such_arch"}, ArchError, r"unknown architecture 'no_such_arch'"),
    ({"workload": "no_such_workload"}, WorkloadError, r"workload 'no_such_workload' not found"),
    ({"ideal_devices": True}, ValueError, r"ideal_devices=: applies to crossbar architectures only"),
    ({"resume": True, "force": True}, ValueError, r"force=: cannot be combined with resume="),
    ({"model": "nothing_here.npz"}, ValueError, r"nothing_here.npz: no such file"),
    ({"model": "m.npz", "epochs": 2}, ValueError, r"epochs=: does not apply to a saved model"),
    ({"model": "m.npz", "seed": 0}, ValueError, r"seed=: a saved model's network is rebuilt"),
    ({"workload": "scalesim_lenet.csv", "N": 0}, ValueError, r"N=: does not apply to a topology CSV"),
    ({"out": ""}, ValueError, r"out=: give a folder"),
])
def test_bad_runs_raise_the_clis_errors_and_write_nothing(kwargs, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kwargs.setdefault("out", tmp_path / "r")
    with pytest.raises(error, match=message):
        neurosim.run(**kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_folder_with_another_report_is_refused_unless_force(trained, tmp_path):
    tmp, r, _ = trained
    model = r.model_path
    first = neurosim.simulate(model, out=tmp_path / "s")
    with pytest.raises(OutputError, match=r"s: holds the report of another run .*pass --force"):
        neurosim.simulate(model, out=tmp_path / "s")
    again = neurosim.simulate(model, out=tmp_path / "s", force=True)
    assert again.cycles == first.cycles
    with pytest.raises(OutputError, match="is the folder of the model being evaluated"):
        neurosim.simulate(model, out=model.parent)
    with pytest.raises(ValueError, match=r"split=: got 'dev'; allowed: test, validation, train"):
        neurosim.simulate(model, split="dev", out=tmp_path / "x")
    with pytest.raises(ValueError, match=r"--set arch.pe_array.lanes=8: the architecture is already loaded"):
        neurosim.simulate(model, neurosim.load_arch("gxnor"), sets={"arch.pe_array.lanes": 8}, out=tmp_path / "x")
    with pytest.raises(ValueError, match=r"--set arch.pe_array.lanes=8: train has no architecture"):
        neurosim.train(sets={"arch.pe_array.lanes": 8}, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_load_of_a_folder_without_a_report(tmp_path):
    with pytest.raises(OutputError, match="nope: does not exist"):
        neurosim.RunResult.load(tmp_path / "nope")
    with pytest.raises(OutputError, match=r"holds no neurosim report \(no summary.json\)"):
        neurosim.RunResult.load(tmp_path)
    (tmp_path / "summary.json").write_text("[1, 2]")
    with pytest.raises(OutputError, match="not a run summary"):
        neurosim.RunResult.load(tmp_path)


# ---------------------------------------------------------------------------------------------- the package
def test_import_neurosim_is_cheap_and_exports_the_api():
    code = ("import sys, neurosim; heavy = [m for m in ('numba', 'pandas', 'dask', 'matplotlib', 'neurosim.api',"
            " 'neurosim.pipeline') if m in sys.modules]; assert heavy == [], heavy; "
            "r = neurosim.RunResult; assert 'numba' not in sys.modules and 'pandas' not in sys.modules; "
            "assert {'run', 'simulate', 'train', 'load_arch', 'load_workload', 'sweep', 'RunResult'} <= set(dir("
            "neurosim)); print(neurosim.run.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "neurosim.api"
    with pytest.raises(AttributeError, match="module 'neurosim' has no attribute 'nope'"):
        neurosim.nope  # noqa: B018


def test_the_package_is_typed_and_the_test_extra_runs_the_notebook():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+")
    assert (REPO / "neurosim" / "py.typed").is_file()
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["neurosim"]
    extra = " ".join(meta["project"]["optional-dependencies"]["test"])
    assert all(name in extra for name in ("nbclient", "nbformat", "ipykernel"))
    import inspect

    sig = inspect.signature(neurosim.run)
    assert sig.return_annotation in ("RunResult", neurosim.RunResult)
    assert all(p.kind is p.KEYWORD_ONLY for n, p in sig.parameters.items() if n not in ("workload", "arch"))


@pytest.mark.slow
def test_a_run_leaves_the_matplotlib_backend_as_it_was(tmp_path):
    """The report writers switch matplotlib to Agg; the API puts the caller's backend back (a notebook's inline
    backend would otherwise show no figures)."""
    import matplotlib

    before = matplotlib.get_backend()
    try:
        matplotlib.use("svg")
        neurosim.run("scalesim_lenet.csv", out=tmp_path / "r")
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


@pytest.mark.slow
def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    """The README's "Python API" block, run as written in an empty folder (its reports go under it)."""
    import re

    text = (REPO / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```", section, flags=re.S | re.M)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(blocks[0], "README.md (Python API)", "exec"), scope)
    r, skip, arch = scope["result"], scope["skip"], scope["arch"]
    assert r.folder.parent == tmp_path / "reports" and skip.folder.parent == tmp_path / "reports"
    assert skip.accuracy == r.accuracy and arch.clock_hz == 5e8
    assert "fc1" in capsys.readouterr().out
