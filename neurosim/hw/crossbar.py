"""Memristor crossbar: tiled matrix-vector products by Ohm's law + Kirchhoff, readout, training periphery.

Functional + action-count model ([BinAct], [TrainingItself]); never imports the training core. A :class:`Crossbar` holds a
(in, out) weight matrix of DST states on a :class:`~neurosim.devices.DeviceArray`, cut into rows x cols tiles
(``cols`` logical weight columns: device pairs, or one device per weight plus a reference column), reads it
through an input driver (binary, ternary, bit_serial, analog) and a comparator or shared-ADC readout, and writes it
by open-loop pulse trains (``row`` or ``column_parallel`` write driver, :func:`write_cycles`).
:class:`TrainingCrossbarPair` is [TrainingItself]'s normal (W) and copy (W^T) crossbar, written together, with the analog
subtractor, filter and sign units. The counters (:class:`ActionCounts`) are for an energy model to charge later;
the only energies computed here are physical: the array read energy sum V^2 G t_read and the write-pulse energy
of :mod:`neurosim.devices`. Specified in ``docs/model.md``, sections 5.1 and 5.7.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from neurosim.devices import MAPPINGS, DeviceArray, DeviceError, DeviceParams, GeneratorDraws, weight_unit

__all__ = [
    "CrossbarError", "CrossbarParams", "ActionCounts", "WriteStats", "Crossbar", "TrainingCrossbarPair",
    "INPUT_DRIVERS", "READOUTS", "WRITE_MODES", "FILTER_MODES", "adc_quantize", "write_cycles",
    "analog_subtract", "filter_unit", "sign_unit", "sample_binary_inputs",
]

INPUT_DRIVERS = ("binary", "ternary", "bit_serial", "analog")
READOUTS = ("comparator", "adc")
WRITE_MODES = ("row", "column_parallel")
FILTER_MODES = ("printed", "derivative")


class CrossbarError(ValueError):
    """A bad crossbar parameter or operand; the message names the parameter and what is allowed."""


def _check_int(name: str, v: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (hi is not None and v > hi):
        allowed = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise CrossbarError(f"{name}: must be an integer {allowed}, got {v!r}")


def _check_choice(name: str, v: Any, allowed: tuple[str, ...]) -> None:
    if v not in allowed:
        raise CrossbarError(f"{name}: got {v!r}; allowed: {', '.join(allowed)}")


@dataclass(frozen=True)
class CrossbarParams:
    """Tile geometry and periphery of a crossbar. Validated on construction."""

    rows: int = 128
    cols: int = 128  # logical weight columns per tile (device pairs for the differential mapping)
    input_driver: str = "binary"  # binary | ternary | bit_serial | analog
    input_bits: int = 8  # bit_serial only
    readout: str = "comparator"  # comparator | adc
    adc_bits: int = 8  # adc only
    adc_share: int = 8  # adc only: columns sharing one ADC (k)
    adc_full_scale: float = 1.0  # adc only: fraction of the worst-case tile current used as full scale
    write_mode: str = "row"  # row | column_parallel

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise CrossbarError naming the first bad parameter and what is allowed."""
        _check_int("rows", self.rows, 1)
        _check_int("cols", self.cols, 1)
        _check_choice("input_driver", self.input_driver, INPUT_DRIVERS)
        _check_int("input_bits", self.input_bits, 1, 16)
        _check_choice("readout", self.readout, READOUTS)
        _check_int("adc_bits", self.adc_bits, 1, 16)
        # adc_share may exceed cols only where no ADC is used
        _check_int("adc_share", self.adc_share, 1, int(self.cols) if self.readout == "adc" else None)
        fs = self.adc_full_scale
        if isinstance(fs, bool) or not isinstance(fs, (int, float)) or not math.isfinite(fs) or not 0 < fs <= 1:
            raise CrossbarError(f"adc_full_scale: must be a number in (0, 1], got {fs!r}")
        _check_choice("write_mode", self.write_mode, WRITE_MODES)

    @property
    def adcs_per_tile(self) -> int:
        """ADCs per tile: ceil(cols / adc_share)."""
        return -(-self.cols // min(self.adc_share, self.cols))

    @property
    def planes(self) -> int:
        """Read planes per input vector: input_bits for bit_serial, else 1."""
        return self.input_bits if self.input_driver == "bit_serial" else 1


@dataclass
class ActionCounts:
    """Per-operation action counters, for an energy/latency model to charge later.

    array_reads: tile activations (one input plane through one tile); cell_reads: devices read (reference
    devices included); row_drives: driven (nonzero) row inputs per tile column, per plane; integrations:
    integrator samples (tile column x plane, comparator readout); comparator_decisions; conversions: ADC
    conversions (tile column x plane); conversion_cycles: conversion slots on the critical path (tiles in
    parallel); partial_sum_adds: digital shift-adds across planes and row tiles; subtractor_ops, filter_ops,
    sign_ops: [TrainingItself] periphery; write_* : pulses, SET/RESET split, devices written, write-driver cycles;
    read_energy_pj (physical sum V^2 G t_read) and write_energy_pj (pulses x energy per pulse).
    """

    array_reads: int = 0
    cell_reads: int = 0
    row_drives: int = 0
    integrations: int = 0
    comparator_decisions: int = 0
    conversions: int = 0
    conversion_cycles: int = 0
    partial_sum_adds: int = 0
    subtractor_ops: int = 0
    filter_ops: int = 0
    sign_ops: int = 0
    write_pulses: int = 0
    set_pulses: int = 0
    reset_pulses: int = 0
    devices_written: int = 0
    write_cycles: int = 0
    read_energy_pj: float = 0.0
    write_energy_pj: float = 0.0

    def __add__(self, other: "ActionCounts") -> "ActionCounts":
        return ActionCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, float]:
        """All counters by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def reset(self) -> None:
        """Set every counter to zero."""
        for f in fields(self):
            setattr(self, f.name, type(getattr(self, f.name))(0))


@dataclass(frozen=True)
class WriteStats:
    """One crossbar write: pulses (SET + RESET), devices written, write-driver cycles, time and energy."""

    set_pulses: int
    reset_pulses: int
    devices_written: int
    write_cycles: int
    time_s: float
    energy_pj: float

    @property
    def pulses(self) -> int:
        """All pulses."""
        return self.set_pulses + self.reset_pulses

    def parallel(self, other: "WriteStats") -> "WriteStats":
        """Two writes on separate drivers at the same time: counts add, cycles and time take the maximum."""
        return WriteStats(self.set_pulses + other.set_pulses, self.reset_pulses + other.reset_pulses,
                          self.devices_written + other.devices_written, max(self.write_cycles, other.write_cycles),
                          max(self.time_s, other.time_s), self.energy_pj + other.energy_pj)


# ---------------------------------------------------------------- periphery functions

def adc_quantize(current: Any, bits: int, full_scale: float) -> np.ndarray:
    """Uniform ADC over [-FS, +FS] with 2^bits codes, LSB = 2 FS / (2^bits - 1); saturates outside.

    |error| <= LSB / 2 for inputs within +-FS. bits = 1 is a comparator with outputs +-FS.
    """
    _check_int("adc_bits", bits, 1, 16)
    if not (math.isfinite(full_scale) and full_scale > 0):
        raise CrossbarError(f"full_scale: must be a finite number > 0, got {full_scale!r}")
    top = 2 ** bits - 1
    lsb = 2.0 * full_scale / top
    code = np.clip(np.rint((np.asarray(current, dtype=np.float64) + full_scale) / lsb), 0, top)
    return code * lsb - full_scale


def write_cycles(pulses_pos: np.ndarray, pulses_neg: np.ndarray, rows: int, cols: int, mode: str) -> int:
    """Write-driver pulse slots for signed per-device pulse counts (> 0 SET, < 0 RESET), tiles in parallel.

    ``row``: per tile, sum over its rows of (max SET + max RESET over the row's devices);
    ``column_parallel``: per tile, max SET + max RESET over the tile. Result: the maximum over tiles.
    """
    _check_choice("write_mode", mode, WRITE_MODES)
    _check_int("rows", rows, 1)
    _check_int("cols", cols, 1)
    kp, kn = np.asarray(pulses_pos), np.asarray(pulses_neg)
    set_ = np.maximum(np.maximum(kp, 0), np.maximum(kn, 0))
    reset = np.maximum(np.maximum(-kp, 0), np.maximum(-kn, 0))
    n_in, n_out = set_.shape
    rt, ct = -(-n_in // rows), -(-n_out // cols)
    pad = ((0, rt * rows - n_in), (0, ct * cols - n_out))
    s = np.pad(set_, pad).reshape(rt, rows, ct, cols)
    r = np.pad(reset, pad).reshape(rt, rows, ct, cols)
    if mode == "row":
        per_tile = (s.max(axis=3) + r.max(axis=3)).sum(axis=1)  # (rt, ct)
    else:
        per_tile = s.max(axis=(1, 3)) + r.max(axis=(1, 3))
    return int(per_tile.max()) if per_tile.size else 0


def analog_subtract(t: Any, o: Any, counts: ActionCounts | None = None) -> np.ndarray:
    """Analog subtractor of [TrainingItself]: the output error t - o (one op per element)."""
    t, o = np.asarray(t, dtype=np.float64), np.asarray(o, dtype=np.float64)
    d = t - o
    if counts is not None:
        counts.subtractor_ops += int(d.size)
    return d


def filter_unit(o: Any, eps: float = 0.1, mode: str = "printed", counts: ActionCounts | None = None) -> np.ndarray:
    """Filter of [TrainingItself], replacing the sigmoid derivative o (1 - o) by a 0/1 gate (float64).

    ``printed`` (as the slides print it): 0 for eps < o < 1 - eps, 1 otherwise.
    ``derivative`` (the reverse, shaped like o (1 - o)): 1 for eps < o < 1 - eps, 0 otherwise.
    """
    _check_choice("filter mode", mode, FILTER_MODES)
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and 0 <= eps < 0.5):
        raise CrossbarError(f"eps: must be a number in [0, 0.5), got {eps!r}")
    o = np.asarray(o, dtype=np.float64)
    inside = (o > eps) & (o < 1.0 - eps)
    if counts is not None:
        counts.filter_ops += int(o.size)
    return np.where(inside, 0.0, 1.0) if mode == "printed" else np.where(inside, 1.0, 0.0)


def sign_unit(delta: Any, counts: ActionCounts | None = None) -> np.ndarray:
    """Sign calculation unit of [TrainingItself]: sign(delta) in {-1, 0, +1} as int8."""
    d = np.asarray(delta, dtype=np.float64)
    if counts is not None:
        counts.sign_ops += int(d.size)
    return np.sign(d).astype(np.int8)


def sample_binary_inputs(x: Any, samples: int, rng: np.random.Generator | int | None = 0) -> np.ndarray:
    """Stochastic multi-sampling of [BinAct]: x in [-1, 1] -> ``samples`` draws of +-1 with P(+1) = (x+1)/2.

    Returns int8 of shape (samples, *x.shape); the mean over samples is an unbiased estimate of x.
    """
    _check_int("samples", samples, 1)
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)) or np.any(np.abs(x) > 1.0 + 1e-9):
        raise CrossbarError("x: must be finite and within [-1, 1] (normalize the input first)")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    u = rng.random((samples, *x.shape))
    return np.where(u < (x + 1.0) / 2.0, 1, -1).astype(np.int8)


# ---------------------------------------------------------------- the crossbar

class Crossbar:
    """A (in, out) weight matrix of DST states on device conductances, tiled rows x cols.

    ``mvm(x)`` gives the readout (comparator: +-1 int8; adc: the product in weight x input units, float64),
    ``column_currents(x)`` the analog column currents; ``program``/``step`` write states through the write
    driver. All actions are added to ``counts``.
    """

    def __init__(self, in_features: int, out_features: int, N: int, params: CrossbarParams | None = None,
                 device: DeviceParams | None = None, mapping: str = "differential", L: float = 1.0,
                 rng: np.random.Generator | int | None = 0, states: Any = None) -> None:
        _check_int("in_features", in_features, 1)
        _check_int("out_features", out_features, 1)
        self.params = CrossbarParams() if params is None else params
        if not isinstance(self.params, CrossbarParams):
            raise CrossbarError(f"params: must be a CrossbarParams, got {type(self.params).__name__}")
        self.device = DeviceParams() if device is None else device
        if mapping not in MAPPINGS:
            raise CrossbarError(f"mapping: got {mapping!r}; allowed: {', '.join(MAPPINGS)}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.N, self.mapping, self.L = int(N), mapping, float(L)
        self.devices = DeviceArray((self.in_features, self.out_features), N, self.device, mapping,
                                   GeneratorDraws(rng), states, L)
        p = self.params
        self.row_tiles = -(-self.in_features // p.rows)
        self.col_tiles = -(-self.out_features // p.cols)
        self.counts = ActionCounts()

    # ---- geometry and stored weights
    @property
    def n_tiles(self) -> int:
        """Tiles used: row tiles x column tiles."""
        return self.row_tiles * self.col_tiles

    @property
    def shape(self) -> tuple[int, int]:
        """(in_features, out_features)."""
        return (self.in_features, self.out_features)

    @property
    def states(self) -> np.ndarray:
        """Stored (nominal) state indices, (in, out)."""
        return self.devices.states

    @property
    def weights(self) -> np.ndarray:
        """Stored (nominal) weight values, (in, out): what the digital side wrote."""
        return self.devices.nominal_weights()

    def effective_weights(self, noise: bool = True) -> np.ndarray:
        """Weights a read sees through the devices (variation, faults, write history, read noise)."""
        return self.devices.read_weights(noise)

    @property
    def current_unit(self) -> float:
        """Column current (A) of weight 1 under input 1: V_read x weight_unit."""
        return self.device.v_read * weight_unit(self.device, self.mapping, self.L)

    @property
    def full_scale(self) -> float:
        """ADC full scale (A): adc_full_scale x rows x V_read x weight_unit x L."""
        return self.params.adc_full_scale * self.params.rows * self.current_unit * self.L

    # ---- input driver
    def encode(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Row voltages (planes, B, in) and plane weights (planes,) with sum_p w_p V_p ~ x V_read."""
        p, vr = self.params, self.device.v_read
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[-1] != self.in_features:
            raise CrossbarError(f"x: must have shape ({self.in_features},) or (B, {self.in_features}), "
                                f"got {x.shape}")
        x2 = x.reshape(-1, self.in_features)
        if not np.all(np.isfinite(x2)):
            raise CrossbarError("x: must be finite")
        drv = p.input_driver
        if drv == "binary" and not np.all(np.abs(x2) == 1.0):
            raise CrossbarError("x: the binary input driver takes values in {-1, +1}")
        if drv == "ternary" and not np.all(np.isin(x2, (-1.0, 0.0, 1.0))):
            raise CrossbarError("x: the ternary input driver takes values in {-1, 0, +1}")
        if drv in ("bit_serial", "analog") and np.any(np.abs(x2) > 1.0 + 1e-12):
            raise CrossbarError(f"x: the {drv} input driver takes values in [-1, 1]")
        if drv != "bit_serial":
            return (x2 * vr)[None], np.ones(1)
        top = 2 ** p.input_bits - 1
        code = np.rint(np.minimum(np.abs(x2), 1.0) * top).astype(np.int64)
        bits = (code[None] >> np.arange(p.input_bits)[:, None, None]) & 1  # (P, B, in)
        volts = bits * (np.sign(x2) * vr)[None]
        return volts, 2.0 ** np.arange(p.input_bits) / top

    # ---- the read
    def _tile_currents(self, volts: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Partial column currents per row tile: (P, B, RT, cols of g), one batched matmul."""
        P, B, n_in = volts.shape
        rows, rt = self.params.rows, self.row_tiles
        pad = rt * rows - n_in
        v = np.pad(volts, ((0, 0), (0, 0), (0, pad))).reshape(P * B, rt, rows).transpose(1, 0, 2)
        gt = np.pad(g, ((0, pad), (0, 0))).reshape(rt, rows, g.shape[1])
        return np.matmul(v, gt).transpose(1, 0, 2).reshape(P, B, rt, g.shape[1])  # (rt, PB, c) -> (P,B,rt,c)

    def _read(self, x: Any, noise: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One read of every tile: per-tile currents (I+, I-) (P, B, RT, out) and plane weights; counted."""
        volts, pw = self.encode(x)
        gp, gn = self.devices.read(noise)
        ref = self.mapping == "reference"
        g = np.concatenate([gp, gn[:, :1] if ref else gn], axis=1)
        it = self._tile_currents(volts, g)
        i_pos = it[..., :self.out_features]
        i_neg = np.broadcast_to(it[..., -1:], i_pos.shape) if ref else it[..., self.out_features:]
        P, B = volts.shape[:2]
        c, ct = self.counts, self.col_tiles
        c.array_reads += P * B * self.n_tiles
        per_vec = self.in_features * self.out_features * (1 if ref else 2) + (self.in_features * ct if ref else 0)
        c.cell_reads += P * B * per_vec
        c.row_drives += int(np.count_nonzero(volts)) * ct
        # physical array energy: every device of a driven row conducts V^2 G for t_read
        row_g = gp.sum(axis=1) + (gn[:, 0] * ct if ref else gn.sum(axis=1))
        c.read_energy_pj += float(np.square(volts).sum(axis=(0, 1)) @ row_g) * self.device.t_read_s * 1e12
        return i_pos, i_neg, pw

    def column_currents(self, x: Any, noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Analog column currents (I+, I-) in amperes, summed over row tiles and (weighted) planes.

        For the reference mapping I- is the reference-column current. Shapes follow x: (out,) or (B, out).
        """
        i_pos, i_neg, pw = self._read(x, noise)
        ip = np.einsum("p,pbto->bo", pw, i_pos)
        ineg = np.einsum("p,pbto->bo", pw, i_neg)
        if np.ndim(x) == 1:
            return ip[0], ineg[0]
        return ip, ineg

    def mvm(self, x: Any, noise: bool = True) -> np.ndarray:
        """Readout of x @ W through the crossbar.

        comparator: sign of the analog sum, +-1 int8 (B, out); adc: per-tile conversions shift-added and
        summed digitally, in weight x input units (float64), so an ideal ADC gives x @ W.
        """
        i_pos, i_neg, pw = self._read(x, noise)
        diff = i_pos - i_neg  # analog pair (or reference) subtraction per column
        P, B, rt, out = diff.shape
        c, p = self.counts, self.params
        if p.readout == "comparator":
            total = np.einsum("p,pbto->bo", pw, diff)  # integrator: analog accumulation
            y = np.where(total >= 0.0, 1, -1).astype(np.int8)
            c.integrations += P * B * rt * out
            c.comparator_decisions += B * out
        else:
            q = adc_quantize(diff, p.adc_bits, self.full_scale)
            y = np.einsum("p,pbto->bo", pw, q) / self.current_unit
            c.conversions += P * B * rt * out
            c.conversion_cycles += P * B * -(-min(p.cols, out) // p.adcs_per_tile)
            c.partial_sum_adds += B * out * (P * rt - 1)
        return y[0] if np.ndim(x) == 1 else y

    forward = mvm

    # ---- the write driver
    def _charge_write(self, res: Any) -> WriteStats:
        cyc = write_cycles(res.pulses_pos, res.pulses_neg, self.params.rows, self.params.cols,
                           self.params.write_mode)
        c = self.counts
        c.write_pulses += res.pulses
        c.set_pulses += res.set_pulses
        c.reset_pulses += res.reset_pulses
        c.devices_written += res.devices_written
        c.write_cycles += cyc
        c.write_energy_pj += res.energy_pj
        return WriteStats(res.set_pulses, res.reset_pulses, res.devices_written, cyc,
                          cyc * self.device.pulse_width_s, res.energy_pj)

    def program(self, states: Any) -> WriteStats:
        """Write new state indices (in, out) by open-loop pulse trains."""
        try:
            return self._charge_write(self.devices.program(states))
        except DeviceError as e:
            raise CrossbarError(str(e)) from None

    def step(self, delta: Any) -> WriteStats:
        """Move every weight by integer ``delta`` states (in, out), clipped to the state range."""
        try:
            return self._charge_write(self.devices.step(delta))
        except DeviceError as e:
            raise CrossbarError(str(e)) from None


def _spawn(seed: int | np.random.SeedSequence | None, n: int) -> list[np.random.Generator]:
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.default_rng(s) for s in ss.spawn(n)]


class TrainingCrossbarPair:
    """[TrainingItself]'s normal crossbar (W: in x out, forward) and copy crossbar (W^T: out x in, backward).

    Every write goes to both, so the stored states satisfy ``copy.states == normal.states.T``. The two
    arrays draw their device variation, faults and noise from independent streams of one seed. The pair's
    own ``counts`` hold the subtractor, filter and sign operations; ``total_counts()`` adds the arrays'.
    ``copy_params`` sets the copy crossbar's periphery (e.g. its readout); None: the same as ``params``.
    """

    def __init__(self, in_features: int, out_features: int, N: int, params: CrossbarParams | None = None,
                 device: DeviceParams | None = None, mapping: str = "differential", L: float = 1.0,
                 seed: int | np.random.SeedSequence | None = 0, states: Any = None,
                 copy_params: CrossbarParams | None = None) -> None:
        rn, rc = _spawn(seed, 2)
        self.normal = Crossbar(in_features, out_features, N, params, device, mapping, L, rn, states)
        self.copy = Crossbar(out_features, in_features, N, copy_params or self.normal.params,
                             self.normal.device, mapping, L, rc, self.normal.states.T)
        self.in_features, self.out_features, self.N = self.normal.in_features, self.normal.out_features, N
        self.counts = ActionCounts()

    def consistent(self) -> bool:
        """Whether the copy holds exactly the transpose of the normal crossbar's states."""
        return bool(np.array_equal(self.copy.states, self.normal.states.T))

    def total_counts(self) -> ActionCounts:
        """Normal + copy array counters + the pair's periphery counters."""
        return self.normal.counts + self.copy.counts + self.counts

    # ---- passes
    def forward(self, x: Any, noise: bool = True) -> np.ndarray:
        """Forward product x @ W on the normal crossbar."""
        return self.normal.mvm(x, noise)

    def backward(self, delta: Any, noise: bool = True) -> np.ndarray:
        """Error product delta @ W^T on the copy crossbar (inputs: errors of this layer's outputs)."""
        return self.copy.mvm(delta, noise)

    def output_error(self, t: Any, o: Any) -> np.ndarray:
        """Output-layer error delta = t - o by the analog subtractor."""
        return analog_subtract(t, o, self.counts)

    def input_error(self, o_in: Any, delta: Any, eps: float = 0.1, mode: str = "printed",
                    noise: bool = True) -> np.ndarray:
        """Error of the previous (hidden) layer: filter(o_in) x (delta @ W^T) through the copy crossbar."""
        back = self.backward(delta, noise)
        return filter_unit(o_in, eps, mode, self.counts) * back

    # ---- writes (to both arrays)
    def program(self, states: Any) -> WriteStats:
        """Write new states (in, out) to the normal crossbar and their transpose to the copy."""
        s = np.asarray(states)
        return self.normal.program(s).parallel(self.copy.program(s.T))

    def step(self, delta: Any) -> WriteStats:
        """Move states by integer ``delta`` (in, out) in both crossbars."""
        d = np.broadcast_to(np.asarray(delta), self.normal.shape)
        return self.normal.step(d).parallel(self.copy.step(d.T))

    def sign_update(self, x: Any, delta: Any, rate: Any = 1) -> WriteStats:
        """[TrainingItself]'s update w_ij += rate_j x sign(delta_j) x x_i, in state steps, summed over the batch.

        x: (in,) or (B, in); delta: (out,) or (B, out); rate: scalar or (out,) (gamma x ConvergenceRate_j in
        states). The step is rounded to whole states (rint) and clipped to the state range.
        """
        x2 = np.asarray(x, dtype=np.float64).reshape(-1, self.in_features)
        s = sign_unit(np.asarray(delta).reshape(-1, self.out_features), self.counts)
        if x2.shape[0] != s.shape[0]:
            raise CrossbarError(f"x and delta: batch sizes differ ({x2.shape[0]} vs {s.shape[0]})")
        r = np.asarray(rate, dtype=np.float64)
        if not np.all(np.isfinite(r)) or r.ndim > 1 or (r.ndim == 1 and r.shape[0] != self.out_features):
            raise CrossbarError(f"rate: must be a finite scalar or ({self.out_features},) array")
        steps = np.rint(x2.T @ (s * r)).astype(np.int64)
        return self.step(steps)
