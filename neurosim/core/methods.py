"""Training methods = a weight policy + an activation policy, chosen by name.

- ``fp``: float weights, ReLU.
- ``bwn``: BinaryConnect: forward with sign(W) * H, float hidden weights clipped to [-H, H], ReLU.
- ``twn``: ternary weights alpha * {-1, 0, 1} with threshold 0.7 * mean|W| (Li & Liu), float hidden weights.
- ``bnn``: binary weights (as bwn) and sign activations.
- ``gxnor``: ternary weights held as DST states (N = 1), ternary activations.
- ``dst``: weights held as DST states of Z_N for any N, with any activation.
Float hidden weights (bwn/twn/bnn/fp) are counted as 32-bit memory; DST keeps only N + 1 bits per weight.

A ``dst``/``gxnor`` method with a :class:`~neurosim.devices.DeviceSpec` trains device-aware weights
(:class:`DSTDeviceWeights`): the stored states still move by DST, but the values the forward and backward passes
use are what the memristive devices holding them read (per-device variation and stuck-at faults, open-loop
pulse-train writes with cycle-to-cycle noise and nonlinearity, limited levels, read noise). The device physics
is the neutral :mod:`neurosim.devices`, the same the hardware models use; the core imports no hardware model.
``neurosim.cli`` builds the DeviceSpec from a crossbar architecture's device, mapping and N.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from ..devices import CounterDraws, DeviceArray, DeviceSpec, conductance_to_weight
from ..names import DST_METHODS, METHOD_NAMES, Method as M
from .dst import DSTUpdater
from .quant import Activation
from .spaces import DiscreteSpace

METHODS = METHOD_NAMES
_DEFAULT_ACTIVATION = {M.FP: "relu", M.BWN: "relu", M.TWN: "relu", M.BNN: "sign", M.GXNOR: "ternary",
                       M.DST: "ternary"}
# methods whose activation is fixed: the kind it must be, and the method to use for other kinds
_FIXED_ACTIVATION = {M.GXNOR: ("ternary", M.DST), M.BNN: ("sign", M.BWN)}


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
    conductance: tuple[np.ndarray, np.ndarray] | None = None  # device-aware: (G+, G-) of the read behind values
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

    def read(self) -> None:
        """Before a forward pass: take a fresh read of the weights (a no-op unless reads are noisy)."""

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


# ---------------------------------------------------------------------------------------------- device-aware DST
def _matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """(rows, cols) of a weight array as a crossbar unrolls it: w.reshape(-1, w.shape[-1])."""
    cols = int(shape[-1])
    return (int(np.prod(shape, dtype=np.int64)) // cols, cols)


class DSTDeviceWeights(DSTWeights):
    """DST states held on memristive devices: the stored states move by DST, the passes see device reads.

    Stored states stay integer DST states (N + 1 bits) exactly as the update moves them. The devices are a
    :class:`~neurosim.devices.DeviceArray` of (rows, cols) = the weights unrolled as a crossbar holds them
    (``w.reshape(-1, w.shape[-1])``), on the spec's mapping and weight space N_a (state n at device state
    n x 2^(N_a - N)), drawing counter-based (:class:`~neurosim.devices.CounterDraws` of the device seed and the
    layer's stream). Every update programs the new states by open-loop pulse trains: the driver does not know a
    device is stuck or off target, so it keeps sending (and the observers keep pricing) the trains. ``values``
    (used by forward and backward) are ``conductance_to_weight`` of a device read (variation, faults, write
    history, levels, read noise), taken after every update and, with read noise, before every forward pass
    (:meth:`read`); the backward pass of a training step reuses its forward read. ``conductance``: the (G+, G-)
    arrays of the read behind ``values``. Checkpoint arrays: ``state`` plus the device array's as ``device_*``.
    """

    def __init__(self, shape: tuple[int, ...], space: DiscreteSpace, rng: np.random.Generator, device: DeviceSpec,
                 tau: str = "tanh", m: float = 3.0, seed: int = 0, stream: int = 0):
        super().__init__(shape, space, rng, tau, m, seed, stream)
        self.device = device
        N_a = device.device_N(space.N)
        self.scale = 2 ** (N_a - space.N)  # workload state n -> device state n x scale
        self._rc = _matrix_shape(shape)
        draws = CounterDraws(int(seed if device.seed is None else device.seed), int(stream))
        self.devices = DeviceArray(self._rc, N_a, device.params, device.mapping, draws, self._device_states(),
                                   space.L)
        self._nominal = np.empty_like(self.values)  # the DST kernel's nominal values (not what the passes see)
        self._conductance: tuple[np.ndarray, np.ndarray] | None = None
        self._read()

    def _device_states(self) -> np.ndarray:
        """The stored states as device states, (rows, cols)."""
        return self.state.reshape(self._rc).astype(np.int32) * self.scale

    @property
    def conductance(self) -> tuple[np.ndarray, np.ndarray]:
        """(G+, G-) of the read behind ``values``, (rows, cols); a noise-free read is rebuilt on demand."""
        if self._conductance is None:
            self._conductance = self.devices.read(noise=False)
        return self._conductance

    def _read(self, noise: bool = True) -> None:
        """Take a read of the devices: ``conductance`` and the weight values it reads as."""
        gp, gn = self.devices.read(noise)
        self._conductance = (gp, gn)
        self._set_values(gp, gn, None)

    def _read_moved(self, idx: np.ndarray) -> None:
        """After a write without read noise: only the moved weights ``idx`` read anew (the other devices are as
        they were)."""
        self._conductance = None
        self._set_values(*self.devices.read_at(idx), idx)

    def _set_values(self, gp: np.ndarray, gn: np.ndarray, idx: np.ndarray | None) -> None:
        """``values`` (at flat indices idx; None: all) from conductances read there.

        Ideal devices read their states' values exactly (the pulse arithmetic's last-bit drift, ~1e-17 L, is no
        physics and would turn zero weights into nonzeros for the observers).
        """
        d = self.devices
        if self.device.ideal:
            v = self.space.values(self.state if idx is None else self.state.reshape(-1)[idx], np.float32)
        else:
            v = conductance_to_weight(gp, gn, d.params, d.mapping, d.L)
        if idx is None:
            self.values[...] = v.reshape(self.values.shape)
        else:
            self.values.reshape(-1)[idx] = v

    @property
    def step(self) -> float:
        return super().step if self.device.ideal else 0.0  # non-ideal reads are continuous

    def apply(self, dw: np.ndarray, step: int) -> tuple[int, int]:
        c, d = self.updater.apply(self.state, dw, self._nominal, self.transitions, step)
        res = self.devices.program(self._device_states())
        if self.device.params.read_noise > 0.0:
            self._read()  # a fresh read per update
        else:
            self._read_moved(res.moved)
        return c, d

    def read(self) -> None:
        if self.device.params.read_noise > 0.0:
            self._read()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"state": self.state, **{f"device_{k}": a for k, a in self.devices.arrays().items()}}

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore; device arrays a model lacks (trained on ideal devices) keep this chip's own devices.

        When the model has no device conductances, or they hold other states than the model's (a model from
        elsewhere), the devices are programmed write-verified (exact, no pulses) to the model's states. The
        values show a noise-free read until the next read (a load takes no counted read, so a resumed run
        draws what the uninterrupted one did).
        """
        self.state[...] = arrays["state"]
        own = self.devices.arrays()
        given = {k[len("device_"):]: a for k, a in arrays.items() if k.startswith("device_")}
        self.devices.load({k: given.get(k, a) for k, a in own.items()})
        target = self._device_states()
        if "g" not in given or "states" not in given or not np.array_equal(given["states"], target):
            self.devices.write_verified(target)
        self._read(noise=False)


def _check_device(name: str, N: int, device: Any) -> None:
    """A device spec fits a method: DST weights only, and devices that can hold its weight space."""
    if name not in DST_METHODS:
        raise ValueError(f"a device model applies to DST weights (method dst or gxnor), not {name!r}")
    if not isinstance(device, DeviceSpec):
        raise ValueError(f"device: must be a neurosim.devices.DeviceSpec (got {type(device).__name__})")
    device.device_N(N)


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
    device: DeviceSpec | None = None  # dst / gxnor: train device-aware weights (DSTDeviceWeights)
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.device is not None:
            _check_device(self.name, self.N, self.device)

    def make_weights(self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator,
                     seed: int, stream: int) -> WeightPolicy:
        if self.name == M.FP:
            return FloatWeights(shape, fan_in, fan_out, rng)
        if self.name in (M.BWN, M.BNN):
            return BinaryWeights(shape, rng, self.H)
        if self.name == M.TWN:
            return TernaryWeights(shape, fan_in, fan_out, rng)
        if self.device is not None:
            return DSTDeviceWeights(shape, DiscreteSpace(self.N, self.L), rng, self.device, self.tau, self.m, seed,
                                    stream)
        return DSTWeights(shape, DiscreteSpace(self.N, self.L), rng, self.tau, self.m, seed, stream)


def make_method(name: str, N: int | None = None, activation: dict | str | None = None, **opts: Any) -> Method:
    """Build a method by name; N applies to dst (gxnor is N = 1); activation overrides the default."""
    name = M.parse(name).value
    if N is not None and (isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 0):
        raise ValueError(f"weight space N must be an integer >= 0 (got {N!r})")
    if name == M.GXNOR:
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
    if name in _FIXED_ACTIVATION and act_cfg["kind"] != _FIXED_ACTIVATION[name][0]:
        kind, other = _FIXED_ACTIVATION[name]
        raise ValueError(f"method {name!r} uses {kind} activations; use method {other.value!r} for other activations")
    known = {"kind", "N2", "r", "a", "H", "window"}
    bad = set(act_cfg) - known
    if bad:
        raise ValueError(f"unknown activation key(s) {sorted(bad)}; allowed: {sorted(known)}")
    if act_cfg["kind"] == "sign":
        act_cfg.setdefault("a", 1.0)
        act_cfg.setdefault("r", 0.0)
    act = Activation(**act_cfg)
    return Method(name=name, activation=act, N=1 if N is None else int(N), **opts)
