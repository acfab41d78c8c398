"""Training methods = a weight policy + an activation policy, chosen by name.

- ``fp``: float weights, ReLU.
- ``bwn``: BinaryConnect: forward with sign(W) * H, float hidden weights clipped to [-H, H], ReLU.
- ``twn``: ternary weights alpha * {-1, 0, 1} with threshold 0.7 * mean|W| (Li & Liu), float hidden weights.
- ``bnn``: binary weights (as bwn) and sign activations.
- ``gxnor``: ternary weights held as DST states (N = 1), ternary activations.
- ``dst``: weights held as DST states of Z_N for any N, with any activation.
Float hidden weights (bwn/twn/bnn/fp) are counted as 32-bit memory; DST keeps only N + 1 bits per weight.

A ``dst``/``gxnor`` method with a :class:`DeviceModel` trains device-aware weights (:class:`DSTDeviceWeights`):
the stored states still move by DST, but the values the forward and backward passes use are what a
memristive device holding them would read (variation, stuck-at faults, open-loop pulse-train writes with
cycle-to-cycle noise and nonlinearity, limited levels, read noise). The core knows nothing of the hardware
models; ``neurosim.run`` builds the DeviceModel from a crossbar architecture's device parameters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from .dst import DSTUpdater
from .rng import stream_key, uniform
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
@dataclass(frozen=True)
class DeviceModel:
    """Device non-idealities as plain numbers, in the units of the weight (the core knows no conductances).

    - ``variation``: device-to-device sigma of a fixed multiplicative gain (1 + variation z) on each weight's read
      value, drawn once.
    - ``stuck_on_rate`` / ``stuck_off_rate``: fraction of weights whose device is stuck at G_max / G_min, drawn
      once: a stuck-on weight reads +L, a stuck-off weight reads 0 (its active device of the differential pair
      sits at G_min, like the idle one), whatever its state.
    - ``write_noise``: cycle-to-cycle noise of an open-loop write, relative to one pulse's step; a transition of
      d states is a train of |d| x ``pulses_per_state`` pulses and adds write_noise x (dz / pulses_per_state) x
      sqrt(|d| pulses_per_state) x N(0, 1) to that weight's conductance error.
    - ``nonlinearity``: nu of the exponential conductance-vs-pulse curve over the weight range [-L, L]
      (2^N x pulses_per_state pulses from -L to +L; 0: linear): the train starts from the actual conductance.
    - ``levels``: distinguishable conductance levels per device (None: unlimited); the conductance after every
      write (and the initial, write-verified programming) is rounded to multiples of L / (levels - 1).
    - ``read_noise``: relative sigma of a fresh N(0, 1) factor on every read of the array.
    - ``seed``: seed of the device draws (None: the run's seed). All draws are counter-based (splitmix64 of
      seed, layer, purpose, step, element), so runs are reproducible and resumable.
    """

    write_noise: float = 0.0
    variation: float = 0.0
    stuck_on_rate: float = 0.0
    stuck_off_rate: float = 0.0
    read_noise: float = 0.0
    levels: int | None = None
    nonlinearity: float = 0.0
    pulses_per_state: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        for k in ("write_noise", "variation", "read_noise", "nonlinearity"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v) \
                    or v < 0:
                raise ValueError(f"device {k}: must be a finite number >= 0 (got {v!r})")
        for k in ("stuck_on_rate", "stuck_off_rate"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not 0 <= v <= 1:
                raise ValueError(f"device {k}: must be a probability in [0, 1] (got {v!r})")
        if self.stuck_on_rate + self.stuck_off_rate > 1:
            raise ValueError("device stuck_on_rate + stuck_off_rate: must be <= 1")
        if self.levels is not None and (isinstance(self.levels, bool) or not isinstance(self.levels, (int, np.integer))
                                        or self.levels < 2):
            raise ValueError(f"device levels: must be an integer >= 2 or None (got {self.levels!r})")
        if isinstance(self.pulses_per_state, bool) or not isinstance(self.pulses_per_state, (int, np.integer)) \
                or self.pulses_per_state < 1:
            raise ValueError(f"device pulses_per_state: must be an integer >= 1 (got {self.pulses_per_state!r})")

    @property
    def ideal(self) -> bool:
        return (self.write_noise == 0 and self.variation == 0 and self.stuck_on_rate == 0
                and self.stuck_off_rate == 0 and self.read_noise == 0 and self.levels is None
                and self.nonlinearity == 0)


_DEVICE_TAG = 0xDE71CE  # separates the device streams from the DST transition stream
_GAIN, _STUCK, _WRITE, _READ = 1, 2, 3, 4
STUCK_ON, STUCK_OFF = 1, 2


@njit(cache=True, inline="always")
def _gauss(key, i):
    """Standard normal for element i of stream `key` (Box-Muller on two counter-based uniforms)."""
    u1 = 1.0 - uniform(key, 2 * i)  # (0, 1]
    u2 = uniform(key, 2 * i + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True)
def _draw_devices(gain, stuck, variation, on_rate, off_rate, key_gain, key_stuck):
    for i in range(gain.size):
        g = 1.0
        if variation > 0.0:
            g = max(1.0 + variation * _gauss(key_gain, i), 0.0)
        gain[i] = g
        u = uniform(key_stuck, i)
        stuck[i] = STUCK_ON if u < on_rate else (STUCK_OFF if u < on_rate + off_rate else 0)


@njit(cache=True)
def _device_write(state, transitions, err, stuck, dz, L, sigma1, pps, nu, q, key):
    """After a DST step: the conductance error each moved weight carries after its open-loop pulse train."""
    full = (2.0 * L / dz) * pps  # pulses from -L to +L
    norm = 1.0 - math.exp(-nu) if nu > 0.0 else 1.0
    for i in range(state.size):
        d = transitions[i]
        if d == 0 or stuck[i] != 0:
            continue
        new_v = state[i] * dz - L
        pulses = abs(d) * pps
        e = err[i]
        if nu > 0.0:
            c = new_v - d * dz + e  # actual conductance before the train, in weight units
            u = (c + L) / (2.0 * L)
            if d < 0:
                u = 1.0 - u  # depression mirrors potentiation
            u = min(max(u, 0.0), 1.0)
            p0 = -math.log(max(1.0 - u * norm, 1e-300)) * full / nu
            u1 = min((1.0 - math.exp(-nu * (p0 + pulses) / full)) / norm, 1.0)
            if d < 0:
                u1 = 1.0 - u1
            e = u1 * 2.0 * L - L - new_v
        if sigma1 > 0.0:
            e += sigma1 * math.sqrt(pulses) * _gauss(key, i)
        e = min(max(e, -L - new_v), L - new_v)  # the device range
        if q > 0.0:
            e = np.rint((new_v + e) / q) * q - new_v
        err[i] = e


@njit(cache=True)
def _device_values(state, err, gain, stuck, values, dz, L, read_noise, key):
    """Values one read of the array returns: stored state + conductance error (or the stuck value), x gain x read noise."""
    for i in range(state.size):
        s = stuck[i]
        if s == STUCK_ON:
            v = L
        elif s == STUCK_OFF:
            v = 0.0
        else:
            v = state[i] * dz - L + err[i]
        v *= gain[i]
        if read_noise > 0.0:
            v *= 1.0 + read_noise * _gauss(key, i)
        values[i] = v


class DSTDeviceWeights(DSTWeights):
    """DST states held on memristive devices: the stored states move by DST, the passes see device reads.

    Stored states stay integer DST states (N + 1 bits) exactly as the update moves them: the open-loop write
    driver does not know a device is stuck or off target, so it keeps sending (and the observers keep pricing)
    the pulse trains. The effective values (``values``, used by forward and backward) are recomputed after every
    update and on load: (state value + conductance error) x gain, stuck weights pinned, times a read-noise factor
    redrawn for every read. With read noise, every forward pass (training or evaluation batch) takes a fresh read
    (:meth:`read`); the backward pass of a training step reuses its forward read. Extra checkpoint arrays:
    ``device_gain``, ``device_stuck`` (0, 1 = stuck on, 2 = stuck off), ``device_error`` (weight units) and
    ``device_reads`` (the read counter).
    """

    def __init__(self, shape: tuple[int, ...], space: DiscreteSpace, rng: np.random.Generator, device: DeviceModel,
                 tau: str = "tanh", m: float = 3.0, seed: int = 0, stream: int = 0):
        super().__init__(shape, space, rng, tau, m, seed, stream)
        self.device = device
        self.stream = int(stream)
        self.dseed = int(seed if device.seed is None else device.seed)
        self.gain = np.ones(shape, np.float64)
        self.stuck = np.zeros(shape, np.int8)
        self.error = np.zeros(shape, np.float64)
        self.reads = np.zeros(1, np.int64)
        _draw_devices(self.gain.reshape(-1), self.stuck.reshape(-1), float(device.variation),
                      float(device.stuck_on_rate), float(device.stuck_off_rate), self._key(_GAIN), self._key(_STUCK))
        q = self._q
        if q > 0.0:  # write-verified initial programming, to the nearest available level
            v = self.space.values(self.state)
            self.error[...] = np.rint(v / q) * q - v
        self._refresh()

    def _key(self, purpose: int, *counter: int) -> np.uint64:
        return stream_key(self.dseed, _DEVICE_TAG, self.stream, purpose, *counter)

    @property
    def _q(self) -> float:
        lv = self.device.levels
        return 0.0 if lv is None else self.space.L / (lv - 1)

    @property
    def step(self) -> float:
        return super().step if self.device.ideal else 0.0  # non-ideal reads are continuous

    def _refresh(self) -> None:
        sp, dev = self.space, self.device
        _device_values(self.state.reshape(-1), self.error.reshape(-1), self.gain.reshape(-1),
                       self.stuck.reshape(-1), self.values.reshape(-1), sp.dz, sp.L, float(dev.read_noise),
                       self._key(_READ, int(self.reads[0])))

    def apply(self, dw: np.ndarray, step: int) -> tuple[int, int]:
        sp, dev = self.space, self.device
        c, d = self.updater.apply(self.state, dw, self.values, self.transitions, step)
        pps = int(dev.pulses_per_state)
        _device_write(self.state.reshape(-1), self.transitions.reshape(-1), self.error.reshape(-1),
                      self.stuck.reshape(-1), sp.dz, sp.L, float(dev.write_noise) * sp.dz / pps, pps,
                      float(dev.nonlinearity), self._q, self._key(_WRITE, int(step)))
        self.reads[0] += 1
        self._refresh()
        return c, d

    def read(self) -> None:
        if self.device.read_noise > 0.0:
            self.reads[0] += 1
            self._refresh()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"state": self.state, "device_gain": self.gain, "device_stuck": self.stuck,
                "device_error": self.error, "device_reads": self.reads}

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore; device arrays a model lacks (trained on ideal devices) keep this chip's own devices.

        With limited levels, the conductance errors are re-rounded to the level grid (a no-op for arrays this
        policy saved; a model from elsewhere is programmed, write-verified, to the nearest levels).
        """
        self.state[...] = arrays["state"]
        if "device_error" not in arrays:
            self.error[...] = 0.0
        for k, a in self.arrays().items():
            if k != "state" and k in arrays:
                a[...] = arrays[k]
        q = self._q
        if q > 0.0:
            v = self.space.values(self.state)
            self.error[...] = np.rint((v + self.error) / q) * q - v
        self._refresh()


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
    device: DeviceModel | None = None  # dst / gxnor: train device-aware weights (DSTDeviceWeights)
    options: dict[str, Any] = field(default_factory=dict)

    def make_weights(self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator,
                     seed: int, stream: int) -> WeightPolicy:
        if self.name == "fp":
            return FloatWeights(shape, fan_in, fan_out, rng)
        if self.name in ("bwn", "bnn"):
            return BinaryWeights(shape, rng, self.H)
        if self.name == "twn":
            return TernaryWeights(shape, fan_in, fan_out, rng)
        if self.device is not None:
            return DSTDeviceWeights(shape, DiscreteSpace(self.N, self.L), rng, self.device, self.tau, self.m, seed,
                                    stream)
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
    if opts.get("device") is not None:
        if name not in ("dst", "gxnor"):
            raise ValueError(f"a device model applies to DST weights (method dst or gxnor), not {name!r}")
        if not isinstance(opts["device"], DeviceModel):
            raise ValueError(f"device: must be a DeviceModel (got {type(opts['device']).__name__})")
    return Method(name=name, activation=act, N=1 if N is None else int(N), **opts)
