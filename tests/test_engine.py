"""The SimPy engine against closed forms of a load/compute pipeline."""

import pytest

from neurosim.hw.engine import EngineConfig, Transaction, simulate


def _tiles(n, load_bits, compute, layer=0, phase="forward", **kw):
    return [Transaction(layer, phase, 0, t, compute, read_offchip_bits=load_bits, **kw) for t in range(n)]


@pytest.mark.parametrize("L,C", [(10, 3), (3, 10), (7, 7), (1, 50)])
@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_double_buffering_closed_form(L, C, n):
    cfg = EngineConfig(dram_bits_per_cycle=8, slots=2)
    res = simulate(_tiles(n, 8 * L, C), cfg)
    assert res.total_cycles == L + C + (n - 1) * max(L, C)
    st = res.stats[(0, "forward")]
    assert st.compute_cycles == n * C
    assert st.stall_cycles == res.total_cycles - n * C  # every non-computing cycle is a wait for data


@pytest.mark.parametrize("L,C,n", [(10, 3, 4), (3, 10, 6)])
def test_single_buffer_serializes(L, C, n):
    res = simulate(_tiles(n, 8 * L, C), EngineConfig(dram_bits_per_cycle=8, slots=1))
    assert res.total_cycles == n * (L + C)


def test_compute_bound_without_traffic_has_no_stall():
    res = simulate(_tiles(9, 0, 13), EngineConfig(dram_bits_per_cycle=1))
    assert res.total_cycles == 9 * 13 and res.stats[(0, "forward")].stall_cycles == 0


def test_bank_stall_when_buffer_is_the_bottleneck():
    cfg = EngineConfig(dram_bits_per_cycle=1, buffer_bits_per_cycle=64)
    res = simulate(_tiles(4, 0, 5, read_onchip_bits=640), cfg)  # 10 buffer cycles > 5 compute cycles
    st = res.stats[(0, "forward")]
    assert res.total_cycles == 40 and st.bank_stall_cycles == 20 and st.compute_cycles == 20


def test_write_backs_share_the_dram_channel():
    # loads of 4 cycles, write-backs of 4 cycles, compute 1: the channel carries 8 cycles per tile
    cfg = EngineConfig(dram_bits_per_cycle=1, slots=2)
    n = 10
    res = simulate(_tiles(n, 4, 1, write_offchip_bits=4), cfg)
    assert res.total_cycles >= n * 8 - 4
    assert res.total_cycles <= n * 8 + 4


def test_dram_latency_and_events():
    cfg = EngineConfig(dram_bits_per_cycle=2, dram_latency_cycles=5, slots=1)
    res = simulate(_tiles(3, 10, 4), cfg)
    assert res.total_cycles == 3 * (5 + 5 + 4)
    assert res.events >= 3 * 2


def test_bad_config():
    with pytest.raises(ValueError, match="dram_bits_per_cycle"):
        EngineConfig(dram_bits_per_cycle=0)


def test_dependency_orders_units_and_is_not_a_stall():
    # array tile (10 cycles) then the accumulator tile that consumes it (5 cycles), no traffic
    txs = [Transaction(0, "forward", 0, 0, 10, unit="array"),
           Transaction(1, "forward", 0, 0, 5, unit="accumulator", after=0)]
    res = simulate(txs, EngineConfig(dram_bits_per_cycle=1, slots=2))
    assert res.total_cycles == 15
    assert res.stats[(1, "forward")].stall_cycles == 0  # waiting for the producer is not a data stall
    assert res.stats[(1, "forward")].cycles == 5


def test_independent_units_overlap():
    txs = [Transaction(0, "forward", 0, 0, 10, unit="array"),
           Transaction(1, "update", 0, 0, 7, unit="update")]
    res = simulate(txs, EngineConfig(dram_bits_per_cycle=1, slots=2))
    assert res.total_cycles == 10


def test_pipelined_chain_closed_form():
    # n tiles: array C1 each, then accumulator C2 each depending on its tile: makespan n*C1 + C2 when C1 >= C2
    n, c1, c2 = 6, 9, 4
    txs = [Transaction(0, "forward", 0, t, c1, unit="array") for t in range(n)]
    txs += [Transaction(1, "forward", 0, t, c2, unit="accumulator", after=t) for t in range(n)]
    res = simulate(txs, EngineConfig(dram_bits_per_cycle=1, slots=n * 2))
    assert res.total_cycles == n * c1 + c2


def test_dependency_on_a_later_transaction_is_an_error():
    txs = [Transaction(0, "forward", 0, 0, 3, unit="array", after=1), Transaction(1, "forward", 0, 0, 3, unit="accumulator")]
    with pytest.raises(ValueError, match="depends on a later"):
        simulate(txs, EngineConfig(dram_bits_per_cycle=1))


def test_cached_engine_replays_identical_sequences():
    from neurosim.hw.engine import CachedEngine

    eng = CachedEngine(EngineConfig(dram_bits_per_cycle=8, slots=2))
    a = eng.simulate(_tiles(5, 80, 3))
    b = eng.simulate(_tiles(5, 80, 3))
    c = eng.simulate(_tiles(5, 80, 4))
    assert eng.hits == 1 and a.total_cycles == b.total_cycles and c.total_cycles != a.total_cycles
    assert eng.events_represented == 2 * a.events + c.events


def test_units_sharing_a_buffer_queue_for_its_port():
    # two units each need the global buffer for 8 cycles while computing 5: alone each takes 8 cycles,
    # together they serialize on the buffer port (16), and the second's wait is a bank stall
    a = Transaction(0, "forward", 0, 0, 5, unit="array", buffer_access=(("gb", 8),))
    b = Transaction(1, "update", 0, 0, 5, unit="update", buffer_access=(("gb", 8),))
    res = simulate([a, b], EngineConfig(dram_bits_per_cycle=1, slots=2))
    assert res.total_cycles == 16
    # the critical path is the second transaction: its 5 compute cycles and 11 cycles waiting for the port (8
    # queued behind the first, 3 for its own access beyond its compute) are its own; the first is off the path
    sa, sb = res.stats[(0, "forward")], res.stats[(1, "update")]
    assert (sb.compute_cycles, sb.bank_stall_cycles, sb.cycles) == (5, 11, 16)
    assert (sa.cycles, sa.busy_cycles) == (0, 5)
    # different buffers work in parallel
    c = Transaction(1, "update", 0, 0, 5, unit="update", buffer_access=(("sb", 8),))
    assert simulate([a, c], EngineConfig(dram_bits_per_cycle=1, slots=2)).total_cycles == 8


def test_the_critical_path_adds_up_and_charges_the_stall_to_the_layer_that_waits():
    """Hand case: a 100-bit load at 10 bits/cycle (10 cycles) before a 4-cycle tile, then a tile that depends on it
    on another unit, then a tile whose 60-bit load waits behind an 80-bit write-back of the first."""
    t0 = Transaction(0, "forward", 0, 0, 4, unit="array", read_offchip_bits=100, write_offchip_bits=80)
    t1 = Transaction(1, "forward", 0, 0, 3, unit="accumulator", after=0)
    t2 = Transaction(2, "update", 0, 0, 2, unit="update", read_offchip_bits=60, after=1)
    res = simulate([t0, t1, t2], EngineConfig(dram_bits_per_cycle=10, slots=1))
    # slots=1: t1 loads once t0 frees its slot (14), t2 after t1 (17); t0's write-back holds the channel 14..22,
    # so t2's 6-cycle load runs 22..28, then t2 computes 28..30
    assert res.total_cycles == 30
    s0, s1, s2 = (res.stats[(i, p)] for i, p in ((0, "forward"), (1, "forward"), (2, "update")))
    assert (s0.compute_cycles, s0.dram_stall_cycles, s0.cycles) == (4, 10, 14)  # its own load on the path
    assert (s1.compute_cycles, s1.cycles) == (3, 3)
    assert (s2.compute_cycles, s2.queue_stall_cycles, s2.dram_stall_cycles, s2.cycles) == (2, 5, 6, 13)
    assert s0.cycles + s1.cycles + s2.cycles == res.total_cycles  # every cycle belongs to one row
    for st in (s0, s1, s2):
        assert st.cycles == st.compute_cycles + st.stall_cycles


def test_a_streaming_layer_overlaps_its_producer_by_hand():
    """Hand schedules of a fused layer on its product's output stream (fill after the producer starts, drain
    after it ends): the faster consumer ends drain cycles after the producer; the slower one sets the end."""
    from neurosim.hw.engine import EngineConfig, Transaction, simulate

    cfg = EngineConfig(dram_bits_per_cycle=64.0, slots=4)
    fast = [Transaction(0, "forward", 0, 0, 100, unit="array"),
            Transaction(1, "forward", 0, 0, 50, unit="accumulator", after=0, streams=True, fill_cycles=3,
                        drain_cycles=2)]
    r = simulate(fast, cfg)
    assert r.total_cycles == 102  # 100 of the product, then the 2-cycle drain
    assert r.stats[(0, "forward")].cycles == 100 and r.stats[(1, "forward")].cycles == 2
    slow = [Transaction(0, "forward", 0, 0, 100, unit="array"),
            Transaction(1, "forward", 0, 0, 300, unit="accumulator", after=0, streams=True, fill_cycles=3,
                        drain_cycles=2)]
    r = simulate(slow, cfg)
    assert r.total_cycles == 303  # starts 3 cycles in, then its own 300
    assert r.stats[(0, "forward")].cycles == 3 and r.stats[(1, "forward")].cycles == 300
    after = [Transaction(0, "forward", 0, 0, 100, unit="array"),
             Transaction(1, "forward", 0, 0, 50, unit="accumulator", after=0)]
    assert simulate(after, cfg).total_cycles == 150  # not streaming: after the product
