"""Shared helpers of the benchmark scripts: argument parsing, thread settings, the final JSON line."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def set_threads(n: int) -> None:
    """Pin BLAS/OpenMP/numba to n threads; must run before numpy is imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)


def parser(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", default=os.environ.get("NEUROSIM_DATA"),
                    help="MNIST folder or root holding mnist/ (default: $NEUROSIM_DATA)")
    ap.add_argument("--threads", type=int, default=2)
    return ap


def emit(obj: dict) -> None:
    """Print the benchmark's result as one JSON object on the last line."""
    sys.stdout.flush()
    print(json.dumps(obj, default=float))
