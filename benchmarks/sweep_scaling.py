"""Sweep scaling: 8 independent training points (the digits MLP on gxnor, seeds 0-7) run on a Dask LocalCluster of
1 worker and of 2 workers (one thread each, numba warmed at start); the speedup of 2 workers over 1 (target >= 1.7x
on 2 free cores). The clusters start before the clock; the points are planned once. Prints one JSON object as its
last line.

    python benchmarks/sweep_scaling.py [--points 8] [--epochs 3] [--repeats 1]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402


def _fail(task, e: BaseException) -> None:
    raise e


def _timed(plan, workers: int, repeats: int) -> tuple[list[float], list[float]]:
    """Wall seconds of each repeat, and the seconds its tasks took on their workers (summed)."""
    from neurosim.explore.sweep.execute import execute, local_cluster

    wall: list[float] = []
    busy: list[float] = []
    with local_cluster(workers) as client:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="neurosim-bench-") as tmp:
                done: list[dict] = []
                t0 = time.perf_counter()
                execute(plan.tasks, Path(tmp), done.append, _fail, client=client)
                wall.append(time.perf_counter() - t0)
                assert len(done) == len(plan.tasks)
                busy.append(sum(r["seconds"] for r in done))
    return wall, busy


def main() -> None:
    import argparse
    import os

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    from neurosim.explore.sweep.plan import plan_sweep
    from neurosim.schema.sweep import sweep_from_dict

    spec = {"base": {"workload": "digits_mlp", "arch": "gxnor", "set": {"workload.train.epochs": args.epochs}},
            "axes": [{"grid": {"seed": list(range(args.points))}}]}
    plan = plan_sweep(sweep_from_dict(spec))
    load0 = os.getloadavg()[0]
    one, busy1 = _timed(plan, 1, args.repeats)
    two, busy2 = _timed(plan, 2, args.repeats)
    t1, t2 = statistics.median(one), statistics.median(two)
    b1, b2 = statistics.median(busy1), statistics.median(busy2)
    print(f"{args.points} training points, {args.epochs} epochs: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s, "
          f"speedup {t1 / t2:.2f}x; the points' own time {b1:.1f} s on 1 worker, {b2:.1f} s on 2 (a point slower on "
          f"2 workers: the cores are shared); load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    emit({"benchmark": "sweep_scaling", "points": args.points, "epochs": args.epochs, "seconds_1_worker": one,
          "seconds_2_workers": two, "speedup": t1 / t2, "target": 1.7, "task_seconds_1_worker": busy1,
          "task_seconds_2_workers": busy2, "cores": os.cpu_count(), "load_average_1min_at_start": load0,
          "load_average_1min_at_end": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
