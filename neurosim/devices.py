"""Memristor (RRAM) device physics, written once: states -> conductances, write pulses, non-idealities, reads.

Neutral module (imports only numpy/numba and :mod:`neurosim.rng`): the hardware models (``neurosim.hw``:
functional crossbars, the crossbar datapath) and the training core (``neurosim.core``: device-aware DST weights)
both hold their devices as a :class:`DeviceArray`, so both see the same conductances for the same states, faults
and draws. Units: conductance in siemens, resistance in ohms, voltage in volts, time in seconds, energy in pJ. The
physics (the differential and reference mappings of Z_N states, open-loop SET/RESET pulse trains with
nonlinearity and write noise, variation, stuck-at faults, read noise, the draw sources :class:`GeneratorDraws` and
:class:`CounterDraws`, the pulse energy) is specified in ``docs/model.md``, section 6.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numba import njit

from .rng import stream_key, uniform

__all__ = [
    "DeviceError", "DeviceParams", "DeviceSpec", "MAPPINGS", "MAX_N", "STUCK_ON", "STUCK_OFF", "WriteResult",
    "DeviceArray", "Draws", "GeneratorDraws", "CounterDraws", "steps_per_device", "levels_needed",
    "state_to_levels", "state_to_conductance", "weight_unit", "conductance_to_weight", "weight_to_conductance",
    "state_to_weight", "pulse_counts", "line_conductance_sums",
]

MAPPINGS = ("differential", "reference")
MAX_N = 14  # as in core.spaces: 2^N + 1 states fit in int16
STUCK_ON, STUCK_OFF = 1, 2  # codes of DeviceArray.stuck_codes


class DeviceError(ValueError):
    """A bad device parameter or argument; the message names the parameter and what is allowed."""


def _finite(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise DeviceError(f"{name}: must be a number, got {v!r}")
    if not math.isfinite(float(v)):
        raise DeviceError(f"{name}: must be finite, got {v!r}")
    return float(v)


def _check_positive(name: str, v: Any) -> None:
    if _finite(name, v) <= 0:
        raise DeviceError(f"{name}: must be > 0, got {v!r}")


def _check_nonneg(name: str, v: Any) -> None:
    if _finite(name, v) < 0:
        raise DeviceError(f"{name}: must be >= 0, got {v!r}")


def _check_rate(name: str, v: Any) -> None:
    x = _finite(name, v)
    if not 0.0 <= x <= 1.0:
        raise DeviceError(f"{name}: must be a probability in [0, 1], got {v!r}")


def _check_int(name: str, v: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise DeviceError(f"{name}: must be an integer >= {lo}, got {v!r}")
    if v < lo or (hi is not None and v > hi):
        allowed = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise DeviceError(f"{name}: must be an integer {allowed}, got {v!r}")


@dataclass(frozen=True)
class DeviceParams:
    """One RRAM device kind. Defaults: MNSIM 2.0 electrical numbers, ideal (no noise, no faults).

    Use :meth:`mnsim2` for MNSIM 2.0's default non-idealities too. Validated on construction.
    """

    r_on_ohm: float = 10e3  # MNSIM 2.0 default
    r_off_ohm: float = 1e6  # MNSIM 2.0 default
    v_read: float = 0.15  # V, MNSIM 2.0
    t_read_s: float = 3.16e-9  # MNSIM 2.0 read time
    v_write: float = 3.0  # V, MNSIM 2.0
    pulse_width_s: float = 10e-9  # MNSIM 2.0 write time
    pulse_energy_pj: float | None = None  # None: V_write^2 / R_on x pulse_width (upper bound)
    pulses_per_state: int = 1
    nonlinearity: float = 0.0  # 0: linear conductance update
    write_noise: float = 0.0  # cycle-to-cycle, relative to one pulse's step
    variation: float = 0.0  # device-to-device, relative sigma of conductance
    stuck_on_rate: float = 0.0
    stuck_off_rate: float = 0.0
    read_noise: float = 0.0  # relative sigma per read
    levels: int | None = None  # conductance levels per device; None: as many as the mapping needs

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise DeviceError naming the first bad parameter and what is allowed."""
        for name in ("r_on_ohm", "r_off_ohm", "v_read", "t_read_s", "v_write", "pulse_width_s"):
            _check_positive(name, getattr(self, name))
        if self.r_off_ohm <= self.r_on_ohm:
            raise DeviceError(f"r_off_ohm: must be > r_on_ohm ({self.r_on_ohm!r}), got {self.r_off_ohm!r} "
                              f"(Roff <= Ron leaves no conductance range)")
        if self.pulse_energy_pj is not None:
            _check_nonneg("pulse_energy_pj", self.pulse_energy_pj)
        _check_int("pulses_per_state", self.pulses_per_state, 1)
        for name in ("nonlinearity", "write_noise", "variation", "read_noise"):
            _check_nonneg(name, getattr(self, name))
        for name in ("stuck_on_rate", "stuck_off_rate"):
            _check_rate(name, getattr(self, name))
        if self.stuck_on_rate + self.stuck_off_rate > 1.0:
            raise DeviceError(f"stuck_on_rate + stuck_off_rate: must be <= 1, got "
                              f"{self.stuck_on_rate!r} + {self.stuck_off_rate!r}")
        if self.levels is not None:
            _check_int("levels", self.levels, 2)

    @classmethod
    def mnsim2(cls, **overrides: Any) -> "DeviceParams":
        """MNSIM 2.0 defaults incl. non-idealities: variation 1 %, stuck-at 0.1 % / 0.1 % ([MNSIM2])."""
        base = dict(variation=0.01, stuck_on_rate=0.001, stuck_off_rate=0.001)
        return cls(**{**base, **overrides})

    @classmethod
    def neurosim_v14(cls, **overrides: Any) -> "DeviceParams":
        """DNN+NeuroSim V1.4 RRAM: Ron 100 kOhm, Roff 1.7 MOhm, Vread 0.55 V, 10 ns read, Vwrite 2 V.

        docs/references.md ([DNN+NeuroSim]) gives no V1.4 pulse width; MNSIM's 10 ns is kept.
        """
        base = dict(r_on_ohm=100e3, r_off_ohm=1.7e6, v_read=0.55, t_read_s=10e-9, v_write=2.0)
        return cls(**{**base, **overrides})

    def replace(self, **changes: Any) -> "DeviceParams":
        """A copy with some fields changed (validated)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise DeviceError(f"unknown parameter(s) {sorted(unknown)}; allowed: {', '.join(values)}")
        return DeviceParams(**{**values, **changes})

    @property
    def g_max(self) -> float:
        """Most conductive state, 1 / R_on (S)."""
        return 1.0 / self.r_on_ohm

    @property
    def g_min(self) -> float:
        """Least conductive state, 1 / R_off (S)."""
        return 1.0 / self.r_off_ohm

    @property
    def g_range(self) -> float:
        """G_max - G_min (S)."""
        return self.g_max - self.g_min

    @property
    def energy_per_pulse_pj(self) -> float:
        """Energy of one write pulse in pJ (given, or V_write^2 / R_on x pulse_width)."""
        if self.pulse_energy_pj is not None:
            return float(self.pulse_energy_pj)
        return self.v_write ** 2 / self.r_on_ohm * self.pulse_width_s * 1e12

    @property
    def ideal(self) -> bool:
        """No non-ideality: reads return the states' values exactly (pulse counts and energies still apply)."""
        return (self.write_noise == 0 and self.variation == 0 and self.stuck_on_rate == 0
                and self.stuck_off_rate == 0 and self.read_noise == 0 and self.levels is None
                and self.nonlinearity == 0)


# ---------------------------------------------------------------- state <-> conductance (ideal, nominal)

def _check_mapping(mapping: str) -> None:
    if mapping not in MAPPINGS:
        raise DeviceError(f"mapping: got {mapping!r}; allowed: {', '.join(MAPPINGS)}")


def _check_N(N: Any) -> None:
    _check_int("N", N, 0, MAX_N)


@dataclass(frozen=True)
class DeviceSpec:
    """Devices for device-aware training: the device kind, how states sit on it, and the chip's seed.

    ``mapping``: differential pair or one device + reference column; ``N``: the devices' own weight space (a
    crossbar's N; None: the workload's N), a workload state n sits at device state n x 2^(N - N_workload);
    ``seed``: seed of the device draws (None: the run's seed), so one seed is one chip.
    """

    params: DeviceParams = field(default_factory=DeviceParams)
    mapping: str = "differential"
    N: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, DeviceParams):
            raise DeviceError(f"params: must be a DeviceParams, got {type(self.params).__name__}")
        _check_mapping(self.mapping)
        if self.N is not None:
            _check_N(self.N)
        if self.seed is not None:
            _check_int("seed", self.seed, 0)

    @property
    def ideal(self) -> bool:
        """Reads return the states' values exactly (see :attr:`DeviceParams.ideal`)."""
        return self.params.ideal

    def device_N(self, N: int) -> int:
        """The devices' weight space for a workload of weight space N (DeviceError if they cannot hold it)."""
        _check_N(N)
        Na = N if self.N is None else int(self.N)
        if Na < N:
            raise DeviceError(f"N: the devices hold N = {Na} ({2 ** Na + 1} states) but the weights have N = {N} "
                              f"({2 ** N + 1} states); train with N <= {Na} or raise the devices' N")
        return Na


def steps_per_device(N: int, mapping: str = "differential") -> int:
    """Level steps S between G_min and G_max on one device: 2^(N-1) (differential, 1 for N = 0) or 2^N."""
    _check_N(N)
    _check_mapping(mapping)
    if mapping == "reference":
        return 2 ** N
    return max(2 ** (N - 1), 1)


def levels_needed(N: int, mapping: str = "differential") -> int:
    """Conductance levels one device needs to hold every state of Z_N exactly (S + 1)."""
    return steps_per_device(N, mapping) + 1


def _states_array(states: Any, N: int) -> np.ndarray:
    a = np.asarray(states)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and a.size and np.all(np.isfinite(a)) and np.all(a == np.rint(a)):
            a = a.astype(np.int64)
        elif a.size == 0:
            a = a.astype(np.int64)
        else:
            raise DeviceError(f"states: must be integer state indices 0..{2 ** N}, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() > 2 ** N):
        raise DeviceError(f"states: must lie in 0..{2 ** N} (Z_{N}), got range {a.min()}..{a.max()}")
    return a.astype(np.int32)


def _levels(n: np.ndarray, N: int, mapping: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Device levels (level+, level-) of checked state indices; level- is None for the reference mapping."""
    if mapping == "reference":
        return n, None
    if N == 0:
        return n, 1 - n
    S = 2 ** (N - 1)
    return np.maximum(n - S, 0), np.maximum(S - n, 0)


def state_to_levels(states: Any, N: int, mapping: str = "differential") -> tuple[np.ndarray, np.ndarray | None]:
    """Device levels (level+, level-) of state indices; level- is None for the reference mapping."""
    _check_N(N)
    _check_mapping(mapping)
    return _levels(_states_array(states, N), N, mapping)


def pulse_counts(old: np.ndarray, new: np.ndarray, N: int, mapping: str,
                 pulses_per_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Signed pulses (> 0 SET, < 0 RESET) on (G+, G-) that move checked states old -> new; G- zero for reference."""
    lp0, ln0 = _levels(old, N, mapping)
    lp1, ln1 = _levels(new, N, mapping)
    kp = (lp1 - lp0).astype(np.int64) * pulses_per_state
    kn = np.zeros_like(kp) if ln0 is None else (ln1 - ln0).astype(np.int64) * pulses_per_state
    return kp, kn


def _snap(g: np.ndarray, params: DeviceParams) -> np.ndarray:
    """Round conductances to the device's ``levels`` evenly spaced values (no-op when levels is None)."""
    if params.levels is None:
        return g
    k = params.levels - 1
    q = np.clip(np.rint((g - params.g_min) / params.g_range * k), 0, k)
    return params.g_min + q / k * params.g_range


def state_to_conductance(states: Any, N: int, params: DeviceParams,
                         mapping: str = "differential") -> tuple[np.ndarray, np.ndarray]:
    """Nominal (ideal, no noise) conductances (g_pos, g_neg) of state indices, same shape as ``states``.

    differential: the device pair; reference: the device and the reference conductance (broadcast).
    With ``params.levels`` set, each device conductance is rounded to its nearest available level.
    """
    lp, ln = state_to_levels(states, N, mapping)
    S = steps_per_device(N, mapping)
    g_pos = _snap(params.g_min + lp / S * params.g_range, params)
    if mapping == "reference":
        g_neg = np.full(lp.shape, params.g_min + 0.5 * params.g_range)
    else:
        g_neg = _snap(params.g_min + ln / S * params.g_range, params)
    return g_pos, g_neg


def weight_unit(params: DeviceParams, mapping: str = "differential", L: float = 1.0) -> float:
    """Conductance difference (S) that reads as weight 1: (G_max - G_min) / L, or half that (reference)."""
    _check_mapping(mapping)
    return params.g_range / L if mapping == "differential" else 0.5 * params.g_range / L


def conductance_to_weight(g_pos: Any, g_neg: Any, params: DeviceParams, mapping: str = "differential",
                          L: float = 1.0) -> np.ndarray:
    """Weight values seen through conductances: (g_pos - g_neg) / weight_unit."""
    _check_positive("L", L)
    return (np.asarray(g_pos, dtype=np.float64) - np.asarray(g_neg, dtype=np.float64)) / weight_unit(
        params, mapping, L)


def weight_to_conductance(values: Any, params: DeviceParams, mapping: str = "differential",
                          L: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Conductances (g_pos, g_neg) that read as weight ``values``: the inverse of :func:`conductance_to_weight`.

    differential: the device of the weight's sign carries |w|, its partner idles at G_min (as the nominal states
    sit); reference: one device around the mid-range reference. Clipped to the device range [G_min, G_max].
    One conductance pair per value: it cannot tell a fault or a write error from the state that reads alike
    (the device array's own read, :meth:`DeviceArray.read`, can).
    """
    _check_mapping(mapping)
    _check_positive("L", L)
    v = np.asarray(values, dtype=np.float64) * weight_unit(params, mapping, L)
    g_max = params.g_min + params.g_range
    if mapping == "reference":
        g_ref = params.g_min + 0.5 * params.g_range
        return np.clip(g_ref + v, params.g_min, g_max), np.full(v.shape, g_ref)
    return (np.clip(params.g_min + np.maximum(v, 0.0), params.g_min, g_max),
            np.clip(params.g_min + np.maximum(-v, 0.0), params.g_min, g_max))


def state_to_weight(states: Any, N: int, L: float = 1.0) -> np.ndarray:
    """Nominal weight values of state indices: (n / 2^(N-1) - 1) L (float64)."""
    _check_N(N)
    return (_states_array(states, N) / 2.0 ** (N - 1) - 1.0) * L


def line_conductance_sums(g_pos: Any, g_neg: Any, mapping: str = "differential", tile_cols: int | None = None,
                          copy_tile_cols: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Conductance on each line of one read of a (rows, cols) array, for the V^2 G t read energy.

    Returns (per row (rows,), per column (cols,), per row of the copy crossbar W^T (cols,) or None).
    differential: G+ + G- of the line. reference (``g_neg`` = each row's reference device, broadcast over the
    columns, as :meth:`DeviceArray.read` returns it): a row holds its G devices plus its reference device once
    per tile of ``tile_cols`` columns (ceil(cols / tile_cols); None: once); a column holds its G devices only
    (the reference column is no weight column). ``copy_tile_cols`` ([TrainingItself]'s copy crossbar, whose rows are
    these columns): differential as the columns; reference the column's G devices plus the mean reference
    conductance once per copy tile of ``copy_tile_cols`` columns (the copy's own references are not read here).
    """
    _check_mapping(mapping)
    gp, gn = np.asarray(g_pos, dtype=np.float64), np.asarray(g_neg, dtype=np.float64)
    if gp.ndim != 2 or gn.shape != gp.shape:
        raise DeviceError(f"g_pos, g_neg: must be (rows, cols) arrays of one shape, got {gp.shape} and {gn.shape}")
    rows, cols = gp.shape
    row_p, col_p = gp.sum(axis=1), gp.sum(axis=0)
    if mapping == "differential":
        cols_g = col_p + gn.sum(axis=0)
        return row_p + gn.sum(axis=1), cols_g, (cols_g.copy() if copy_tile_cols is not None else None)
    g_ref = gn[:, 0] if cols else np.zeros(rows)
    row_tiles = 1 if tile_cols is None else -(-cols // int(tile_cols))
    copy_g = None
    if copy_tile_cols is not None:
        copy_g = col_p + (float(g_ref.mean()) if rows else 0.0) * -(-rows // int(copy_tile_cols))
    return row_p + g_ref * row_tiles, col_p, copy_g


# ---------------------------------------------------------------- draw sources

# Purposes of the draws (the key of a counter-based stream, separating what the numbers are for).
GAIN, GAIN_REF, STUCK, WRITE, READ_POS, READ_NEG, READ_REF = 1, 2, 3, 4, 5, 6, 7
_DEVICE_TAG = 0xDE71CE  # separates the device streams from the DST transition streams of one seed


@runtime_checkable
class Draws(Protocol):
    """Where a DeviceArray's random numbers come from: standard normals and uniforms, by purpose and counter.

    ``indexed``: whether draws at some device indices cost only those (a write then draws, and computes, only
    for the devices it pulses); a non-indexed source draws every device in call order.
    """

    indexed: bool

    def normal(self, purpose: int, counter: int, shape: tuple[int, ...],
               idx: np.ndarray | None = None) -> np.ndarray:
        """Standard normals of shape ``shape``, or only at flat indices ``idx`` of it (1-D)."""
        ...

    def uniform(self, purpose: int, counter: int, shape: tuple[int, ...]) -> np.ndarray:
        """Uniforms in [0, 1) of shape ``shape``."""
        ...


class GeneratorDraws:
    """Draws from a numpy Generator in call order (purpose and counter ignored): the functional crossbars."""

    indexed = False

    def __init__(self, rng: np.random.Generator | int | None = 0) -> None:
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def normal(self, purpose: int, counter: int, shape: tuple[int, ...],
               idx: np.ndarray | None = None) -> np.ndarray:
        """Standard normals for the whole shape (the stream never depends on idx), then taken at idx."""
        z = self.rng.standard_normal(shape)
        return z if idx is None else z.reshape(-1)[idx]

    def uniform(self, purpose: int, counter: int, shape: tuple[int, ...]) -> np.ndarray:
        """Uniforms in [0, 1)."""
        return self.rng.random(shape)


@njit(cache=True, inline="always")
def _box_muller(key, pair, second):
    """One standard normal of Box-Muller pair ``pair`` of stream ``key`` (cos or, if second, sin branch)."""
    u1 = 1.0 - uniform(key, 2 * pair)  # (0, 1]
    u2 = uniform(key, 2 * pair + 1)
    r = math.sqrt(-2.0 * math.log(u1))
    return r * math.sin(2.0 * math.pi * u2) if second else r * math.cos(2.0 * math.pi * u2)


@njit(cache=True)
def _normals_all(key, out):
    """Element i of stream ``key`` into out[i]: both normals of each Box-Muller pair at once."""
    n = out.size
    for p in range(n // 2):
        u1 = 1.0 - uniform(key, 2 * p)
        u2 = uniform(key, 2 * p + 1)
        r = math.sqrt(-2.0 * math.log(u1))
        out[2 * p] = r * math.cos(2.0 * math.pi * u2)
        out[2 * p + 1] = r * math.sin(2.0 * math.pi * u2)
    if n % 2:
        out[n - 1] = _box_muller(key, (n - 1) // 2, False)


@njit(cache=True)
def _normals_at(key, idx, out):
    """Element idx[j] of stream ``key`` into out[j] (the same numbers as _normals_all at those indices)."""
    for j in range(idx.size):
        i = idx[j]
        out[j] = _box_muller(key, i // 2, i % 2 == 1)


@njit(cache=True)
def _uniforms_all(key, out):
    """Element i of stream ``key`` into out[i], uniform in [0, 1)."""
    for i in range(out.size):
        out[i] = uniform(key, i)


class CounterDraws:
    """Counter-based draws: element i of (purpose, counter) is a pure function of (seed, stream, purpose, counter, i).

    A run that saves an array's counters (writes, reads) replays exactly what it would have drawn, without any
    RNG state; two arrays with one seed and stream draw the same devices, faults and noise.
    """

    indexed = True

    def __init__(self, seed: int, stream: int = 0) -> None:
        _check_int("seed", seed, 0)
        _check_int("stream", stream, 0)
        self.seed, self.stream = int(seed), int(stream)

    def key(self, purpose: int, counter: int) -> np.uint64:
        """Key of one stream: the numbers of one purpose at one write/read counter."""
        return stream_key(self.seed, _DEVICE_TAG, self.stream, int(purpose), int(counter))

    def normal(self, purpose: int, counter: int, shape: tuple[int, ...],
               idx: np.ndarray | None = None) -> np.ndarray:
        """Standard normals (Box-Muller on counter-based uniforms), for the whole shape or at flat indices."""
        k = self.key(purpose, counter)
        if idx is None:
            out = np.empty(int(np.prod(shape, dtype=np.int64)), np.float64)
            _normals_all(k, out)
            return out.reshape(shape)
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        out = np.empty(idx.size, np.float64)
        _normals_at(k, idx, out)
        return out

    def uniform(self, purpose: int, counter: int, shape: tuple[int, ...]) -> np.ndarray:
        """Uniforms in [0, 1)."""
        out = np.empty(int(np.prod(shape, dtype=np.int64)), np.float64)
        _uniforms_all(self.key(purpose, counter), out)
        return out.reshape(shape)


# ---------------------------------------------------------------- pulse trains on conductances

def _apply_pulses(g: np.ndarray, k: np.ndarray, z: np.ndarray, params: DeviceParams, S: int) -> np.ndarray:
    """Conductance after a train of k pulses (k > 0 SET, k < 0 RESET) per device, z its standard normals.

    Devices with k = 0 keep their conductance (no cycle-to-cycle noise), clipped and snapped like the others.
    """
    gmin, gmax, dg = params.g_min, params.g_max, params.g_range
    P = S * params.pulses_per_state  # pulses for the full range
    step = dg / P
    kf = k.astype(np.float64)
    nu = params.nonlinearity
    if nu == 0.0:
        out = g + kf * step
    else:
        B = dg / (-math.expm1(-nu))  # B (1 - exp(-nu)) = G_max - G_min
        A = P / nu
        up = np.clip((g - gmin) / B, 0.0, 1.0 - 1e-15)
        down = np.clip((gmax - g) / B, 0.0, 1.0 - 1e-15)
        p_up = -A * np.log1p(-up)
        p_down = -A * np.log1p(-down)
        g_set = gmin - B * np.expm1(-(p_up + kf) / A)
        g_reset = gmax + B * np.expm1(-(p_down - kf) / A)
        out = np.where(k > 0, g_set, np.where(k < 0, g_reset, g))
    if params.write_noise > 0.0:
        out = out + np.where(k != 0, params.write_noise * step * np.sqrt(np.abs(kf)) * z, 0.0)
    return _snap(np.clip(out, gmin, gmax), params)


@njit(cache=True)
def _moved_trains(old, new, lp, ln, pps, has_neg):
    """The weights whose state changed (flat indices), and their pulse trains: flat device indices into (2, n),
    ascending, and signed pulses.

    ``lp``/``ln``: the mapping's device levels (G+, G-) per state; trains of zero pulses are left out.
    """
    n = old.size
    buf = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if old[i] != new[i]:
            buf[m] = i
            m += 1
    moved = buf[:m].copy()
    dev = np.empty(2 * m, np.int64)
    k = np.empty(2 * m, np.int64)
    j = 0
    for plane in range(2 if has_neg else 1):
        lv = lp if plane == 0 else ln
        for i in moved:
            d = lv[new[i]] - lv[old[i]]
            if d != 0:
                dev[j] = plane * n + i
                k[j] = d * pps
                j += 1
    return moved, dev[:j], k[:j]


@njit(cache=True)
def _train_totals(k):
    """(SET pulses, RESET pulses, devices pulsed) of signed pulse counts."""
    s = r = c = 0
    for v in k:
        if v > 0:
            s += v
        elif v < 0:
            r -= v
        if v != 0:
            c += 1
    return s, r, c


@njit(cache=True)
def _put_pinned(g, dev, vals, on, off, g_min, g_max):
    """g[dev[j]] = vals[j] (dev None: every device), stuck devices pinned at G_max (on) or G_min (off)."""
    for j in range(vals.size):
        d = j if dev is None else dev[j]
        g[d] = g_max if on[d] else (g_min if off[d] else vals[j])


@njit(cache=True)
def _quiet_read_at(g, gain, gain_ref, idx, cols, ref, g_ref):
    """Noise-free read (gain x G) of the weights at flat indices idx; g, gain as (2, n); reference: per-row device."""
    gp = np.empty(idx.size)
    gn = np.empty(idx.size)
    for j in range(idx.size):
        i = idx[j]
        gp[j] = g[0, i] * gain[0, i]
        gn[j] = g_ref * gain_ref[i // cols] if ref else g[1, i] * gain[1, i]
    return gp, gn


@dataclass(frozen=True)
class WriteResult:
    """One write to a DeviceArray: per-device signed pulse counts and totals.

    ``pulses_pos``/``pulses_neg`` are (rows, cols) int arrays, > 0 SET pulses, < 0 RESET pulses, on the G+
    device and the G- device (all zero for the reference mapping), built on first use from the trains
    ``trains`` of the flat devices ``devices`` of (2, rows, cols) (None: every device, in that order).
    """

    shape: tuple[int, int]
    devices: np.ndarray | None
    trains: np.ndarray
    moved: np.ndarray  # flat indices of the weights whose state changed
    set_pulses: int
    reset_pulses: int
    devices_written: int
    energy_pj: float

    @property
    def pulses(self) -> int:
        """All pulses of this write."""
        return self.set_pulses + self.reset_pulses

    @cached_property
    def _per_device(self) -> np.ndarray:
        """Signed pulses of every device, (2, rows, cols)."""
        if self.devices is None:
            return self.trains.reshape(2, *self.shape)
        full = np.zeros(2 * self.shape[0] * self.shape[1], np.int64)
        full[self.devices] = self.trains
        return full.reshape(2, *self.shape)

    @property
    def pulses_pos(self) -> np.ndarray:
        """Signed pulses on the G+ devices (rows, cols)."""
        return self._per_device[0]

    @property
    def pulses_neg(self) -> np.ndarray:
        """Signed pulses on the G- devices (rows, cols)."""
        return self._per_device[1]


# keys of DeviceArray.arrays(): name -> (dtype kind, shape as a function of (rows, cols))
_ARRAY_LAYOUT = {
    "g": ("f", lambda r, c: (2, r, c)),
    "gain": ("f", lambda r, c: (2, r, c)),
    "gain_ref": ("f", lambda r, c: (r,)),
    "stuck": ("iu", lambda r, c: (2, r, c)),
    "states": ("iu", lambda r, c: (r, c)),
    "counters": ("iu", lambda r, c: (4,)),
    "energy": ("f", lambda r, c: (1,)),
}


class DeviceArray:
    """A (rows, cols) array of weights held on devices, with fixed variation and faults from its draw source.

    Keeps the nominal state index of every weight (what the digital side believes) and the real device
    conductances (what reads see). Counts writes and reads (``writes``, ``reads``: the counters of counter-based
    draws), pulses and write energy over its life (``pulse_count``, ``set_count``, ``reset_count``,
    ``write_energy_pj``). :meth:`arrays` / :meth:`load` save and restore all of it as plain arrays.
    """

    def __init__(self, shape: tuple[int, int], N: int, params: DeviceParams, mapping: str = "differential",
                 draws: Draws | None = None, states: Any = None, L: float = 1.0) -> None:
        _check_N(N)
        _check_mapping(mapping)
        _check_positive("L", L)
        if not isinstance(params, DeviceParams):
            raise DeviceError(f"params: must be a DeviceParams, got {type(params).__name__}")
        draws = GeneratorDraws(0) if draws is None else draws
        if not isinstance(draws, Draws):
            raise DeviceError(f"draws: must be a draw source (GeneratorDraws(rng) or CounterDraws(seed, stream)), "
                              f"got {type(draws).__name__}")
        shape = tuple(shape)
        if len(shape) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                                  for s in shape):
            raise DeviceError(f"shape: must be (rows, cols) with integers >= 1, got {shape!r}")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.N, self.params, self.mapping, self.L = int(N), params, mapping, float(L)
        self.S = steps_per_device(N, mapping)
        lp, ln = _levels(np.arange(2 ** self.N + 1), self.N, mapping)  # device levels per state
        self._level_table = (lp.astype(np.int64), (lp if ln is None else ln).astype(np.int64))
        self.draws = draws
        self.writes = self.reads = 0
        self.pulse_count = self.set_count = self.reset_count = 0
        self.write_energy_pj = 0.0
        self._draw_devices()
        if states is None:
            states = np.full(self.shape, 2 ** (N - 1) if N >= 1 else 0, dtype=np.int32)
        self._g = np.empty((2, *self.shape), np.float64)
        self._states = np.empty(self.shape, np.int32)
        self.write_verified(states)

    def _draw_devices(self) -> None:
        """Gains and stuck-at faults, every random quantity drawn in a fixed order whatever the rates."""
        rows, cols = self.shape
        p, d = self.params, self.draws
        z = d.normal(GAIN, 0, (2, rows, cols))
        zr = d.normal(GAIN_REF, 0, (rows,))
        u = d.uniform(STUCK, 0, (2, rows, cols))
        self.gain = np.maximum(1.0 + p.variation * z, 0.0)  # [0] G+, [1] G-
        self.gain_ref = np.maximum(1.0 + p.variation * zr, 0.0)
        on, off = p.stuck_on_rate, p.stuck_off_rate
        self.stuck_on = u < on  # [0] G+, [1] G-
        self.stuck_off = (u >= on) & (u < on + off)
        if self.mapping == "reference":  # no G- device exists
            self.stuck_on[1] = False
            self.stuck_off[1] = False

    # ---- state
    def _checked(self, states: Any) -> np.ndarray:
        st = _states_array(states, self.N)
        if st.shape != self.shape:
            raise DeviceError(f"states: shape {st.shape} does not match the array shape {self.shape}")
        return st

    def _put(self, dev: np.ndarray | None, vals: np.ndarray) -> None:
        """Conductances vals into the flat devices ``dev`` (None: all), the stuck ones pinned at G_max / G_min."""
        _put_pinned(self._g.reshape(-1), dev, np.ascontiguousarray(vals, dtype=np.float64),
                    self.stuck_on.reshape(-1), self.stuck_off.reshape(-1), self.params.g_min, self.params.g_max)

    def write_verified(self, states: Any) -> None:
        """Program exact targets (a write-verify loop, as at fabrication): no pulses counted, faults still pin."""
        st = self._checked(states)
        gp, gn = state_to_conductance(st, self.N, self.params, self.mapping)
        g = np.stack([gp, gn if self.mapping == "differential" else np.full(self.shape, self.params.g_min)])
        self._put(None, g.reshape(-1))
        self._states[...] = st

    @property
    def gain_pos(self) -> np.ndarray:
        """Variation gain of every G+ device (rows, cols)."""
        return self.gain[0]

    @property
    def gain_neg(self) -> np.ndarray:
        """Variation gain of every G- device (rows, cols)."""
        return self.gain[1]

    @property
    def stuck(self) -> np.ndarray:
        """(2, rows, cols) bool: device stuck at G_max or G_min ([0] G+, [1] G-)."""
        return self.stuck_on | self.stuck_off

    @property
    def stuck_codes(self) -> np.ndarray:
        """(2, rows, cols) int8: 0 free, STUCK_ON (pinned at G_max), STUCK_OFF (pinned at G_min)."""
        return np.where(self.stuck_on, STUCK_ON, np.where(self.stuck_off, STUCK_OFF, 0)).astype(np.int8)

    @property
    def states(self) -> np.ndarray:
        """Nominal state indices (a copy)."""
        return self._states.copy()

    @property
    def g_ref(self) -> float:
        """Nominal reference conductance (G_min + G_max) / 2."""
        return self.params.g_min + 0.5 * self.params.g_range

    def nominal_weights(self) -> np.ndarray:
        """Weights the digital side believes: values of the nominal states."""
        return state_to_weight(self._states, self.N, self.L)

    def conductances(self) -> tuple[np.ndarray, np.ndarray]:
        """Programmed conductances (g_pos, g_neg) without variation gain or read noise (copies)."""
        if self.mapping == "reference":
            return self._g[0].copy(), np.full(self.shape, self.g_ref)
        return self._g[0].copy(), self._g[1].copy()

    # ---- reads
    def read(self, noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Conductances (g_pos, g_neg) a read sees: gain x G x (1 + read_noise z), z fresh per (counted) read.

        For the reference mapping g_neg is the per-row reference device broadcast over the columns.
        """
        p = self.params
        gp = self._g[0] * self.gain[0]
        if self.mapping == "reference":
            gn = np.broadcast_to((self.g_ref * self.gain_ref)[:, None], self.shape)
        else:
            gn = self._g[1] * self.gain[1]
        if noise and p.read_noise > 0.0:
            c, d = self.reads, self.draws
            self.reads += 1
            zp = d.normal(READ_POS, c, self.shape)
            gp = np.maximum(gp * (1.0 + p.read_noise * zp), 0.0)
            if self.mapping == "reference":
                zr = d.normal(READ_REF, c, (self.shape[0],))
                gn = np.broadcast_to(np.maximum(gn[:, 0] * (1.0 + p.read_noise * zr), 0.0)[:, None], self.shape)
            else:
                gn = np.maximum(gn * (1.0 + p.read_noise * d.normal(READ_NEG, c, self.shape)), 0.0)
        return gp, gn

    def read_at(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free read (g_pos, g_neg) of the weights at flat indices ``idx``: read(noise=False) there."""
        n = self._states.size
        return _quiet_read_at(self._g.reshape(2, n), self.gain.reshape(2, n), self.gain_ref,
                              np.ascontiguousarray(idx, dtype=np.int64), self.shape[1], self.mapping == "reference",
                              self.g_ref)

    def read_weights(self, noise: bool = True) -> np.ndarray:
        """Effective weights a read sees (variation, faults, write history, read noise)."""
        gp, gn = self.read(noise)
        return conductance_to_weight(gp, gn, self.params, self.mapping, self.L)

    # ---- writes
    def _trains(self, new: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """The moved weights (flat indices), the devices pulsed (flat into (2, rows, cols); None: all) and their
        signed pulse counts.

        A non-indexed draw source pulses the whole array (k = 0 on unchanged devices, one draw per device);
        an indexed one only the devices whose level changes.
        """
        pps = self.params.pulses_per_state
        old = self._states.reshape(-1)
        if not self.draws.indexed:
            kp, kn = pulse_counts(old, new.reshape(-1), self.N, self.mapping, pps)
            return np.flatnonzero(old != new.reshape(-1)), None, np.concatenate([kp, kn])
        lp, ln = self._level_table
        return _moved_trains(old, new.reshape(-1), lp, ln, pps, self.mapping == "differential")

    def _pulse(self, dev: np.ndarray | None, k: np.ndarray) -> None:
        """Apply the pulse trains k to the flat devices ``dev`` (None: all), noise drawn for exactly those."""
        g = self._g.reshape(-1)
        z = self.draws.normal(WRITE, self.writes, self._g.shape, dev)
        self.writes += 1
        sub = g if dev is None else g[dev]
        self._put(dev, _apply_pulses(sub, k, z.reshape(-1), self.params, self.S))

    def _account(self, moved: np.ndarray, dev: np.ndarray | None, k: np.ndarray) -> WriteResult:
        """Count the pulses and energy of one write."""
        set_p, reset_p, written = (int(v) for v in _train_totals(k))
        energy = (set_p + reset_p) * self.params.energy_per_pulse_pj
        self.pulse_count += set_p + reset_p
        self.set_count += set_p
        self.reset_count += reset_p
        self.write_energy_pj += energy
        return WriteResult(self.shape, dev, k, moved, set_p, reset_p, written, energy)

    def program(self, states: Any) -> WriteResult:
        """Move every weight to new state indices by open-loop pulse trains; returns the pulses spent."""
        new = self._checked(states)
        moved, dev, k = self._trains(new)
        self._pulse(dev, k)
        self._states[...] = new
        return self._account(moved, dev, k)

    def step(self, delta: Any) -> WriteResult:
        """Move each weight by ``delta`` states (integer array), clipped to 0..2^N."""
        d = np.asarray(delta)
        if d.dtype.kind not in "iu":
            if d.dtype.kind == "f" and np.all(np.isfinite(d)) and np.all(d == np.rint(d)):
                d = d.astype(np.int64)
            else:
                raise DeviceError(f"delta: must be integer state steps, got dtype {d.dtype}")
        d = np.broadcast_to(d, self.shape)
        return self.program(np.clip(self._states.astype(np.int64) + d, 0, 2 ** self.N))

    # ---- saving
    def arrays(self) -> dict[str, np.ndarray]:
        """Everything that defines the array, as plain arrays (no RNG state: counters key counter-based draws)."""
        return {"g": self._g, "gain": self.gain, "gain_ref": self.gain_ref, "stuck": self.stuck_codes,
                "states": self._states,
                "counters": np.array([self.writes, self.reads, self.set_count, self.reset_count], np.int64),
                "energy": np.array([self.write_energy_pj], np.float64)}

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`arrays` saved (all keys); DeviceError naming a missing or misshapen array."""
        rows, cols = self.shape
        got = {}
        for name, (kinds, shape_of) in _ARRAY_LAYOUT.items():
            if name not in arrays:
                raise DeviceError(f"{name}: missing from the device arrays (have {', '.join(sorted(arrays))})")
            a = np.asarray(arrays[name])
            if a.shape != shape_of(rows, cols) or a.dtype.kind not in kinds:
                kind = "float" if kinds == "f" else "int"
                raise DeviceError(f"{name}: expected a {kind} array of shape {shape_of(rows, cols)}, "
                                  f"got {a.dtype} {a.shape}")
            got[name] = a
        stuck = got["stuck"]
        if not np.isin(stuck, (0, STUCK_ON, STUCK_OFF)).all():
            raise DeviceError(f"stuck: codes must be 0, {STUCK_ON} (on) or {STUCK_OFF} (off)")
        self._states[...] = self._checked(got["states"])
        self._g[...] = got["g"]
        self.gain[...] = got["gain"]
        self.gain_ref[...] = got["gain_ref"]
        self.stuck_on[...] = stuck == STUCK_ON
        self.stuck_off[...] = stuck == STUCK_OFF
        self.writes, self.reads, self.set_count, self.reset_count = (int(v) for v in got["counters"])
        self.pulse_count = self.set_count + self.reset_count
        self.write_energy_pj = float(got["energy"][0])
