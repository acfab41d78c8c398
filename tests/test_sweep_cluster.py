"""Sweeps on a real Dask LocalCluster (2 worker processes): a worker SIGKILLed in the middle of a point, and the
whole sweep process SIGKILLed (in process, and with its local workers, which go with it). Every point still
finishes, with the numbers of a serial (``workers=0``) run, and a rerun runs only the points that were missing."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

import neurosim
from neurosim.explore.sweep.execute import local_cluster

pytestmark = pytest.mark.slow  # Dask clusters and killed workers: tens of seconds each

SPEC = {"name": "seeds", "base": {"workload": "digits_mlp", "arch": "gxnor",
                                  "set": {"workload.train.epochs": 2, "workload.network": "64-32-10"}},
        "axes": [{"grid": {"seed": [0, 1, 2]}}]}
NUMBERS = ["accuracy.test", "resting_probability", "cycles", "energy_pj", "inference.energy_pj_per_sample"]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return neurosim.sweep(SPEC, out=tmp_path_factory.mktemp("serial") / "s", workers=0, log=None, table=False)


def _mid_point(out: Path) -> str | None:
    """A point whose training is under way: its first epoch checkpointed, its report not yet published."""
    for ck in (out / "points").glob("*/checkpoint.npz"):
        if not (ck.parent / "summary.json").exists():
            return ck.parent.name
    return None


def _records(db: Path) -> dict[str, tuple]:
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(db) as c:
            return {h: (s, t, w) for h, s, t, w in c.execute("SELECT hash, session, finished_at, worker FROM points")}
    except sqlite3.OperationalError:  # the table is not there yet
        return {}


def test_a_worker_killed_mid_point_changes_no_number(serial, tmp_path):
    out = tmp_path / "dist"
    got: list = []
    with local_cluster(2, retries=2) as client:
        pids = client.run(os.getpid)
        run = threading.Thread(target=lambda: got.append(neurosim.sweep(SPEC, out=out, client=client, log=None,
                                                                        table=False)))
        run.start()
        killed, deadline = None, time.monotonic() + 120
        while killed is None and run.is_alive() and time.monotonic() < deadline:
            h = _mid_point(out)
            where = [a for a, keys in client.processing().items() if h and any(h in str(k) for k in keys)]
            if where:
                killed = pids[where[0]]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.02)
        run.join(timeout=180)
    assert killed is not None, "no point was caught mid-way"
    df = got[0]
    assert (df["status"] == "finished").all()
    pd.testing.assert_frame_equal(df[NUMBERS + ["hash"]], serial[NUMBERS + ["hash"]])
    rec = _records(out / "results.sqlite")
    assert not rec[h][2].endswith(f":{killed}")  # the point was run again, by another worker
    assert (out / "points" / h / "summary.json").exists()


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_killed_sweep_reruns_only_the_missing_points(serial, tmp_path, workers):
    f = tmp_path / "seeds.yaml"
    f.write_text(json.dumps(SPEC))  # JSON is YAML
    out = tmp_path / "run"
    db = out / "results.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "neurosim.cli", "sweep", str(f), "--out", str(out),
                             "--workers", workers, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(_records(db)) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=30)  # the local workers go with the sweep that started them
    assert alive == []
    first = _records(db)
    assert 1 <= len(first) < 3, proc.stderr.read().decode()
    lines: list[str] = []
    df = neurosim.sweep(f, out=out, workers=0, log=lines.append, table=False)
    earlier, todo = map(int, re.search(r"(\d+) finished earlier; to run: (\d+) trainings", lines[0]).groups())
    # a point a worker published as the sweep died, before its record was written, is adopted, not run again
    assert earlier >= len(first) and earlier + todo == 3
    after = _records(db)
    assert {h: after[h] for h in first} == first  # the finished points were not run again
    rest = [after[h][0] for h in set(after) - set(first)]
    assert rest.count("adopted") == earlier - len(first) and len(set(rest) - {"adopted"}) == (todo > 0)
    assert (df["status"] == "finished").all()
    pd.testing.assert_frame_equal(df[NUMBERS + ["hash"]], serial[NUMBERS + ["hash"]])
