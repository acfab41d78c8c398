"""Training methods = a weight policy + an activation policy, chosen by name.

- ``fp``: float weights, ReLU.
- ``bwn``: BinaryConnect: forward with sign(W) * H, float hidden weights clipped to [-H, H], ReLU.
- ``twn``: ternary weights alpha * {-1, 0, 1} with threshold 0.7 * mean|W| (Li & Liu), float hidden weights.
- ``bnn``: binary weights (as bwn) and sign activations.
- ``gxnor``: ternary weights held as DST states (N = 1), ternary activations.
- ``dst``: weights held as DST states of Z_N for any N, with any activation.
Float hidden weights (bwn/twn/bnn/fp) are counted as 32-bit memory; DST keeps only N + 1 bits per weight.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from .dst import DSTUpdater
from .quant import Activation
from .spaces import DiscreteSpace

METHODS = ("fp", "bwn", "twn", "bnn", "gxnor", "dst")
_DEFAULT_ACTIVATION = {"fp": "relu", "bwn": "relu", "twn": "relu", "bnn": "sign", "gxnor": "ternary",
                       "dst": "ternary"}


@njit(cache=True)
def _float_update(hidden, dw, clip):
    hf = hidden.reshape(-1)
    df = dw.reshape(-1)
    changed = 0
    for i in range(hf.size):
        v = hf[i] + df[i]
        if clip > 0.0:
            v = min(max(v, -clip), clip)
        if v != hf[i]:
            changed += 1
        hf[i] = v
    return changed


@njit(cache=True)
def _binarize(hidden, values, codes, transitions, H):
    hf = hidden.reshape(-1)
    vf = values.reshape(-1)
    cf = codes.reshape(-1)
    tf = transitions.reshape(-1)
    changed = 0
    for i in range(hf.size):
        c = 1 if hf[i] >= 0.0 else -1
        d = c - cf[i]
        tf[i] = d
        if d != 0:
            changed += 1
        cf[i] = c
        vf[i] = c * H
    return changed


@njit(cache=True)
def _ternarize(hidden, values, codes, transitions, delta, alpha):
    hf = hidden.reshape(-1)
    vf = values.reshape(-1)
    cf = codes.reshape(-1)
    tf = transitions.reshape(-1)
    changed = 0
    distance = 0
    for i in range(hf.size):
        h = hf[i]
        c = 1 if h > delta else (-1 if h < -delta else 0)
        d = c - cf[i]
        tf[i] = d
        if d != 0:
            changed += 1
            distance += abs(d)
        cf[i] = c
        vf[i] = c * alpha
    return changed, distance


class WeightPolicy:
    """Holds one layer's weights in the form its method keeps, and applies increments to them."""

    values: np.ndarray  # float32 weights used by the forward pass
    state: np.ndarray | None = None  # integer states/codes of discrete weights, else None
    transitions: np.ndarray | None = None
    stored_bits: int = 32  # bits kept per weight during training
    deployed_bits: int = 32  # bits per weight the forward pass needs (inference)

    @property
    def step(self) -> float:
        """Values are integer multiples of this (0: continuous)."""
        return 0.0

    def apply(self, dw: np.ndarray, step: int) -> tuple[int, int]:
        """Apply a real increment; return (weights whose stored state changed, total states moved)."""
        raise NotImplementedError

    def arrays(self) -> dict[str, np.ndarray]:
        """What a checkpoint must save to restore this policy exactly."""
        raise NotImplementedError

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        for k, a in self.arrays().items():
            a[...] = arrays[k]
        self._refresh()

    def _refresh(self) -> None:
        pass


class FloatWeights(WeightPolicy):
    """Full-precision weights (Glorot-uniform initialised)."""

    def __init__(self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator):
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        self.values = rng.uniform(-lim, lim, shape).astype(np.float32)

    def apply(self, dw: np.ndarray, step: int) -> tuple[int, int]:
        return int(_float_update(self.values, dw, 0.0)), 0

    def arrays(self) -> dict[str, np.ndarray]:
        return {"values": self.values}


class BinaryWeights(WeightPolicy):
    """BinaryConnect: float hidden weights in [-H, H]; the forward pass sees H * sign(W)."""

    stored_bits = 32
    deployed_bits = 1

    def __init__(self, shape: tuple[int, ...], rng: np.random.Generator, H: float = 1.0):
        self.H = float(H)
        self.hidden = rng.uniform(-self.H, self.H, shape).astype(np.float32)
        self.values = np.empty(shape, np.float32)
        self.state = np.zeros(shape, np.int16)
        self.transitions = np.zeros(shape, np.int16)
        self._refresh()
        self.transitions[...] = 0

    @property
    def step(self) -> float:
        return self.H

    def _refresh(self) -> None:
        _binarize(self.hidden, self.values, self.state, self.transitions, self.H)

    def apply(self, dw: np.ndarray, step: int) -> tuple[int, int]:
        _float_update(self.hidden, dw, self.H)
        flips = int(_binarize(self.hidden, self.values, self.state, self.transitions, self.H))
        return flips, flips

    def arrays(self) -> dict[str, np.ndarray]:
        return {"hidden": self.hidden}


class TernaryWeights(WeightPolicy):
    """TWN: alpha * {-1, 0, 1} with Delta = 0.7 mean|W| and alpha = mean of |W| above Delta."""

    stored_bits = 32
    deployed_bits = 2

    def __init__(self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator):
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        self.hidden = rng.uniform(-lim, lim, shape).astype(np.float32)
        self.values = np.empty(shape, np.float32)
        self.state = np.zeros(shape, np.int16)
        self.transitions = np.zeros(shape, np.int16)
        self.alpha = 1.0
        self._refresh()
        self.transitions[...] = 0

    @property
    def step(self) -> float:
        return self.alpha

    def _ternarize(self) -> tuple[int, int]:
        a = np.abs(self.hidden)
        delta = 0.7 * float(a.mean())
        big = a[a > delta]
        self.alpha = float(big.mean()) if big.size else 1.0
        c, d = _ternarize(self.hidden, self.values, self.state, self.transitions, delta, self.alpha)
        return int(c), int(d)

    def _refresh(self) -> None:
        self._ternarize()

    def apply(self, dw: np.ndarray, step: int) -> tuple[int, int]:
        _float_update(self.hidden, dw, 0.0)
        return self._ternarize()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"hidden": self.hidden}


class DSTWeights(WeightPolicy):
    """Weights held only as Z_N state indices (N + 1 bits); updated by discrete state transition."""

    def __init__(self, shape: tuple[int, ...], space: DiscreteSpace, rng: np.random.Generator,
                 tau: str = "tanh", m: float = 3.0, seed: int = 0, stream: int = 0):
        self.space = space
        self.updater = DSTUpdater(space, tau=tau, m=m, seed=seed, stream=stream)
        self.state = space.project(rng.uniform(-space.L, space.L, shape), rng)
        self.values = space.values(self.state, np.float32)
        self.transitions = np.zeros(shape, np.int16)
        self.stored_bits = self.deployed_bits = space.bits

    @property
    def step(self) -> float:
        return self.space.dz if self.space.N >= 1 else self.space.L

    def _refresh(self) -> None:
        self.values[...] = self.space.values(self.state, np.float32)

    def apply(self, dw: np.ndarray, step: int) -> tuple[int, int]:
        return self.updater.apply(self.state, dw, self.values, self.transitions, step)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"state": self.state}


@dataclass(frozen=True)
class Method:
    """A training method: how weights are kept and updated, and which activation the hidden layers use."""

    name: str
    activation: Activation
    N: int = 1  # DST weight space (dst / gxnor)
    L: float = 1.0
    tau: str = "tanh"
    m: float = 3.0
    H: float = 1.0  # binary weight magnitude (bwn / bnn)
    options: dict[str, Any] = field(default_factory=dict)

    def make_weights(self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator,
                     seed: int, stream: int) -> WeightPolicy:
        if self.name == "fp":
            return FloatWeights(shape, fan_in, fan_out, rng)
        if self.name in ("bwn", "bnn"):
            return BinaryWeights(shape, rng, self.H)
        if self.name == "twn":
            return TernaryWeights(shape, fan_in, fan_out, rng)
        return DSTWeights(shape, DiscreteSpace(self.N, self.L), rng, self.tau, self.m, seed, stream)


def make_method(name: str, N: int | None = None, activation: dict | str | None = None, **opts: Any) -> Method:
    """Build a method by name; N applies to dst (gxnor is N = 1); activation overrides the default."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; allowed: {', '.join(METHODS)}")
    if N is not None and (isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 0):
        raise ValueError(f"weight space N must be an integer >= 0 (got {N!r})")
    if name == "gxnor":
        if N not in (None, 1):
            raise ValueError(f"method 'gxnor' is ternary (N = 1); use method 'dst' for N = {N}")
        N = 1
    act_cfg: dict[str, Any]
    if activation is None:
        act_cfg = {"kind": _DEFAULT_ACTIVATION[name]}
    elif isinstance(activation, str):
        act_cfg = {"kind": activation}
    else:
        act_cfg = dict(activation)
        act_cfg.setdefault("kind", _DEFAULT_ACTIVATION[name])
    if name in ("gxnor",) and act_cfg["kind"] != "ternary":
        raise ValueError("method 'gxnor' uses ternary activations; use method 'dst' for other activations")
    if name == "bnn" and act_cfg["kind"] != "sign":
        raise ValueError("method 'bnn' uses sign activations; use 'bwn' for binary weights with other activations")
    known = {"kind", "N2", "r", "a", "H", "window"}
    bad = set(act_cfg) - known
    if bad:
        raise ValueError(f"unknown activation key(s) {sorted(bad)}; allowed: {sorted(known)}")
    if act_cfg["kind"] == "sign":
        act_cfg.setdefault("a", 1.0)
        act_cfg.setdefault("r", 0.0)
    act = Activation(**act_cfg)
    return Method(name=name, activation=act, N=1 if N is None else int(N), **opts)
