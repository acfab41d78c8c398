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
