"""Activation discretizers and their backward windows ([GXNOR] eqs. 5-8 and 22; [BinAct]).

A discrete activation is a staircase with thresholds t_k and jumps; its derivative is approximated by a
window of unit area around each threshold, scaled by the jump:
- ``rect``: 1/(2a) on |u| <= a ([GXNOR] eq. 7);
- ``tri``: (a - |u|)/a^2 on |u| <= a (eq. 8);
- ``tanh``: (1 - tanh^2(u/a)) / (2a), the derivative of tanh used by [BinAct] (a = 1 for sign).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

WINDOWS = {"rect": 0, "tri": 1, "tanh": 2}
ACTIVATIONS = ("ternary", "multilevel", "sign", "relu", "tanh", "identity")


@njit(cache=True)
def _staircase_forward(x, out, r, s, levels, step, binary):
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for i in range(xf.size):
        v = xf[i]
        if binary:
            of[i] = 1.0 if v >= 0.0 else -1.0
            continue
        av = abs(v)
        if av <= r:
            of[i] = 0.0
        else:
            lv = math.ceil((av - r) / s)
            if lv > levels:
                lv = levels
            of[i] = lv * step if v > 0.0 else -lv * step


@njit(cache=True)
def _staircase_backward(x, dy, dx, thresholds, jump, window, a):
    xf = x.reshape(-1)
    gf = dy.reshape(-1)
    of = dx.reshape(-1)
    inv2a = 1.0 / (2.0 * a)
    inva2 = 1.0 / (a * a)
    for i in range(xf.size):
        v = xf[i]
        g = 0.0
        for k in range(thresholds.size):
            t = thresholds[k]
            for sgn in (1.0, -1.0):
                if t == 0.0 and sgn < 0.0:
                    continue  # a threshold at 0 (sign) is counted once
                u = abs(v - sgn * t)
                if window == 0:
                    if u <= a:
                        g += inv2a
                elif window == 1:
                    if u <= a:
                        g += (a - u) * inva2
                else:
                    th = math.tanh(u / a)
                    g += (1.0 - th * th) * inv2a
        of[i] = gf[i] * g * jump


@njit(cache=True, fastmath=True)
def _rect_backward(x, dy, dx, thresholds, jump, a):
    """Fast path of the rectangular window (branch-free, so it vectorizes)."""
    xf = x.reshape(-1)
    gf = dy.reshape(-1)
    of = dx.reshape(-1)
    h = jump / (2.0 * a)
    for k in range(thresholds.size):
        t = thresholds[k]
        both = 1.0 if t != 0.0 else 0.0  # a threshold at 0 (sign) is counted once
        for i in range(xf.size):
            v = xf[i]
            w = (1.0 if abs(v - t) <= a else 0.0) + both * (1.0 if abs(v + t) <= a else 0.0)
            if k == 0:
                of[i] = gf[i] * (h * w)
            else:
                of[i] += gf[i] * (h * w)


@njit(cache=True)
def _relu_forward(x, out):
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for i in range(xf.size):
        of[i] = xf[i] if xf[i] > 0.0 else 0.0


@njit(cache=True)
def _relu_backward(x, dy, dx):
    xf = x.reshape(-1)
    gf = dy.reshape(-1)
    of = dx.reshape(-1)
    for i in range(xf.size):
        of[i] = gf[i] if xf[i] > 0.0 else 0.0


@dataclass(frozen=True)
class Activation:
    """One activation policy: forward values, backward window, and what hardware needs to know.

    kind: ternary | multilevel | sign | relu | tanh | identity. ``N2`` sets the multi-level space
    (N2 = 1 is ternary), ``r`` the dead zone, ``H`` the saturation level, ``a`` the window half-width.
    """

    kind: str = "ternary"
    N2: int = 1
    r: float = 0.5
    a: float = 0.5
    H: float = 1.0
    window: str = "rect"

    def __post_init__(self) -> None:
        if self.kind not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)} (got {self.kind!r})")
        if self.window not in WINDOWS:
            raise ValueError(f"activation window must be one of {list(WINDOWS)} (got {self.window!r})")
        if self.kind == "multilevel" and (not isinstance(self.N2, int) or self.N2 < 1):
            raise ValueError(f"multi-level activation needs N2 >= 1 (got {self.N2!r})")
        if not self.a > 0:
            raise ValueError(f"activation window half-width 'a' must be > 0 (got {self.a!r})")
        if self.kind in ("ternary", "multilevel") and not (0 <= self.r < self.H):
            raise ValueError(f"activation needs 0 <= r < H (got r={self.r}, H={self.H})")

    @property
    def levels(self) -> int:
        """Nonzero magnitudes per sign (1 for ternary, 2^(N2-1) for multi-level)."""
        if self.kind == "ternary":
            return 1
        if self.kind == "multilevel":
            return 2 ** (self.N2 - 1)
        return 1

    @property
    def discrete(self) -> bool:
        return self.kind in ("ternary", "multilevel", "sign")

    @property
    def step(self) -> float:
        """Value step between levels (0 for continuous activations)."""
        if self.kind == "sign":
            return 1.0
        if self.discrete:
            return self.H / self.levels
        return 0.0

    @property
    def bits(self) -> int:
        """Bits per activation value on hardware: 1 for sign, N2 + 1 for the 2^N2 + 1 levels, else 32."""
        if self.kind == "sign":
            return 1
        if self.kind == "ternary":
            return 2
        if self.kind == "multilevel":
            return self.N2 + 1
        return 32

    def thresholds(self) -> np.ndarray:
        if self.kind == "sign":
            return np.zeros(1)
        s = (self.H - self.r) / self.levels
        return self.r + s * np.arange(self.levels, dtype=np.float64)

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.empty_like(x) if out is None else out
        if self.discrete:
            s = (self.H - self.r) / self.levels
            _staircase_forward(x, out, self.r, s, self.levels, self.step, self.kind == "sign")
        elif self.kind == "relu":
            _relu_forward(x, out)
        elif self.kind == "tanh":
            np.tanh(x, out=out)
        else:
            out[...] = x
        return out

    def backward(self, x: np.ndarray, dy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Gradient w.r.t. the pre-activation x, given dy at the output."""
        out = np.empty_like(dy) if out is None else out
        if self.discrete:
            jump = 2.0 if self.kind == "sign" else self.step
            if self.window == "rect":
                _rect_backward(x, dy, out, self.thresholds(), jump, self.a)
                return out
            _staircase_backward(x, dy, out, self.thresholds(), jump, WINDOWS[self.window], self.a)
        elif self.kind == "relu":
            _relu_backward(x, dy, out)
        elif self.kind == "tanh":
            t = np.tanh(x)
            np.multiply(dy, 1.0 - t * t, out=out)
        else:
            out[...] = dy
        return out
