"""Atomic writers: write to a temporary file beside the target, then rename, so nothing is half-written."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..fileio import atomic_open


def _clean(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: Path, obj: Any) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(json.dumps(_clean(obj), indent=2) + "\n")


def write_csv(path: Path, rows: Iterable[dict], columns: list[str]) -> None:
    with atomic_open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()})


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
