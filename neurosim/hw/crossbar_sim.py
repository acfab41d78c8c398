"""The crossbar observer: real operands of every layer, phase and batch -> crossbar actions, cycles and energy.

The memristor-crossbar counterpart of :class:`~neurosim.hw.simulator.HardwareObserver`, with the same interface
(``observe(rec)``, ``finish() -> result``, ``state()/load_state()``) and a result with the same API as
:class:`~neurosim.hw.simulator.HardwareResult`, so :mod:`neurosim.report.hardware` writes the same report.

Mapping (per weighted layer). A conv layer's (kh, kw, C, F) weights are unrolled to a (kh*kw*C, F) matrix
(:mod:`~neurosim.hw.unroll`, the MNSIM / DNN+NeuroSim mapping) and read once per output position, driven by that
position's input patch; its positions are read one after another, so a sample's read time is their sum. Below,
"sample" means one read: a sample of a dense layer, an output position of a conv layer. The (in, out) weights are DST state indices held on device pairs (or one device +
reference column, per ``crossbar.mapping``) of a crossbar cut into ceil(in / rows) x ceil(out / cols) tiles.
The workload's weight space Z_Nw is placed on the crossbar's Z_Na (``crossbar.N``, Nw <= Na): state n is
held as n x 2^(Na - Nw), so one workload state is 2^(Na - Nw) device steps.

Actions, counted with numpy on the real operands of each record:

- forward (train and eval): the input driver turns x into read planes (``ternary``: codes in {-1, 0, +1},
  one plane, a zero input drives no row; ``binary``: codes +-1 one plane, ternary codes two +-1 planes
  (1 = (+,+), 0 = (+,-), -1 = (-,-)), every row driven; ``analog``: one plane, x scaled into [-1, 1];
  anything else, e.g. the continuous data of the first layer or a gradient, bit-serially: sign-magnitude,
  ``input_bits`` planes, a row is driven in the planes where its magnitude bit is 1). A (sample, plane, row
  tile) with at least one driven row activates that row tile's ``col_tiles`` tiles (``array_read`` each; a
  row tile with no driven row is skipped). Per activated tile: ADC readout converts every used column
  (``adc_conversion``), shared ADCs (``adc_share`` columns each) give ceil(used cols / ADCs) conversion slots;
  partial sums of the activated tiles of a sample are added digitally (``partial_sum_add``: one per column
  per extra partial sum). Comparator readout: one ``integration`` per column of each activated tile and one
  ``comparator`` decision per sample and column. The cells' read energy is V^2 G t_read of every device on a
  driven row (nominal conductances of the stored states; when the core trains device-aware, the conductances
  that read as the values it used, so faults, conductance errors and read noise are priced too).
- backward: dX = dY W^T on the copy crossbar (W^T, ``copy_crossbar`` periphery) where the file has one,
  else by a transposed read of the same crossbar (dY drives the columns, the rows are sensed by the tile's
  ADCs); not for the first weighted layer (no dX). dY is continuous: bit-serial planes (analog driver:
  scaled by max |dY|). dW = X^T dY is accumulated digitally: one ``partial_sum_add`` (``control`` where the
  file has no partial_sum_add) per nonzero x x output.
  Seed-004 periphery where the file prices it: ``subtractor`` for the output error (last layer, one per dY
  element), ``sign`` for the error polarity (one per dY element), ``filter`` for activation backward.
- update: every state transition is an open-loop pulse train (device.py): differential N >= 1 moves
  |dn| x pulses_per_state pulses over the pair, differential N = 0 twice that (both devices flip), reference
  |dn| x pulses_per_state. Write cycles from :func:`~neurosim.hw.crossbar.write_cycles` (``row``: rows one
  at a time; ``column_parallel``: the whole tile), tiles in parallel, each cycle one ``write_pulse``
  latency. A copy crossbar is written too (its own drivers, in parallel: pulses add, time is the maximum).
  The DST state adder is one ``control`` op per weight.
- conv backward: dX by reads of dY per output position (as above), then the patch gradients are folded back
  into dX with one digital add (``partial_sum_add``) per overlapping arrival (:func:`~neurosim.hw.unroll.fold_adds`).
- pool: max-pooling on the digital periphery: k*k - 1 compares (``control``) per output forward, one routing op
  per input backward.
- bn / act: digital periphery ops when the file prices them (act: ``activation`` per element, else
  ``control`` per threshold; bn: 2 (forward) / 5 (backward) ``control`` per element; act backward: ``filter``
  per element, else 2 ``control``), else zero with a note; flatten: no operation.

Timing: per (layer, phase, batch, tile), a tile being a group of ``samples_per_tile`` samples that streams
through all the crossbar tiles of the layer (the crossbar tiles work in parallel). A sample's read takes, per
active plane, t_read + conversion slots x t_conversion (ADC) and then adder-tree levels x t_add (or t_read
per plane + t_integration + t_comparator); digital periphery runs ``cols`` lanes wide. The transactions go
through the SimPy engine (:class:`~neurosim.hw.engine.CachedEngine`; units array, accumulator, update), so the
array, the digital periphery and the write drivers overlap where the data flow allows. Weights never leave
the arrays: no DRAM traffic.

Energy = actions x energy per action from the YAML (+ cells' V^2 G t_read, write pulses at the device's
energy per pulse) + leakage x simulated time (shared over the rows by cycles, so rows add up to the total).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from ..events import LayerInfo, OperandRecord
from .crossbar import CrossbarParams, write_cycles
from .crossbar_arch import ACTIONS, CrossbarArch, CrossbarArchError
from .device import state_to_conductance, state_to_levels, weight_to_conductance
from .engine import CachedEngine, EngineConfig, Transaction
from .rows import (PJ_PER_MW_S, ROW_COLUMNS, flush_batch, leakage_shares, report_row, restore_totals,
                   take_totals)
from .simulator import OperandAlphabet
from .unroll import conv_geometry, fold_adds, patches

__all__ = ["CrossbarObserver", "CrossbarResult", "CROSSBAR_COLUMNS", "ReadCounts", "input_planes", "read_counts",
           "update_pulses"]

CROSSBAR_COLUMNS = ["write_pulses", "set_pulses", "reset_pulses", "write_cycles", "array_reads", "adc_conversions",
                    "device_energy_pj", "peripheral_energy_pj", "note"]
_DEVICE_COMPONENTS = ("array_cells", "write_pulse")
_KINDS = ("dense", "conv", "pool", "bn", "act", "flatten")
_THRESHOLDS = {"ternary": 2, "multilevel": 2, "sign": 1, "relu": 1, "tanh": 1, "identity": 0}


# ---------------------------------------------------------------------------------------------- counting
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
    cells_pj: float = 0.0
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
                out_lines: int, adcs_per_tile: int, readout: str, arch: CrossbarArch) -> ReadCounts:
    """Count one read: ``driven`` (P, B, n) rows per plane (``v2``: their V^2 factors, None: 1 where driven);
    ``line_g`` (n,) conductance summed along each input line (S); tiles of ``in_lines`` inputs x ``out_lines``
    outputs; ``adcs_per_tile`` ADCs per tile."""
    P, B, n = driven.shape
    ct = -(-n_out // out_lines)
    act, drives = _tile_activity(np.ascontiguousarray(driven).view(np.uint8), int(in_lines))  # act: (P, B, row tiles)
    n_act = int(act.sum())
    per_sample = act.sum(axis=(0, 2))  # activated row tiles x planes per sample (partial sums per column)
    planes_b = act.any(axis=2).sum(axis=0)  # active planes per sample
    dev = arch.device
    c = ReadCounts(array_reads=n_act * ct, row_drives=int(drives.sum()))
    c.cell_reads = c.row_drives * n_out
    v2_lines = drives.astype(np.float64) if v2 is None else v2.sum(axis=(0, 1))
    c.cells_pj = float(v2_lines @ line_g) * dev.v_read ** 2 * dev.t_read_s * 1e12
    c.tile_slots = n_act * ct * in_lines * out_lines
    t = planes_b * arch.latency("array_read")
    if readout == "adc":
        c.conversions = n_act * n_out
        c.partial_sum_adds = n_out * int(np.maximum(per_sample - 1, 0).sum())
        slots = -(-min(out_lines, n_out) // adcs_per_tile)
        levels = np.ceil(np.log2(np.maximum(per_sample, 1)))
        t = t + planes_b * slots * arch.latency("adc_conversion") + levels * arch.latency("partial_sum_add")
    else:
        c.integrations = n_act * n_out
        c.comparator_decisions = B * n_out
        t = t + arch.latency("integration") + arch.latency("comparator")
    c.sample_seconds = t.astype(np.float64)
    return c


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
def _line_sums(states, scale, table_p, table_n):
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


def _matrix(a: np.ndarray | None) -> np.ndarray | None:
    """Weights as the crossbar holds them: (rows, cols); conv (kh, kw, C, F) unrolled to (kh*kw*C, F)."""
    return None if a is None else a.reshape(-1, a.shape[-1])


def _per_sample(seconds: np.ndarray, B: int) -> np.ndarray:
    """Read time per sample: a conv layer's output positions are read one after another."""
    return seconds.reshape(B, -1).sum(axis=1)


def _positions_note(info: LayerInfo, positions: int) -> str:
    return f"; conv unrolled: {positions} reads per sample, one per output position" if info.kind == "conv" else ""


# ---------------------------------------------------------------------------------------------- rows
@dataclass
class XRow:
    """Accumulated numbers of one (mode, layer, phase) row."""

    mode: str
    layer: int
    name: str
    kind: str
    phase: str
    unit: str
    batches: int = 0
    compute_cycles: int = 0
    stall_cycles: int = 0
    cycles: int = 0
    operand_pairs: int = 0
    nonzero_pairs: int = 0
    fired: int = 0
    tile_slots: int = 0
    uniform_nonzero_pairs: float = 0.0
    weight_transitions: int = 0
    state_distance: int = 0
    set_pulses: int = 0
    reset_pulses: int = 0
    write_cycles: int = 0
    cells_pj: float = 0.0
    actions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unpriced: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class _Pending:
    mode: str = ""
    batch: int = -1
    txs: list[Transaction] = field(default_factory=list)
    rows: list[tuple[str, int, str]] = field(default_factory=list)
    barrier: int = -1
    tile_tx: dict[int, list[int]] = field(default_factory=dict)
    backward_tx: dict[int, int] = field(default_factory=dict)


class CrossbarObserver:
    """Simulates the crossbar accelerator ``arch`` on the operands of a dense network of layers ``infos``.

    ``weight_N``: the workload's DST weight space (its states are placed on the crossbar's Z_N); None: the
    crossbar's own N. ``weight_L``: its range L (weights in [-L, L]), used to place weights the core read through
    non-ideal devices on conductances. ``samples_per_tile``: samples per engine transaction (the pipelining
    granularity).
    """

    def __init__(self, arch: CrossbarArch, infos: list[LayerInfo], batch: int, weight_N: int | None = None,
                 alphabet: OperandAlphabet | None = None, samples_per_tile: int = 10, weight_L: float = 1.0):
        self.arch, self.alphabet = arch, alphabet or OperandAlphabet()
        if not (isinstance(weight_L, (int, float)) and math.isfinite(weight_L) and weight_L > 0):
            raise ValueError(f"weight_L: must be a finite number > 0, got {weight_L!r}")
        self.weight_L = float(weight_L)
        for i in infos:
            if i.kind not in _KINDS:
                raise CrossbarArchError(
                    f"{arch.source_file}: layer {i.name!r} is a {i.kind} layer; crossbar architectures support "
                    f"{', '.join(_KINDS)} layers")
        self.weight_N = arch.N if weight_N is None else int(weight_N)
        if not 0 <= self.weight_N <= arch.N:
            raise CrossbarArchError(
                f"{arch.source_file}: crossbar.N: the workload's weights have N = {self.weight_N} "
                f"({2 ** self.weight_N + 1} states) but the crossbar holds N = {arch.N} ({2 ** arch.N + 1} states); "
                f"train with N <= {arch.N} or raise crossbar.N")
        self.scale = 2 ** (arch.N - self.weight_N)  # Z_Nw state n sits at Z_Na state n x scale (N = 0 too)
        if samples_per_tile < 1:
            raise ValueError(f"samples_per_tile: must be >= 1, got {samples_per_tile!r}")
        self.batch, self.samples_per_tile = batch, int(samples_per_tile)
        self.infos = {i.index: i for i in infos}
        self.order = sorted(self.infos)
        self.weighted = [i for i in self.order if self.infos[i].kind in ("dense", "conv")]
        self.params = arch.crossbar
        self.copy = arch.copy_crossbar  # None: backward by a transposed read of the same crossbar
        self.lanes = self.params.cols  # digital periphery: one lane per tile column
        self.components = [a for a in ACTIONS if arch.has(a)] + ["array_cells", "leakage"]
        # no DRAM traffic: every transaction is "loaded" at once; units wait only for their producers
        self.engine = CachedEngine(EngineConfig(dram_bits_per_cycle=1.0, slots=1 << 30))
        self.rows: dict[tuple[str, int, str], XRow] = {}
        self.total_cycles = {"train": 0, "eval": 0}
        self.samples = {"train": 0, "eval": 0}
        self.batches = {"train": 0, "eval": 0}
        self._pending = _Pending()
        self._g: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}  # layer -> conductance sums

    # ------------------------------------------------------------------ helpers
    def _row(self, mode: str, info: LayerInfo, phase: str, unit: str) -> XRow:
        key = (mode, info.index, phase)
        r = self.rows.get(key)
        if r is None:
            r = self.rows[key] = XRow(mode, info.index, info.name, info.kind, phase, unit)
        return r

    def _charge(self, row: XRow, action: str, n: int) -> None:
        """Count ``n`` actions; an action the file does not price is kept aside (zero energy) with a note."""
        if not n:
            return
        if self.arch.has(action):
            row.actions[action] += int(n)
        else:
            row.unpriced[action] += int(n)
            row.note(f"{action} not priced by the file: counted, zero energy")

    def _cycles(self, seconds: float) -> int:
        return int(math.ceil(seconds * self.arch.clock_hz - 1e-9)) if seconds > 0 else 0

    def _tiles(self, B: int) -> list[slice]:
        s = self.samples_per_tile
        return [slice(a, min(a + s, B)) for a in range(0, B, s)]

    def _add_tx(self, key: tuple[str, int, str], info: LayerInfo, phase: str, tile: int, cycles: int, unit: str,
                after: int) -> int:
        p = self._pending
        p.txs.append(Transaction(info.index, phase, p.batch, tile, cycles, unit=unit, after=after, buffer_cycles=0))
        p.rows.append(key)
        return len(p.txs) - 1

    def _conductance(self, rec: OperandRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(row sums (in,), column sums (out,), copy-row sums) of device conductance.

        Nominal conductances of the stored states (cached until the next update), or, when the core trains
        device-aware (its weights are continuous reads of discrete states), the conductances that read as the
        values the core used: conductance errors, faults, variation and read noise then price the cells too.
        """
        info = rec.layer
        read = rec.w_step == 0 and rec.w is not None
        g = None if read else self._g.get(info.index)
        if g is None:
            a = self.arch
            ref = a.mapping == "reference"
            if read:
                gp, gn = weight_to_conductance(_matrix(rec.w), a.device, a.mapping, self.weight_L)
                rp, rn, cp, cn = gp.sum(axis=1), gn.sum(axis=1), gp.sum(axis=0), gn.sum(axis=0)
                g_ref = float(gn.flat[0]) if gn.size else 0.0
            else:  # nominal: one conductance per state, summed along the lines without a per-device array
                tp, tn = state_to_conductance(np.arange(2 ** a.N + 1), a.N, a.device, a.mapping)
                st = np.ascontiguousarray(_matrix(np.asarray(rec.w_state)))
                rp, rn, cp, cn = _line_sums(st, self.scale, np.asarray(tp, np.float64), np.asarray(tn, np.float64))
                g_ref = float(tn[0])
            n_rows, n_cols = rp.size, cp.size
            rows_g = rp + (g_ref * -(-n_cols // self.params.cols) if ref else rn)
            cols_g = cp + (0.0 if ref else cn)
            copy_g = None
            if self.copy is not None:
                copy_g = cp + (g_ref * -(-n_rows // self.copy.cols) if ref else cn)
            g = (rows_g, cols_g, copy_g)
            if not read:
                self._g[info.index] = g
        return g

    # ------------------------------------------------------------------ observer protocol
    def observe(self, rec: OperandRecord) -> None:
        """Count one record's actions and queue its transactions; run the engine at the end of a batch."""
        info = rec.layer
        p = self._pending
        new_pass = rec.phase == "forward" and info.index == self.order[0]
        if p.txs and (new_pass or rec.mode != p.mode or rec.batch != p.batch):
            self.flush()
            p = self._pending
        if not p.txs:
            p.mode, p.batch = rec.mode, rec.batch
        if new_pass:
            self.samples[rec.mode] += rec.batch_size
            self.batches[rec.mode] += 1
        if info.kind in ("dense", "conv"):
            if rec.w_state is None and rec.phase != "update":
                raise CrossbarArchError(f"{self.arch.source_file}: layer {info.name!r}: the crossbar holds DST "
                                        f"weight states; this method gives none (use method gxnor or dst)")
            getattr(self, f"_{rec.phase}")(rec)
        elif info.kind in ("pool", "bn", "act", "flatten") and rec.phase in ("forward", "backward"):
            self._periphery(rec)
        p = self._pending
        p.barrier = len(p.txs) - 1 if p.txs else -1
        if rec.phase == "update" and info.index == self.weighted[-1]:
            self._bn_updates()
            self.flush()

    # ------------------------------------------------------------------ products
    def _book_read(self, row: XRow, c: ReadCounts, note: str) -> None:
        self._charge(row, "array_read", c.array_reads)
        self._charge(row, "adc_conversion", c.conversions)
        self._charge(row, "partial_sum_add", c.partial_sum_adds)
        self._charge(row, "integration", c.integrations)
        self._charge(row, "comparator", c.comparator_decisions)
        row.cells_pj += c.cells_pj
        row.fired += c.cell_reads
        row.tile_slots += c.tile_slots
        row.note(note)

    def _operands(self, rec: OperandRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(inputs (reads, rows), weights (rows, cols), dY (reads, cols) | None) of a record as crossbar reads:
        a dense layer reads once per sample; a conv layer once per output position, driven by its patch."""
        info, B = rec.layer, rec.x.shape[0]
        if info.kind == "conv":
            kh, kw, stride, pad = conv_geometry(info.params, rec.w.shape)
            x = patches(rec.x, kh, kw, stride, pad)
        else:
            x = rec.x.reshape(B, -1)
        dy = None if rec.dy is None else rec.dy.reshape(-1, rec.dy.shape[-1])
        return x, _matrix(rec.w), dy

    def _forward(self, rec: OperandRecord) -> None:
        info, B = rec.layer, rec.x.shape[0]
        x, w, _ = self._operands(rec)
        n_out = w.shape[1]
        row = self._row(rec.mode, info, "forward", "array")
        row.batches += 1
        rows_g, _, _ = self._conductance(rec)
        driven, v2, how = input_planes(x, rec.x_step, self.params)
        prm = self.params
        c = read_counts(driven, v2, rows_g, n_out, prm.rows, prm.cols, prm.adcs_per_tile, prm.readout, self.arch)
        self._book_read(row, c, f"forward: {how}" + _positions_note(info, x.shape[0] // B))
        self._pairs(row, x, w, rec.x_step)
        p = self._pending
        producer = p.tile_tx.get(self._producer(info), [])
        key = (rec.mode, info.index, "forward")
        seconds = _per_sample(c.sample_seconds, B)
        ids = [self._add_tx(key, info, "forward", t, self._cycles(float(seconds[s].sum())), "array",
                            producer[t] if t < len(producer) else p.barrier)
               for t, s in enumerate(self._tiles(B))]
        p.tile_tx[info.index] = ids

    def _producer(self, info: LayerInfo) -> int:
        k = self.order.index(info.index)
        for j in range(k - 1, -1, -1):
            if self.infos[self.order[j]].kind != "flatten":
                return self.order[j]
        return -1

    def _pairs(self, row: XRow, x: np.ndarray, w: np.ndarray, x_step: float, first: bool | None = None) -> None:
        """Algorithmic operand pairs and nonzero pairs (x_i w_ij both nonzero) of x @ W."""
        B = x.shape[0]
        row.operand_pairs += B * w.size
        row.nonzero_pairs += int(np.count_nonzero(x, axis=0) @ np.count_nonzero(w, axis=1))
        x_nz = 1.0 if x_step == 0 else self.alphabet.activation_nonzero
        row.uniform_nonzero_pairs += B * w.size * x_nz * self.alphabet.weight_nonzero

    def _backward(self, rec: OperandRecord) -> None:
        info, B = rec.layer, rec.x.shape[0]
        x, w, dy = self._operands(rec)
        V, n_out = dy.shape  # V reads: samples (dense) or output positions (conv)
        n_in = x.shape[1]
        row = self._row("train", info, "backward", "array")
        row.batches += 1
        p = self._pending
        key = ("train", info.index, "backward")
        a = self.arch
        last_tx = p.barrier
        if info.index != self.weighted[0]:  # dX = dY W^T (the first weighted layer needs none)
            rows_g, cols_g, copy_g = self._conductance(rec)
            if self.copy is not None:
                prm = self.copy
                driven, v2, how = input_planes(dy, 0.0, prm)
                c = read_counts(driven, v2, copy_g, n_in, prm.rows, prm.cols, prm.adcs_per_tile, prm.readout, a)
                how = f"backward dX on the copy crossbar: {how}"
            else:
                prm = self.params
                driven, v2, how = input_planes(dy, 0.0, prm)
                c = read_counts(driven, v2, cols_g, n_in, prm.cols, prm.rows, prm.adcs_per_tile, prm.readout, a)
                how = f"backward dX by a transposed read (dY on the columns): {how}"
            self._book_read(row, c, how + _positions_note(info, V // B))
            row.operand_pairs += V * n_in * n_out
            row.nonzero_pairs += int(np.count_nonzero(dy, axis=0) @ np.count_nonzero(w, axis=0))
            row.uniform_nonzero_pairs += V * n_in * n_out * self.alphabet.weight_nonzero
            seconds = _per_sample(c.sample_seconds, B)
            for t, s in enumerate(self._tiles(B)):
                last_tx = self._add_tx(key, info, "backward", t, self._cycles(float(seconds[s].sum())),
                                       "array", last_tx)
        # dW = X^T dY, digital: one add per nonzero input x output (partial_sum_add)
        adds = int(np.count_nonzero(x)) * n_out
        add = "partial_sum_add" if a.has("partial_sum_add") or not a.has("control") else "control"
        if info.kind == "conv" and info.index != self.weighted[0]:  # patch gradients folded into dX
            kh, kw, stride, pad = conv_geometry(info.params, rec.w.shape)
            folds = fold_adds(rec.x.shape, kh, kw, stride, pad)
            adds += folds
            row.note(f"dX patches folded back digitally ({folds // B} {add} per sample where patches overlap)")
        self._charge(row, add, adds)
        row.operand_pairs += V * n_in * n_out
        row.nonzero_pairs += int(np.count_nonzero(x, axis=1) @ np.count_nonzero(dy, axis=1))
        x_nz = 1.0 if rec.x_step == 0 else self.alphabet.activation_nonzero
        row.uniform_nonzero_pairs += V * n_in * n_out * x_nz
        lat = lambda name: a.latency(name) if a.has(name) else 0.0  # noqa: E731
        elems = V * n_out
        waves = -(-elems // self.lanes)
        periph = -(-adds // self.lanes) * lat(add)
        if info.index == self.weighted[-1] and a.has("subtractor"):
            self._charge(row, "subtractor", elems)
            periph += waves * lat("subtractor")
            row.note("output error t - o on the analog subtractor")
        if a.has("sign"):
            self._charge(row, "sign", elems)
            periph += waves * lat("sign")
            row.note("error polarity by the sign unit")
        row.note(f"dW = X^T dY accumulated digitally ({add} per nonzero input x output)")
        last_tx = self._add_tx(key, info, "backward", 0, self._cycles(periph), "accumulator", last_tx)
        p.backward_tx[info.index] = last_tx

    def _update(self, rec: OperandRecord) -> None:
        info = rec.layer
        row = self._row("train", info, "update", "update")
        row.batches += 1
        row.weight_transitions += rec.changed
        row.state_distance += rec.distance
        a, dev = self.arch, self.arch.device
        self._g.pop(info.index, None)  # states change: conductances are recomputed on the next read
        cycles = 0
        if rec.transitions is not None and rec.w_state is not None:
            kp, kn = update_pulses(_matrix(rec.w_state), _matrix(rec.transitions), a.N, a.mapping,
                                   dev.pulses_per_state, self.scale)
            set_p = int(kp[kp > 0].sum() + kn[kn > 0].sum())
            reset_p = int(-kp[kp < 0].sum() - kn[kn < 0].sum())
            cyc = write_cycles(kp, kn, self.params.rows, self.params.cols, self.params.write_mode)
            copies = 1
            if self.copy is not None:  # the copy crossbar (W^T) is written by its own drivers at the same time
                cyc = max(cyc, write_cycles(kp.T, kn.T, self.copy.rows, self.copy.cols, self.copy.write_mode))
                copies = 2
                row.note("normal and copy crossbars written in parallel")
            row.set_pulses += copies * set_p
            row.reset_pulses += copies * reset_p
            row.write_cycles += cyc
            self._charge(row, "write_pulse", copies * (set_p + reset_p))
            cycles = self._cycles(cyc * a.latency("write_pulse"))
            row.note(f"open-loop pulse trains, {self.params.write_mode} writes, {self.scale} device step(s) per "
                     f"workload state x {dev.pulses_per_state} pulse(s) per step")
        n = info.weight_count
        self._charge(row, "control", n)  # DST state adder, one per weight
        if a.has("control"):
            cycles += self._cycles(-(-n // self.lanes) * a.latency("control"))
        p = self._pending
        after = p.backward_tx.get(info.index, p.barrier)
        self._add_tx(("train", info.index, "update"), info, "update", 0, cycles, "update", after)

    # ------------------------------------------------------------------ digital periphery
    def _periphery(self, rec: OperandRecord) -> None:
        info, phase, a = rec.layer, rec.phase, self.arch
        mode = rec.mode if phase == "forward" else "train"
        row = self._row(mode, info, phase, "accumulator")
        row.batches += 1
        if info.kind == "flatten":
            row.note("flatten: no operation")
            return
        B = rec.x.shape[0] if rec.x is not None else rec.dy.shape[0]
        elems = int(np.prod(info.in_shape))
        if info.kind == "pool":  # max-pool forward: k*k - 1 compares per output; backward: route by the argmax
            k = int(info.params.get("pool", 2))
            ops = [("control", k * k - 1 if phase == "forward" else 1)]
            if phase == "forward":
                elems = int(np.prod(info.out_shape))
        elif info.kind == "act" and phase == "forward":
            ops = [("activation", 1)] if a.has("activation") else [
                ("control", _THRESHOLDS.get(info.params.get("activation", ""), 1))]
        elif info.kind == "act":
            ops = [("filter", 1)] if a.has("filter") else [("control", 2)]
        else:  # bn: scale and shift forward; 2 mult + 3 add backward
            ops = [("control", 2 if phase == "forward" else 5)]
        seconds = 0.0
        for action, per in ops:
            if a.has(action):
                seconds += per * a.latency(action)
                row.note(f"{info.kind} {phase}: {per} {action} per element")
            else:
                row.note(f"{info.kind} {phase}: not priced by the file (no {action} action): zero energy")
            self._charge(row, action, B * elems * per)
        p = self._pending
        key = (mode, info.index, phase)
        if phase == "forward":
            producer = p.tile_tx.get(self._producer(info), [])
            ids = [self._add_tx(key, info, phase, t, self._cycles(-(-(s.stop - s.start) * elems // self.lanes) *
                                                                   seconds), "accumulator",
                                producer[t] if t < len(producer) else p.barrier)
                   for t, s in enumerate(self._tiles(B))]
            p.tile_tx[info.index] = ids
        else:
            self._add_tx(key, info, phase, 0, self._cycles(-(-B * elems // self.lanes) * seconds), "accumulator",
                         p.barrier)

    def _bn_updates(self) -> None:
        """Batch-norm gamma and beta: one digital add each (``control``)."""
        for idx in self.order:
            info = self.infos[idx]
            if info.kind != "bn":
                continue
            n = 2 * int(info.in_shape[-1])
            row = self._row("train", info, "update", "accumulator")
            row.batches += 1
            self._charge(row, "control", n)
            row.note("bn gamma/beta: one control op each")
            lat = self.arch.latency("control") if self.arch.has("control") else 0.0
            self._add_tx(("train", idx, "update"), info, "update", 0, self._cycles(-(-n // self.lanes) * lat),
                         "accumulator", self._pending.barrier)

    # ------------------------------------------------------------------ engine
    def flush(self) -> None:
        """Simulate the pending batch's transactions and add cycles to the rows."""
        flush_batch(self)

    def state(self) -> dict:
        """JSON-able totals so far (for checkpoints)."""
        self.flush()
        rows = []
        for r in self.rows.values():
            d = dict(r.__dict__)
            d["actions"], d["unpriced"], d["notes"] = dict(r.actions), dict(r.unpriced), list(r.notes)
            rows.append(d)
        return {"rows": rows, "total_cycles": self.total_cycles, "samples": self.samples, "batches": self.batches}

    def load_state(self, state: dict) -> None:
        """Restore totals saved by :meth:`state`."""
        self.rows.clear()
        for d in state["rows"]:
            d = dict(d)
            actions, unpriced = d.pop("actions"), d.pop("unpriced")
            r = XRow(**d)
            r.actions.update(actions)
            r.unpriced.update(unpriced)
            self.rows[(r.mode, r.layer, r.phase)] = r
        restore_totals(self, state)

    def finish(self) -> "CrossbarResult":
        """Flush what is pending and return the whole run's numbers."""
        self.flush()
        return CrossbarResult(self)


class CrossbarResult:
    """Totals and per-row numbers of a crossbar run (the API of HardwareResult); leakage shared by cycles."""

    def __init__(self, obs: CrossbarObserver):
        take_totals(self, obs)
        self.components = list(obs.components)
        self.leakage_mw = obs.arch.leakage_mw

    def _energy(self, r: XRow) -> dict[str, float]:
        """Dynamic energy of a row by component (action), pJ."""
        e = {c: 0.0 for c in self.components}
        for action, n in r.actions.items():
            e[action] += n * self.arch.energy(action)
        e["array_cells"] += r.cells_pj
        return e

    def mode_totals(self, mode: str) -> dict:
        """cycles, latency, energy (dynamic + leakage) and energy by component of one mode, plus write pulses."""
        rows = [r for r in self.rows_raw if r.mode == mode]
        cycles = self.total_cycles.get(mode, 0)
        seconds = cycles / self.clock_hz
        by_comp = {c: 0.0 for c in self.components}
        for r in rows:
            for c, e in self._energy(r).items():
                by_comp[c] += e
        leak = self.leakage_mw * seconds * PJ_PER_MW_S
        by_comp["leakage"] += leak
        device = sum(by_comp[c] for c in _DEVICE_COMPONENTS if c in by_comp)
        total = sum(by_comp.values())
        return {"cycles": cycles, "latency_s": seconds, "energy_pj": total, "energy_pj_by_component": by_comp,
                "leakage_pj": leak, "samples": self.samples.get(mode, 0), "batches": self.batches.get(mode, 0),
                "write_pulses": sum(r.set_pulses + r.reset_pulses for r in rows),
                "array_reads": sum(r.actions.get("array_read", 0) for r in rows),
                "adc_conversions": sum(r.actions.get("adc_conversion", 0) for r in rows),
                "device_energy_pj": device, "peripheral_energy_pj": total - device}

    def rows(self) -> list[dict]:
        """One dict per (mode, layer, phase) with the report columns and the crossbar columns."""
        out = []
        for mode in ("train", "eval"):
            rows = [r for r in self.rows_raw if r.mode == mode]
            if not rows:
                continue
            leak_total = self.leakage_mw * self.total_cycles.get(mode, 0) / self.clock_hz * PJ_PER_MW_S
            for r, share in zip(rows, leakage_shares(rows, leak_total)):
                e = self._energy(r)
                e["leakage"] += share
                energy = sum(e.values())
                device = sum(e[c] for c in _DEVICE_COMPONENTS if c in e)
                d = report_row(mode, r, energy, share, r.tile_slots, (0, 0, 0, 0))  # no buffers are priced
                d.update({
                    "write_pulses": r.set_pulses + r.reset_pulses, "set_pulses": r.set_pulses,
                    "reset_pulses": r.reset_pulses, "write_cycles": r.write_cycles,
                    "array_reads": r.actions.get("array_read", 0),
                    "adc_conversions": r.actions.get("adc_conversion", 0),
                    "device_energy_pj": device, "peripheral_energy_pj": energy - device,
                    "note": "; ".join(r.notes)})
                for c in self.components:
                    d[f"energy_pj_{c}"] = e[c]
                out.append(d)
        return out

    def columns(self) -> list[str]:
        return ROW_COLUMNS + [f"energy_pj_{c}" for c in self.components] + CROSSBAR_COLUMNS
