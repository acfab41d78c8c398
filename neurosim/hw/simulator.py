"""The hardware observer: real operands of every layer, phase and batch -> actions, bits, cycles and energy.

For each record the core hands over (see :mod:`neurosim.events`), the observer
1. turns the operands into exact action counts and per-tile compute cycles with the cost kernels
   (:mod:`neurosim.hw.costs`) for dense/conv products, or per-element actions for the fused pool, batch-norm
   and activation layers, and weight read/update costs (:mod:`neurosim.hw.weight_memory`);
2. books the bits each tile moves between DRAM, on-chip buffers and units (:mod:`neurosim.hw.mapping`);
3. at the end of each batch runs the batch's transactions through the SimPy engine
   (:mod:`neurosim.hw.engine`), which gives cycles with stalls on DRAM bandwidth and buffer banks.

Energy = sum over (component, action) of count x energy per action, plus leakage power x simulated time
(leakage is shared out over the report rows in proportion to their cycles, so rows add up to the total).
Rows are kept per (mode, layer, phase): mode ``train`` (forward, backward, update of training batches) or
``eval`` (forward of inference batches).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import networkx as nx
import numpy as np

from ..events import MAC_KINDS, LayerInfo, OperandRecord
from .arch import Architecture, ArchError, BufferAttributes
from .costs import CostResult, layer_costs
from .engine import CachedEngine, EngineConfig, Transaction
from .mapping import GRADIENT_BITS, LayerMap, check_weights_fit, layer_graph, plan
from .rows import (PJ_PER_MW_S, ROW_COLUMNS, flush_batch, leakage_shares, report_row, restore_totals,
                   take_totals)
from .weight_memory import WeightBits, WeightCost, weight_read_cost, weight_update_cost

# accumulator actions per element of a fused layer: (action, count per element)
_FUSED_FORWARD = {"pool": (("compare", 1),), "bn": (("mult", 1), ("add", 1))}
_FUSED_BACKWARD = {"pool": (("compare", 1),), "bn": (("mult", 2), ("add", 3)), "act": (("compare", 1), ("mult", 1))}
_THRESHOLDS = {"ternary": 2, "multilevel": 2, "sign": 1, "relu": 1, "tanh": 1, "identity": 0}


@dataclass(frozen=True)
class OperandAlphabet:
    """Nonzero probability of uniformly random operands of the method (for the closed-form resting column).

    GXNOR: ternary activations and weights, 2/3 each -> resting 1 - 4/9 = 5/9; TWN weights 2/3 -> 1/3 with
    full-precision inputs; binary and full precision: 1.
    """

    activation_nonzero: float = 1.0
    weight_nonzero: float = 1.0


@dataclass
class RowStats:
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
    lane_slots: int = 0  # compute cycles x lanes x arrays on the products (for utilization)
    uniform_nonzero_pairs: float = 0.0
    offchip_read_bits: int = 0
    offchip_write_bits: int = 0
    onchip_read_bits: int = 0
    onchip_write_bits: int = 0
    weight_transitions: int = 0
    state_distance: int = 0
    energy_by_component: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    actions: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class _Static:
    """Operand-independent part of one record: its actions, energy and bits, and its tiles' transactions."""

    delta: "RowStats"
    txs: list[dict]  # Transaction fields per tile, except batch, compute cycles and dependency
    cycles: list[int] = field(default_factory=list)  # compute cycles per tile when they do not depend on data


@dataclass
class _Pending:
    """A batch's transactions and the rows they belong to."""

    mode: str = ""
    batch: int = -1
    txs: list[Transaction] = field(default_factory=list)
    rows: list[tuple[str, int, str]] = field(default_factory=list)  # per transaction: (mode, layer, phase)
    barrier: int = -1  # last transaction of the previous layer: the next layer's products wait for it
    tile_tx: dict[int, list[int]] = field(default_factory=dict)  # layer -> transaction index per tile


class HardwareObserver:
    """Simulates the accelerator ``arch`` on the operands of a network of layers ``infos``."""

    def __init__(self, arch: Architecture, infos: list[LayerInfo], batch: int, bits: WeightBits,
                 alphabet: OperandAlphabet | None = None, slots: int | None = None, continuous_input: bool = True):
        self.arch, self.bits, self.alphabet = arch, bits, alphabet or OperandAlphabet()
        self.infos = {i.index: i for i in infos}
        self.graph = layer_graph(infos)  # data flow; program order is its topological order
        self.order = list(nx.topological_sort(self.graph))
        self.slots = slots if slots is not None else (2 if arch.double_buffering else 1)
        self.continuous_input = continuous_input  # the first product's inputs are data (never zero), not codes
        check_weights_fit(infos, arch, bits.stored)
        self.array = arch.compute_array()
        a = self.array.attributes
        self.kind, self.policy, self.lanes, self.arrays = a.kind, a.policy, a.lanes, a.arrays
        acc = arch.by_class("accumulator")
        self.accumulator = acc[0] if acc else None
        self._maps: dict[int, dict[int, LayerMap]] = {}
        self._plan(batch)
        self.engine = CachedEngine(EngineConfig(
            dram_bits_per_cycle=arch.dram_bits_per_cycle(), dram_latency_cycles=arch.dram_latency_cycles(),
            dram_channels=arch.dram().attributes.channels, slots=self.slots))
        self._buffer_bw = {c.name: arch.buffer_bits_per_cycle(c.name) for c in arch.components.values()
                           if isinstance(c.attributes, BufferAttributes)}
        self._offchip = {c.name: c.cls == "dram" for c in arch.components.values()}
        self.rows: dict[tuple[str, int, str], RowStats] = {}
        self.total_cycles = {"train": 0, "eval": 0}
        self.samples = {"train": 0, "eval": 0}
        self.batches = {"train": 0, "eval": 0}
        self._pending = _Pending()
        self._statics: dict[tuple, _Static] = {}
        self._position = {idx: k for k, idx in enumerate(self.order)}
        products = [i for i in self.order if self.infos[i].kind in MAC_KINDS]
        self._first_product = min(products, default=-1)
        self._last_product = max(products, default=-1)  # its update record ends a training batch

    # ------------------------------------------------------------------ planning
    def _plan(self, batch: int) -> dict[int, LayerMap]:
        if batch not in self._maps:
            self._maps[batch] = plan(list(self.infos.values()), self.arch, batch, self.slots)
        return self._maps[batch]

    # ------------------------------------------------------------------ observer protocol
    def observe(self, rec: OperandRecord) -> None:
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
        if info.kind in MAC_KINDS:
            if rec.phase == "forward":
                self._product_forward(rec)
            elif rec.phase == "backward":
                self._product_backward(rec)
            elif rec.phase == "update":
                self._update(rec)
        elif info.kind in ("pool", "bn", "act"):
            if rec.phase == "forward":
                self._fused(rec, "forward")
            elif rec.phase == "backward":
                self._fused(rec, "backward")
        p.barrier = len(p.txs) - 1 if p.txs else -1
        if rec.phase == "update" and info.index == self._last_product:
            self._bn_updates()
            self.flush()

    # ------------------------------------------------------------------ bookkeeping helpers
    def _row(self, mode: str, info: LayerInfo, phase: str, unit: str) -> RowStats:
        key = (mode, info.index, phase)
        r = self.rows.get(key)
        if r is None:
            r = self.rows[key] = RowStats(mode=mode, layer=info.index, name=info.name, kind=info.kind, phase=phase,
                                          unit=unit)
        return r

    def _charge(self, row: RowStats, component: str, action: str, count: int | float) -> None:
        if not count:
            return
        comp = self.arch.component(component)
        act = comp.actions.get(action)
        if act is None:
            if action == "rest":  # kinds without a resting action: a resting lane costs no dynamic energy
                row.actions[(component, action)] += int(count)
                return
            raise ArchError(f"{self.arch.source_file}: component {component!r} has no action {action!r}; "
                            f"actions: {', '.join(comp.actions)}")
        row.actions[(component, action)] += int(count)
        row.energy_by_component[component] += count * act.energy_pj

    def _memory(self, row: RowStats, component: str, read_bits: int, write_bits: int) -> tuple[int, int, int, int]:
        """Charge a memory access; return (offchip read, offchip write, onchip read, onchip write) bits."""
        self._charge(row, component, "read_bit", read_bits)
        self._charge(row, component, "write_bit", write_bits)
        if self._offchip[component]:
            row.offchip_read_bits += read_bits
            row.offchip_write_bits += write_bits
            return read_bits, write_bits, 0, 0
        row.onchip_read_bits += read_bits
        row.onchip_write_bits += write_bits
        return 0, 0, read_bits, write_bits

    def _weight_cost(self, row: RowStats, wc: WeightCost) -> None:
        for (comp, action), n in wc.actions.items():
            self._charge(row, comp, action, n)
        row.offchip_read_bits += wc.offchip_read_bits
        row.offchip_write_bits += wc.offchip_write_bits
        row.onchip_read_bits += wc.onchip_read_bits
        row.onchip_write_bits += wc.onchip_write_bits

    def _buffer_access(self, per_buffer: dict[str, int]) -> tuple[tuple[str, int], ...]:
        """Cycles a tile holds each on-chip buffer's port (banks x width bits per cycle); buffers work in parallel,
        units sharing one buffer queue for it in the engine."""
        return tuple(sorted((c, math.ceil(b / self._buffer_bw[c])) for c, b in per_buffer.items()
                            if b and c in self._buffer_bw))

    def _add_tx(self, key: tuple[str, int, str], tx: Transaction) -> int:
        p = self._pending
        p.txs.append(tx)
        p.rows.append(key)
        return len(p.txs) - 1

    def _act_home(self) -> str:
        return self.arch.placement.activations

    # ------------------------------------------------------------------ products
    def _layer_dict(self, info: LayerInfo) -> dict:
        if info.kind == "dense":
            return {"type": "dense"}
        p = info.params
        return {"type": "conv", "kernel": p["kernel"], "stride": p["stride"], "padding": p["padding"]}

    def _book_product(self, row: RowStats, res: CostResult, uniform_nz: float) -> None:
        for action, n in res.actions.items():
            self._charge(row, self.array.name, action, n)
        row.operand_pairs += res.operand_pairs
        row.nonzero_pairs += res.nonzero_pairs
        row.fired += res.fired
        row.lane_slots += res.compute_cycles * self.lanes * self.arrays
        row.uniform_nonzero_pairs += res.operand_pairs * uniform_nz

    def _x_nonzero(self, info: LayerInfo) -> float:
        if self.continuous_input and info.index == self._first_product:
            return 1.0
        return self.alphabet.activation_nonzero

    # ------------------------------------------------------------------ static parts, cached
    def _static(self, key: tuple, build) -> "_Static":
        """The operand-independent part of a record (traffic, accumulator actions, tile layout), built once."""
        st = self._statics.get(key)
        if st is None:
            st = self._statics[key] = _Static(RowStats("", -1, "", "", "", ""), [])
            build(st)
        return st

    def _apply(self, row: RowStats, st: "_Static") -> None:
        d = st.delta
        for k, n in d.actions.items():
            row.actions[k] += n
        for c, e in d.energy_by_component.items():
            row.energy_by_component[c] += e
        row.offchip_read_bits += d.offchip_read_bits
        row.offchip_write_bits += d.offchip_write_bits
        row.onchip_read_bits += d.onchip_read_bits
        row.onchip_write_bits += d.onchip_write_bits

    def _emit(self, key: tuple[str, int, str], st: "_Static", batch: int, cycles: Sequence[int],
              after: Sequence[int]) -> list[int]:
        """Transactions of a record from its static tile templates, with this batch's cycles and dependencies."""
        return [self._add_tx(key, Transaction(batch=batch, compute_cycles=int(c), after=a, **tm))
                for tm, c, a in zip(st.txs, cycles, after)]

    def _product_forward(self, rec: OperandRecord) -> None:
        info, B = rec.layer, rec.batch_size
        m = self._plan(B)[info.index]
        key = (rec.mode, info.index, "forward")
        row = self._row(rec.mode, info, "forward", "array")
        row.batches += 1
        per_sample = int(np.prod(info.out_shape))
        res = layer_costs(self.kind, self.policy, self.lanes, self.arrays, rec.x, rec.w, self._layer_dict(info),
                          product="forward", tile_outputs=m.tile_outputs(per_sample))
        self._book_product(row, res, self._x_nonzero(info) * self.alphabet.weight_nonzero)

        def build(st: _Static) -> None:
            home = self._act_home()
            for t, s in enumerate(m.tile_shares(B, per_sample)):
                wc = weight_read_cost(self.arch, info.weight_count, self.bits)
                self._weight_cost(st.delta, wc)
                offr, offw, onr, onw = self._memory(st.delta, home, math.ceil(s * m.in_bits_per_sample),
                                                    math.ceil(s * m.out_bits_per_sample))
                bufs = {home: onr + onw, self.arch.placement.weights: wc.onchip_read_bits}
                st.txs.append(dict(layer=info.index, phase="forward", tile=t, unit="array",
                                   read_offchip_bits=offr + wc.offchip_read_bits, write_offchip_bits=offw,
                                   read_onchip_bits=onr + wc.onchip_read_bits, write_onchip_bits=onw,
                                   buffer_access=self._buffer_access(bufs)))

        st = self._static(("forward", info.index, B), build)
        self._apply(row, st)
        p = self._pending
        p.tile_tx[info.index] = self._emit(key, st, rec.batch, res.tile_cycles, [p.barrier] * len(st.txs))

    def _product_backward(self, rec: OperandRecord) -> None:
        info = rec.layer
        dy = rec.dy
        B = dy.shape[0]
        m = self._plan(B)[info.index]
        key = ("train", info.index, "backward")
        row = self._row("train", info, "backward", "array")
        row.batches += 1
        ld = self._layer_dict(info)
        out_elems = int(np.prod(info.out_shape))
        in_elems = int(np.prod(info.in_shape))
        tiles = m.tile_shares(B, in_elems)
        first = info.index == self._first_product
        n_out = info.weight_count
        per_tile = -(-n_out // len(tiles))  # dW outputs are the weights, cut into as many tiles as the batch has
        cycles: list[int] = []
        if not first:  # input gradient dX = dY W^T, tiled by samples like the forward pass
            res = layer_costs(self.kind, self.policy, self.lanes, self.arrays, rec.x, rec.w, ld, dy=dy,
                              product="dx", tile_outputs=m.tile_outputs(in_elems))
            self._book_product(row, res, self.alphabet.weight_nonzero)
            cycles.extend(int(c) for c in res.tile_cycles)
        res = layer_costs(self.kind, self.policy, self.lanes, self.arrays, rec.x, rec.w, ld, dy=dy, product="dw",
                          tile_outputs=per_tile)
        self._book_product(row, res, self._x_nonzero(info))
        cycles.extend(int(c) for c in res.tile_cycles)

        def build(st: _Static) -> None:
            home = self._act_home()
            if not first:
                for t, s in enumerate(tiles):
                    wc = weight_read_cost(self.arch, info.weight_count, self.bits)
                    self._weight_cost(st.delta, wc)
                    offr, offw, onr, onw = self._memory(st.delta, home, math.ceil(s * out_elems * GRADIENT_BITS),
                                                        math.ceil(s * in_elems * GRADIENT_BITS))
                    bufs = {home: onr + onw, self.arch.placement.weights: wc.onchip_read_bits}
                    st.txs.append(dict(layer=info.index, phase="backward", tile=t, unit="array",
                                       read_offchip_bits=offr + wc.offchip_read_bits, write_offchip_bits=offw,
                                       read_onchip_bits=onr + wc.onchip_read_bits, write_onchip_bits=onw,
                                       buffer_access=self._buffer_access(bufs)))
            x_bits = B * m.in_bits_per_sample
            dy_bits = B * out_elems * GRADIENT_BITS
            for t in range(-(-n_out // per_tile)):
                share = min(per_tile, n_out - t * per_tile)
                r_bits = (x_bits + dy_bits) if t == 0 else 0  # operands stream in once, stay in the slot
                offr, offw, onr, onw = self._memory(st.delta, home, r_bits, share * GRADIENT_BITS)
                st.txs.append(dict(layer=info.index, phase="backward", tile=len(st.txs), unit="array",
                                   read_offchip_bits=offr, write_offchip_bits=offw, read_onchip_bits=onr,
                                   write_onchip_bits=onw, buffer_access=self._buffer_access({home: onr + onw})))

        st = self._static(("backward", info.index, B), build)
        if len(st.txs) != len(cycles):
            raise RuntimeError(f"layer {info.name}: {len(cycles)} tile cycle counts for {len(st.txs)} tiles")
        self._apply(row, st)
        self._emit(key, st, rec.batch, cycles, [self._pending.barrier] * len(st.txs))

    # ------------------------------------------------------------------ fused pool / batch norm / activation
    def _fused(self, rec: OperandRecord, phase: str) -> None:
        info = rec.layer
        if self.accumulator is None:
            raise ArchError(f"{self.arch.source_file}: layer {info.name!r} ({info.kind}) needs an accumulator "
                            f"component (class accumulator)")
        B = rec.dy.shape[0] if phase == "backward" else rec.batch_size
        m = self._plan(B)[info.index]
        mode = rec.mode if phase == "forward" else "train"
        key = (mode, info.index, phase)
        row = self._row(mode, info, phase, "accumulator")
        row.batches += 1

        def build(st: _Static) -> None:
            elems = int(np.prod(info.in_shape))
            if phase == "forward":
                ops = list(_FUSED_FORWARD.get(info.kind, ()))
                if info.kind == "act":
                    ops = [("compare", _THRESHOLDS.get(info.params.get("activation", ""), 1))]
            else:
                ops = list(_FUSED_BACKWARD[info.kind])
            lanes = self.accumulator.attributes.lanes
            home = self._act_home()
            bn_home = self.arch.placement.batchnorm
            for t, s in enumerate(m.tile_shares(B, elems)):
                n_ops = 0
                for action, per in ops:  # the actions of one element run side by side (e.g. both thresholds)
                    self._charge(st.delta, self.accumulator.name, action, round(s * elems) * per)
                    n_ops = max(n_ops, round(s * elems))
                bufs: dict[str, int] = defaultdict(int)
                offr = offw = onr = onw = 0
                if info.kind == "bn":  # gamma, beta (or the folded scale and shift) per channel
                    o = self._memory(st.delta, bn_home, 2 * info.in_shape[-1] * 32, 0)
                    offr, onr = offr + o[0], onr + o[2]
                    bufs[bn_home] += o[2]
                if phase == "backward":  # the stored forward input of this layer (full precision)
                    o = self._memory(st.delta, home, math.ceil(s * elems * 32), 0)
                    offr, onr = offr + o[0], onr + o[2]
                    bufs[home] += o[2]
                else:
                    o = self._memory(st.delta, home, 0, math.ceil(s * m.out_bits_per_sample))
                    offw, onw = offw + o[1], onw + o[3]
                    bufs[home] += o[3]
                st.txs.append(dict(layer=info.index, phase=phase, tile=t, unit="accumulator",
                                   read_offchip_bits=offr, write_offchip_bits=offw, read_onchip_bits=onr,
                                   write_onchip_bits=onw, buffer_access=self._buffer_access(bufs)))
                st.cycles.append(math.ceil(n_ops / lanes))

        st = self._static((phase, info.index, B), build)
        self._apply(row, st)
        p = self._pending
        producer_tx: list[int] = []
        if phase == "forward":
            pos = self._position[info.index]
            producer_tx = p.tile_tx.get(self.order[pos - 1], []) if pos > 0 else []
        after = [producer_tx[t] if t < len(producer_tx) else p.barrier for t in range(len(st.txs))]
        p.tile_tx[info.index] = self._emit(key, st, p.batch, st.cycles, after)

    # ------------------------------------------------------------------ updates
    def _update(self, rec: OperandRecord) -> None:
        info = rec.layer
        key = ("train", info.index, "update")
        row = self._row("train", info, "update", "update")
        row.batches += 1
        row.weight_transitions += rec.changed
        row.state_distance += rec.distance
        wc = weight_update_cost(self.arch, info.weight_count, self.bits, rec.changed, rec.distance)
        self._weight_cost(row, wc)
        home = self._act_home()
        offr, offw, onr, onw = self._memory(row, home, info.weight_count * GRADIENT_BITS, 0)  # the gradient
        p = self._pending
        # port time: the update unit streams through its weights read-modify-write (every word it reads is
        # written back), so the weight buffer is busy for reads x 2 whatever changed; energy above charges only
        # the changed weights' writes. This keeps a batch's timeline independent of the data (exact replays).
        bufs: dict[str, int] = defaultdict(int)
        bufs[home] += onr
        weights_home = self.arch.placement.weights
        for (comp, action), n in wc.actions.items():
            if action == "read_bit":
                bufs[comp] += 2 * n if comp == weights_home else n
            elif action == "write_bit" and comp != weights_home:
                bufs[comp] += n
        self._add_tx(key, Transaction(
            info.index, "update", rec.batch, 0, wc.update_cycles, unit="update",
            read_offchip_bits=offr + wc.offchip_read_bits, write_offchip_bits=wc.offchip_write_bits,
            read_onchip_bits=onr + wc.onchip_read_bits, write_onchip_bits=wc.onchip_write_bits,
            after=p.barrier, buffer_access=self._buffer_access(bufs)))

    def _bn_updates(self) -> None:
        """Batch-norm gamma and beta: a float add each on the accumulator, their optimizer state traffic."""
        if self.accumulator is None:
            return
        p = self._pending
        for idx in self.order:
            info = self.infos[idx]
            if info.kind != "bn":
                continue
            n = 2 * info.in_shape[-1]
            key = ("train", idx, "update")
            row = self._row("train", info, "update", "accumulator")
            row.batches += 1
            self._charge(row, self.accumulator.name, "add", n)
            o1 = self._memory(row, self.arch.placement.batchnorm, n * 32, n * 32)
            o2 = self._memory(row, self.arch.placement.optimizer_state, n * self.bits.optimizer,
                              n * self.bits.optimizer)
            bufs = {self.arch.placement.batchnorm: o1[2] + o1[3]}
            self._add_tx(key, Transaction(
                idx, "update", p.batch, 0, math.ceil(n / self.accumulator.attributes.lanes), unit="accumulator",
                read_offchip_bits=o1[0] + o2[0], write_offchip_bits=o1[1] + o2[1],
                read_onchip_bits=o1[2] + o2[2], write_onchip_bits=o1[3] + o2[3], after=p.barrier,
                buffer_access=self._buffer_access(bufs)))

    # ------------------------------------------------------------------ engine
    def flush(self) -> None:
        """Simulate the pending batch's transactions and add cycles to the rows."""
        flush_batch(self)

    def state(self) -> dict:
        """JSON-able totals so far (for checkpoints: a resumed run continues the hardware totals)."""
        self.flush()
        rows = []
        for r in self.rows.values():
            d = {k: v for k, v in r.__dict__.items() if k not in ("energy_by_component", "actions")}
            d["energy_by_component"] = dict(r.energy_by_component)
            d["actions"] = [[c, a, n] for (c, a), n in r.actions.items()]
            rows.append(d)
        return {"rows": rows, "total_cycles": self.total_cycles, "samples": self.samples, "batches": self.batches}

    def load_state(self, state: dict) -> None:
        """Restore totals saved by :meth:`state`."""
        self.rows.clear()
        for d in state["rows"]:
            d = dict(d)
            energy, actions = d.pop("energy_by_component"), d.pop("actions")
            r = RowStats(**d)
            r.energy_by_component.update(energy)
            for c, a, n in actions:
                r.actions[(c, a)] = n
            self.rows[(r.mode, r.layer, r.phase)] = r
        restore_totals(self, state)

    def finish(self) -> "HardwareResult":
        """Flush what is pending and return the whole run's numbers."""
        self.flush()
        return HardwareResult(self)


class HardwareResult:
    """Totals and per-row numbers of a run, with leakage shared out over the rows by their cycles."""

    def __init__(self, obs: HardwareObserver):
        take_totals(self, obs)
        self.leakage_mw = {c.name: c.leakage_mw for c in obs.arch.components.values()}
        self.components = list(obs.arch.components)

    def mode_totals(self, mode: str) -> dict:
        """cycles, latency, energy (dynamic + leakage) and energy by component of one mode."""
        rows = [r for r in self.rows_raw if r.mode == mode]
        cycles = self.total_cycles.get(mode, 0)
        seconds = cycles / self.clock_hz
        by_comp = {c: 0.0 for c in self.components}
        for r in rows:
            for c, e in r.energy_by_component.items():
                by_comp[c] += e
        leak = {c: mw * seconds * PJ_PER_MW_S for c, mw in self.leakage_mw.items()}
        for c, e in leak.items():
            by_comp[c] += e
        return {"cycles": cycles, "latency_s": seconds, "energy_pj": sum(by_comp.values()),
                "energy_pj_by_component": by_comp, "leakage_pj": sum(leak.values()),
                "samples": self.samples.get(mode, 0), "batches": self.batches.get(mode, 0)}

    def rows(self) -> list[dict]:
        """One dict per (mode, layer, phase) with the report columns."""
        out = []
        for mode in ("train", "eval"):
            rows = [r for r in self.rows_raw if r.mode == mode]
            if not rows:
                continue
            seconds = self.total_cycles.get(mode, 0) / self.clock_hz
            leak_total = sum(self.leakage_mw.values()) * seconds * PJ_PER_MW_S
            for r, share in zip(rows, leakage_shares(rows, leak_total)):
                energy = sum(r.energy_by_component.values()) + share
                d = report_row(mode, r, energy, share, r.lane_slots, (r.offchip_read_bits, r.offchip_write_bits,
                                                                      r.onchip_read_bits, r.onchip_write_bits))
                for c in self.components:
                    d[f"energy_pj_{c}"] = r.energy_by_component.get(c, 0.0) + share * (
                        self.leakage_mw[c] / sum(self.leakage_mw.values()) if sum(self.leakage_mw.values()) else 0.0)
                out.append(d)
        return out

    def columns(self) -> list[str]:
        return ROW_COLUMNS + [f"energy_pj_{c}" for c in self.components]


__all__ = ["HardwareObserver", "HardwareResult", "OperandAlphabet", "RowStats", "ROW_COLUMNS"]
