"""Training throughput: neurosim's numba engine vs the PyTorch CPU implementation of the same GXNOR
method (benchmarks/torch_gxnor.py, needs the `bench` extra), batch 100, same threads, same run (each
measurement in a fresh process, interleaved); and the cost of the counting observer. Prints a table and one JSON object as its last line.

    python benchmarks/speed.py --data DIR [--threads 2] [--batches 40] [--repeats 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402


def ours(workload: str, data_dir, n: int, batch: int, observer: bool) -> float:
    from neurosim.core.counting import CountingObserver
    from neurosim.core.train import train
    from neurosim.pipeline import Overrides, prepare

    p = prepare(workload, Overrides(epochs=1, batch=batch), data_dir)
    p.data.x_train, p.data.y_train = p.data.x_train[:n], p.data.y_train[:n]
    p.data.x_val = p.data.x_val[:0]
    res = train(p.net, p.data, p.cfg, observer=CountingObserver() if observer else None, progress=False)
    return res.samples_per_second


def worker(args) -> None:
    """One measurement in this (fresh) process: ours with/without observer, or torch."""
    if args.worker == "torch":
        from torch_gxnor import train_torch
        from neurosim.pipeline import Overrides, prepare

        p = prepare({"mlp": "mnist_mlp", "cnn": "mnist_cnn"}[args.net], Overrides(epochs=1), args.data)
        n = args.batches * args.batch
        train_torch(args.net, p.data.x_train[:2 * args.batch], p.data.y_train[:2 * args.batch], p.data.x_test[:10],
                    p.data.y_test[:10], epochs=1, batch=args.batch, threads=args.threads, max_batches=2)
        r = train_torch(args.net, p.data.x_train[:n], p.data.y_train[:n], p.data.x_test[:500], p.data.y_test[:500],
                        epochs=1, batch=args.batch, threads=args.threads, max_batches=args.batches)
        sps = r["samples_per_second"]
        print(json.dumps({"torch": sps}))
    else:
        # plain and observed training alternate in one warm process, so machine drift hits both alike
        wl = {"mlp": "mnist_mlp", "cnn": "mnist_cnn"}[args.net]
        ours(wl, args.data, 2 * args.batch, args.batch, True)  # compile / warm caches
        n = args.batches * args.batch
        plain, observed = [], []
        for _ in range(3):
            plain.append(ours(wl, args.data, n, args.batch, False))
            observed.append(ours(wl, args.data, n, args.batch, True))
        print(json.dumps({"plain": statistics.median(plain), "observer": statistics.median(observed)}))


def measure(args, net: str, what: str) -> dict[str, float]:
    """Run one measurement in a fresh process, so neither side's thread pools or allocator touch the other."""
    cmd = [sys.executable, __file__, "--worker", what, "--net", net, "--threads", str(args.threads), "--batches",
           str(args.batches), "--batch", str(args.batch)] + (["--data", args.data] if args.data else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--nets", default="mlp,cnn")
    ap.add_argument("--worker", choices=["ours", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--net", help=argparse.SUPPRESS)
    args = ap.parse_args()
    set_threads(args.threads)
    if args.worker:
        return worker(args)
    import numpy as np

    have_torch = importlib.util.find_spec("torch") is not None
    if not have_torch:
        print("torch not installed (pip install -e '.[bench]'): PyTorch column skipped")
    results = {}
    for net in args.nets.split(","):
        runs: dict[str, list[float]] = {"plain": [], "observer": [], "torch": []}
        for _ in range(args.repeats):  # interleaved, so drifts of the machine hit every column alike
            for what in ("ours",) + (("torch",) if have_torch else ()):
                for k, v in measure(args, net, what).items():
                    runs[k].append(v)
        row = {"neurosim_samples_per_second": statistics.median(runs["plain"]),
               "neurosim_with_observer_samples_per_second": statistics.median(runs["observer"]),
               "runs": runs}
        row["observer_slowdown"] = row["neurosim_samples_per_second"] / row["neurosim_with_observer_samples_per_second"] - 1
        if have_torch:
            row["torch_samples_per_second"] = statistics.median(runs["torch"])
            row["speedup_vs_torch"] = row["neurosim_samples_per_second"] / row["torch_samples_per_second"]
        results[net] = row
        print(f"{net}: neurosim {row['neurosim_samples_per_second']:.0f} samples/s, with counting observer "
              f"{row['neurosim_with_observer_samples_per_second']:.0f} ({100 * row['observer_slowdown']:+.1f} %)"
              + (f", torch {row['torch_samples_per_second']:.0f}, speed-up x{row['speedup_vs_torch']:.2f}"
                 if have_torch else ""), flush=True)
    emit({"benchmark": "speed", "threads": args.threads, "batch": args.batch, "batches": args.batches,
          "repeats": args.repeats, "numpy": np.__version__, "results": results})


if __name__ == "__main__":
    main()
