"""The datapath of a crossbar accelerator: crossbar tiles with their drivers, readout, write drivers and periphery.

Dense and conv weights (conv unrolled, :mod:`~neurosim.hw.unroll`) sit as DST states on tiled crossbars, the
workload's Z_Nw placed on the crossbar's Z_Na. Forward reads are counted by :mod:`~neurosim.hw.crossbar_reads`; dX
runs on the copy crossbar (``role: copy``) or as a transposed read, dW is accumulated digitally, updates are
open-loop pulse trains (:mod:`neurosim.devices`), and pool, batch norm and activation run on the digital periphery;
an operation the file does not price is counted apart with zero energy and a note. A tile may slice each weight
over several columns (``cell_bits``, inference only). The data a read moves (inputs into the input buffer and out
to the row drivers, the sums of the ADCs and shift-adders into the output buffer and out toward the next layer,
every such bit once over the interconnect) is charged where the tile names those components. One transaction per
tile of ``samples_per_tile`` samples; no DRAM traffic (weights never leave the arrays). The rules (mapping, reads,
backward, updates, periphery, cell energy, data movement, timing) are specified in ``docs/model.md``, section 5.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from ..events import MAC_KINDS, LayerInfo, OperandRecord
from ..shapes import conv_geometry
from .arch import ArchError
from .components import Component
from .components.crossbar_tile import columns_per_weight
from .crossbar import write_cycles
from .crossbar_reads import (ReadCounts, ReadTiming, input_planes, line_sums, matrix, read_counts,
                             sliced_state_conductance, update_pulses)
from ..devices import line_conductance_sums, state_to_conductance, weight_to_conductance
from .engine import Transaction
from .joins import JOIN_KINDS, crossbar_join
from .row import Row
from .unroll import fold_adds, patches

__all__ = ["CrossbarDatapath", "SUPPORTED_LAYERS", "THRESHOLDS", "GRADIENT_BITS", "sum_bits"]

SUPPORTED_LAYERS = ("dense", "conv", "pool", "bn", "act", "flatten", *JOIN_KINDS)
THRESHOLDS = {"ternary": 2, "multilevel": 2, "sign": 1, "relu": 1, "tanh": 1, "identity": 0}  # ops per element
# the periphery's operations: (component class, action)
_OP = ("control_unit", "op")
_ADD = ("shift_adder", "add")
_NEURON = ("neuron", "activate")
_FILTER = ("filter", "filter")
_SIGN = ("sign_unit", "sign")
_SUBTRACT = ("subtractor", "subtract")
GRADIENT_BITS = 32  # dY and dX move at 32 bits (as in the digital datapath)


def sum_bits(readout: str, adc_bits: int, planes: int, slices: int, cell_bits: int | None, row_tiles: int) -> int:
    """Bits of one output sum as it leaves the shift-adder: a comparator's decision is 1 bit; an ADC code of
    ``adc_bits`` grows by one bit per extra plane (bit-serial shift), by ``cell_bits`` per extra weight slice and by
    ceil(log2(row tiles)) for the sum over row tiles (the width that holds the sum without overflow)."""
    if readout != "adc":
        return 1
    return (adc_bits + max(planes - 1, 0) + max(slices - 1, 0) * (cell_bits or 0)
            + int(math.ceil(math.log2(max(row_tiles, 1)))))


def _per_sample(seconds: np.ndarray, B: int) -> np.ndarray:
    """Read time per sample: a conv layer's output positions are read one after another."""
    return seconds.reshape(B, -1).sum(axis=1)


def _positions_note(info: LayerInfo, positions: int) -> str:
    return f"; conv unrolled: {positions} reads per sample, one per output position" if info.kind == "conv" else ""


class CrossbarDatapath:
    """Products on crossbar tiles, the periphery on the digital units around them, updates as pulse trains."""

    def __init__(self, obs: Any, batch: int, weight_N: int | None, weight_L: float):
        arch = obs.arch
        self.obs, self.arch = obs, arch
        if not (isinstance(weight_L, (int, float)) and math.isfinite(weight_L) and weight_L > 0):
            raise ValueError(f"weight_L: must be a finite number > 0, got {weight_L!r}")
        self.weight_L = float(weight_L)
        for i in obs.infos.values():
            if i.kind not in SUPPORTED_LAYERS:
                raise ArchError(f"{arch.source_file}: layer {i.name!r} is a {i.kind} layer; crossbar architectures "
                                f"support {', '.join(SUPPORTED_LAYERS)} layers")
        self.tile: Component = arch.crossbar()
        self.copy_tile: Component | None = arch.crossbar("copy")
        self.N, self.mapping, _ = arch.weight_space(self.tile)
        self.device = self.tile.device
        self.weight_N = self.N if weight_N is None else int(weight_N)
        if not 0 <= self.weight_N <= self.N:
            raise ArchError(
                f"{arch.source_file}: {self.tile.name}.attributes.N: the workload's weights have N = {self.weight_N} "
                f"({2 ** self.weight_N + 1} states) but the crossbar holds N = {self.N} ({2 ** self.N + 1} states); "
                f"train with N <= {self.N} or raise N")
        self.scale = 2 ** (self.N - self.weight_N)  # Z_Nw state n sits at Z_Na state n x scale (N = 0 too)
        self.params = arch.crossbar_params(self.tile)
        self.copy = arch.crossbar_params(self.copy_tile) if self.copy_tile is not None else None
        self.cell_bits = self.tile.attributes.cell_bits
        self.slices = columns_per_weight(self.N, self.mapping, self.cell_bits)  # physical columns per weight
        if self.cell_bits is not None and self.params.readout != "adc":
            raise ArchError(f"{arch.source_file}: {self.tile.name}.attributes.cell_bits: weight slicing recombines "
                            f"the columns of a weight by shift-adds of ADC codes; the readout "
                            f"{self.tile.attributes.readout!r} is a comparator (name an adc, or remove cell_bits)")
        self._sliced_g: tuple[np.ndarray, np.ndarray | None] | None = None
        self.samples_per_tile = self.tile.attributes.samples_per_tile
        self.lanes = self.params.cols  # digital periphery: one lane per tile column
        self.writer = arch.component(self.tile.attributes.writer)
        self._g: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}  # layer -> conductance sums

    # ------------------------------------------------------------------ footprint
    def mapped(self) -> dict[str, dict[str, float]]:
        """Counts of the mapping-decided footprint units (:mod:`neurosim.hw.footprint`): the tiles each crossbar
        uses for the workload's layers (a layer of (rows, cols) weights takes ceil(rows/R) x ceil(cols/C) tiles,
        the copy crossbar the transpose), their devices (two per weight for the differential mapping, one plus a
        reference column otherwise), and the row drivers, converters or comparator columns and write drivers
        of the tiles that name them; the digital periphery has ``lanes`` lanes per tile."""
        out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        shapes = [(i.weight_count // i.out_shape[-1], i.out_shape[-1]) for i in self.obs.infos.values()
                  if i.kind in MAC_KINDS]
        tiles_total = 0
        for comp, params, transpose in ((self.tile, self.params, False), (self.copy_tile, self.copy, True)):
            if comp is None or params is None:
                continue
            a = comp.attributes
            s = 1 if transpose else self.slices  # a weight spans s physical columns (weight slicing)
            tiles = sum(-(-(c if transpose else r) // params.rows) * -(-(r if transpose else c * s) // params.cols)
                        for r, c in shapes)
            tiles_total += tiles
            cols_dev = 2 * params.cols if self.mapping == "differential" else params.cols + 1
            out[comp.name]["tile"] += tiles
            out[comp.name]["cell"] += tiles * params.rows * cols_dev
            out[a.driver]["tile"] += tiles
            out[a.driver]["row"] += tiles * params.rows
            out[a.readout]["tile"] += tiles
            out[a.readout]["converter"] += tiles * params.adcs_per_tile
            out[a.readout]["column"] += tiles * params.cols
            out[a.writer]["tile"] += tiles
            for name in self._movers(comp):
                out[name]["tile"] += tiles
        for c in self.arch.components.values():
            if c.name not in out:
                out[c.name]["tile"] = tiles_total
                out[c.name]["lane"] = tiles_total * self.lanes
        return {k: dict(v) for k, v in out.items()}

    # ------------------------------------------------------------------ components and their actions
    def _component(self, role: tuple[str, str]) -> Component | None:
        return self.arch.first(role[0])

    def _has(self, role: tuple[str, str]) -> bool:
        c = self._component(role)
        return c is not None and role[1] in c.actions

    def _movers(self, tile: Component) -> list[str]:
        """The periphery buffers and interconnect a tile names (a copy tile without its own: the normal tile's)."""
        own, base = tile.attributes, self.tile.attributes
        names = [getattr(own, k) or getattr(base, k) for k in ("input_buffer", "output_buffer", "interconnect")]
        return list(dict.fromkeys(n for n in names if n is not None))

    def _move(self, row: Row, tile: Component, in_write: int, in_read: int, out_write: int, out_read: int) -> None:
        """Charge the bits a read moves (section 5.8): written into / read out of the input buffer, written into /
        read out of the output buffer, and each of them once over the interconnect; a component the tile does not
        name moves nothing priced."""
        own, base = tile.attributes, self.tile.attributes
        ib = own.input_buffer or base.input_buffer
        ob = own.output_buffer or base.output_buffer
        ic = own.interconnect or base.interconnect
        if ib is not None:
            self.obs.memory(row, ib, in_read, in_write)
        if ob is not None:
            self.obs.memory(row, ob, out_read, out_write)
        if ic is not None:
            self.obs.charge(row, ic, "transfer_bit", in_write + in_read + out_write + out_read)

    def _sum_bits(self, prm, planes: int, row_tiles: int, slices: int) -> int:
        """Bits of one output sum of a read through tiles of ``prm`` (``row_tiles`` tiles along the input lines)."""
        return sum_bits(prm.readout, prm.adc_bits, planes, slices, self.cell_bits if slices > 1 else None, row_tiles)

    def _latency(self, role: tuple[str, str]) -> float:
        """Seconds of one action of ``role``; 0 where the file does not price it."""
        c = self._component(role)
        return c.actions[role[1]].latency_s if c is not None and role[1] in c.actions else 0.0

    def _charge(self, row: Row, role: tuple[str, str], n: float) -> None:
        """Count ``n`` actions of the component of class ``role[0]``; one the file does not price is counted apart
        (zero energy) with a note."""
        if not n:
            return
        c = self._component(role)
        if c is not None and role[1] in c.actions:
            self.obs.charge(row, c.name, role[1], n)
        else:
            row.unpriced[role] += int(n)
            row.note(f"{role[0]}.{role[1]} not priced by the file: counted, zero energy")

    def _timing(self, tile: Component) -> ReadTiming:
        readout = self.arch.component(tile.attributes.readout)
        t_read = tile.actions["read"].latency_s
        if readout.cls == "adc":
            return ReadTiming(read=t_read, conversion=readout.actions["convert"].latency_s, add=self._latency(_ADD))
        return ReadTiming(read=t_read, integration=readout.actions["integrate"].latency_s,
                          decision=readout.actions["decide"].latency_s)

    def _cycles(self, seconds: float) -> int:
        return int(math.ceil(seconds * self.arch.clock_hz - 1e-9)) if seconds > 0 else 0

    def _tiles(self, B: int) -> list[slice]:
        s = self.samples_per_tile
        return [slice(a, min(a + s, B)) for a in range(0, B, s)]

    def _add_tx(self, key: tuple[str, int, str], info: LayerInfo, phase: str, tile: int, cycles: int, unit: str,
                after: int) -> int:
        p = self.obs.pending
        return self.obs.add_tx(key, Transaction(info.index, phase, p.batch, tile, cycles, unit=unit, after=after,
                                                buffer_cycles=0))

    def _conductance(self, rec: OperandRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(row sums (in,), column sums (out,), copy-row sums) of device conductance.

        When the core trains device-aware, the conductances of the read it used (``rec.w_conductance``: faults,
        variation, write history and read noise price the cells too); a record with continuous weights but no
        conductances is priced at the conductances that read as its values; else the nominal conductances of the
        stored states (cached until the next update).
        """
        info = rec.layer
        if self.slices > 1:
            return self._sliced_conductance(rec)
        if rec.w_conductance is not None:
            return line_conductance_sums(*rec.w_conductance, self.mapping, tile_cols=self.params.cols,
                                         copy_tile_cols=self.copy.cols if self.copy is not None else None)
        read = rec.w_step == 0 and rec.w is not None
        g = None if read else self._g.get(info.index)
        if g is None:
            ref = self.mapping == "reference"
            if read:
                gp, gn = weight_to_conductance(matrix(rec.w), self.device, self.mapping, self.weight_L)
                rp, rn, cp, cn = gp.sum(axis=1), gn.sum(axis=1), gp.sum(axis=0), gn.sum(axis=0)
                g_ref = float(gn.flat[0]) if gn.size else 0.0
            else:  # nominal: one conductance per state, summed along the lines without a per-device array
                tp, tn = state_to_conductance(np.arange(2 ** self.N + 1), self.N, self.device, self.mapping)
                st = np.ascontiguousarray(matrix(np.asarray(rec.w_state)))
                rp, rn, cp, cn = line_sums(st, self.scale, np.asarray(tp, np.float64), np.asarray(tn, np.float64))
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

    def _sliced_conductance(self, rec: OperandRecord) -> tuple[np.ndarray, np.ndarray, None]:
        """(row sums, column sums, None) of sliced cells: every device of every weight on the line, each at the
        conductance of its digit, at the nominal states (slicing is modelled for inference of stored states)."""
        info = rec.layer
        g = self._g.get(info.index)
        if g is None:
            if self._sliced_g is None:
                d = self.device
                self._sliced_g = sliced_state_conductance(self.N, self.mapping, self.cell_bits, self.slices,
                                                          d.g_min, d.g_range)
            tp, tn = self._sliced_g
            ref = tn is None
            tn_ = np.zeros_like(tp) if ref else tn
            st = np.ascontiguousarray(matrix(np.asarray(rec.w_state)))
            rp, rn, cp, cn = line_sums(st, self.scale, np.asarray(tp, np.float64), np.asarray(tn_, np.float64))
            g_ref = self.device.g_min + 0.5 * self.device.g_range
            col_tiles = -(-cp.size * self.slices // self.params.cols)
            g = (rp + (g_ref * col_tiles if ref else rn), cp + (0.0 if ref else cn), None)
            self._g[info.index] = g
        return g

    # ------------------------------------------------------------------ dispatch
    def record(self, rec: OperandRecord) -> None:
        info = rec.layer
        if info.kind in ("dense", "conv"):
            if rec.w_state is None and rec.phase != "update":
                raise ArchError(f"{self.arch.source_file}: layer {info.name!r}: the crossbar holds DST weight "
                                f"states; this method gives none (use method gxnor or dst)")
            if self.slices > 1 and rec.phase != "forward":
                raise ArchError(f"{self.arch.source_file}: {self.tile.name}.attributes.cell_bits: weight slicing is "
                                f"modelled for inference (topology runs, --eval); layer {info.name!r} has a "
                                f"{rec.phase} pass (train on an unsliced crossbar, or remove cell_bits)")
            {"forward": self._forward, "backward": self._backward, "update": self._update}[rec.phase](rec)
        elif info.kind in ("pool", "bn", "act", "flatten") and rec.phase in ("forward", "backward"):
            self._periphery(rec)
        elif info.kind in JOIN_KINDS and rec.phase == "forward":
            crossbar_join(self, rec)

    # ------------------------------------------------------------------ products
    def _book_read(self, row: Row, tile: Component, c: ReadCounts, note: str) -> None:
        readout = self.arch.component(tile.attributes.readout)
        obs = self.obs
        obs.charge(row, tile.name, "read", c.array_reads)
        if readout.cls == "adc":
            obs.charge(row, readout.name, "convert", c.conversions)
            self._charge(row, _ADD, c.partial_sum_adds)
        else:
            obs.charge(row, readout.name, "integrate", c.integrations)
            obs.charge(row, readout.name, "decide", c.comparator_decisions)
        obs.charge(row, tile.name, "cell_read", c.cell_siemens)
        row.fired += c.cell_reads
        row.lane_slots += c.tile_slots
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
        return x, matrix(rec.w), dy

    def _pairs(self, row: Row, x: np.ndarray, w: np.ndarray, x_step: float) -> None:
        """Algorithmic operand pairs and nonzero pairs (x_i w_ij both nonzero) of x @ W."""
        B = x.shape[0]
        row.operand_pairs += B * w.size
        row.nonzero_pairs += int(np.count_nonzero(x, axis=0) @ np.count_nonzero(w, axis=1))
        x_nz = 1.0 if x_step == 0 else self.obs.alphabet.activation_nonzero
        row.uniform_nonzero_pairs += B * w.size * x_nz * self.obs.alphabet.weight_nonzero

    def _forward(self, rec: OperandRecord) -> None:
        info, B = rec.layer, rec.x.shape[0]
        x, w, _ = self._operands(rec)
        n_out = w.shape[1]
        row = self.obs.row(rec.mode, info, "forward", "array")
        row.batches += 1
        rows_g, _, _ = self._conductance(rec)
        driven, v2, how = input_planes(x, rec.x_step, self.params)
        prm = self.params
        c = read_counts(driven, v2, rows_g, n_out, prm.rows, prm.cols, prm.adcs_per_tile, prm.readout,
                        self._timing(self.tile), slices=self.slices)
        self._book_read(row, self.tile, c, f"forward: {how}" + _positions_note(info, x.shape[0] // B))
        if self.slices > 1:
            row.note(f"weights sliced: {self.slices} columns of {self.cell_bits}-bit cells per weight")
        self._pairs(row, x, w, rec.x_step)
        # data movement: the input arrives once per sample, its vectors go to the drivers once per read, the sums
        # leave the shift-adders into the output buffer and are read out toward the next layer
        a_bits = int(info.activation_bits)
        out = x.shape[0] * n_out * self._sum_bits(prm, driven.shape[0], -(-x.shape[1] // prm.rows), self.slices)
        self._move(row, self.tile, B * int(np.prod(info.in_shape)) * a_bits, x.size * a_bits, out, out)
        key = (rec.mode, info.index, "forward")
        seconds = _per_sample(c.sample_seconds, B)
        tiles = self._tiles(B)
        after = self.obs.after_producer(info, len(tiles), self.obs.producer(info))
        self.obs.pending.tile_tx[info.index] = [
            self._add_tx(key, info, "forward", t, self._cycles(float(seconds[s].sum())), "array", after[t])
            for t, s in enumerate(tiles)]

    def _backward(self, rec: OperandRecord) -> None:
        info, B = rec.layer, rec.x.shape[0]
        x, w, dy = self._operands(rec)
        V, n_out = dy.shape  # V reads: samples (dense) or output positions (conv)
        n_in = x.shape[1]
        row = self.obs.row("train", info, "backward", "array")
        row.batches += 1
        p = self.obs.pending
        key = ("train", info.index, "backward")
        alphabet = self.obs.alphabet
        last_tx = p.barrier
        first = info.index == self.obs.products[0]
        if not first:  # dX = dY W^T (the first weighted layer needs none)
            rows_g, cols_g, copy_g = self._conductance(rec)
            if self.copy is not None:
                prm, tile = self.copy, self.copy_tile
                driven, v2, how = input_planes(dy, 0.0, prm)
                c = read_counts(driven, v2, copy_g, n_in, prm.rows, prm.cols, prm.adcs_per_tile, prm.readout,
                                self._timing(tile))
                how = f"backward dX on the copy crossbar: {how}"
            else:
                prm, tile = self.params, self.tile
                driven, v2, how = input_planes(dy, 0.0, prm)
                c = read_counts(driven, v2, cols_g, n_in, prm.cols, prm.rows, prm.adcs_per_tile, prm.readout,
                                self._timing(tile))
                how = f"backward dX by a transposed read (dY on the columns): {how}"
            self._book_read(row, tile, c, how + _positions_note(info, V // B))
            lines = prm.rows if self.copy is not None else prm.cols  # input lines per tile of the dX read
            dx_bits = V * n_in * self._sum_bits(prm, driven.shape[0], -(-n_out // lines), 1)
            self._move(row, tile, 0, dy.size * GRADIENT_BITS, dx_bits, dx_bits)  # dY to the drivers, dX sums out
            row.operand_pairs += V * n_in * n_out
            row.nonzero_pairs += int(np.count_nonzero(dy, axis=0) @ np.count_nonzero(w, axis=0))
            row.uniform_nonzero_pairs += V * n_in * n_out * alphabet.weight_nonzero
            seconds = _per_sample(c.sample_seconds, B)
            for t, s in enumerate(self._tiles(B)):
                last_tx = self._add_tx(key, info, "backward", t, self._cycles(float(seconds[s].sum())), "array",
                                       last_tx)
        # dW = X^T dY, digital: one add per nonzero input x output; dY arrives in the input buffer, the adders
        # read the stored input x and dY from it
        self._move(row, self.tile, dy.size * GRADIENT_BITS,
                   B * int(np.prod(info.in_shape)) * int(info.activation_bits) + dy.size * GRADIENT_BITS, 0, 0)
        adds = int(np.count_nonzero(x)) * n_out
        add = _ADD if self._has(_ADD) or not self._has(_OP) else _OP
        add_name = f"{add[0]}.{add[1]}"
        if info.kind == "conv" and not first:  # patch gradients folded into dX
            kh, kw, stride, pad = conv_geometry(info.params, rec.w.shape)
            folds = fold_adds(rec.x.shape, kh, kw, stride, pad)
            adds += folds
            row.note(f"dX patches folded back digitally ({folds // B} {add_name} per sample where patches overlap)")
        self._charge(row, add, adds)
        row.operand_pairs += V * n_in * n_out
        row.nonzero_pairs += int(np.count_nonzero(x, axis=1) @ np.count_nonzero(dy, axis=1))
        x_nz = 1.0 if rec.x_step == 0 else alphabet.activation_nonzero
        row.uniform_nonzero_pairs += V * n_in * n_out * x_nz
        elems = V * n_out
        waves = -(-elems // self.lanes)
        periph = -(-adds // self.lanes) * self._latency(add)
        if info.index == self.obs.products[-1] and self._has(_SUBTRACT):
            self._charge(row, _SUBTRACT, elems)
            periph += waves * self._latency(_SUBTRACT)
            row.note("output error t - o on the analog subtractor")
        if self._has(_SIGN):
            self._charge(row, _SIGN, elems)
            periph += waves * self._latency(_SIGN)
            row.note("error polarity by the sign unit")
        row.note(f"dW = X^T dY accumulated digitally ({add_name} per nonzero input x output)")
        last_tx = self._add_tx(key, info, "backward", 0, self._cycles(periph), "accumulator", last_tx)
        p.backward_tx[info.index] = last_tx

    def _update(self, rec: OperandRecord) -> None:
        info = rec.layer
        row = self.obs.row("train", info, "update", "update")
        row.batches += 1
        row.weight_transitions += rec.changed
        row.state_distance += rec.distance
        dev = self.device
        self._g.pop(info.index, None)  # states change: conductances are recomputed on the next read
        cycles = 0
        if rec.transitions is not None and rec.w_state is not None:
            kp, kn = update_pulses(matrix(rec.w_state), matrix(rec.transitions), self.N, self.mapping,
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
            self.obs.charge(row, self.writer.name, "pulse", copies * (set_p + reset_p))
            cycles = self._cycles(cyc * self.writer.actions["pulse"].latency_s)
            row.note(f"open-loop pulse trains, {self.params.write_mode} writes, {self.scale} device step(s) per "
                     f"workload state x {dev.pulses_per_state} pulse(s) per step")
        n = info.weight_count
        self._charge(row, _OP, n)  # DST state adder, one per weight
        if self._has(_OP):
            cycles += self._cycles(-(-n // self.lanes) * self._latency(_OP))
        p = self.obs.pending
        after = p.backward_tx.get(info.index, p.barrier)
        self._add_tx(("train", info.index, "update"), info, "update", 0, cycles, "update", after)

    # ------------------------------------------------------------------ digital periphery
    def _periphery(self, rec: OperandRecord) -> None:
        info, phase = rec.layer, rec.phase
        mode = rec.mode if phase == "forward" else "train"
        row = self.obs.row(mode, info, phase, "accumulator")
        row.batches += 1
        if info.kind == "flatten":
            row.note("flatten: no operation")
            return
        B = rec.x.shape[0] if rec.x is not None else rec.dy.shape[0]
        elems = int(np.prod(info.in_shape))
        if info.kind == "pool":  # max-pool forward: k*k - 1 compares per output; backward: route by the argmax
            k = int(info.params.get("pool", 2))
            ops = [(_OP, k * k - 1 if phase == "forward" else 1)]
            if phase == "forward":
                elems = int(np.prod(info.out_shape))
        elif info.kind == "act" and phase == "forward":
            ops = [(_NEURON, 1)] if self._has(_NEURON) else [(_OP, THRESHOLDS.get(info.params.get("activation", ""),
                                                                                  1))]
        elif info.kind == "act":
            ops = [(_FILTER, 1)] if self._has(_FILTER) else [(_OP, 2)]
        else:  # bn: scale and shift forward; 2 mult + 3 add backward
            ops = [(_OP, 2 if phase == "forward" else 5)]
        seconds = 0.0
        for role, per in ops:
            name = f"{role[0]}.{role[1]}"
            if self._has(role):
                seconds += per * self._latency(role)
                row.note(f"{info.kind} {phase}: {per} {name} per element")
            else:
                row.note(f"{info.kind} {phase}: not priced by the file (no {name}): zero energy")
            self._charge(row, role, B * elems * per)
        key = (mode, info.index, phase)
        if phase == "forward":
            tiles = self._tiles(B)
            after = self.obs.after_producer(info, len(tiles), self.obs.producer(info))
            self.obs.pending.tile_tx[info.index] = [
                self._add_tx(key, info, phase, t, self._cycles(-(-(s.stop - s.start) * elems // self.lanes) * seconds),
                             "accumulator", after[t])
                for t, s in enumerate(tiles)]
        else:
            self._add_tx(key, info, phase, 0, self._cycles(-(-B * elems // self.lanes) * seconds), "accumulator",
                         self.obs.pending.barrier)

    def batch_norm_updates(self) -> None:
        """Batch-norm gamma and beta: one digital add each (control-unit ``op``)."""
        obs = self.obs
        for idx in obs.order:
            info = obs.infos[idx]
            if info.kind != "bn":
                continue
            n = 2 * int(info.in_shape[-1])
            row = obs.row("train", info, "update", "accumulator")
            row.batches += 1
            self._charge(row, _OP, n)
            row.note("bn gamma/beta: one control-unit op each")
            self._add_tx(("train", idx, "update"), info, "update", 0,
                         self._cycles(-(-n // self.lanes) * self._latency(_OP)), "accumulator", obs.pending.barrier)
