"""Mapping: the workload's layers as a networkx graph, each layer placed on a unit and cut into tiles.

Dense and conv layers run on the compute array; max-pool, batch norm and activation layers run on the accumulator,
fused behind the product that feeds them; flatten is free. A join (``add``: a skip connection's sum, ``concat``)
runs on the accumulator too and starts a block of its own: it reads every input tensor, and the layers fused behind
it share its tiling. Layers name their inputs (``LayerInfo.inputs``) when the graph is not a chain; program order
is the graph's topological order, and a layer whose output is read by more than the next layer always writes it.
A tile is a group of samples whose activations fit one slot of the activation buffer (a sample too big for a slot
is cut into tiles of contiguous outputs), and a fused block shares its product's tiling; activations move at their
real width, gradients at ``GRADIENT_BITS``. The rules are specified in ``docs/model.md``, section 4.4 (joins:
``docs/onnx.md``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import networkx as nx

from ..events import MAC_KINDS, LayerInfo
from .arch import Architecture, ArchError

GRADIENT_BITS = 32  # backward gradients are full precision (the papers train with float gradients)
FUSED_KINDS = ("pool", "bn", "act")
JOIN_KINDS = ("add", "concat")  # layers reading several input tensors (skip connections, concatenations)


@dataclass(frozen=True)
class LayerMap:
    """Where one layer runs and how it is cut: unit, fused producer, samples per tile, bits per sample."""

    info: LayerInfo
    unit: str  # array | accumulator | none
    producer: int  # index of the product layer whose outputs this fused layer consumes (-1: none)
    samples_per_tile: int
    in_bits_per_sample: int  # input activation bits of one sample
    out_bits_per_sample: int  # output bits one sample writes (0 inside a fused block)
    first_product: bool = False  # the first dense/conv layer: no input gradient (dX) is computed
    splits: int = 1  # tiles per sample when one sample does not fit a slot (then samples_per_tile = 1)

    def tiles(self, batch: int) -> int:
        """Tiles of a batch of ``batch`` samples."""
        return max(1, math.ceil(batch / self.samples_per_tile)) * self.splits

    def tile_outputs(self, per_sample: int) -> int:
        """Outputs per tile of a product (or elements per tile of a fused layer) with ``per_sample`` per sample."""
        if self.splits > 1:
            return max(1, math.ceil(per_sample / self.splits))
        return max(1, self.samples_per_tile * per_sample)

    def tile_shares(self, batch: int, per_sample: int) -> list[float]:
        """Samples' worth of work in each tile (fractions when samples are split), tiles in output order."""
        n = batch * per_sample
        t_o = self.tile_outputs(per_sample)
        return [min(t_o, n - start) / per_sample for start in range(0, n, t_o)] if n and per_sample else [batch]


def _elements(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape)) if shape else 0


def layer_graph(infos: list[LayerInfo]) -> nx.DiGraph:
    """A directed graph of the layers in data-flow order; edges carry activation elements per sample.

    A layer with ``inputs`` is fed by those layers (a skip connection is an edge that jumps layers); one without is
    fed by the layer before it in the list (a chain)."""
    g = nx.DiGraph()
    by_index = {info.index: info for info in infos}
    for info in infos:
        g.add_node(info.index, name=info.name, kind=info.kind, in_shape=info.in_shape, out_shape=info.out_shape,
                   weights=info.weight_count)
    for pos, b in enumerate(infos):
        if b.inputs is None:
            sources = (infos[pos - 1].index,) if pos > 0 else ()
        else:
            sources = b.inputs
        for a in sources:
            if a not in by_index:
                raise ValueError(f"layer {b.name!r}: input layer {a} is not in the network")
            g.add_edge(a, b.index, elements=_elements(by_index[a].out_shape))
    if infos and not nx.is_directed_acyclic_graph(g):
        raise ValueError("the layer graph must be acyclic")
    return g


def activation_slot_bits(arch: Architecture, slots: int) -> int | None:
    """Bits of one tile slot in the buffer that holds activations (None: off chip, unbounded)."""
    name = arch.placement.activations
    if not arch.is_buffer(name):
        return None
    return arch.component(name).attributes.capacity_bits // max(1, slots)


def plan(infos: list[LayerInfo], arch: Architecture, batch: int, slots: int = 2) -> dict[int, LayerMap]:
    """Map every layer: unit, fused producer, samples per tile and bits per sample.

    A sample too big for one slot of the activation buffer is split into several tiles.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1 (got {batch})")
    slot = activation_slot_bits(arch, slots)
    if slot is not None and slot < 1:
        name = arch.placement.activations
        raise ArchError(f"{arch.source_file}: component {name!r}: capacity_bits "
                        f"{arch.component(name).attributes.capacity_bits} holds no activation tile "
                        f"({slots} slot(s) of {slot} bits); allowed: at least {slots} bits")
    maps: dict[int, LayerMap] = {}
    producer = -1
    first_seen = False
    graph = layer_graph(infos)
    by_index = {info.index: info for info in infos}
    infos = [by_index[i] for i in nx.topological_sort(graph)]  # program order, as the observer runs it
    n = len(infos)
    for pos, info in enumerate(infos):
        kind = info.kind
        nxt = infos[pos + 1] if pos + 1 < n else None
        if kind in MAC_KINDS:
            unit, producer = "array", info.index
        elif kind in JOIN_KINDS:
            unit, producer = "accumulator", info.index
        elif kind in FUSED_KINDS:
            unit = "accumulator"
        else:
            unit = "none"
        in_bits = _elements(info.in_shape) * (info.activation_bits if kind in MAC_KINDS else 0)
        if kind in JOIN_KINDS:  # every input tensor is read
            in_bits = sum(_elements(by_index[a].out_shape) for a in graph.predecessors(info.index)) \
                * info.activation_bits
        # a block writes once: at its end (next layer is a product, flatten, a join, or nothing), or when its
        # output is read by another layer than the next (a skip connection's source)
        ends_block = (nxt is None or nxt.kind in MAC_KINDS or nxt.kind == "flatten" or nxt.kind in JOIN_KINDS
                      or set(graph.successors(info.index)) != {nxt.index})
        if unit == "none" or not ends_block:
            out_bits = 0
        else:
            consumer = next((l for l in infos[pos + 1:] if l.kind in MAC_KINDS), None)
            width = consumer.activation_bits if consumer is not None else 32
            out_bits = _elements(info.out_shape) * width
        per_sample = in_bits + out_bits
        splits = 1
        if slot is not None and per_sample > slot:
            splits = math.ceil(per_sample / slot)
        spt = batch if slot is None or per_sample == 0 else max(1, min(batch, slot // per_sample))
        is_first = kind in MAC_KINDS and not first_seen
        first_seen = first_seen or kind in MAC_KINDS
        fused = unit == "accumulator" and kind not in JOIN_KINDS
        maps[info.index] = LayerMap(info=info, unit=unit, producer=producer if fused else -1,
                                    samples_per_tile=spt, in_bits_per_sample=in_bits, out_bits_per_sample=out_bits,
                                    first_product=is_first, splits=splits)
    # a fused layer uses its producer's tiling so tile t of the block is one chain
    for idx, m in list(maps.items()):
        if m.unit == "accumulator" and m.producer >= 0:
            prod = maps[m.producer]
            maps[m.producer] = _with_tiling(prod, min(m.samples_per_tile, prod.samples_per_tile),
                                            max(m.splits, prod.splits))
    for idx, m in list(maps.items()):
        if m.unit == "accumulator" and m.producer >= 0:
            prod = maps[m.producer]
            maps[idx] = _with_tiling(m, prod.samples_per_tile, prod.splits)
    return maps


def _with_tiling(m: LayerMap, spt: int, splits: int) -> LayerMap:
    return replace(m, samples_per_tile=spt, splits=splits)


def check_weights_fit(infos: list[LayerInfo], arch: Architecture, bits_per_weight: int) -> int:
    """All layers' weights must fit together where the architecture keeps them; return the bits used."""
    total = sum(i.weight_count for i in infos if i.kind in MAC_KINDS)
    return arch.check_weights_fit(total, bits_per_weight)
