"""The datapath of a digital accelerator: a compute array with its memories, update unit and accumulator.

For each record it counts the products with the cost kernels (:mod:`neurosim.hw.costs`) and the weight reads and
updates (:mod:`neurosim.hw.weight_memory`), runs max-pool, batch norm and activation fused behind their product on
the accumulator, books the bits each tile moves between DRAM, on-chip buffers and units (:mod:`neurosim.hw.mapping`)
and queues one transaction per tile for the engine (on-chip buffers are contended ports). The operand-independent
part of a record (traffic, accumulator actions, tile layout) is built once per (phase, layer, batch size) and
reused. The rules are specified in ``docs/model.md``, section 4.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..events import MAC_KINDS, LayerInfo, OperandRecord
from .arch import ArchError
from .components import Component
from .costs import CostResult, layer_costs
from .costs.packed import packed

# The packed operands of the record being observed, shared by every architecture that observes it (a sweep attaches
# many to one training; packing depends only on the operands). The record itself is held, so a later record can
# never be mistaken for it; the entry is replaced by the next record.
_SHARED_PACKS: dict[str, Any] = {"rec": None, "packs": {}}


def _shared_pack(rec: OperandRecord, key: tuple, build: Callable[[], Any]) -> Any:
    """``build()`` once per observed record and key (product, outputs per tile, options), for all observers."""
    if _SHARED_PACKS["rec"] is not rec:
        _SHARED_PACKS["rec"], _SHARED_PACKS["packs"] = rec, {}
    packs = _SHARED_PACKS["packs"]
    if key not in packs:
        packs[key] = build()
    return packs[key]
from .engine import Transaction
from .joins import JOIN_KINDS, array_join
from .mapping import GRADIENT_BITS, LayerMap, plan
from .row import Row
from .weight_memory import WeightBits, WeightCost, weight_homes, weight_read_cost, weight_update_cost

__all__ = ["ArrayDatapath", "FUSED_FORWARD", "FUSED_BACKWARD", "THRESHOLDS"]

_OPERANDS = {"forward": "weights x inputs", "dx": "weights x output gradients",
             "dw": "output gradients x inputs"}

# accumulator actions per element of a fused layer: (action, count per element)
FUSED_FORWARD = {"pool": (("compare", 1),), "bn": (("mult", 1), ("add", 1))}
FUSED_BACKWARD = {"pool": (("compare", 1),), "bn": (("mult", 2), ("add", 3)), "act": (("compare", 1), ("mult", 1))}
THRESHOLDS = {"ternary": 2, "multilevel": 2, "sign": 1, "relu": 1, "tanh": 1, "identity": 0}  # compares per element


@dataclass
class _Static:
    """Operand-independent part of one record: its actions, energy and bits, and its tiles' transactions."""

    delta: Row
    txs: list[dict]  # Transaction fields per tile, except batch, compute cycles and dependency
    cycles: list[int] = field(default_factory=list)  # compute cycles per tile when they do not depend on data


class ArrayDatapath:
    """Products on the compute array, fused layers on the accumulator, updates on the update unit."""

    def __init__(self, obs: Any, batch: int, bits: WeightBits | None):
        arch = obs.arch
        if bits is None:
            raise ArchError(f"{arch.source_file}: a digital architecture needs the bits the method keeps per weight")
        self.obs, self.arch, self.bits = obs, arch, bits
        infos = list(obs.infos.values())
        self.weight_home = weight_homes(arch, [(i.index, i.name, i.weight_count) for i in infos
                                               if i.kind in MAC_KINDS], bits.stored)
        self.array = arch.compute_array()  # the primary array (forward products of the method's codes)
        self._served: dict[tuple[int, str], Component] = {}
        self._check_served(infos)
        self.accumulator = arch.first("accumulator")
        self._maps: dict[int, dict[int, LayerMap]] = {}
        self._statics: dict[tuple, _Static] = {}
        self._plan(batch)
        products = obs.products
        self._first_product = min(products, default=-1)
        self._last_layer = obs.order[-1] if obs.order else -1
        self._dram = next((c for c in arch.components if arch.is_offchip(c)), None)
        self._classes = int(np.prod(obs.infos[self._last_layer].out_shape)) if obs.order else 0

    def mapped(self) -> dict[str, dict[str, float]]:
        """Footprint units the mapping decides: none (a digital array's units come from its attributes)."""
        return {}

    # ------------------------------------------------------------------ dispatch
    def record(self, rec: OperandRecord) -> None:
        kind, phase = rec.layer.kind, rec.phase
        if kind in MAC_KINDS:
            if phase == "forward":
                self._product_forward(rec)
            elif phase == "backward":
                self._product_backward(rec)
            elif phase == "update":
                self._update(rec)
        elif kind in ("pool", "bn", "act") and phase in ("forward", "backward"):
            self._fused(rec, phase)
        elif kind in JOIN_KINDS and phase == "forward":
            array_join(self, rec)

    def _plan(self, batch: int) -> dict[int, LayerMap]:
        if batch not in self._maps:
            self._maps[batch] = plan(list(self.obs.infos.values()), self.arch, batch, self.obs.slots)
        return self._maps[batch]

    # ------------------------------------------------------------------ booking helpers
    def _charge(self, row: Row, component: str, action: str, count: int | float) -> None:
        # kinds without a resting action: a resting lane costs no dynamic energy (counted apart)
        self.obs.charge(row, component, action, count, free_if_missing=action == "rest")

    def _weight_cost(self, row: Row, wc: WeightCost) -> None:
        for (comp, action), n in wc.actions.items():
            self._charge(row, comp, action, n)
        row.offchip_read_bits += wc.offchip_read_bits
        row.offchip_write_bits += wc.offchip_write_bits
        row.onchip_read_bits += wc.onchip_read_bits
        row.onchip_write_bits += wc.onchip_write_bits

    def _buffer_access(self, per_buffer: dict[str, int]) -> tuple[tuple[str, int], ...]:
        """Cycles a tile holds each on-chip buffer's port (banks x width bits per cycle); buffers work in parallel,
        units sharing one buffer queue for it in the engine."""
        return tuple(sorted((c, math.ceil(b / self.arch.buffer_bits_per_cycle(c)) * self.arch.step_cycles(c))
                            for c, b in per_buffer.items() if b and self.arch.is_buffer(c)))

    def _act_home(self) -> str:
        return self.arch.placement.activations

    def _layer_dict(self, info: LayerInfo) -> dict:
        if info.kind == "dense":
            return {"type": "dense"}
        p = info.params
        return {"type": "conv", "kernel": p["kernel"], "stride": p["stride"], "padding": p["padding"]}

    # ------------------------------------------------------------------ which array serves which product
    @staticmethod
    def operand_widths(info: LayerInfo, product: str) -> tuple[int, int]:
        """(selector, other) operand bits of a product: forward (weights, inputs), dx (weights, dY), dw (dY, the
        layer's inputs); gradients are GRADIENT_BITS wide."""
        if product == "forward":
            return info.weight_bits, info.activation_bits
        if product == "dx":
            return info.weight_bits, GRADIENT_BITS
        return GRADIENT_BITS, info.activation_bits

    def _check_served(self, infos: list[LayerInfo]) -> None:
        """Every product of every layer needs an array that serves its operand widths (training products are
        checked when the first backward record arrives: an inference-only run needs no gradient path)."""
        for info in infos:
            if info.kind in MAC_KINDS:
                self.array_for(info, "forward")

    def array_for(self, info: LayerInfo, product: str) -> Component:
        """The compute array that runs ``product`` of layer ``info``: the first in the file serving its widths."""
        key = (info.index, product)
        got = self._served.get(key)
        if got is None:
            sel, other = self.operand_widths(info, product)
            got = self.arch.array_for(product, sel, other)
            if got is None:
                from .components.compute_array import operand_limits

                have = "; ".join(f"{a.name} ({a.attributes.kind}: {', '.join(a.attributes.products)} at selector <= "
                                 f"{operand_limits(a.attributes)[0]}, other <= {operand_limits(a.attributes)[1]} bits)"
                                 for a in self.arch.by_class("compute_array"))
                raise ArchError(f"{self.arch.source_file}: layer {info.name!r} {product}: no compute array serves "
                                f"{sel}-bit x {other}-bit operands ({_OPERANDS[product]}); arrays: {have}. Add an "
                                f"array for these widths or use a method whose operands this architecture serves")
            self._served[key] = got
        return got

    def _book_product(self, row: Row, res: CostResult, uniform_nz: float, array: Component) -> None:
        for action, n in res.actions.items():
            self._charge(row, array.name, action, n)
        row.operand_pairs += res.operand_pairs
        row.nonzero_pairs += res.nonzero_pairs
        row.fired += res.fired
        row.lane_slots += res.compute_cycles * array.attributes.lanes * array.attributes.arrays
        row.uniform_nonzero_pairs += res.operand_pairs * uniform_nz

    def _x_nonzero(self, info: LayerInfo) -> float:
        if self.obs.continuous_input and info.index == self._first_product:
            return 1.0
        return self.obs.alphabet.activation_nonzero

    def _costs(self, rec: OperandRecord, product: str, tile_outputs: int) -> tuple[CostResult, Component]:
        array = self.array_for(rec.layer, product)
        a = array.attributes
        res = layer_costs(a.kind, a.policy, a.lanes, a.arrays, rec.x, rec.w, self._layer_dict(rec.layer),
                          dy=rec.dy if product != "forward" else None, product=product, tile_outputs=tile_outputs,
                          pack=lambda lp, o: _shared_pack(rec, (product, tile_outputs, o), lambda: packed(lp, o)))
        return res, array

    def _tile_cycles(self, res: CostResult, array: Component) -> list[int]:
        """A tile's cycles on the array: its lane steps x the cycles one step takes (the longest action latency)."""
        step = self.arch.step_cycles(array.name)
        return [int(c) * step for c in res.tile_cycles]

    # ------------------------------------------------------------------ static parts, cached
    def _static(self, key: tuple, build: Callable[[_Static], None]) -> _Static:
        """The operand-independent part of a record (traffic, accumulator actions, tile layout), built once."""
        st = self._statics.get(key)
        if st is None:
            st = self._statics[key] = _Static(Row("", -1, "", "", "", ""), [])
            build(st)
        return st

    def _emit(self, key: tuple[str, int, str], st: _Static, batch: int, cycles: Sequence[int],
              after: Sequence[int]) -> list[int]:
        """Transactions of a record from its static tile templates, with this batch's cycles and dependencies."""
        return [self.obs.add_tx(key, Transaction(batch=batch, compute_cycles=int(c), after=a, **tm))
                for tm, c, a in zip(st.txs, cycles, after)]

    def _host_io(self, row: Row, to_chip: int, from_chip: int) -> tuple[int, int, int, int]:
        """Data that crosses between DRAM and the activation buffer: the input samples in, the network's outputs
        out (the host reads them there); with activations kept in DRAM nothing crosses. Returns the bits as
        :meth:`memory` does."""
        home = self._act_home()
        if self.arch.is_offchip(home) or self._dram is None or not (to_chip or from_chip):
            return 0, 0, 0, 0
        a = self.obs.memory(row, self._dram, to_chip, from_chip)
        b = self.obs.memory(row, home, from_chip, to_chip)
        return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]

    def _output_bits(self, info: LayerInfo, share: float) -> int:
        """Bits of the network's outputs (full-precision logits) a tile of the last layer hands to the host."""
        return math.ceil(share * self._classes * 32) if info.index == self._last_layer else 0

    def _loss(self, row: Row, batch: int) -> tuple[int, int, int, int]:
        """The loss on the host: it reads the logits and labels from DRAM and writes the loss gradient there; its
        arithmetic is the host's and is not charged. The gradient then streams into the activation buffer (with
        activations kept in DRAM the array reads it there)."""
        if self._dram is None or not self._classes:
            return 0, 0, 0, 0
        logits = batch * self._classes * 32
        labels = batch * max(1, math.ceil(math.log2(max(2, self._classes))))
        grad = batch * self._classes * GRADIENT_BITS
        host = self.obs.memory(row, self._dram, logits + labels, grad)  # the host's accesses hold the DRAM too
        chip = self._host_io(row, grad, 0)
        return tuple(a + b for a, b in zip(host, chip))  # type: ignore[return-value]

    def _add_host(self, tx: dict, host: tuple[int, int, int, int]) -> None:
        """Add the bits crossing to or from the host to a tile's transaction (and its activation-buffer port)."""
        tx["read_offchip_bits"] += host[0]
        tx["write_offchip_bits"] += host[1]
        tx["read_onchip_bits"] += host[2]
        tx["write_onchip_bits"] += host[3]
        bufs = dict(tx["buffer_access"])
        home = self._act_home()
        if (host[2] or host[3]) and self.arch.is_buffer(home):
            extra = math.ceil((host[2] + host[3]) / self.arch.buffer_bits_per_cycle(home))
            bufs[home] = bufs.get(home, 0) + extra
        tx["buffer_access"] = tuple(sorted(bufs.items()))

    def _streamed(self, info: LayerInfo, row: Row) -> str | None:
        """The layer's weight home when it is not the ``weights`` placement (streamed from DRAM), else None."""
        home = self.weight_home.get(info.index)
        if home is None or home == self.arch.placement.weights:
            return None
        row.note(f"weights streamed from {home}: they do not fit {self.arch.placement.weights!r} after the "
                 f"layers before")
        return home

    def _weight_pass(self, st: _Static, info: LayerInfo, t: int, phase: str, read_bits: int, write_bits: int,
                     host: tuple[int, int, int, int] = (0, 0, 0, 0)) -> None:
        """One tile of a pass over the weights by the array: the weights, plus the tile's activations or gradients
        (and the bits crossing to or from the host, ``host``, when the tile loads inputs or hands out outputs)."""
        obs = self.obs
        home = self._act_home()
        wc = weight_read_cost(self.arch, info.weight_count, self.bits, self._streamed(info, st.delta))
        self._weight_cost(st.delta, wc)
        offr, offw, onr, onw = obs.memory(st.delta, home, read_bits, write_bits)
        offr, offw, onr, onw = offr + host[0], offw + host[1], onr + host[2], onw + host[3]
        bufs: dict[str, int] = defaultdict(int)
        bufs[home] += onr + onw
        bufs[self.arch.placement.weights] += wc.onchip_read_bits
        st.txs.append(dict(layer=info.index, phase=phase, tile=t, unit="array",
                           read_offchip_bits=offr + wc.offchip_read_bits, write_offchip_bits=offw,
                           read_onchip_bits=onr + wc.onchip_read_bits, write_onchip_bits=onw,
                           buffer_access=self._buffer_access(bufs)))

    # ------------------------------------------------------------------ products
    def _product_forward(self, rec: OperandRecord) -> None:
        info, B = rec.layer, rec.batch_size
        m = self._plan(B)[info.index]
        key = (rec.mode, info.index, "forward")
        row = self.obs.row(rec.mode, info, "forward", "array")
        row.batches += 1
        per_sample = int(np.prod(info.out_shape))
        res, array = self._costs(rec, "forward", m.tile_outputs(per_sample))
        self._book_product(row, res, self._x_nonzero(info) * self.obs.alphabet.weight_nonzero, array)

        first = info.index == self._first_product

        def build(st: _Static) -> None:
            for t, s in enumerate(m.tile_shares(B, per_sample)):
                in_bits = math.ceil(s * m.in_bits_per_sample)
                host = self._host_io(st.delta, in_bits if first else 0, self._output_bits(info, s))
                self._weight_pass(st, info, t, "forward", in_bits, math.ceil(s * m.out_bits_per_sample), host)

        st = self._static(("forward", info.index, B), build)
        row.add(st.delta)
        p = self.obs.pending
        p.tile_tx[info.index] = self._emit(key, st, rec.batch, self._tile_cycles(res, array),
                                           [p.barrier] * len(st.txs))

    def _product_backward(self, rec: OperandRecord) -> None:
        info = rec.layer
        B = rec.dy.shape[0]
        m = self._plan(B)[info.index]
        key = ("train", info.index, "backward")
        row = self.obs.row("train", info, "backward", "array")
        row.batches += 1
        out_elems = int(np.prod(info.out_shape))
        in_elems = int(np.prod(info.in_shape))
        tiles = m.tile_shares(B, in_elems)
        first = info.index == self._first_product
        n_out = info.weight_count
        per_tile = -(-n_out // len(tiles))  # dW outputs are the weights, cut into as many tiles as the batch has
        cycles: list[int] = []
        if not first:  # input gradient dX = dY W^T, tiled by samples like the forward pass
            res, array = self._costs(rec, "dx", m.tile_outputs(in_elems))
            self._book_product(row, res, self.obs.alphabet.weight_nonzero, array)
            cycles.extend(self._tile_cycles(res, array))
        res, array = self._costs(rec, "dw", per_tile)
        self._book_product(row, res, self._x_nonzero(info), array)
        cycles.extend(self._tile_cycles(res, array))

        def build(st: _Static) -> None:
            home = self._act_home()
            if not first:
                for t, s in enumerate(tiles):
                    self._weight_pass(st, info, t, "backward", math.ceil(s * out_elems * GRADIENT_BITS),
                                      math.ceil(s * in_elems * GRADIENT_BITS))
            x_bits = B * m.in_bits_per_sample
            dy_bits = B * out_elems * GRADIENT_BITS
            for t in range(-(-n_out // per_tile)):
                share = min(per_tile, n_out - t * per_tile)
                r_bits = (x_bits + dy_bits) if t == 0 else 0  # operands stream in once, stay in the slot
                offr, offw, onr, onw = self.obs.memory(st.delta, home, r_bits, share * GRADIENT_BITS)
                st.txs.append(dict(layer=info.index, phase="backward", tile=len(st.txs), unit="array",
                                   read_offchip_bits=offr, write_offchip_bits=offw, read_onchip_bits=onr,
                                   write_onchip_bits=onw, buffer_access=self._buffer_access({home: onr + onw})))
            if info.index == self._last_layer:
                self._add_host(st.txs[0], self._loss(st.delta, B))

        st = self._static(("backward", info.index, B), build)
        if len(st.txs) != len(cycles):
            raise RuntimeError(f"layer {info.name}: {len(cycles)} tile cycle counts for {len(st.txs)} tiles")
        row.add(st.delta)
        self._emit(key, st, rec.batch, cycles, [self.obs.pending.barrier] * len(st.txs))

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
        row = self.obs.row(mode, info, phase, "accumulator")
        row.batches += 1

        def build(st: _Static) -> None:
            elems = int(np.prod(info.in_shape))
            if phase == "forward":
                ops = list(FUSED_FORWARD.get(info.kind, ()))
                if info.kind == "act":
                    ops = [("compare", THRESHOLDS.get(info.params.get("activation", ""), 1))]
            else:
                ops = list(FUSED_BACKWARD[info.kind])
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
                    o = self.obs.memory(st.delta, bn_home, 2 * info.in_shape[-1] * 32, 0)
                    offr, onr = offr + o[0], onr + o[2]
                    bufs[bn_home] += o[2]
                if phase == "backward":  # the stored forward input of this layer (full precision)
                    o = self.obs.memory(st.delta, home, math.ceil(s * elems * 32), 0)
                    offr, onr = offr + o[0], onr + o[2]
                    bufs[home] += o[2]
                else:
                    o = self.obs.memory(st.delta, home, 0, math.ceil(s * m.out_bits_per_sample))
                    offw, onw = offw + o[1], onw + o[3]
                    bufs[home] += o[3]
                if phase == "forward":
                    host = self._host_io(st.delta, 0, self._output_bits(info, s))
                elif t == 0 and info.index == self._last_layer:
                    host = self._loss(st.delta, B)
                else:
                    host = (0, 0, 0, 0)
                offr, offw, onr, onw = offr + host[0], offw + host[1], onr + host[2], onw + host[3]
                bufs[home] += host[2] + host[3]
                st.txs.append(dict(layer=info.index, phase=phase, tile=t, unit="accumulator",
                                   read_offchip_bits=offr, write_offchip_bits=offw, read_onchip_bits=onr,
                                   write_onchip_bits=onw, buffer_access=self._buffer_access(bufs)))
                st.cycles.append(math.ceil(n_ops / lanes) * self.arch.step_cycles(self.accumulator.name,
                                                                                  tuple(a for a, _ in ops)))

        st = self._static((phase, info.index, B), build)
        row.add(st.delta)
        producer = self.obs.previous(info) if phase == "forward" else -1
        after = self.obs.after_producer(info, len(st.txs), producer)
        ids = self._emit(key, st, self.obs.pending.batch, st.cycles, after)
        self.obs.pending.tile_tx[info.index] = ids
        stream = self._stream(info, producer) if phase == "forward" else None
        if stream is not None:
            tiles_of_producer = set(self.obs.pending.tile_tx.get(producer, ()))
            for i, a in zip(ids, after):
                if a in tiles_of_producer:
                    tx = self.obs.pending.txs[i]
                    tx.streams, tx.fill_cycles, tx.drain_cycles = True, *stream

    def _stream(self, info: LayerInfo, producer: int) -> tuple[int, int] | None:
        """(fill, drain) cycles of a fused layer on its product's output stream, or None when it runs after it.
        Fill: the product's first output, ceil(fan-in / lanes) lane steps; drain: one step of the accumulator
        after the last output."""
        if self.accumulator.attributes.fused != "streamed" or producer < 0:
            return None
        prod = self.obs.infos[producer]
        if prod.kind not in MAC_KINDS:  # behind another fused layer: the same accumulator lanes, in turn
            return None
        array = self.array_for(prod, "forward")
        fan_in = max(1, prod.weight_count // max(1, prod.out_shape[-1]))
        fill = math.ceil(fan_in / array.attributes.lanes) * self.arch.step_cycles(array.name)
        return fill, self.arch.step_cycles(self.accumulator.name)

    # ------------------------------------------------------------------ updates
    def _update(self, rec: OperandRecord) -> None:
        info, obs = rec.layer, self.obs
        key = ("train", info.index, "update")
        row = obs.row("train", info, "update", "update")
        row.batches += 1
        row.weight_transitions += rec.changed
        row.state_distance += rec.distance
        wc = weight_update_cost(self.arch, info.weight_count, self.bits, rec.changed, rec.distance,
                                self._streamed(info, row))
        self._weight_cost(row, wc)
        home = self._act_home()
        offr, offw, onr, onw = obs.memory(row, home, info.weight_count * GRADIENT_BITS, 0)  # the gradient
        # port time for the same bits the energy charges: every bit read, and the bits written back (only the
        # changed weights' under write_back: changed, every weight's under write_back: all)
        bufs: dict[str, int] = defaultdict(int)
        bufs[home] += onr
        for (comp, action), n in wc.actions.items():
            if action in ("read_bit", "write_bit"):
                bufs[comp] += n
        obs.add_tx(key, Transaction(
            info.index, "update", rec.batch, 0, wc.update_cycles, unit="update",
            read_offchip_bits=offr + wc.offchip_read_bits, write_offchip_bits=wc.offchip_write_bits,
            read_onchip_bits=onr + wc.onchip_read_bits, write_onchip_bits=wc.onchip_write_bits,
            after=obs.pending.barrier, buffer_access=self._buffer_access(bufs)))

    def batch_norm_updates(self) -> None:
        """Batch-norm gamma and beta: a float add each on the accumulator, their optimizer state traffic."""
        if self.accumulator is None:
            return
        obs = self.obs
        p = obs.pending
        for idx in obs.order:
            info = obs.infos[idx]
            if info.kind != "bn":
                continue
            n = 2 * info.in_shape[-1]
            key = ("train", idx, "update")
            row = obs.row("train", info, "update", "accumulator")
            row.batches += 1
            self._charge(row, self.accumulator.name, "add", n)
            o1 = obs.memory(row, self.arch.placement.batchnorm, n * 32, n * 32)
            o2 = obs.memory(row, self.arch.placement.optimizer_state, n * self.bits.optimizer, n * self.bits.optimizer)
            bufs = {self.arch.placement.batchnorm: o1[2] + o1[3]}
            obs.add_tx(key, Transaction(
                idx, "update", p.batch, 0,
                math.ceil(n / self.accumulator.attributes.lanes) * self.arch.step_cycles(self.accumulator.name, ("add",)),
                unit="accumulator",
                read_offchip_bits=o1[0] + o2[0], write_offchip_bits=o1[1] + o2[1],
                read_onchip_bits=o1[2] + o2[2], write_onchip_bits=o1[3] + o2[3], after=p.barrier,
                buffer_access=self._buffer_access(bufs)))
