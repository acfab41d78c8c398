"""One epoch of [TrainingItself] crossbar self-training of 784-300-10 on 5,000 MNIST images (test-split images 0-4,999)
with full hardware accounting (every read, conversion, subtraction, filter, sign, write pulse and control op
charged from arch_configs/crossbar_training_itself.yaml). Bar: under 30 s wall. Last line: one JSON object.

    python benchmarks/crossbar_epoch.py --data DIR [--threads 2]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=20)
    args = ap.parse_args()
    set_threads(args.threads)
    from neurosim.explore.self_training import DATA_NOTE, SelfTrainConfig, SelfTrainer, load_mnist_split

    x_tr, y_tr, x_te, y_te = load_mnist_split(args.data)
    tr = SelfTrainer(cfg=SelfTrainConfig(batch=args.batch, max_epochs=1, window=10 ** 9))
    t0 = time.perf_counter()
    tr.train(x_tr, y_tr)
    wall = time.perf_counter() - t0
    acc = tr.accuracy(x_te, y_te)
    s = tr.summary()
    print(f"one epoch, {s['iterations']} samples, {s['updates']} writes: wall {wall:.1f} s (bar < 30 s); "
          f"test accuracy {100 * acc:.2f} %; simulated {s['time_s'] * 1e3:.3f} ms, {s['energy_pj'] * 1e-9:.3f} mJ")
    emit({"benchmark": "crossbar_epoch", "wall_s": wall, "bar_s": 30.0, "pass": wall < 30.0, "samples": s["iterations"],
          "updates": s["updates"], "test_accuracy": acc, "sim_time_s": s["time_s"], "energy_pj": s["energy_pj"],
          "energy_breakdown_pj": s["energy_breakdown_pj"], "threads": args.threads, "data": DATA_NOTE})


if __name__ == "__main__":
    main()
