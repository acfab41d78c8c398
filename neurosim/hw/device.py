"""Memristor (RRAM) device model: discrete weight states -> conductances, write pulses, non-idealities.

Functional + action-count model; never imports the training core. Units: conductance in siemens, resistance
in ohms, voltage in volts, time in seconds, energy in pJ.

Weights. A DST weight is a state index n in 0..2^N of Z_N on [-L, L] (value (n / 2^(N-1) - 1) L, seed 000);
the device side needs only n, N and L. Two mappings (``mapping=``):

- ``"differential"`` (seed 004: two crossbars for positive and negative weights): a device pair (G+, G-).
  A positive weight is held on G+, a negative one on G-, the other device sits at G_min. Each device has
  S = 2^(N-1) steps between G_min and G_max (S = 1 for N = 0): level+ = max(n - S, 0),
  level- = max(S - n, 0), G = G_min + level / S (G_max - G_min). Read: w = (G+ - G-) / (G_max - G_min) L.
  For N = 0 (binary, no zero state) level+ = n, level- = 1 - n: both devices flip on every state change.
- ``"reference"``: one device per weight with S = 2^N steps, level = n, plus one fixed reference device per
  row at G_ref = (G_min + G_max) / 2 (a reference column shared by the columns of a tile). Read:
  w = (G - G_ref) / ((G_max - G_min) / 2) L. Needs 2^N + 1 levels on one device but half the devices.

Writes are open loop: a state move of a device by d levels is a train of |d| x ``pulses_per_state`` pulses,
SET (potentiation, G up) or RESET (depression, G down). Total pulses are therefore state distance x
pulses_per_state (differential N >= 1 and reference); binary differential (N = 0) pays twice that, as both
devices of the pair flip. The conductance after a train follows the NeuroSim-style exponential curve when
``nonlinearity`` nu > 0 (G(p) = G_min + B (1 - exp(-p nu / P)), P = S x pulses_per_state pulses for the full
range, mirrored for depression), or a straight line when nu = 0; cycle-to-cycle noise adds
``write_noise`` x (one-pulse step) x sqrt(pulses) x N(0, 1); the result is clipped to [G_min, G_max] and, if
``levels`` is set, rounded to the nearest of ``levels`` evenly spaced conductances. The initial programming
of an array (its constructor) is taken as write-verified: exact targets, not counted.

Non-idealities drawn once per array from its seeded Generator: device-to-device ``variation`` is a fixed
gain (1 + variation z) on each device's conductance seen by a read (MNSIM 2.0 style); stuck-at faults pin a
device at G_max (``stuck_on_rate``) or G_min (``stuck_off_rate``) forever (pulses sent to it are still
counted and charged: the driver does not know). ``read_noise`` is a fresh relative N(0, read_noise) factor
on every device at every read. Reference devices get variation and read noise but no faults (assumed
screened when the reference column is trimmed).

Write energy per pulse: ``pulse_energy_pj`` if given, else V_write^2 / R_on x pulse_width (the upper bound:
the whole pulse at the most conductive state; MNSIM 2.0 numbers give 3^2 / 10 kOhm x 10 ns = 9 pJ).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = [
    "DeviceError", "DeviceParams", "MAPPINGS", "WriteResult", "DeviceArray", "steps_per_device",
    "levels_needed", "state_to_levels", "state_to_conductance", "conductance_to_weight", "state_to_weight",
]

MAPPINGS = ("differential", "reference")
MAX_N = 14  # as in core.spaces: 2^N + 1 states fit in int16


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
        """MNSIM 2.0 defaults incl. non-idealities: variation 1 %, stuck-at 0.1 % / 0.1 % (reference.md)."""
        base = dict(variation=0.01, stuck_on_rate=0.001, stuck_off_rate=0.001)
        return cls(**{**base, **overrides})

    @classmethod
    def neurosim_v14(cls, **overrides: Any) -> "DeviceParams":
        """DNN+NeuroSim V1.4 RRAM: Ron 100 kOhm, Roff 1.7 MOhm, Vread 0.55 V, 10 ns read, Vwrite 2 V.

        The pulse width is not in reference.md; MNSIM's 10 ns is kept.
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


# ---------------------------------------------------------------- state <-> conductance (ideal, nominal)

def _check_mapping(mapping: str) -> None:
    if mapping not in MAPPINGS:
        raise DeviceError(f"mapping: got {mapping!r}; allowed: {', '.join(MAPPINGS)}")


def _check_N(N: Any) -> None:
    _check_int("N", N, 0, MAX_N)


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


def state_to_levels(states: Any, N: int, mapping: str = "differential") -> tuple[np.ndarray, np.ndarray | None]:
    """Device levels (level+, level-) of state indices; level- is None for the reference mapping."""
    _check_N(N)
    _check_mapping(mapping)
    n = _states_array(states, N)
    if mapping == "reference":
        return n, None
    if N == 0:
        return n, 1 - n
    S = 2 ** (N - 1)
    return np.maximum(n - S, 0), np.maximum(S - n, 0)


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
    Used for weights the training core read through non-ideal devices (errors, faults, variation, read noise).
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


# ---------------------------------------------------------------- pulse trains on conductances

def _apply_pulses(g: np.ndarray, k: np.ndarray, params: DeviceParams, S: int, rng: np.random.Generator,
                  noisy: np.ndarray) -> np.ndarray:
    """Conductance after a train of k pulses (k > 0 SET, k < 0 RESET) per device; vectorized.

    ``noisy`` marks the devices drawing cycle-to-cycle noise (those with k != 0); the noise draws are made
    for every device so the random stream does not depend on which devices were written.
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
    z = rng.standard_normal(g.shape)
    if params.write_noise > 0.0:
        out = out + np.where(noisy, params.write_noise * step * np.sqrt(np.abs(kf)) * z, 0.0)
    return _snap(np.clip(out, gmin, gmax), params)


@dataclass(frozen=True)
class WriteResult:
    """One write to a DeviceArray: per-device signed pulse counts and totals.

    ``pulses_pos``/``pulses_neg`` are (rows, cols) int arrays, > 0 SET pulses, < 0 RESET pulses, on the G+
    device and the G- device (all zero for the reference mapping).
    """

    pulses_pos: np.ndarray
    pulses_neg: np.ndarray
    set_pulses: int
    reset_pulses: int
    devices_written: int
    energy_pj: float

    @property
    def pulses(self) -> int:
        """All pulses of this write."""
        return self.set_pulses + self.reset_pulses


class DeviceArray:
    """A (rows, cols) array of weights held on devices, with fixed variation and faults from a seeded RNG.

    Keeps the nominal state index of every weight (what the digital side believes) and the real device
    conductances (what reads see). Counts pulses and write energy over its life (``pulse_count``,
    ``set_count``, ``reset_count``, ``write_energy_pj``).
    """

    def __init__(self, shape: tuple[int, int], N: int, params: DeviceParams, mapping: str = "differential",
                 rng: np.random.Generator | int | None = 0, states: Any = None, L: float = 1.0) -> None:
        _check_N(N)
        _check_mapping(mapping)
        _check_positive("L", L)
        if not isinstance(params, DeviceParams):
            raise DeviceError(f"params: must be a DeviceParams, got {type(params).__name__}")
        shape = tuple(shape)
        if len(shape) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                                  for s in shape):
            raise DeviceError(f"shape: must be (rows, cols) with integers >= 1, got {shape!r}")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.N, self.params, self.mapping, self.L = int(N), params, mapping, float(L)
        self.S = steps_per_device(N, mapping)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        rows, cols = self.shape
        # Draw every random quantity in a fixed order, whatever the rates, so a seed means one array.
        z = self.rng.standard_normal((2, rows, cols))
        zr = self.rng.standard_normal(rows)
        u = self.rng.random((2, rows, cols))
        self.gain_pos = np.maximum(1.0 + params.variation * z[0], 0.0)
        self.gain_neg = np.maximum(1.0 + params.variation * z[1], 0.0)
        self.gain_ref = np.maximum(1.0 + params.variation * zr, 0.0)
        on, off = params.stuck_on_rate, params.stuck_off_rate
        self.stuck_on = u < on  # [0] G+, [1] G-
        self.stuck_off = (u >= on) & (u < on + off)
        if mapping == "reference":  # no G- device exists
            self.stuck_on[1] = False
            self.stuck_off[1] = False
        if states is None:
            states = np.full(self.shape, 2 ** (N - 1) if N >= 1 else 0, dtype=np.int32)
        st = _states_array(states, N)
        if st.shape != self.shape:
            raise DeviceError(f"states: shape {st.shape} does not match the array shape {self.shape}")
        self._states = st.copy()
        gp, gn = state_to_conductance(st, N, params, mapping)
        self._g = np.stack([gp, gn if mapping == "differential" else np.full(self.shape, params.g_min)])
        self._pin()
        self.pulse_count = 0
        self.set_count = 0
        self.reset_count = 0
        self.write_energy_pj = 0.0

    # ---- state
    def _pin(self) -> None:
        self._g = np.where(self.stuck_on, self.params.g_max, np.where(self.stuck_off, self.params.g_min, self._g))

    @property
    def stuck(self) -> np.ndarray:
        """(2, rows, cols) bool: device stuck at G_max or G_min ([0] G+, [1] G-)."""
        return self.stuck_on | self.stuck_off

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

    def read(self, noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Conductances (g_pos, g_neg) a read sees: gain x G x (1 + read_noise z), z fresh per read.

        For the reference mapping g_neg is the per-row reference device broadcast over the columns.
        """
        p = self.params
        gp = self._g[0] * self.gain_pos
        if self.mapping == "reference":
            gn = np.broadcast_to((self.g_ref * self.gain_ref)[:, None], self.shape)
        else:
            gn = self._g[1] * self.gain_neg
        if noise and p.read_noise > 0.0:
            zp = self.rng.standard_normal(self.shape)
            gp = np.maximum(gp * (1.0 + p.read_noise * zp), 0.0)
            if self.mapping == "reference":
                zr = self.rng.standard_normal(self.shape[0])
                gn = np.broadcast_to(np.maximum(gn[:, 0] * (1.0 + p.read_noise * zr), 0.0)[:, None], self.shape)
            else:
                gn = np.maximum(gn * (1.0 + p.read_noise * self.rng.standard_normal(self.shape)), 0.0)
        return gp, gn

    def read_weights(self, noise: bool = True) -> np.ndarray:
        """Effective weights a read sees (variation, faults, write history, read noise)."""
        gp, gn = self.read(noise)
        return conductance_to_weight(gp, gn, self.params, self.mapping, self.L)

    # ---- writes
    def program(self, states: Any) -> WriteResult:
        """Move every weight to new state indices by open-loop pulse trains; returns the pulses spent."""
        new = _states_array(states, self.N)
        if new.shape != self.shape:
            raise DeviceError(f"states: shape {new.shape} does not match the array shape {self.shape}")
        lp0, ln0 = state_to_levels(self._states, self.N, self.mapping)
        lp1, ln1 = state_to_levels(new, self.N, self.mapping)
        pps = self.params.pulses_per_state
        kp = (lp1 - lp0).astype(np.int64) * pps
        kn = np.zeros_like(kp) if ln0 is None else (ln1 - ln0).astype(np.int64) * pps
        k = np.stack([kp, kn])
        self._g = _apply_pulses(self._g, k, self.params, self.S, self.rng, k != 0)
        self._pin()
        self._states = new.copy()
        set_p = int(k[k > 0].sum())
        reset_p = int(-k[k < 0].sum())
        energy = (set_p + reset_p) * self.params.energy_per_pulse_pj
        self.pulse_count += set_p + reset_p
        self.set_count += set_p
        self.reset_count += reset_p
        self.write_energy_pj += energy
        return WriteResult(kp, kn, set_p, reset_p, int(np.count_nonzero(k)), energy)

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
