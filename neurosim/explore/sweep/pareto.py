"""Pareto fronts of a sweep's points: the points no other point beats on every objective (min or max each)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["pareto_mask"]


def pareto_mask(values: np.ndarray, goals: Sequence[str]) -> np.ndarray:
    """Which rows of ``values`` (points x objectives) are on the front; a row with a missing (NaN) value never is.

    Row j dominates row i when it is at least as good on every objective and better on one; duplicates of a front
    point are all on the front."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(goals):
        raise ValueError(f"values must be points x {len(goals)} objectives, got shape {v.shape}")
    sign = np.array([1.0 if g == "min" else -1.0 for g in goals])
    ok = np.isfinite(v).all(axis=1)
    mask = np.zeros(len(v), dtype=bool)
    w = v[ok] * sign  # minimize every column
    if len(w) == 0:
        return mask
    dominated = np.zeros(len(w), dtype=bool)
    for start in range(0, len(w), 1024):  # j dominates i, by blocks of j (memory: 1024 x n x objectives)
        b = w[start:start + 1024, None, :]
        dominated |= ((b <= w[None, :, :]).all(-1) & (b < w[None, :, :]).any(-1)).any(axis=0)
    mask[np.flatnonzero(ok)] = ~dominated
    return mask
