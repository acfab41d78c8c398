"""Accuracy bars on real MNIST (first 7,000 test-file images train, next 1,000 validate, last 2,000 test)
and on the embedded digits. Prints a table and one JSON object as its last line.

    python benchmarks/accuracy.py --data DIR [--only gxnor_cnn,fp_cnn,gxnor_mlp,digits] [--epochs-cnn 30]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402

BARS = {"gxnor_cnn": 0.980, "fp_cnn": 0.985, "gxnor_mlp": 0.95, "digits": 0.95}


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--only", default=",".join(BARS))
    ap.add_argument("--epochs-cnn", type=int, default=None)
    ap.add_argument("--epochs-mlp", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="reports/bench-accuracy")
    args = ap.parse_args()
    set_threads(args.threads)
    from neurosim.pipeline import Overrides, prepare, train_and_report

    runs = {"gxnor_cnn": ("mnist_cnn", "gxnor", args.epochs_cnn), "fp_cnn": ("mnist_cnn", "fp", args.epochs_cnn),
            "gxnor_mlp": ("mnist_mlp", "gxnor", args.epochs_mlp), "digits": ("digits_mlp", "gxnor", None)}
    results = {}
    for key in args.only.split(","):
        wl, method, epochs = runs[key]
        t0 = time.perf_counter()
        p = prepare(wl, Overrides(method=method, epochs=epochs, seed=args.seed), args.data)
        s = train_and_report(p, Path(args.out) / key, progress=False)
        results[key] = {"test_accuracy": s["accuracy"]["test"], "validation_accuracy": s["accuracy"]["validation"],
                        "bar": BARS[key], "pass": s["accuracy"]["test"] >= BARS[key], "epochs": s["epochs_run"],
                        "best_epoch": s["best_epoch"], "samples_per_second": s["samples_per_second"],
                        "resting_probability": s["resting_probability"], "wall_seconds": time.perf_counter() - t0}
        r = results[key]
        print(f"{key:10s} test {100 * r['test_accuracy']:6.2f} %  (bar {100 * r['bar']:.1f} %)  "
              f"val {100 * r['validation_accuracy']:6.2f} %  epochs {r['epochs']} best {r['best_epoch']}  "
              f"{r['samples_per_second']:.0f} samples/s  {r['wall_seconds']:.0f} s", flush=True)
    emit({"benchmark": "accuracy", "results": results})


if __name__ == "__main__":
    main()
