"""Discrete state transition (seed 000 section 3; seed 001 eqs. 13-26) as one fused numba kernel.

Given state indices and a real increment dW per weight: clip dW so W + dW stays in [-L, L] (eq. 6/13),
decompose dW = kappa * dz + nu with kappa = fix(dW / dz) and nu = rem(dW, dz) (eqs. 7-9), then move kappa
states plus one more in the direction of dW with probability tau(nu) = |nu|/dz (linear, eq. 10) or
tanh(m |nu| / dz) (eq. 13). The weight never leaves Z_N and no float hidden weight exists.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .rng import stream_key, uniform
from .spaces import DiscreteSpace

TAU_LINEAR = 0
TAU_TANH = 1
TAU_MODES = {"linear": TAU_LINEAR, "tanh": TAU_TANH}


@njit(cache=True)
def _dst_kernel(state, dw, values, transitions, dz, L, max_index, tau_mode, m, key):
    n = state.size
    changed = 0
    distance = 0
    for i in range(n):
        s = state[i]
        w = s * dz - L
        d = float(dw[i])
        if d >= 0.0:
            d = min(L - w, d)
        else:
            d = max(-L - w, d)
        r = d / dz
        kappa = math.trunc(r)
        frac = abs(r - kappa)  # |nu| / dz
        if tau_mode == TAU_TANH:
            p = math.tanh(m * frac)
        else:
            p = frac
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

    def apply(self, state: np.ndarray, dw: np.ndarray, values: np.ndarray, transitions: np.ndarray,
              step: int) -> tuple[int, int]:
        """Update `state` in place from increments `dw`; write `values` and `transitions`.

        Returns (weights whose state changed, total states moved). `step` indexes the random stream, so
        the same (seed, layer, step) always draws the same numbers.
        """
        sp = self.space
        key = stream_key(self.seed, self.stream, step)
        c, d = _dst_kernel(state.reshape(-1), dw.reshape(-1), values.reshape(-1), transitions.reshape(-1),
                           sp.dz, sp.L, sp.max_index, TAU_MODES[self.tau], self.m, key)
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
