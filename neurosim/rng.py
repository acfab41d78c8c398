"""Counter-based random numbers for numba kernels: splitmix64 of (stream key, element index).

A counter-based generator makes every draw a pure function of (seed, layer, step, element), so parallel
kernels stay deterministic, and a resumed run draws exactly what the uninterrupted run would have drawn.
Neutral (imports only numpy/numba): the training core (DST transitions) and the device model
(:mod:`neurosim.devices`) both draw from it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2^-53


@njit(cache=True, inline="always")
def splitmix64(x: np.uint64) -> np.uint64:
    """One splitmix64 output for input x (a bijective 64-bit mix)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def uniform(key: np.uint64, i: int) -> float:
    """Uniform draw in [0, 1) for element i of the stream `key`."""
    return float(splitmix64(key + np.uint64(i) * _GOLDEN) >> np.uint64(11)) * _INV53


def stream_key(seed: int, *parts: int) -> np.uint64:
    """Key of one random stream, e.g. stream_key(seed, layer, step)."""
    k = np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
    for p in parts:
        k = _mix_py(k ^ np.uint64((p * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF))
    return k


def _mix_py(x: np.uint64) -> np.uint64:
    with np.errstate(over="ignore"):
        z = np.uint64(x) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))
