"""SimPy engine: schedules per-tile transactions on the units that share resources.

A transaction is one (layer, phase, batch, tile). A loader streams the transactions through the DRAM channel(s)
into free on-chip slots (2 = double buffering); one executor per unit (compute arrays, accumulator, update unit)
runs its transactions in program order, each after the earlier one it names (``after``), while the on-chip buffers
it uses serve it as contended ports; write-backs compete with loads for the DRAM channel. One SimPy event per
transaction step, never one per operation; :class:`CachedEngine` replays an identical sequence exactly. The
cycles of each (layer, phase) are its share of the batch's critical path (:func:`critical_path`): compute plus
the stalls it spends on the path waiting for its own DRAM data, for a slot or the channel held by other
transfers, or for a buffer port; the shares add up to the batch's cycles. Specified in ``docs/model.md``,
section 7.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import simpy

UNITS = ("array", "accumulator", "update")


@dataclass
class Transaction:
    layer: int
    phase: str
    batch: int
    tile: int
    compute_cycles: int
    unit: str = "array"
    read_offchip_bits: int = 0
    write_offchip_bits: int = 0
    read_onchip_bits: int = 0
    write_onchip_bits: int = 0
    after: int = -1  # index of an earlier transaction whose compute must finish first (-1: none)
    buffer_cycles: int | None = None  # on-chip access cycles if known (several buffers in parallel), else derived
    buffer_access: tuple[tuple[str, int], ...] = ()  # (buffer, cycles) per on-chip buffer: contended ports
    # streaming behind ``after`` (a fused layer on the producer's output stream): it may start ``fill_cycles``
    # after its producer starts and ends no sooner than ``drain_cycles`` after its producer ends
    streams: bool = False
    fill_cycles: int = 0
    drain_cycles: int = 0

    def timing_key(self) -> tuple:
        """Everything the timeline depends on (the engine is deterministic in these)."""
        if self.buffer_access:
            onchip = self.buffer_access
        elif self.buffer_cycles is None:
            onchip = (self.read_onchip_bits, self.write_onchip_bits)
        else:
            onchip = self.buffer_cycles  # given buffer cycles replace the on-chip bits in the timeline
        return (self.layer, self.phase, self.compute_cycles, self.unit, self.read_offchip_bits,
                self.write_offchip_bits, self.after, onchip, self.streams, self.fill_cycles, self.drain_cycles)


@dataclass
class EngineConfig:
    """Timing parameters, all in cycles of the accelerator clock."""

    dram_bits_per_cycle: float
    dram_latency_cycles: int = 0
    dram_channels: int = 1
    buffer_bits_per_cycle: float = math.inf  # banks x width
    slots: int = 2  # on-chip tile slots: 2 = double buffering

    def __post_init__(self) -> None:
        if not self.dram_bits_per_cycle > 0:
            raise ValueError(f"dram_bits_per_cycle must be > 0 (got {self.dram_bits_per_cycle})")
        if self.slots < 1 or self.dram_channels < 1:
            raise ValueError("slots and dram_channels must be >= 1")
        if not self.buffer_bits_per_cycle > 0:
            raise ValueError(f"buffer_bits_per_cycle must be > 0 (got {self.buffer_bits_per_cycle})")


@dataclass
class PhaseStats:
    """One (layer, phase)'s share of a run's critical path, and the compute of all its transactions.

    The critical path is walked back from the end of the batch: each moment belongs to exactly one transaction
    (computing, or waiting for its data or a buffer port), so over all (layer, phase) ``cycles`` adds up to the
    batch's total and ``cycles = compute_cycles + stall_cycles`` in every row. A unit idle while another layer's
    transaction is on the path is that layer's time, not a stall of the idle one.
    """

    compute_cycles: int = 0  # on the critical path
    dram_stall_cycles: int = 0  # waiting on the path for its own DRAM transfer (load or write-back)
    queue_stall_cycles: int = 0  # waiting on the path for a tile slot or the DRAM channel held by other transfers
    bank_stall_cycles: int = 0  # waiting on the path for an on-chip buffer port
    busy_cycles: int = 0  # compute of all its transactions, on the path or not (the unit's busy time)
    transactions: int = 0

    @property
    def stall_cycles(self) -> int:
        return self.dram_stall_cycles + self.queue_stall_cycles + self.bank_stall_cycles

    @property
    def cycles(self) -> int:
        """Its share of the batch's critical path: compute + stall."""
        return self.compute_cycles + self.stall_cycles


@dataclass
class EngineResult:
    total_cycles: int
    events: int
    stats: dict[tuple[int, str], PhaseStats] = field(default_factory=dict)


@dataclass
class _Times:
    """When one transaction's steps happened (for the critical path)."""

    eligible: float = 0.0  # its unit free and its producer done
    pred: int = -1  # the transaction whose end made it eligible (-1: none, from time 0)
    loaded: float = 0.0
    xfer_start: float = 0.0
    start: float = 0.0
    end: float = 0.0
    writeback_end: float = 0.0
    path_start: float | None = None  # where its own share of the path begins (a streaming tail: its producer's end)


def dram_cycles(bits: int, cfg: EngineConfig) -> int:
    return cfg.dram_latency_cycles + math.ceil(bits / cfg.dram_bits_per_cycle) if bits > 0 else 0


def buffer_cycles(bits: int, cfg: EngineConfig) -> int:
    return math.ceil(bits / cfg.buffer_bits_per_cycle) if bits > 0 and math.isfinite(cfg.buffer_bits_per_cycle) else 0


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def critical_path(transactions: list[Transaction], times: list[_Times], total: float
                  ) -> dict[tuple[int, str], PhaseStats]:
    """Attribute every cycle of ``[0, total]`` to the (layer, phase) on the critical path at that moment."""
    stats: dict[tuple[int, str], PhaseStats] = defaultdict(PhaseStats)
    for tx in transactions:
        st = stats[(tx.layer, tx.phase)]
        st.busy_cycles += tx.compute_cycles
        st.transactions += 1
    if not transactions:
        return dict(stats)
    ends = [max(t.end, t.writeback_end) for t in times]
    cur = max(range(len(times)), key=lambda i: (ends[i], i))
    tm, tx = times[cur], transactions[cur]
    if tm.writeback_end > tm.end:  # the batch ends with this transaction's write-back
        stats[(tx.layer, tx.phase)].dram_stall_cycles += int(round(tm.writeback_end - tm.end))
    cursor = tm.end  # the path is attributed backwards in time; each moment once
    while cur >= 0:
        tm, tx = times[cur], transactions[cur]
        st = stats[(tx.layer, tx.phase)]
        start = tm.start if tm.path_start is None else tm.path_start
        span = max(0.0, min(tm.end, cursor) - start)
        on_path = min(float(tx.compute_cycles), span)
        st.compute_cycles += int(round(on_path))
        st.bank_stall_cycles += int(round(span)) - int(round(on_path))
        if tm.path_start is None:
            wait = tm.start - tm.eligible
            own = _overlap(tm.eligible, tm.start, tm.xfer_start, tm.loaded)
            st.dram_stall_cycles += int(round(own))
            st.queue_stall_cycles += int(round(wait - own))
            cursor = tm.eligible
        else:
            cursor = tm.path_start
        cur = tm.pred
    return dict(stats)


def simulate(transactions: list[Transaction], cfg: EngineConfig) -> EngineResult:
    """Run the transactions (in program order) through the event simulation."""
    env = simpy.Environment()
    dram = simpy.Resource(env, capacity=cfg.dram_channels)
    free = simpy.Container(env, capacity=cfg.slots, init=cfg.slots)
    ready = {u: simpy.Store(env) for u in UNITS}
    counts = {u: sum(1 for t in transactions if t.unit == u) for u in UNITS}
    times = [_Times() for _ in transactions]
    events = [0]

    def transfer(bits: int, i: int, writeback: bool):
        with dram.request() as req:
            yield req
            if not writeback:
                times[i].xfer_start = env.now
            yield env.timeout(dram_cycles(bits, cfg))
        if writeback:
            times[i].writeback_end = env.now
        events[0] += 1

    def loader():
        for i, tx in enumerate(transactions):
            if tx.unit not in ready:
                raise ValueError(f"transaction unit must be one of {UNITS} (got {tx.unit!r})")
            yield free.get(1)
            times[i].xfer_start = env.now
            if tx.read_offchip_bits:
                yield env.process(transfer(tx.read_offchip_bits, i, False))
            times[i].loaded = env.now
            yield ready[tx.unit].put(tx)
            events[0] += 1

    done = [env.event() for _ in transactions]
    started = [env.event() for _ in transactions]
    ports: dict[str, simpy.Resource] = {}

    def access(buffer: str, cycles: int):
        port = ports.get(buffer)
        if port is None:
            port = ports[buffer] = simpy.Resource(env, capacity=1)
        with port.request() as req:
            yield req
            yield env.timeout(cycles)
        events[0] += 1
    index = {id(tx): i for i, tx in enumerate(transactions)}

    def tail(producer: int, drain: int):
        yield done[producer]
        yield env.timeout(drain)

    def executor(unit: str):
        previous = -1  # the unit's last transaction
        for _ in range(counts[unit]):
            t_free = env.now  # the unit is free from here on
            tx = yield ready[unit].get()
            i = index[id(tx)]
            tm = times[i]
            tm.eligible, tm.pred = t_free, previous
            if tx.after >= 0:
                if tx.after >= i:
                    raise ValueError(f"transaction {i} depends on a later one ({tx.after})")
                if tx.streams:  # on the producer's output stream: from its first outputs on
                    yield started[tx.after]
                    first = times[tx.after].start + tx.fill_cycles
                    if first > env.now:
                        yield env.timeout(first - env.now)
                    if first > t_free:
                        tm.eligible, tm.pred = first, tx.after
                else:
                    yield done[tx.after]
                    if times[tx.after].end > t_free:  # the producer, not the unit, made it wait
                        tm.eligible, tm.pred = times[tx.after].end, tx.after
            tm.start = env.now
            started[i].succeed()
            work = [env.timeout(tx.compute_cycles)]
            if tx.buffer_access:  # compute streams while each buffer port serves this tile (possibly queued)
                work += [env.process(access(b, c)) for b, c in tx.buffer_access if c > 0]
            else:
                onchip = (tx.buffer_cycles if tx.buffer_cycles is not None
                          else buffer_cycles(tx.read_onchip_bits + tx.write_onchip_bits, cfg))
                work = [env.timeout(max(tx.compute_cycles, onchip))]
            if tx.streams and tx.after >= 0:
                work.append(env.process(tail(tx.after, tx.drain_cycles)))
            yield simpy.AllOf(env, work)
            tm.end = env.now
            if tx.streams and tx.after >= 0:
                p_end = times[tx.after].end
                if p_end > tm.start and p_end + tx.drain_cycles >= tm.end:  # its producer's stream set the end
                    tm.path_start, tm.pred = p_end, tx.after
            previous = i
            done[i].succeed()
            yield free.put(1)
            if tx.write_offchip_bits:
                env.process(transfer(tx.write_offchip_bits, i, True))
            events[0] += 1

    env.process(loader())
    for u in UNITS:
        env.process(executor(u))
    env.run()
    return EngineResult(total_cycles=int(round(env.now)), events=events[0],
                        stats=critical_path(transactions, times, env.now))


class CachedEngine:
    """Runs :func:`simulate`, replaying the result of an identical transaction sequence seen before.

    Under gating the timeline of a training batch depends only on shapes, so consecutive batches repeat it;
    the event simulation is deterministic, so a replay is exact. ``events_simulated`` counts real SimPy
    events, ``events_represented`` also those of replays.
    """

    def __init__(self, cfg: EngineConfig, max_entries: int = 256):
        self.cfg, self.max_entries = cfg, max_entries
        self._cache: dict[tuple, EngineResult] = {}
        self.runs = self.hits = self.events_simulated = self.events_represented = 0

    def simulate(self, transactions: list[Transaction]) -> EngineResult:
        key = tuple(tx.timing_key() for tx in transactions)
        self.runs += 1
        hit = self._cache.get(key)
        if hit is None:
            hit = simulate(transactions, self.cfg)
            self.events_simulated += hit.events
            if len(self._cache) >= self.max_entries:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = hit
        else:
            self.hits += 1
        self.events_represented += hit.events
        return hit
