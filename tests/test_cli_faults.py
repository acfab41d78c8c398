"""Faults found by an adversarial run of the CLI, kept as regressions: each is one line `neurosim: error: ...` naming
the culprit, exit status 2, and nothing lost or left behind."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurosim import cli

REPO = Path(__file__).resolve().parents[1]


def _main(capsys, *args, env: dict | None = None) -> tuple[int, str, str]:
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        code = cli.main(list(args))
    except SystemExit as e:  # argparse errors
        code = e.code
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("neurosim: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-epoch digits run (its folder, with model.npz and checkpoint.npz)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert cli.main(["train", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    return out


def _arch(tmp_path: Path, old: str, new: str, name: str = "bad_arch.yaml") -> Path:
    p = tmp_path / name
    p.write_text((REPO / "arch_configs" / "gxnor.yaml").read_text().replace(old, new, 1))
    return p


@pytest.mark.parametrize("args,needle", [
    (["train", "--method", "fp", "--N", "2"], "--N: applies to methods dst and gxnor only"),
    (["train", "--data", "/tmp"], "--data: the workload's dataset 'digits' ships with scikit-learn"),
    (["train", "digits_mlp", "--workload", "mnist_mlp"], "two workloads given"),
    (["train", "--out", ""], "--out: empty"),
    (["train", "--out", "."], "is the current folder"),
    (["train", "--seed", "1", "--seed", "2"], "--seed given twice"),
    (["train", "--batch", "1.5"], "--batch: invalid int value"),
    (["train", "--seed", "-1"], "--seed: must be an integer >= 0"),
    (["train", "--lr-start", "0"], "--lr-start: must be a finite number > 0"),
    (["train", "--method", "dst", "--N", "15"], "--N: must be an integer 0..14"),
    (["train", "--batch", "5000"], "--batch: 5000 is larger than the training split"),
    (["train", "workloads/scalesim_lenet.csv"], "a topology CSV is simulated, not trained"),
    (["run", "--ideal-devices", "--epochs", "1"], "--ideal-devices: applies to crossbar architectures only"),
    (["run", "--arch", "nope"], "unknown architecture 'nope'; shipped: bnn"),
    (["run", "--density", "0.3"], "--density: applies to topology CSV workloads only"),
    (["run", "scalesim_lenet.csv", "--epochs", "2"], "--epochs: does not apply to a topology CSV"),
    (["reproduce", "dst-tables", "--seeds", "0"], "--seeds: applies to every table and figure but gxnor-table2 and dst-tables"),
    (["reproduce", "binary-crossbar", "--seeds", ","], "--seeds: give integers >= 0"),
    (["reproduce", "binary-crossbar", "--seeds", "1,1"], "--seeds: each seed once"),
    (["reproduce", "gxnor-table2", "--seed", "-3"], "--seed: must be an integer >= 0"),
])
def test_bad_flags_are_one_line_exit_2(capsys, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    code, _, err = _main(capsys, *args)
    assert code == 2 and needle in _one_line(err), err
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing created, not even an empty folder


@pytest.mark.parametrize("value", ["abc", "0", "99999"])
def test_a_bad_thread_setting_names_the_variable(capsys, tmp_path, value):
    code, _, err = _main(capsys, "train", "--epochs", "1", "--quiet", "--out", str(tmp_path / "o"),
                         env={"NEUROSIM_NUMBA_THREADS": value})
    assert code == 2 and "NEUROSIM_NUMBA_THREADS: got" in _one_line(err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("old,new,needle", [
    ("capacity_bits: 8388608", "capacity_bits: 1", "capacity_bits 1 holds no activation tile"),
    ("name: gxnor\n", "name: ../../escaped\n", "name: got '../../escaped'; allowed: a plain name"),
    ("read_bit:  {energy_pj: 20.0", "read_bit:  {energy_pj: 1e308", "must be <= 1e+09 pJ"),
])
def test_bad_architecture_files_are_one_line_exit_2(capsys, tmp_path, old, new, needle):
    code, _, err = _main(capsys, "run", "--arch", str(_arch(tmp_path, old, new)), "--epochs", "1", "--quiet",
                         "--out", str(tmp_path / "o"))
    line = _one_line(err)
    assert code == 2 and "bad_arch.yaml" in line and needle in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad_arch.yaml"]


def test_a_checkpoint_without_meta_is_refused_naming_it(capsys, tmp_path, trained):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    for f in out.iterdir():
        if f.name != "checkpoint.npz":
            f.unlink()
    z = dict(np.load(out / "checkpoint.npz"))
    del z["meta"]
    np.savez(out / "checkpoint.npz", **z)
    code, _, err = _main(capsys, "train", "--epochs", "1", "--quiet", "--out", str(out), "--resume")
    assert code == 2 and "checkpoint.npz" in _one_line(err) and "meta" in err


def test_evaluating_into_the_models_own_folder_is_refused_even_with_force(capsys, tmp_path, trained):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for args in (["run", "--eval", str(out / "model.npz"), "--out", str(out), "--force"],
                 ["simulate", str(out / "model.npz"), "--out", str(out), "--force"]):
        code, _, err = _main(capsys, *args)
        assert code == 2 and "is the folder of the model being evaluated" in _one_line(err)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_model_whose_short_meta_contradicts_its_workload_is_refused(capsys, tmp_path, trained):
    m = tmp_path / "model.npz"
    z = dict(np.load(trained / "model.npz"))
    meta = json.loads(str(z["meta"]))
    meta["network"] = "64-128-10"
    z["meta"] = np.array(json.dumps(meta))
    np.savez(m, **z)
    code, _, err = _main(capsys, "simulate", str(m), "--out", str(tmp_path / "o"))
    assert code == 2 and "meta.network: '64-128-10' disagrees with meta.spec" in _one_line(err)


def test_reproduce_does_not_overwrite_an_earlier_table_without_force(capsys, tmp_path, trained):
    out = tmp_path / "tables"
    assert _main(capsys, "reproduce", "dst-tables", "--out", str(out))[0] == 0
    (out / "dst_tables.csv").write_text("edited\n")
    code, _, err = _main(capsys, "reproduce", "dst-tables", "--out", str(out))
    assert code == 2 and "pass --force" in _one_line(err) and (out / "dst_tables.csv").read_text() == "edited\n"
    assert _main(capsys, "reproduce", "dst-tables", "--out", str(out), "--force")[0] == 0
    assert (out / "dst_tables.csv").read_text() != "edited\n"
    code, _, err = _main(capsys, "reproduce", "dst-tables", "--out", str(trained))  # a run's report folder
    assert code == 2 and "holds the report of a run" in _one_line(err)


def test_a_non_utf8_topology_is_named(capsys, tmp_path):
    t = tmp_path / "t.csv"
    t.write_bytes(b"\xff\xfeLayer name,IFMAP Height\n")
    code, _, err = _main(capsys, "run", str(t), "--out", str(tmp_path / "o"))
    assert code == 2 and f"{t}: not a UTF-8 text file" in _one_line(err)


@pytest.mark.slow
def test_sigterm_removes_the_partial_report_and_says_so(tmp_path):
    """SIGTERM unwinds like Ctrl-C: the hidden report folder is removed at once (only SIGKILL can leave it)."""
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "neurosim.cli", "run", "--epochs", "30", "--quiet", "--out",
                             str(out)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoint.npz").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # the run finished before the signal: a complete report
        assert (out / "summary.json").exists()
    else:
        assert proc.returncode == 143 and "neurosim: terminated" in err, err
        assert set(p.name for p in out.iterdir()) <= {"checkpoint.npz"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
