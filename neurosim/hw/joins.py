"""Joins: layers that read several input tensors (``add`` of a skip connection, ``concat``), on either datapath.

A join runs on the accumulator (digital) or the digital periphery (crossbar), forward only (imported networks are
simulated for inference). Its data movement is what makes skip connections cost something:

- every input tensor is read from where it lives, at the activation width: the activation buffer, or DRAM when a
  skip tensor had to be spilled (:func:`spilled`);
- ``add``: (inputs - 1) adds per output element on the accumulator lanes (crossbar: the shift-adder, else the
  control unit); ``concat``: no arithmetic, the inputs are moved into one buffer;
- the output is written where the block ends, as for any fused block (:func:`neurosim.hw.mapping.plan`): a join
  followed by a product, flatten or another join writes its output itself; one followed by a fused layer (an add
  then a ReLU) leaves the write to that layer. On a crossbar the periphery has no fused pipeline: the join always
  writes its output into the tile's output buffer.

A skip tensor (the output of layer P read by join J with layers in between) is spilled when it and the working
set of the largest layer in between do not fit the activation buffer together: ``batch x elements x width +
max(batch x (in + out bits per sample), capacity) > capacity``. A spilled tensor costs one buffer read and a DRAM
write (when P writes it out) and a DRAM read (when J reads it back), all booked on the join's row with a note.
Only the one tensor is considered (several skip tensors live at once are not summed), and products that read a
skip tensor (a projection shortcut) read it from the buffer.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from ..events import OperandRecord
from .arch import ArchError
from .mapping import JOIN_KINDS, LayerMap

__all__ = ["JOIN_KINDS", "array_join", "crossbar_join", "join_sources", "spilled"]

_ADD = ("shift_adder", "add")
_OP = ("control_unit", "op")


def _elements(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape)) if shape else 0


def join_sources(obs: Any, index: int) -> list[int]:
    """The layers a join reads, in the order its inputs are named."""
    info = obs.infos[index]
    preds = set(obs.graph.predecessors(index))
    named = [i for i in (info.inputs or ()) if i in preds]
    return named + sorted(preds - set(named))


def spilled(obs: Any, maps: dict[int, LayerMap], index: int, source: int, batch: int) -> bool:
    """Whether the output of ``source``, live until join ``index`` reads it, is spilled to DRAM (module doc)."""
    arch = obs.arch
    home = arch.placement.activations
    if not arch.is_buffer(home) or arch.is_offchip(home) or not arch.by_class("dram"):
        return False
    pos = obs._position
    between = [i for i in obs.order[pos[source] + 1:pos[index]] if obs.infos[i].kind != "flatten"]
    if not between:
        return False
    cap = arch.component(home).attributes.capacity_bits
    width = obs.infos[index].activation_bits
    live = batch * _elements(obs.infos[source].out_shape) * width
    work = max(min(cap, batch * (maps[i].in_bits_per_sample + maps[i].out_bits_per_sample)) for i in between)
    return live + work > cap


def array_join(dp: Any, rec: OperandRecord) -> None:
    """A join's forward pass on a digital datapath (:class:`~neurosim.hw.datapath_array.ArrayDatapath`)."""
    obs, arch, info, B = dp.obs, dp.arch, rec.layer, rec.batch_size
    acc = dp.accumulator
    if acc is None:
        raise ArchError(f"{arch.source_file}: layer {info.name!r} ({info.kind}) needs an accumulator component "
                        f"(class accumulator)")
    maps = dp._plan(B)
    m = maps[info.index]
    key = (rec.mode, info.index, "forward")
    row = obs.row(rec.mode, info, "forward", "accumulator")
    row.batches += 1
    width = int(info.activation_bits)
    out_elems = _elements(info.out_shape)
    sources = join_sources(obs, info.index)
    home, dram = dp._act_home(), dp._dram
    spill = {s: spilled(obs, maps, info.index, s, B) for s in sources}
    adds_per_elem = max(0, len(sources) - 1) if info.kind == "add" else 0

    def build(st: Any) -> None:
        for s in sources:
            if spill[s]:
                st.delta.note(f"input {obs.infos[s].name!r} spilled to {dram}: live across layers and it does not "
                              f"fit {home!r} beside them")
        for t, share in enumerate(m.tile_shares(B, out_elems)):
            bufs: dict[str, int] = defaultdict(int)
            tot = [0, 0, 0, 0]  # offchip read, offchip write, onchip read, onchip write

            accesses = []  # (component, read bits, write bits)
            for s in sources:
                bits = math.ceil(share * _elements(obs.infos[s].out_shape) * width)
                accesses.append((home, bits, 0))  # from the buffer (a spilled tensor: the copy out to DRAM ...)
                if spill[s]:
                    accesses.append((dram, bits, bits))  # ... written there, and read back by the join
            accesses.append((home, 0, math.ceil(share * m.out_bits_per_sample)))
            for component, r, w in accesses:
                got = obs.memory(st.delta, component, r, w)
                for k in range(4):
                    tot[k] += got[k]
                if arch.is_buffer(component):
                    bufs[component] += got[2] + got[3]
            host = dp._host_io(st.delta, 0, dp._output_bits(info, share))
            for k in range(4):
                tot[k] += host[k]
            bufs[home] += host[2] + host[3]
            n_adds = round(share * out_elems) * adds_per_elem
            dp._charge(st.delta, acc.name, "add", n_adds)
            st.txs.append(dict(layer=info.index, phase="forward", tile=t, unit="accumulator",
                               read_offchip_bits=tot[0], write_offchip_bits=tot[1], read_onchip_bits=tot[2],
                               write_onchip_bits=tot[3], buffer_access=dp._buffer_access(bufs)))
            st.cycles.append(math.ceil(n_adds / acc.attributes.lanes) * arch.step_cycles(acc.name, ("add",))
                             if n_adds else 0)
        st.delta.note(f"{info.kind}: reads {len(sources)} input tensors at {width} bits"
                      + (f", {adds_per_elem} add per element" if adds_per_elem else ", moved into one buffer"))

    st = dp._static(("join", info.index, B), build)
    row.add(st.delta)
    p = obs.pending
    p.tile_tx[info.index] = dp._emit(key, st, rec.batch, st.cycles, [p.barrier] * len(st.txs))


def crossbar_join(dp: Any, rec: OperandRecord) -> None:
    """A join's forward pass on the crossbar periphery (:class:`~neurosim.hw.datapath_crossbar.CrossbarDatapath`):
    the inputs are read out of the tile's output buffer, the sum (or the concatenation) is written back into it and
    every bit crosses the interconnect once; a tile that names no output buffer counts the bits as on-chip traffic
    at zero energy (with a note)."""
    obs, info, B = dp.obs, rec.layer, rec.batch_size
    row = obs.row(rec.mode, info, "forward", "accumulator")
    row.batches += 1
    width = int(info.activation_bits)
    out_elems = _elements(info.out_shape)
    sources = join_sources(obs, info.index)
    reads = B * sum(_elements(obs.infos[s].out_shape) for s in sources) * width
    writes = B * out_elems * width
    attrs = dp.tile.attributes
    ob, ic = getattr(attrs, "output_buffer", None), getattr(attrs, "interconnect", None)
    if ob is not None:
        obs.memory(row, ob, reads, writes)
    else:
        row.onchip_read_bits += reads
        row.onchip_write_bits += writes
        row.note(f"{info.kind}: the tile names no output_buffer: {reads + writes} bits moved counted, zero energy")
    if ic is not None:
        obs.charge(row, ic, "transfer_bit", reads + writes)
    seconds = 0.0
    if info.kind == "add":
        role = _ADD if dp._has(_ADD) or not dp._has(_OP) else _OP
        dp._charge(row, role, B * out_elems * max(0, len(sources) - 1))
        seconds = max(0, len(sources) - 1) * dp._latency(role)
        row.note(f"add: {len(sources) - 1} {role[0]}.{role[1]} per element")
    else:
        row.note("concat: inputs moved into one buffer, no arithmetic")
    key = (rec.mode, info.index, "forward")
    tiles = dp._tiles(B)
    after = obs.after_producer(info, len(tiles), obs.producer(info))
    obs.pending.tile_tx[info.index] = [
        dp._add_tx(key, info, "forward", t,
                   dp._cycles(-(-(s.stop - s.start) * out_elems // dp.lanes) * seconds), "accumulator", after[t])
        for t, s in enumerate(tiles)]

