"""Optimizers that turn gradients into real increments dW; the weight policy decides what dW does.

Each optimizer reports how many bits of state it keeps per weight (Adam: two float32 moments = 64 bits),
because on hardware that state is memory that must live somewhere and be read and written each step.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .runtime import ensure_threads, parallel_for

OPTIMIZERS = ("adam", "sgd")


@njit(cache=True, fastmath=False, parallel=True)
def _adam_kernel(g, m, v, out, b1, b2, lr_t, eps):
    # float32 arithmetic so the loop vectorizes (sqrt and divide dominate otherwise).  No fastmath: with it the
    # vectorized body and the scalar remainder of each thread's chunk rounded differently (reciprocal division,
    # contraction), so the increments depended on the number of numba threads; IEEE sqrt/divide vectorize anyway.
    gf = g.reshape(-1)
    mf = m.reshape(-1)
    vf = v.reshape(-1)
    of = out.reshape(-1)
    b1f, b2f = np.float32(b1), np.float32(b2)
    c1, c2 = np.float32(1.0 - b1), np.float32(1.0 - b2)
    lrf, epsf = np.float32(-lr_t), np.float32(eps)
    for i in prange(gf.size):
        gi = gf[i]
        mi = b1f * mf[i] + c1 * gi
        vi = b2f * vf[i] + c2 * gi * gi
        mf[i] = mi
        vf[i] = vi
        of[i] = lrf * mi / (np.sqrt(vi) + epsf)


@njit(cache=True)
def _sgd_kernel(g, mom, out, lr, mu):
    gf = g.reshape(-1)
    mf = mom.reshape(-1)
    of = out.reshape(-1)
    for i in range(gf.size):
        mi = mu * mf[i] - lr * gf[i]
        mf[i] = mi
        of[i] = mi


class Adam:
    """Adam (Kingma & Ba) increments, bias-corrected, moments in float32."""

    name = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.slots: dict[str, dict[str, np.ndarray]] = {}
        self.t = 0

    @property
    def state_bits_per_weight(self) -> int:
        return 64

    def register(self, name: str, shape: tuple[int, ...]) -> None:
        self.slots[name] = {"m": np.zeros(shape, np.float32), "v": np.zeros(shape, np.float32)}

    def begin_step(self) -> None:
        """Advance the shared step counter once per batch (bias correction uses it)."""
        self.t += 1

    def increment(self, name: str, grad: np.ndarray, out: np.ndarray, lr: float) -> np.ndarray:
        s = self.slots[name]
        t = max(self.t, 1)
        lr_t = lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        ensure_threads()
        with parallel_for(grad.size):
            _adam_kernel(grad, s["m"], s["v"], out, self.beta1, self.beta2, lr_t, self.eps)
        return out

    def state(self) -> dict[str, np.ndarray]:
        d = {f"{k}.{m}": a for k, s in self.slots.items() for m, a in s.items()}
        d["t"] = np.array(self.t)
        return d

    def load_state(self, d: dict[str, np.ndarray]) -> None:
        self.t = int(d["t"])
        for k, s in self.slots.items():
            for m in s:
                s[m][...] = d[f"{k}.{m}"]


class SGD:
    """Plain SGD (momentum 0 keeps no state) or SGD with momentum (one float32 per weight)."""

    name = "sgd"

    def __init__(self, momentum: float = 0.0):
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD momentum must be in [0, 1) (got {momentum!r})")
        self.momentum = momentum
        self.slots: dict[str, np.ndarray] = {}
        self.t = 0

    @property
    def state_bits_per_weight(self) -> int:
        return 32 if self.momentum > 0 else 0

    def register(self, name: str, shape: tuple[int, ...]) -> None:
        self.slots[name] = np.zeros(shape, np.float32)

    def begin_step(self) -> None:
        self.t += 1

    def increment(self, name: str, grad: np.ndarray, out: np.ndarray, lr: float) -> np.ndarray:
        _sgd_kernel(grad, self.slots[name], out, lr, self.momentum)
        return out

    def state(self) -> dict[str, np.ndarray]:
        d = {f"{k}.mom": a for k, a in self.slots.items()}
        d["t"] = np.array(self.t)
        return d

    def load_state(self, d: dict[str, np.ndarray]) -> None:
        self.t = int(d["t"])
        for k, a in self.slots.items():
            a[...] = d[f"{k}.mom"]


def make_optimizer(name: str, **kw) -> Adam | SGD:
    if name == "adam":
        return Adam(**kw)
    if name == "sgd":
        return SGD(**kw)
    raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)} (got {name!r})")


def lr_at_epoch(epoch: int, epochs: int, lr_start: float, lr_fin: float) -> float:
    """Exponential decay from lr_start (epoch 0) toward lr_fin: lr_start * (lr_fin/lr_start)^(epoch/epochs)."""
    if epochs <= 0:
        return lr_start
    return lr_start * (lr_fin / lr_start) ** (epoch / epochs)
