"""The hardware observer: real operands of every layer, phase and batch -> actions, bits, cycles and energy.

One observer for every architecture. For each record the core hands over (:mod:`neurosim.events`) it lets the
architecture's datapath count what the hardware does, books it onto report rows, and queues the batch's
transactions; at the end of each batch the SimPy engine (:mod:`neurosim.hw.engine`) turns them into cycles with
stalls. What differs between a digital and a crossbar accelerator is only the components the datapath uses
(:mod:`neurosim.hw.datapath_array` for a compute array with its memories, :mod:`neurosim.hw.datapath_crossbar` for
crossbar tiles and their periphery); the bookkeeping here (rows, charging, pending transactions, batch
boundaries, engine runs, checkpoint state) is written once.

Rows are kept per (mode, layer, phase): mode ``train`` (forward, backward, update of training batches) or ``eval``
(forward of inference batches). Energy = sum over (component, action) of count x energy per action, plus leakage
power x simulated time (leakage is shared out over the rows in proportion to their cycles, so rows add up to the
total). The cost model is specified in ``docs/model.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ..events import MAC_KINDS, PHASES, LayerInfo, OperandRecord
from .arch import Architecture, ArchError
from .datapath_array import ArrayDatapath
from .datapath_crossbar import CrossbarDatapath
from .engine import CachedEngine, EngineConfig, Transaction
from .footprint import footprints
from .mapping import layer_graph
from .row import Row

__all__ = ["OperandAlphabet", "Row", "HardwareObserver", "engine_config"]


@dataclass(frozen=True)
class OperandAlphabet:
    """Nonzero probability of uniformly random operands of the method (for the closed-form resting column).

    GXNOR: ternary activations and weights, 2/3 each -> resting 1 - 4/9 = 5/9; TWN weights 2/3 -> 1/3 with
    full-precision inputs; binary and full precision: 1.
    """

    activation_nonzero: float = 1.0
    weight_nonzero: float = 1.0


@dataclass
class Pending:
    """A batch's transactions and the rows they belong to."""

    mode: str = ""
    batch: int = -1
    txs: list[Transaction] = field(default_factory=list)
    rows: list[tuple[str, int, str]] = field(default_factory=list)  # per transaction: (mode, layer, phase)
    barrier: int = -1  # last transaction of the previous layer: the next layer's products wait for it
    tile_tx: dict[int, list[int]] = field(default_factory=dict)  # layer -> transaction index per tile
    backward_tx: dict[int, int] = field(default_factory=dict)  # layer -> last backward transaction


def engine_config(arch: Architecture, slots: int) -> EngineConfig:
    """Engine timing of an architecture: its DRAM channel(s) and tile slots; with no DRAM every transaction is
    loaded at once (crossbar weights never leave the arrays), so units wait only for their producers."""
    drams = arch.by_class("dram")
    if not drams:
        return EngineConfig(dram_bits_per_cycle=1.0, slots=1 << 30)
    return EngineConfig(dram_bits_per_cycle=arch.dram_bits_per_cycle(), dram_latency_cycles=arch.dram_latency_cycles(),
                        dram_channels=arch.dram().attributes.channels, slots=slots)


class HardwareObserver:
    """Simulates the accelerator ``arch`` on the operands of a network of layers ``infos``.

    ``bits`` (digital arrays): the bits the method keeps per weight (:class:`~neurosim.hw.weight_memory.WeightBits`);
    ``weight_N`` / ``weight_L`` (crossbars): the workload's weight space placed on the crossbar's;
    ``continuous_input``: the first product's inputs are data (never zero), not codes.
    """

    def __init__(self, arch: Architecture, infos: list[LayerInfo], batch: int, bits: Any = None,
                 alphabet: OperandAlphabet | None = None, slots: int | None = None, continuous_input: bool = True,
                 weight_N: int | None = None, weight_L: float = 1.0):
        self.arch, self.alphabet = arch, alphabet or OperandAlphabet()
        self.infos = {i.index: i for i in infos}
        self.graph = layer_graph(infos)  # data flow; program order is its topological order
        self.order = list(nx.topological_sort(self.graph))
        self._position = {idx: k for k, idx in enumerate(self.order)}
        self.products = [i for i in self.order if self.infos[i].kind in MAC_KINDS]
        self.continuous_input = continuous_input
        self.slots = slots if slots is not None else (2 if arch.double_buffering else 1)
        self.rows: dict[tuple[str, int, str], Row] = {}
        self.total_cycles = {"train": 0, "eval": 0}
        self.samples = {"train": 0, "eval": 0}
        self.batches = {"train": 0, "eval": 0}
        self.pending = Pending()
        if arch.is_crossbar:
            self.datapath: Any = CrossbarDatapath(self, batch, weight_N, weight_L)
        else:
            self.datapath = ArrayDatapath(self, batch, bits)
        self.engine = CachedEngine(engine_config(arch, self.slots))
        self.footprints = footprints(arch, self.datapath.mapped())  # area and leakage as this workload uses them

    # ------------------------------------------------------------------ observer protocol
    def observe(self, rec: OperandRecord) -> None:
        """Count one record's actions and queue its transactions; run the engine at the end of a batch."""
        info = rec.layer
        p = self.pending
        new_pass = rec.phase == "forward" and info.index == self.order[0]
        if p.txs and (new_pass or rec.mode != p.mode or rec.batch != p.batch):
            self.flush()
            p = self.pending
        if not p.txs:
            p.mode, p.batch = rec.mode, rec.batch
        if new_pass:
            self.samples[rec.mode] += rec.batch_size
            self.batches[rec.mode] += 1
        self.datapath.record(rec)
        p = self.pending
        p.barrier = len(p.txs) - 1 if p.txs else -1
        if rec.phase == "update" and self.products and info.index == self.products[-1]:
            self.datapath.batch_norm_updates()
            self.flush()

    # ------------------------------------------------------------------ booking (used by the datapaths)
    def row(self, mode: str, info: LayerInfo, phase: str, unit: str) -> Row:
        key = (mode, info.index, phase)
        r = self.rows.get(key)
        if r is None:
            r = self.rows[key] = Row(mode, info.index, info.name, info.kind, phase, unit)
        return r

    def charge(self, row: Row, component: str, action: str, count: float, free_if_missing: bool = False) -> None:
        """Count ``count`` actions of ``component`` and charge their energy.

        An action the file does not price is an error, unless ``free_if_missing``: then it is counted apart
        (``unpriced``, zero energy) with a note, as for a resting lane of a kind without a ``rest`` action.
        """
        if not count:
            return
        comp = self.arch.component(component)
        act = comp.actions.get(action)
        if act is None:
            if free_if_missing:
                row.unpriced[(component, action)] += count
                row.note(f"{component}.{action} not priced by the file: counted, zero energy")
                return
            raise ArchError(f"{self.arch.source_file}: component {component!r} has no action {action!r}; "
                            f"actions: {', '.join(comp.actions)}")
        row.actions[(component, action)] += count
        row.energy[(component, action)] += count * act.energy_pj

    def memory(self, row: Row, component: str, read_bits: int, write_bits: int) -> tuple[int, int, int, int]:
        """Charge a memory access; return (offchip read, offchip write, onchip read, onchip write) bits."""
        self.charge(row, component, "read_bit", read_bits)
        self.charge(row, component, "write_bit", write_bits)
        if self.arch.is_offchip(component):
            row.offchip_read_bits += read_bits
            row.offchip_write_bits += write_bits
            return read_bits, write_bits, 0, 0
        row.onchip_read_bits += read_bits
        row.onchip_write_bits += write_bits
        return 0, 0, read_bits, write_bits

    def add_tx(self, key: tuple[str, int, str], tx: Transaction) -> int:
        p = self.pending
        p.txs.append(tx)
        p.rows.append(key)
        return len(p.txs) - 1

    def producer(self, info: LayerInfo) -> int:
        """The layer before ``info`` in program order that does work (flatten is free), or -1."""
        for j in range(self._position[info.index] - 1, -1, -1):
            if self.infos[self.order[j]].kind != "flatten":
                return self.order[j]
        return -1

    def previous(self, info: LayerInfo) -> int:
        """The layer right before ``info`` in program order, or -1."""
        pos = self._position[info.index]
        return self.order[pos - 1] if pos > 0 else -1

    def after_producer(self, info: LayerInfo, tiles: int, producer: int) -> list[int]:
        """Per tile: the producer's transaction of the same tile, else the barrier of the previous layer."""
        p = self.pending
        prod = p.tile_tx.get(producer, []) if producer >= 0 else []
        return [prod[t] if t < len(prod) else p.barrier for t in range(tiles)]

    # ------------------------------------------------------------------ engine and state
    def flush(self) -> None:
        """Simulate the pending batch's transactions and add cycles to the rows."""
        p = self.pending
        if p.txs:
            res = self.engine.simulate(p.txs)
            self.total_cycles[p.mode] += res.total_cycles
            for key in dict.fromkeys(p.rows):
                st = res.stats.get((key[1], key[2]))
                if st is None:
                    continue
                r = self.rows[key]
                r.compute_cycles += st.compute_cycles
                r.stall_cycles += st.stall_cycles
                r.cycles += st.cycles
                r.busy_cycles += st.busy_cycles
                r.stall_dram_cycles += st.dram_stall_cycles
                r.stall_queue_cycles += st.queue_stall_cycles
                r.stall_bank_cycles += st.bank_stall_cycles
        self.pending = Pending()

    def state(self) -> dict:
        """JSON-able totals so far (for checkpoints: a resumed run continues the hardware totals)."""
        self.flush()
        return {"rows": [r.to_state() for r in self.rows.values()], "total_cycles": self.total_cycles,
                "samples": self.samples, "batches": self.batches}

    def load_state(self, state: dict) -> None:
        """Restore totals saved by :meth:`state`."""
        self.rows.clear()
        for d in state["rows"]:
            r = Row.from_state(d)
            self.rows[(r.mode, r.layer, r.phase)] = r
        self.total_cycles = dict(state["total_cycles"])
        self.samples = dict(state["samples"])
        self.batches = dict(state["batches"])

    def ordered_rows(self) -> list[Row]:
        """Rows in report order: train before eval, then layer, then forward/backward/update."""
        return [self.rows[k] for k in sorted(self.rows, key=lambda k: (k[0] != "train", k[1], PHASES.index(k[2])))]

    def finish(self):
        """Flush what is pending and return the whole run's numbers."""
        from .result import HardwareResult

        self.flush()
        return HardwareResult(self)

