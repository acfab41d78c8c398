"""Training throughput: neurosim's numba engine vs the PyTorch CPU implementation of the same GXNOR
method (benchmarks/torch_gxnor.py, needs the `bench` extra), batch 100, same threads, same run; and the
cost of the counting observer. Prints a table and one JSON object as its last line.

    python benchmarks/speed.py --data DIR [--threads 2] [--batches 40] [--repeats 3]
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402


def ours(workload: str, data_dir, n: int, batch: int, observer: bool) -> float:
    from neurosim.core.counting import CountingObserver
    from neurosim.core.train import train
    from neurosim.run import Overrides, prepare

    p = prepare(workload, Overrides(epochs=1, batch=batch), data_dir)
    p.data.x_train, p.data.y_train = p.data.x_train[:n], p.data.y_train[:n]
    p.data.x_val = p.data.x_val[:0]
    res = train(p.net, p.data, p.cfg, observer=CountingObserver() if observer else None, progress=False)
    return res.samples_per_second


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--nets", default="mlp,cnn")
    args = ap.parse_args()
    set_threads(args.threads)
    import numpy as np

    try:
        import torch  # noqa: F401
        from torch_gxnor import train_torch
    except ImportError:
        train_torch = None
        print("torch not installed (pip install -e '.[bench]'): PyTorch column skipped")
    from neurosim.run import Overrides, prepare

    n = args.batches * args.batch
    results = {}
    for net in args.nets.split(","):
        wl = {"mlp": "mnist_mlp", "cnn": "mnist_cnn"}[net]
        ours(wl, args.data, 2 * args.batch, args.batch, True)  # compile / warm caches
        plain, counted, torch_sps = [], [], []
        p = prepare(wl, Overrides(epochs=1), args.data)
        for _ in range(args.repeats):
            plain.append(ours(wl, args.data, n, args.batch, False))
            counted.append(ours(wl, args.data, n, args.batch, True))
            if train_torch is not None:
                r = train_torch(net, p.data.x_train[:n], p.data.y_train[:n], p.data.x_test[:500], p.data.y_test[:500],
                                epochs=1, batch=args.batch, threads=args.threads, max_batches=args.batches)
                torch_sps.append(r["samples_per_second"])
        row = {"neurosim_samples_per_second": statistics.median(plain),
               "neurosim_with_observer_samples_per_second": statistics.median(counted)}
        row["observer_slowdown"] = row["neurosim_samples_per_second"] / row["neurosim_with_observer_samples_per_second"] - 1
        if torch_sps:
            row["torch_samples_per_second"] = statistics.median(torch_sps)
            row["speedup_vs_torch"] = row["neurosim_samples_per_second"] / row["torch_samples_per_second"]
        results[net] = row
        print(f"{net}: neurosim {row['neurosim_samples_per_second']:.0f} samples/s, with counting observer "
              f"{row['neurosim_with_observer_samples_per_second']:.0f} ({100 * row['observer_slowdown']:+.1f} %)"
              + (f", torch {row['torch_samples_per_second']:.0f}, speed-up x{row['speedup_vs_torch']:.2f}"
                 if torch_sps else ""), flush=True)
    emit({"benchmark": "speed", "threads": args.threads, "batch": args.batch, "batches": args.batches,
          "numpy": np.__version__, "results": results})


if __name__ == "__main__":
    main()
