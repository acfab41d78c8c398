"""Counting crossbar work on real operands: read planes of the input drivers, tile activity, ADC or comparator
readout, cell conductance on driven rows, and the pulses of an update.

The rules (planes per input driver, activated tiles, conversions and partial-sum adds, integrations and decisions,
the siemens of the cells on driven rows, the time of one read) are specified in ``docs/model.md``, section 5.2;
the loops over planes, rows and states are numba kernels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .crossbar import CrossbarParams
from ..devices import state_to_levels

__all__ = ["ReadTiming", "ReadCounts", "input_planes", "read_counts", "update_pulses", "line_sums",
           "sliced_state_conductance"]


@dataclass(frozen=True)
class ReadTiming:
    """Seconds of the steps of one read: a read pulse per plane, an ADC conversion slot and an adder-tree level
    (ADC readout), or an integration and a decision (comparator readout)."""

    read: float
    conversion: float = 0.0
    add: float = 0.0
    integration: float = 0.0
    decision: float = 0.0


@njit(cache=True)
def _code_scan(x, step):
    """(exact, top): whether every x is an integer multiple of ``step`` (x == rint(x / step) step) and the
    largest |code|; one pass, stops at the first inexact value."""
    top = 0.0
    for i in range(x.size):
        v = float(x.flat[i])
        c = np.rint(v / step)
        if c * step != v:
            return False, np.inf
        top = max(top, abs(c))
    return True, top


@njit(cache=True)
def _bit_planes(x, bits, step, peak):
    """Sign-magnitude bit planes (bits, V, n) as uint8: magnitudes |rint(x / step)| (exact codes, step > 0) or
    rint(|x| / peak (2^bits - 1)) (continuous operands)."""
    V, n = x.shape
    out = np.zeros((bits, V, n), np.uint8)
    full = 2.0 ** bits - 1.0
    for v in range(V):
        for i in range(n):
            a = float(x[v, i])
            if step > 0.0:
                m = int(abs(np.rint(a / step)))
            elif peak > 0.0:
                m = int(np.rint(abs(a) / peak * full))
            else:
                m = 0
            for b in range(bits):
                out[b, v, i] = (m >> b) & 1
    return out


def input_planes(x: np.ndarray, step: float, params: CrossbarParams) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Read planes of inputs ``x`` (B, n) on the input driver: (driven (P, B, n) bool, V^2 factor (P, B, n), how).

    The V^2 factor is the squared row voltage in units of V_read^2: x^2 for the analog driver, None for the
    digital drivers (1 on every driven row).
    """
    x = np.asarray(x)
    x = np.ascontiguousarray(x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)).reshape(
        x.shape[0], -1)
    drv = params.input_driver
    exact, top = _code_scan(x, float(step)) if step > 0 else (False, math.inf)
    if drv == "analog":
        x = x.astype(np.float64)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        scale = peak if (not exact and peak > 0) else max(1.0, peak)  # continuous operands use the full range
        v = x / scale
        return (v != 0)[None], np.square(v)[None], "analog driver: one plane" + (
            f", inputs scaled by 1/{scale:.3g}" if scale != 1.0 else "")
    if drv == "ternary" and top <= 1:
        return (x != 0)[None], None, "ternary driver: one plane, zero inputs not driven"
    if drv == "binary" and top <= 1:
        if np.all(np.abs(x) == step):
            return np.ones((1, *x.shape), bool), None, "binary driver: one +-1 plane"
        return np.ones((2, *x.shape), bool), None, "binary driver: ternary inputs as two +-1 planes"
    # bit-serial, sign-magnitude: exact codes use as many bits as their largest magnitude, else input_bits
    if exact:
        bits = max(1, int(math.ceil(math.log2(top + 1)))) if top > 0 else 1
        planes = _bit_planes(x, bits, float(step), 0.0)
    else:
        bits = params.input_bits
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        planes = _bit_planes(x, bits, 0.0, peak)
    planes = planes.view(np.bool_)
    if drv == "binary":  # no off level: every row is driven in every plane (signed digits)
        planes = np.ones_like(planes)
    how = f"{drv} driver: {'exact codes' if exact else 'continuous operand'}, bit-serial {bits} plane(s)"
    return planes, None, how


@dataclass
class ReadCounts:
    """Actions and per-sample latency of one read of a (tiled) crossbar by a batch of input vectors."""

    array_reads: int = 0
    row_drives: int = 0
    cell_reads: int = 0  # devices-pair (logical weight) reads on driven rows
    conversions: int = 0
    partial_sum_adds: int = 0
    integrations: int = 0
    comparator_decisions: int = 0
    cell_siemens: float = 0.0  # sum over planes of V^2 factor x conductance of the devices on driven rows
    tile_slots: int = 0  # activated tiles x rows x cols (for utilization)
    sample_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))


@njit(cache=True)
def _tile_activity(driven, in_lines):
    """One pass over the planes: activated row tiles (P, B, row tiles) and drives per input line (n,)."""
    P, B, n = driven.shape
    rt = (n + in_lines - 1) // in_lines
    act = np.zeros((P, B, rt), np.bool_)
    drives = np.zeros(n, np.int64)
    for p in range(P):
        for b in range(B):
            row = driven[p, b]
            for t in range(rt):
                hit = np.uint8(0)
                for i in range(t * in_lines, min(n, (t + 1) * in_lines)):
                    r = row[i]
                    drives[i] += r
                    hit |= r
                act[p, b, t] = hit != 0
    return act, drives


def read_counts(driven: np.ndarray, v2: np.ndarray | None, line_g: np.ndarray, n_out: int, in_lines: int,
                out_lines: int, adcs_per_tile: int, readout: str, timing: ReadTiming, slices: int = 1) -> ReadCounts:
    """Count one read: ``driven`` (P, B, n) rows per plane (``v2``: their V^2 factors, None: 1 where driven);
    ``line_g`` (n,) conductance summed along each input line (S), every slice of a weight included; ``n_out``
    outputs of ``slices`` physical columns each (weight slicing; 1: one column per output); tiles of ``in_lines``
    inputs x ``out_lines`` physical columns; ``adcs_per_tile`` ADCs per tile; ``timing`` the seconds of each step.
    Each output's partial sums (activated planes x row tiles x slices) are recombined by shift-adds."""
    P, B, n = driven.shape
    cols = n_out * slices  # physical columns the outputs use
    ct = -(-cols // out_lines)
    act, drives = _tile_activity(np.ascontiguousarray(driven).view(np.uint8), int(in_lines))  # act: (P, B, row tiles)
    n_act = int(act.sum())
    per_sample = act.sum(axis=(0, 2))  # activated row tiles x planes per sample (partial sums per column)
    planes_b = act.any(axis=2).sum(axis=0)  # active planes per sample
    c = ReadCounts(array_reads=n_act * ct, row_drives=int(drives.sum()))
    c.cell_reads = c.row_drives * cols
    v2_lines = drives.astype(np.float64) if v2 is None else v2.sum(axis=(0, 1))
    c.cell_siemens = float(v2_lines @ line_g)
    c.tile_slots = n_act * ct * in_lines * out_lines
    t = planes_b * timing.read
    if readout == "adc":
        c.conversions = n_act * cols
        sums = per_sample * slices  # partial sums per output and read
        c.partial_sum_adds = n_out * int(np.maximum(sums - 1, 0).sum())
        slots = -(-min(out_lines, cols) // adcs_per_tile)
        levels = np.ceil(np.log2(np.maximum(sums, 1)))
        t = t + planes_b * slots * timing.conversion + levels * timing.add
    else:
        c.integrations = n_act * cols
        c.comparator_decisions = B * n_out
        t = t + timing.integration + timing.decision
    c.sample_seconds = t.astype(np.float64)
    return c


@njit(cache=True)
def _digit_conductance(levels, cell_bits, slices, g_min, g_range):
    """Summed conductance of the ``slices`` devices that hold each level in base 2^cell_bits digits, each device
    at G_min + digit / (2^cell_bits - 1) x (G_max - G_min) (DNN+NeuroSim Chip.cpp LoadInWeightData)."""
    base = 1 << cell_bits
    out = np.zeros(levels.size)
    for i in range(levels.size):
        v = int(levels[i])
        g = 0.0
        for _ in range(slices):
            g += g_min + (v % base) / (base - 1) * g_range
            v //= base
        out[i] = g
    return out


def sliced_state_conductance(N: int, mapping: str, cell_bits: int, slices: int, g_min: float,
                             g_range: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Per state index 0..2^N: the summed conductance of the devices that hold it on sliced cells (G+ side,
    G- side; the G- side is None for the reference mapping, whose reference column is not sliced)."""
    lp, ln = state_to_levels(np.arange(2 ** N + 1), N, mapping)
    gp = _digit_conductance(np.asarray(lp, np.int64), cell_bits, slices, g_min, g_range)
    gn = None if ln is None else _digit_conductance(np.asarray(ln, np.int64), cell_bits, slices, g_min, g_range)
    return gp, gn


def update_pulses(new_states: np.ndarray, transitions: np.ndarray, N: int, mapping: str, pulses_per_state: int,
                  scale: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Signed pulses (> 0 SET, < 0 RESET) per device (G+, G-) of an update: old = new - transitions, both
    placed on the crossbar's Z_N by ``scale`` = 2^(N - N_workload)."""
    new = np.asarray(new_states, dtype=np.int64) * scale
    old = (np.asarray(new_states, dtype=np.int64) - np.asarray(transitions, dtype=np.int64)) * scale
    lp0, ln0 = state_to_levels(old, N, mapping)
    lp1, ln1 = state_to_levels(new, N, mapping)
    kp = (lp1 - lp0).astype(np.int64) * pulses_per_state
    kn = np.zeros_like(kp) if ln0 is None else (ln1 - ln0).astype(np.int64) * pulses_per_state
    return kp, kn


@njit(cache=True)
def line_sums(states, scale, table_p, table_n):
    """Per-row and per-column sums of the G+ and G- conductances of workload states (rows, cols) placed on the
    crossbar as state x ``scale``, from per-state tables: (row G+, row G-, column G+, column G-)."""
    R, C = states.shape
    rp = np.zeros(R)
    rn = np.zeros(R)
    cp = np.zeros(C)
    cn = np.zeros(C)
    for i in range(R):
        for j in range(C):
            s = states[i, j] * scale
            gp = table_p[s]
            gn = table_n[s]
            rp[i] += gp
            rn[i] += gn
            cp[j] += gp
            cn[j] += gn
    return rp, rn, cp, cn


def matrix(a: np.ndarray | None) -> np.ndarray | None:
    """Weights as the crossbar holds them: (rows, cols); conv (kh, kw, C, F) unrolled to (kh*kw*C, F)."""
    return None if a is None else a.reshape(-1, a.shape[-1])
