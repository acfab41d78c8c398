"""The DST paper's shape: accuracy of `dst` on the MNIST MLP as the weight space Z_N grows ([DST]).
Expected: the lowest accuracy at N = 0 (binary), better with N. Prints the table and a JSON last line.

    python benchmarks/n_sweep.py --data DIR [--Ns 0,1,2,3,4,5,6,7] [--epochs 10]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--Ns", default="0,1,2,3,4,5,6,7")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--workload", default="mnist_mlp")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    set_threads(args.threads)
    from neurosim.core.train import train
    from neurosim.pipeline import Overrides, prepare

    rows = []
    print(f"{'N':>3} {'states':>7} {'bits':>5} {'val %':>7} {'test %':>7}")
    for N in map(int, args.Ns.split(",")):
        p = prepare(args.workload, Overrides(method="dst", N=N, epochs=args.epochs, seed=args.seed), args.data)
        train(p.net, p.data, p.cfg, progress=False)
        val = p.net.accuracy(p.data.x_val, p.data.y_val)
        test = p.net.accuracy(p.data.x_test, p.data.y_test)
        rows.append({"N": N, "states": 2**N + 1, "bits": N + 1, "validation_accuracy": val, "test_accuracy": test})
        print(f"{N:3d} {2**N + 1:7d} {N + 1:5d} {100 * val:7.2f} {100 * test:7.2f}", flush=True)
    accs = [r["test_accuracy"] for r in rows]
    emit({"benchmark": "n_sweep", "workload": args.workload, "epochs": args.epochs, "rows": rows,
          "lowest_at_N0": bool(rows[0]["N"] == 0 and accs[0] == min(accs))})


if __name__ == "__main__":
    main()
