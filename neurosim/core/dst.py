"""Discrete state transition ([DST] section 3; [GXNOR] eqs. 13-26) as one fused numba kernel.

Given state indices and a real increment dW per weight: clip dW so W + dW stays in [-L, L] (eq. 6/13),
decompose dW = kappa * dz + nu with kappa = fix(dW / dz) and nu = rem(dW, dz) (eqs. 7-9), then move kappa
states plus one more in the direction of dW with probability tau(nu) = |nu|/dz (linear, eq. 10) or
tanh(m |nu| / dz) (eq. 13). The weight never leaves Z_N and no float hidden weight exists.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..rng import stream_key, uniform
from .runtime import ensure_threads, parallel_for
from .spaces import DiscreteSpace

TAU_MODES = ("linear", "tanh")


TABLE_SIZE = 4096  # entries of the transition-probability table over |nu|/dz in [0, 1]


def transition_table(tau: str, m: float, size: int = TABLE_SIZE) -> np.ndarray:
    """tau(f) sampled on f = 0, 1/size, ..., 1 (float64), read with linear interpolation by the kernel.

    A table is what a hardware update unit holds; with linear interpolation it matches tanh(m f) to
    better than 1e-6 for m <= 10 (and the linear tau exactly).
    """
    f = np.linspace(0.0, 1.0, size + 1)
    return np.tanh(m * f) if tau == "tanh" else f


@njit(cache=True, parallel=True, fastmath=False)
def _dst_kernel(state, dw, values, transitions, dz, L, max_index, table, key):
    n = state.size
    size = table.size - 1
    inv_dz = 1.0 / dz
    changed = 0
    distance = 0
    for i in prange(n):
        s = state[i]
        w = s * dz - L
        d = float(dw[i])
        if d >= 0.0:
            d = min(L - w, d)
        else:
            d = max(-L - w, d)
        r = d * inv_dz
        kappa = math.trunc(r)
        frac = abs(r - kappa)  # |nu| / dz in [0, 1)
        pos = frac * size
        j = min(int(pos), size - 1)
        p = table[j] + (pos - j) * (table[j + 1] - table[j])
        step = int(kappa)
        if p > 0.0 and uniform(key, i) < p:
            step += 1 if d > 0.0 else -1
        new = s + step
        if new < 0:
            new = 0
        elif new > max_index:
            new = max_index
        delta = new - s
        state[i] = new
        values[i] = new * dz - L
        transitions[i] = delta
        if delta != 0:
            changed += 1
            distance += abs(delta)
    return changed, distance


class DSTUpdater:
    """Applies DST updates to one layer's state indices, keeping its float values in sync."""

    def __init__(self, space: DiscreteSpace, tau: str = "tanh", m: float = 3.0, seed: int = 0, stream: int = 0):
        if tau not in TAU_MODES:
            raise ValueError(f"DST transition 'tau' must be one of {sorted(TAU_MODES)} (got {tau!r})")
        if not (m > 0 and np.isfinite(m)):
            raise ValueError(f"DST tanh slope 'm' must be a finite number > 0 (got {m!r})")
        self.space, self.tau, self.m, self.seed, self.stream = space, tau, float(m), int(seed), int(stream)
        self.table = transition_table(tau, self.m)

    def apply(self, state: np.ndarray, dw: np.ndarray, values: np.ndarray, transitions: np.ndarray,
              step: int) -> tuple[int, int]:
        """Update `state` in place from increments `dw`; write `values` and `transitions`.

        Returns (weights whose state changed, total states moved). `step` indexes the random stream, so
        the same (seed, layer, step) always draws the same numbers.
        """
        sp = self.space
        ensure_threads()
        key = stream_key(self.seed, self.stream, step)
        with parallel_for(state.size):
            c, d = _dst_kernel(state.reshape(-1), dw.reshape(-1), values.reshape(-1), transitions.reshape(-1),
                               sp.dz, sp.L, sp.max_index, self.table, key)
        return int(c), int(d)


def expected_transition(dw: np.ndarray, state: np.ndarray, space: DiscreteSpace, tau: str = "linear",
                        m: float = 3.0) -> np.ndarray:
    """Closed-form expected state change E[delta] = kappa + sign(dW) * tau(nu) (after boundary clipping)."""
    w = space.values(state)
    d = np.where(dw >= 0, np.minimum(space.L - w, dw), np.maximum(-space.L - w, dw))
    r = d / space.dz
    kappa = np.trunc(r)
    frac = np.abs(r - kappa)
    p = np.tanh(m * frac) if tau == "tanh" else frac
    return kappa + np.sign(d) * p
