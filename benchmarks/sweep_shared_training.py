"""Shared training: one training (digits MLP, or --workload) watched by 16 architectures (gxnor with 16 lane counts via
--set) against that training alone (no architecture) and with one architecture; bar: 16 architectures cost at most
(1 + 0.15 x 16) x the training alone. Each is one sweep task run in this process, warm, one BLAS thread (as a
worker runs it), the best of --repeats. Prints one JSON object as its last line.

    python benchmarks/sweep_shared_training.py [--workload mnist_mlp --data DIR] [--epochs 5] [--repeats 3]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

LANES = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048]


def _task(workload: str, epochs: int, lanes: list[int] | None, data: str | None):
    from neurosim.explore.sweep.plan import plan_sweep
    from neurosim.schema.sweep import sweep_from_dict

    base = {"workload": workload, "arch": "gxnor" if lanes else None, "set": {"workload.train.epochs": epochs}}
    axes = [{"grid": {"arch.pe_array.lanes": lanes}}] if lanes else []
    (task,) = plan_sweep(sweep_from_dict({"base": base, "axes": axes}), data).tasks
    return task


def _best(task, repeats: int, data: str | None) -> tuple[float, list[float]]:
    from neurosim.explore.sweep.execute import run_task

    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="neurosim-bench-") as tmp:
            t0 = time.perf_counter()
            run_task(task, tmp, data)
            times.append(time.perf_counter() - t0)
    return min(times), times


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="digits_mlp", help="digits_mlp (default), mnist_mlp, mnist_cnn (--data)")
    ap.add_argument("--data", default=os.environ.get("NEUROSIM_DATA"))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from neurosim.explore.sweep.execute import warm_up

    warm_up()
    data = args.data if args.workload != "digits_mlp" else None
    alone, alone_runs = _best(_task(args.workload, args.epochs, None, data), args.repeats, data)
    one, one_runs = _best(_task(args.workload, args.epochs, LANES[9:10], data), args.repeats, data)
    many, many_runs = _best(_task(args.workload, args.epochs, LANES, data), args.repeats, data)
    bound = 1 + 0.15 * len(LANES)
    print(f"{args.workload}, {args.epochs} epochs: training alone {alone:.2f} s, with 1 architecture {one:.2f} s, with "
          f"{len(LANES)} architectures {many:.2f} s = {many / alone:.2f}x the training alone (bound {bound:.2f}x); "
          f"{(many - alone) / alone / len(LANES) * 100:.1f} % of the training per architecture "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    emit({"benchmark": "sweep_shared_training", "workload": args.workload, "epochs": args.epochs,
          "architectures": len(LANES),
          "seconds_training_alone": alone, "seconds_one_architecture": one, "seconds_16_architectures": many,
          "ratio_to_training_alone": many / alone, "bound": bound, "per_architecture_fraction":
          (many - alone) / alone / len(LANES), "runs": {"alone": alone_runs, "one": one_runs, "many": many_runs},
          "load_average_1min_at_end": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
