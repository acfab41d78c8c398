"""Peak resident memory of GXNOR CNN training on the 8,000 MNIST images (7,000 train + 1,000 validation).
Runs the training in a child process and reads its peak RSS. Prints one JSON object as its last line.

    python benchmarks/memory.py --data DIR [--epochs 1]
"""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402

CHILD = """
import sys
from neurosim.core.train import train
from neurosim.pipeline import Overrides, prepare
p = prepare("mnist_cnn", Overrides(epochs=int(sys.argv[1])), sys.argv[2] if len(sys.argv) > 2 else None)
train(p.net, p.data, p.cfg, progress=False)
"""


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    set_threads(args.threads)
    cmd = [sys.executable, "-c", CHILD, str(args.epochs)] + ([args.data] if args.data else [])
    subprocess.run(cmd, check=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of CNN training: {peak_mb:.0f} MB (bar 1536 MB)")
    emit({"benchmark": "memory", "peak_rss_mb": peak_mb, "bar_mb": 1536, "pass": peak_mb < 1536})


if __name__ == "__main__":
    main()
