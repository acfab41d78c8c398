"""Weight memory model: hand computations on small round-number architectures, the paper's BWN/DST pair."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from neurosim.hw.arch import Architecture, load_arch
from neurosim.hw.weight_memory import (WeightBits, WeightCost, derives_on_read, is_offchip, storage_bits_per_weight,
                                       weight_read_cost, weight_update_cost)

_MEM = "{{read_bit: {{energy_pj: {r}, latency_cycles: {lat}, source: 'derived: test'}}, " \
       "write_bit: {{energy_pj: {w}, latency_cycles: {lat}, source: 'derived: test'}}}}"
_UNITS = {
    "dst_fixed_point": "{state_add: {energy_pj: 1.0, latency_cycles: 1, source: 'derived: test'}, "
                       "rng: {energy_pj: 2.0, latency_cycles: 2, source: 'derived: test'}, "
                       "table_lookup: {energy_pj: 4.0, latency_cycles: 3, source: 'derived: test'}}",
    "float_binarize": "{float_add: {energy_pj: 8.0, latency_cycles: 2, source: 'derived: test'}, "
                      "space_switch: {energy_pj: 0.5, latency_cycles: 1, source: 'derived: test'}}",
    "float": "{float_add: {energy_pj: 8.0, latency_cycles: 4, source: 'derived: test'}}",
}


def _arch(tmp_path: Path, kind: str = "dst_fixed_point", weights: str = "state_buffer",
          hidden: str | None = None, optimizer: str = "dram", word_bits: int = 32, lanes: int = 4) -> Architecture:
    """A tiny architecture in the shape of dst_onchip.yaml with round energies: DRAM 10/20 pJ per bit read/write,
    state buffer 1/2, SRAM 3/3; update unit per ``kind``."""
    text = f"""\
name: tiny
technology: 45nm
clock_mhz: 1000
clock_source: "test"
components:
  - name: dram
    class: dram
    attributes: {{word_bits: {word_bits}, bandwidth_gbps: 10.0}}
    actions: {_MEM.format(r=10.0, w=20.0, lat=0)}
  - name: state_buffer
    class: state_buffer
    attributes: {{capacity_bits: 1048576, banks: 4, width_bits: 64}}
    actions: {_MEM.format(r=1.0, w=2.0, lat=1)}
  - name: sram
    class: sram_buffer
    attributes: {{capacity_bits: 1048576, banks: 4, width_bits: 64}}
    actions: {_MEM.format(r=3.0, w=3.0, lat=1)}
  - name: pe
    class: compute_array
    attributes: {{kind: mac, lanes: 16}}
    actions: {{mult: {{energy_pj: 1.0, source: 'derived: test'}}, add: {{energy_pj: 1.0, source: 'derived: test'}}}}
  - name: upd
    class: update_unit
    attributes: {{kind: {kind}, lanes: {lanes}}}
    actions: {_UNITS[kind]}
placement:
  weights: {weights}
  activations: sram
  optimizer_state: {optimizer}
  batchnorm: sram
""" + (f"  hidden_weights: {hidden}\n" if hidden else "")
    p = tmp_path / f"tiny_{kind}_{weights}_{hidden}_{optimizer}_{word_bits}_{lanes}.yaml"
    p.write_text(text)
    return load_arch(p)


def _energy(arch: Architecture, c: WeightCost) -> float:
    return sum(n * arch.energy(comp, a) for (comp, a), n in c.actions.items())


def test_dst_update_by_hand(tmp_path):
    a = _arch(tmp_path)
    n, changed = 10, 3
    c = weight_update_cost(a, n, WeightBits(stored=3, optimizer=64), changed, 5)
    assert c.actions == {("state_buffer", "read_bit"): 30, ("upd", "rng"): 10, ("upd", "table_lookup"): 10,
                         ("upd", "state_add"): 10, ("state_buffer", "write_bit"): 9,
                         ("dram", "read_bit"): 640, ("dram", "write_bit"): 640}
    # 30 x 1 + 10 x (2 + 4 + 1) + 9 x 2 + 640 x 10 + 640 x 20
    assert c.energy_pj(a) == pytest.approx(30 + 70 + 18 + 6400 + 12800) == _energy(a, c)
    assert (c.onchip_read_bits, c.onchip_write_bits, c.offchip_read_bits, c.offchip_write_bits) == (30, 9, 640, 640)
    assert c.update_cycles == math.ceil(10 / 4) * 3  # table_lookup is the slowest action


def test_dst_linear_tau_skips_table_and_writes_scale_with_changed(tmp_path):
    a = _arch(tmp_path)
    bits = WeightBits(stored=2, transition_table=False)
    c = weight_update_cost(a, 100, bits, 0, 0)
    assert ("upd", "table_lookup") not in c.actions and c.onchip_write_bits == 0
    assert c.update_cycles == 25 * 2  # rng latency 2
    writes = [weight_update_cost(a, 100, bits, k, k).onchip_write_bits for k in (0, 1, 10, 100)]
    assert writes == [0, 2, 20, 200]
    e = [weight_update_cost(a, 100, bits, k, k).energy_pj(a) for k in (0, 50)]
    assert e[1] - e[0] == pytest.approx(50 * 2 * 2.0)  # 50 changed x 2 bits x 2 pJ per written bit


def test_float_binarize_update_by_hand(tmp_path):
    a = _arch(tmp_path, "float_binarize", hidden="dram")
    c = weight_update_cost(a, 8, WeightBits(stored=1, hidden=32, space_switch=True), 8, 16)
    assert c.actions == {("dram", "read_bit"): 256, ("dram", "write_bit"): 256, ("upd", "float_add"): 8,
                         ("upd", "space_switch"): 8, ("state_buffer", "write_bit"): 8}
    assert c.energy_pj(a) == pytest.approx(256 * 10 + 256 * 20 + 8 * 8 + 8 * 0.5 + 8 * 2)
    assert c.offchip_read_bits == c.offchip_write_bits == 256 and c.onchip_write_bits == 8
    assert c.update_cycles == 2 * 2


def test_float_update_by_hand(tmp_path):
    a = _arch(tmp_path, "float", weights="dram")
    c = weight_update_cost(a, 5, WeightBits(stored=32), 5, 0)
    assert c.actions == {("dram", "read_bit"): 160, ("upd", "float_add"): 5, ("dram", "write_bit"): 160}
    assert c.energy_pj(a) == pytest.approx(1600 + 40 + 3200)
    assert c.update_cycles == 2 * 4


def test_offchip_onchip_classification(tmp_path):
    a = _arch(tmp_path, optimizer="sram")
    assert is_offchip(a, "dram") and not is_offchip(a, "state_buffer") and not is_offchip(a, "sram")
    c = weight_update_cost(a, 4, WeightBits(stored=2, optimizer=32), 4, 4)
    assert c.offchip_read_bits == c.offchip_write_bits == 0
    assert c.onchip_read_bits == 4 * 2 + 4 * 32 and c.onchip_write_bits == 4 * 2 + 4 * 32


def test_dram_word_rounding_is_per_layer_access(tmp_path):
    a = _arch(tmp_path, weights="dram", word_bits=32)
    assert weight_read_cost(a, 1, WeightBits(stored=2)).offchip_read_bits == 32  # a 2-bit state costs a word
    assert weight_read_cost(a, 16, WeightBits(stored=2)).offchip_read_bits == 32  # packed: 16 x 2 bits = 1 word
    assert weight_read_cost(a, 17, WeightBits(stored=2)).offchip_read_bits == 64
    c = weight_update_cost(a, 17, WeightBits(stored=2), 1, 1)
    assert c.offchip_read_bits == 64 and c.offchip_write_bits == 32  # one changed state still writes a word
    assert weight_read_cost(a, 0, WeightBits(stored=2)).actions == {}
    b = _arch(tmp_path, word_bits=64)
    assert weight_read_cost(b, 3, WeightBits(stored=2)).onchip_read_bits == 6  # on chip: exact bits


def test_read_pass_bwn_offchip_vs_dst_onchip():
    bwn, dst = load_arch("bwn_offchip"), load_arch("dst_onchip")
    bb = WeightBits(stored=1, hidden=32, space_switch=True)
    assert derives_on_read(bwn, bb) and not derives_on_read(dst, WeightBits(stored=3))
    c = weight_read_cost(bwn, 1000, bb)
    assert c.offchip_read_bits == 32 * 1000 and c.onchip_read_bits == 0  # C_R: the 32-bit float, off chip
    assert c.actions[("update_unit", "space_switch")] == 1000  # C_S
    assert c.update_cycles == math.ceil(1000 / 64)
    for N in range(9):
        d = weight_read_cost(dst, 1000, WeightBits(stored=N + 1))
        assert d.offchip_read_bits == 0 and d.onchip_read_bits == (N + 1) * 1000 and d.update_cycles == 0
        assert d.energy_pj(dst) < c.energy_pj(bwn) / 100
    # the BWN update writes no deployed copy (it is derived on read): C_R + C_W + C_S + float adder
    u = weight_update_cost(bwn, 1000, bb, 10, 20)
    assert u.offchip_read_bits == u.offchip_write_bits == 32 * 1000 and u.onchip_write_bits == 0
    assert storage_bits_per_weight(bwn, bb) == {"dram": 32}
    assert storage_bits_per_weight(dst, WeightBits(stored=4, optimizer=64)) == {"state_buffer": 4, "dram": 64}


def test_bwn_with_onchip_copy_reads_the_copy():
    bwn = load_arch("bwn")  # binary copy in the state buffer, hidden floats in DRAM
    bb = WeightBits(stored=1, hidden=32, space_switch=True)
    c = weight_read_cost(bwn, 64, bb)
    assert c.offchip_read_bits == 0 and c.onchip_read_bits == 64 and not derives_on_read(bwn, bb)
    u = weight_update_cost(bwn, 64, bb, 3, 6)
    assert u.offchip_read_bits == u.offchip_write_bits == 64 * 32 and u.onchip_write_bits == 64
    assert storage_bits_per_weight(bwn, bb) == {"state_buffer": 1, "dram": 32}


def test_numpy_counts_and_cost_addition(tmp_path):
    a = _arch(tmp_path)
    c1 = weight_update_cost(a, np.int64(8), WeightBits(stored=2), np.int64(2), np.int64(3))
    c2 = weight_read_cost(a, 8, WeightBits(stored=2))
    s = c1 + c2
    assert s.actions[("state_buffer", "read_bit")] == 32 and s.onchip_read_bits == 32
    assert s.energy_pj(a) == pytest.approx(c1.energy_pj(a) + c2.energy_pj(a))


@pytest.mark.parametrize("kw", [{"stored": 0}, {"stored": -1}, {"stored": 2, "hidden": -32},
                                {"stored": 2, "optimizer": -1}, {"stored": 1.5}, {"stored": True},
                                {"stored": 1, "space_switch": True}, {"stored": 1, "hidden": 32, "space_switch": 1}])
def test_bad_bits(kw):
    with pytest.raises(ValueError):
        WeightBits(**kw)


def test_bad_counts_and_mismatches(tmp_path):
    a = _arch(tmp_path)
    b = WeightBits(stored=2)
    for args, msg in [((-1, b), "n_weights"), ((2.0, b), "n_weights"), ((True, b), "n_weights")]:
        with pytest.raises(ValueError, match=msg):
            weight_read_cost(a, *args)
    for (n, ch, d), msg in [((10, 11, 11), "exceed"), ((10, -1, 0), "changed"), ((10, 1, -1), "distance"),
                            ((10, 0, 3), "distance")]:
        with pytest.raises(ValueError, match=msg):
            weight_update_cost(a, n, b, ch, d)
    with pytest.raises(ValueError, match="dst_fixed_point"):
        weight_update_cost(a, 4, WeightBits(stored=1, hidden=32, space_switch=True), 0, 0)
    fb = _arch(tmp_path, "float_binarize", hidden="dram")
    with pytest.raises(ValueError, match="hidden=0"):
        weight_update_cost(fb, 4, WeightBits(stored=1), 0, 0)
    fl = _arch(tmp_path, "float", weights="dram")
    with pytest.raises(ValueError, match="float_binarize"):
        weight_update_cost(fl, 4, WeightBits(stored=1, hidden=32), 0, 0)
    nohidden = _arch(tmp_path, "float_binarize", weights="dram")
    with pytest.raises(ValueError, match="hidden_weights"):
        weight_read_cost(nohidden, 4, WeightBits(stored=1, hidden=32, space_switch=True))
