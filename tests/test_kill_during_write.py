"""Interrupted and killed writes: a run never leaves a half-written report, a mixture of two reports or a temporary
file behind. An interrupt (Ctrl-C) cleans up at once; a kill (SIGKILL: no cleanup possible) may leave a hidden
temporary that the next command into the folder finishes or removes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from neurosim.pipeline import Overrides, prepare
from neurosim.pipeline import training as training_stage
from neurosim.pipeline.outputs import claim, incoming
from neurosim.pipeline.training import train_and_report

REPO = Path(__file__).resolve().parents[1]


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow
def test_interrupt_while_the_report_is_written_leaves_only_the_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"

    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(training_stage, "save_model", interrupted)  # after layers.csv, before summary.json
    with pytest.raises(KeyboardInterrupt):
        train_and_report(prepare("digits_mlp", Overrides(epochs=1)), out, progress=False)
    assert _listing(out) == ["checkpoint.npz"]  # the previous state: the checkpoint, no partial report
    assert _listing(tmp_path) == ["run"]  # no hidden folder beside it


def _killed_run(tmp_path: Path, out: Path, target: str) -> subprocess.CompletedProcess:
    """A one-epoch run whose process is killed (os._exit, like SIGKILL: no cleanup) inside ``target``."""
    script = f"""
import os, sys
sys.path.insert(0, {str(REPO)!r})
import neurosim.pipeline.training as t
import neurosim.fileio as f
from neurosim.pipeline import Overrides, prepare
target = {target!r}
if target == "report":
    t.write_json = lambda *a, **k: os._exit(9)  # the summary is the last file of the report
else:  # the checkpoint: die with the temporary file half-written
    real = f.os.replace
    def die(src, dst):
        if str(dst).endswith("checkpoint.npz"):
            os._exit(9)
        real(src, dst)
    f.os.replace = die
t.train_and_report(prepare("digits_mlp", Overrides(epochs=1)), __import__("pathlib").Path({str(out)!r}),
                   progress=False)
"""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.slow
def test_kill_while_the_report_is_written_is_finished_by_the_next_resume(tmp_path):
    out = tmp_path / "run"
    r = _killed_run(tmp_path, out, "report")
    assert r.returncode == 9, r.stderr
    assert _listing(out) == ["checkpoint.npz"] and incoming(out).exists()  # the unfinished report is hidden
    code = subprocess.run([sys.executable, "-m", "neurosim.cli", "train", "--epochs", "1", "--quiet", "--resume",
                           "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert code.returncode == 0, code.stderr
    assert {"summary.json", "layers.csv", "model.npz", "checkpoint.npz"} <= set(_listing(out))
    assert json.loads((out / "summary.json").read_text())["epochs_run"] == 1
    assert _listing(tmp_path) == ["run"]


@pytest.mark.slow
def test_kill_while_the_checkpoint_is_written_leaves_no_temporary_after_the_next_run(tmp_path):
    out = tmp_path / "run"
    r = _killed_run(tmp_path, out, "checkpoint")
    assert r.returncode == 9, r.stderr
    left = _listing(out)
    assert "checkpoint.npz" not in left and any(n.endswith(".tmp") for n in left)  # what a kill leaves
    claim(out)  # what every run does first
    assert _listing(out) == []
    code = subprocess.run([sys.executable, "-m", "neurosim.cli", "train", "--epochs", "1", "--quiet", "--out",
                           str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert code.returncode == 0, code.stderr
    assert not [n for n in _listing(out) if n.endswith(".tmp")]
