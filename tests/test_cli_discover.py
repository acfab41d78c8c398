"""A discoverable CLI and progress everywhere (issue 13, items 3 and 6): `neurosim list`, `--version`, help for
every flag, "did you mean" for unknown names, progress lines on stderr when not on a terminal."""
from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from neurosim import __version__, cli
from neurosim.progress import Progress, activate, format_duration
from neurosim.testing.datasets import dataset_root

REPO = Path(__file__).resolve().parents[1]
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)  loss \d+\.\d{3}  val acc \d+\.\d%  [\d,]+ samples/s  ETA \d+:\d\d:\d\d$")


def _main(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------- discover
def test_version(capsys):
    code, out, _ = _main(capsys, "--version")
    assert code == 0 and out.strip() == f"neurosim {__version__}"


def _parsers(p: argparse.ArgumentParser, name: str = "neurosim"):
    yield name, p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub_name, sub in a.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_flag_and_argument_has_help():
    missing = [f"{name}: {a.dest}" for name, p in _parsers(cli.parser()) for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help and a.help != argparse.SUPPRESS)]
    assert missing == []


def test_every_command_has_a_description():
    assert [name for name, p in _parsers(cli.parser()) if not p.description] == []


def test_the_top_level_help_describes_and_gives_examples(capsys):
    code, out, _ = _main(capsys, "--help")
    assert code == 0 and "simulate the accelerators" in out and "neurosim list archs" in out
    assert "examples:" in out and "--version" in out


def test_list_archs_names_every_shipped_architecture_with_a_line(capsys):
    from neurosim.hw.arch import shipped_archs

    code, out, _ = _main(capsys, "list", "archs")
    rows = dict(ln.split(None, 1) for ln in out.splitlines())
    assert code == 0 and set(rows) == {p.stem for p in shipped_archs()}
    assert all(len(d) > 10 for d in rows.values()), rows
    assert "gated XNOR" in rows["gxnor"]


def test_list_workloads_methods_components_and_kinds(capsys):
    from neurosim.hw.components import component_classes
    from neurosim.names import METHOD_NAMES

    _, out, _ = _main(capsys, "list", "workloads")
    names = [ln.split()[0] for ln in out.splitlines()]
    assert {"digits_mlp", "mnist_mlp", "mnist_cnn", "scalesim_lenet.csv", "sweep_lanes.yaml"} <= set(names)
    assert "64-256-256-10" in out  # the network of a YAML workload
    _, out, _ = _main(capsys, "list", "methods")
    assert [ln.split()[0] for ln in out.splitlines()] == list(METHOD_NAMES)
    _, out, _ = _main(capsys, "list", "components")
    rows = dict(ln.split(None, 1) for ln in out.splitlines())
    assert set(rows) == set(component_classes()) and all(rows.values())
    _, out, _ = _main(capsys, "list", "kinds")
    assert "gated_xnor" in out


@pytest.mark.parametrize("args,needle", [
    (["run", "--arch", "gxnr"], "unknown architecture 'gxnr' (did you mean 'gxnor'"),
    (["simulate", "m.npz", "--arch", "crosbar_dst"], "unknown architecture 'crosbar_dst' (did you mean 'crossbar_dst'"),
    (["train", "mnist_mpl"], "unknown workload 'mnist_mpl' (did you mean 'mnist_mlp'"),
    (["run", "scalesim_lenit.csv"], "unknown workload 'scalesim_lenit.csv' (did you mean 'scalesim_lenet.csv'"),
    (["train", "--method", "gxnr"], "--method: got 'gxnr' (did you mean 'gxnor'?); allowed: fp, bwn"),
    (["reproduce", "gxnor-tabel2"], "unknown table 'gxnor-tabel2' (did you mean 'gxnor-table2'?); allowed:"),
    (["list", "arch"], "unknown topic 'arch' (did you mean 'archs'?); allowed: archs, workloads"),
    (["data", "fetch", "mnst"], "unknown dataset 'mnst' (did you mean 'mnist'?); allowed: mnist, fashion-mnist"),
    (["trian"], "invalid choice: 'trian' (did you mean 'train'?)"),
    (["run", "--arch", "zzzz"], "unknown architecture 'zzzz'; shipped: bnn"),  # nothing close: no guess
])
def test_unknown_names_suggest_the_closest(capsys, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = _main(capsys, *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("neurosim: error: ") and needle in lines[0], err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- progress
def test_format_duration():
    assert format_duration(70.4) == "0:01:10" and format_duration(3600 * 2 + 5) == "2:00:05"
    assert format_duration(float("nan")) == "?"


def test_epoch_lines_have_loss_accuracy_speed_and_eta():
    buf = io.StringIO()
    ep = Progress(stream=buf, bar=False, interval=3600).epochs(20, 10, start_epoch=2)
    for b in range(1, 11):
        ep.batch(2, b, 0.5, 0.9, 1234.0)  # inside the interval: no line
    ep.epoch({"epoch": 3, "loss": 0.4123, "validation_accuracy": 0.951, "samples_per_second": 1234.4})
    ep.epoch({"epoch": 4, "loss": 0.4, "validation_accuracy": float("nan"), "train_accuracy_running": 0.5,
              "samples_per_second": 10.0})
    ep.close()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and EPOCH_LINE.match(lines[0]), lines
    assert lines[0].startswith("epoch 3/20  loss 0.412  val acc 95.1%  1,234 samples/s  ETA ")
    assert lines[1].startswith("epoch 4/20  loss 0.400  train acc 50.0%  10 samples/s  ETA ")  # no validation split


@pytest.mark.slow
def test_piped_training_prints_one_line_per_epoch_on_stderr(tmp_path):
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "neurosim.cli", "train", "--epochs", "3", "--out", str(out)],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    epochs = [EPOCH_LINE.match(ln) for ln in r.stderr.splitlines()]
    assert [(m.group(1), m.group(2)) for m in epochs if m] == [("1", "3"), ("2", "3"), ("3", "3")], r.stderr
    assert "epoch 1/3" not in r.stdout and "resting probability" in r.stdout  # stdout: the report only
    q = subprocess.run([sys.executable, "-m", "neurosim.cli", "train", "--epochs", "3", "--quiet", "--out",
                        str(tmp_path / "q")], cwd=tmp_path, capture_output=True, text=True)
    assert q.returncode == 0 and "epoch" not in q.stderr, q.stderr


@pytest.mark.slow
def test_long_epochs_print_periodic_lines_and_quiet_prints_nothing():
    from neurosim.core.train import train
    from neurosim.pipeline import Overrides, prepare

    p = prepare("digits_mlp", Overrides(epochs=2))
    buf = io.StringIO()
    train(p.net, p.data, p.cfg, progress=Progress(stream=buf, bar=False, interval=1e-9))
    lines = buf.getvalue().splitlines()
    assert sum(bool(EPOCH_LINE.match(ln)) for ln in lines) == 2
    mid = [ln for ln in lines if re.match(r"^epoch 1/2  batch \d+/26  loss", ln)]
    assert mid and all("ETA" in ln and "samples/s" in ln for ln in mid)
    quiet = io.StringIO()
    train(p.net, p.data, p.cfg, progress=Progress(quiet=True, stream=quiet))
    assert quiet.getvalue() == ""
    bar = io.StringIO()  # a terminal: a tqdm bar, no plain lines
    train(p.net, p.data, p.cfg, progress=Progress(stream=bar, bar=True))
    assert "52/52" in bar.getvalue() and "samples/s" in bar.getvalue() and not EPOCH_LINE.search(bar.getvalue())


def test_the_library_is_silent_unless_a_reporter_is_active(capsys):
    """explore code asks for the current reporter: nothing is printed outside the CLI."""
    from neurosim.progress import current

    with current().run("nothing"):
        pass
    buf = io.StringIO()
    with activate(Progress(stream=buf, bar=False)):
        with current().child("table").run("seed 0", 1, 2) as r:
            r.result = "accuracy 90.00%"
    assert capsys.readouterr().err == ""
    lines = buf.getvalue().splitlines()
    assert lines[0] == "table: run 1/2 seed 0: started"
    assert re.fullmatch(r"table: run 1/2 seed 0: finished in 0:00:00 \(accuracy 90.00%\)", lines[1])


@pytest.mark.slow
def test_a_reproduction_reports_each_run_and_epoch():
    from neurosim.explore.binary_crossbar import reproduce

    import tempfile

    buf = io.StringIO()
    digits = {"name": "digits", "shuffle": True, "train": [0, 300], "validation": [300, 400], "test": [400, 500]}
    with tempfile.TemporaryDirectory() as d, activate(Progress(stream=buf, bar=False)):
        reproduce(Path(d), None, epochs=2, seeds=(0, 1), dataset=digits, crossbar=False, samples=(2,))
    text = buf.getvalue()
    assert "binary-crossbar: run 1/2 seed 0" in text and "binary-crossbar: run 2/2 seed 1" in text
    assert re.search(r"run 2/2 seed 1 .*: finished in \d:\d\d:\d\d \(reference", text), text
    assert re.search(r"binary-crossbar seed 1 binarized lr 0.001: epoch 2/2  loss", text), text


def test_sweep_point_lines_carry_elapsed_and_eta():
    buf = io.StringIO()
    log = cli._SweepLog(Progress(stream=buf, bar=False))
    log("lanes: 4 points")
    log("[1/4] abc123 lanes=128: accuracy.test=0.9")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "lanes: 4 points"
    assert re.fullmatch(r"\[1/4\] abc123 lanes=128: accuracy.test=0.9  elapsed \d:\d\d:\d\d  ETA \d:\d\d:\d\d",
                        lines[1])


_MNIST = dataset_root()


@pytest.mark.slow
@pytest.mark.skipif(not (_MNIST / "mnist").is_dir() and not (_MNIST / "t10k-images-idx3-ubyte.gz").exists(),
                    reason="MNIST t10k files not found (set NEUROSIM_DATA)")
def test_crossbar_table1_reports_the_cpu_baseline_and_each_run():
    """The user report: `reproduce crossbar-table1` was silent for minutes; each run now says when it starts and
    ends, the CPU baseline prints its epochs."""
    from neurosim.explore.self_training import SelfTrainConfig, table1

    buf = io.StringIO()
    with activate(Progress(stream=buf, bar=False)):
        table1(decays=(1.5,), noises=(0.1,), seeds=(0,), data_dir=str(_MNIST), cfg=SelfTrainConfig(max_epochs=1),
               cpu_kw={"epochs": 1})
    lines = buf.getvalue().splitlines()
    assert lines[0] == "crossbar-table1: CPU baseline (784-300-10, SGD): started", lines
    assert any(re.match(r"crossbar-table1 CPU baseline: epoch 1/1  loss", ln) for ln in lines), lines
    runs = [ln for ln in lines if "noise" in ln]
    assert runs[0] == "crossbar-table1: run 1/1 decay 1.5 noise 0.1 seed 0: started", lines
    assert re.fullmatch(r"crossbar-table1: run 1/1 decay 1.5 noise 0.1 seed 0: finished in \d:\d\d:\d\d "
                        r"\(accuracy \d+\.\d\d%, \d+ iterations\)", runs[1]), lines
