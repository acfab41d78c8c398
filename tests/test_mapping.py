"""Mapping: layer graph, tiles from the activation buffer, fused blocks, and per-tile weight traffic."""
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from neurosim.events import LayerInfo, OperandRecord
from neurosim.hw.arch import load_arch
from neurosim.hw.mapping import activation_slot_bits, layer_graph, plan
from neurosim.hw.observer import HardwareObserver
from neurosim.hw.weight_memory import WeightBits

GXNOR = load_arch("gxnor")


def _net():
    return [
        LayerInfo(0, "fc1", "dense", (1000,), (200,), {"units": 200}, 2, 200_000, 2),
        LayerInfo(1, "bn1", "bn", (200,), (200,)),
        LayerInfo(2, "act1", "act", (200,), (200,), {"activation": "ternary"}, activation_bits=2),
        LayerInfo(3, "out", "dense", (200,), (10,), {"units": 10}, 2, 2000, 2),
    ]


def _arch_with_buffer(tmp_path: Path, bits: int):
    text = Path(GXNOR.source_file).read_text().replace("capacity_bits: 8388608", f"capacity_bits: {bits}")
    p = tmp_path / "small_gb.yaml"
    p.write_text(text)
    return load_arch(p)


def test_graph_is_the_data_flow():
    g = layer_graph(_net())
    assert list(nx.topological_sort(g)) == [0, 1, 2, 3]
    assert g.edges[0, 1]["elements"] == 200


def test_tiles_follow_the_activation_slot(tmp_path):
    arch = _arch_with_buffer(tmp_path, 2 * 10_000)  # slot of 10,000 bits with double buffering
    assert activation_slot_bits(arch, 2) == 10_000
    maps = plan(_net(), arch, batch=64, slots=2)
    # fc1 reads 1000 x 2 bits per sample; the fused bn/act block writes 200 x 2 bits at its end
    assert maps[0].in_bits_per_sample == 2000 and maps[2].out_bits_per_sample == 400
    assert maps[0].samples_per_tile == 10_000 // 2000 == 5 and maps[0].tiles(64) == 13
    assert maps[1].producer == 0 and maps[2].samples_per_tile == maps[0].samples_per_tile
    assert maps[0].first_product and not maps[3].first_product


def test_weights_are_read_once_per_tile(tmp_path):
    arch = _arch_with_buffer(tmp_path, 2 * 10_000)
    rng = np.random.default_rng(0)
    infos = _net()  # only fc1's record is fed: its outputs stay in the fused block (no write)
    obs = HardwareObserver(arch, infos, 64, WeightBits(stored=2), continuous_input=False)
    x = rng.integers(-1, 2, (64, 1000)).astype(np.float32)
    w = rng.integers(-1, 2, (1000, 200)).astype(np.float32)
    obs.observe(OperandRecord(layer=infos[0], phase="forward", mode="eval", batch=0, batch_size=64, x=x, w=w))
    row = obs.finish().rows()[0]
    tiles = 13
    assert row["onchip_read_bits"] == tiles * 200_000 * 2 + 64 * 1000 * 2  # weights per tile + inputs once


def test_a_sample_too_big_for_a_slot_is_split_into_tiles(tmp_path):
    arch = _arch_with_buffer(tmp_path, 2000)  # 1000-bit slots; fc1 needs 2000 bits per sample
    maps = plan(_net(), arch, batch=8, slots=2)
    assert maps[0].samples_per_tile == 1 and maps[0].splits == 2 and maps[0].tiles(8) == 16
    shares = maps[0].tile_shares(8, 200)
    assert len(shares) == 16 and sum(shares) == pytest.approx(8)
    assert maps[1].splits == maps[0].splits  # the fused block follows its producer
