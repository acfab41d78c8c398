"""Crossbar periphery (docs/model.md section 5.8) by hand: the bits a read moves through the input and output
buffers and over the interconnect, each priced once per bit in the unit its action is priced in; their area and
leakage per tile used; weight slicing over columns; a tile that names no periphery is charged exactly as before."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurosim.events import LayerInfo, OperandRecord
from neurosim.hw.arch import ArchError, find_arch, load_arch
from neurosim.hw.components.crossbar_tile import columns_per_weight, level_bits
from neurosim.hw.datapath_crossbar import sum_bits
from neurosim.hw.observer import HardwareObserver
from neurosim.testing.archs import without_leakage

MOVERS = ("input_buffer", "output_buffer", "htree")


def _dense(n_in: int, n_out: int, bits: int = 8) -> LayerInfo:
    return LayerInfo(0, "fc", "dense", (n_in,), (n_out,), {"units": n_out}, weight_bits=8,
                     weight_count=n_in * n_out, activation_bits=bits)


def _conv(h: int, c: int, f: int, k: int = 3) -> LayerInfo:
    return LayerInfo(0, "conv", "conv", (h, h, c), (h, h, f), {"kernel": k, "stride": 1, "padding": (k - 1) // 2,
                                                                "filters": f},
                     weight_bits=8, weight_count=k * k * c * f, activation_bits=8)


def _states(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 129, size=shape).astype(np.int16)  # Z_7 state indices 0..128


def _run(arch, info: LayerInfo, x: np.ndarray, st: np.ndarray, weight_N: int = 7) -> dict:
    obs = HardwareObserver(arch, [info], x.shape[0], weight_N=weight_N)
    half = 2 ** (weight_N - 1)
    obs.observe(OperandRecord(info, "forward", "eval", 0, x.shape[0], x=x, w=((st - half) / half).astype(np.float32),
                              x_step=1.0, w_step=1.0 / half, w_state=st))
    res = obs.finish()
    row = res.rows()[0]
    row["_actions"] = dict(res.rows_raw[0].actions)
    return row


def _price(arch, comp: str, action: str) -> float:
    return arch.energy(comp, action)


def _check_moves(arch, row: dict, in_write: int, in_read: int, out_write: int, out_read: int) -> None:
    acts = row["_actions"]
    assert acts[("input_buffer", "write_bit")] == in_write
    assert acts[("input_buffer", "read_bit")] == in_read
    assert acts[("output_buffer", "write_bit")] == out_write
    assert acts[("output_buffer", "read_bit")] == out_read
    moved = in_write + in_read + out_write + out_read
    assert acts[("htree", "transfer_bit")] == moved  # every buffer access once over the interconnect
    assert row["onchip_read_bits"] == in_read + out_read and row["onchip_write_bits"] == in_write + out_write
    assert row["energy_pj_input_buffer"] == pytest.approx((in_write + in_read)
                                                          * _price(arch, "input_buffer", "read_bit"))
    assert row["energy_pj_output_buffer"] == pytest.approx((out_write + out_read)
                                                           * _price(arch, "output_buffer", "write_bit"))
    assert row["energy_pj_htree"] == pytest.approx(moved * _price(arch, "htree", "transfer_bit"))


def test_slicing_columns_and_sum_width():
    assert level_bits(7, "reference") == 8 and level_bits(7, "differential") == 7 and level_bits(0, "reference") == 1
    assert columns_per_weight(7, "reference", 2) == 4  # DNN+NeuroSim: ceil(8 / 2) columns per 8-bit weight
    assert columns_per_weight(7, "reference", None) == 1 and columns_per_weight(3, "differential", 1) == 3
    # 5-bit codes, 8 input pulses (+7), 4 slices of 2 bits (+6), 3 row tiles (+2)
    assert sum_bits("adc", 5, 8, 4, 2, 3) == 5 + 7 + 6 + 2
    assert sum_bits("comparator", 5, 8, 1, None, 9) == 1


def test_dense_read_moves_by_hand():
    arch = without_leakage(load_arch("crossbar_neurosim"))
    B, n_in, n_out = 2, 300, 3  # 300 inputs: 3 row tiles of 128
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(B, n_in)).astype(np.float32)
    x[0, 0] = 255  # exact 8-bit codes: 8 planes
    row = _run(arch, _dense(n_in, n_out), x, _states(rng, (n_in, n_out)))
    width = 5 + 7 + 3 * 2 + math.ceil(math.log2(3))  # bits of one output sum: 20
    _check_moves(arch, row, in_write=B * n_in * 8, in_read=B * n_in * 8, out_write=B * n_out * width,
                 out_read=B * n_out * width)
    # 4 physical columns per weight: 12 columns of one column tile, each converted per activated (plane, row tile)
    assert row["array_reads"] == B * 8 * 3 and row["adc_conversions"] == B * 8 * 3 * n_out * 4


def test_conv_reads_every_patch_from_the_input_buffer():
    arch = without_leakage(load_arch("crossbar_neurosim"))
    B, h, c, f = 1, 4, 2, 2
    rng = np.random.default_rng(1)
    x = rng.integers(1, 256, size=(B, h, h, c)).astype(np.float32)
    x[0, 0, 0, 0] = 255
    row = _run(arch, _conv(h, c, f), x, _states(rng, (3, 3, c, f)))
    positions, patch = h * h, 3 * 3 * c
    width = 5 + 7 + 6  # one row tile
    _check_moves(arch, row, in_write=B * h * h * c * 8, in_read=B * positions * patch * 8,
                 out_write=B * positions * f * width, out_read=B * positions * f * width)


def test_area_and_leakage_per_tile_used():
    arch = load_arch("crossbar_neurosim")
    info = _dense(300, 40)  # 3 row tiles x ceil(40 x 4 / 128) = 2 column tiles
    obs = HardwareObserver(arch, [info], 1, weight_N=7)
    fp = obs.footprints
    tiles = 3 * 2
    assert obs.datapath.mapped()["crossbar"]["tile"] == tiles
    for name in MOVERS:
        c = arch.component(name)
        assert fp[name].area_per == "tile" and fp[name].area_units == tiles
        assert fp[name].area_um2 == pytest.approx(tiles * c.area.value)
        assert fp[name].leakage_mw == pytest.approx(tiles * c.leakage.value)
    assert fp["input_buffer"].leakage_mw > 0 and fp["htree"].area_um2 > 0
    assert fp["crossbar"].area_units == tiles * 128 * 129  # cells + the reference column


def _dst_with_periphery(tmp_path: Path, named: bool) -> Path:
    """crossbar_dst plus crossbar_neurosim's buffers and H-tree (named by the tile, or only present)."""
    doc = yaml.safe_load(find_arch("crossbar_dst").read_text())
    extra = yaml.safe_load(find_arch("crossbar_neurosim").read_text())
    doc["components"] += [c for c in extra["components"] if c["name"] in MOVERS]
    for c in doc["components"]:
        c.pop("leakage", None)
        if named and c["class"] == "crossbar_tile":
            c["attributes"].update(input_buffer="input_buffer", output_buffer="output_buffer", interconnect="htree")
    p = tmp_path / f"crossbar_dst_periphery_{named}.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def test_no_periphery_charges_exactly_as_before(tmp_path):
    info = LayerInfo(0, "fc", "dense", (200,), (5,), {"units": 5}, weight_bits=4, weight_count=1000, activation_bits=2)
    rng = np.random.default_rng(2)
    x = rng.integers(-1, 2, size=(3, 200)).astype(np.float32)
    st = rng.integers(0, 9, size=(200, 5)).astype(np.int16)

    def run(arch):
        obs = HardwareObserver(arch, [info], 3, weight_N=3)
        obs.observe(OperandRecord(info, "forward", "eval", 0, 3, x=x, w=((st - 4) / 4).astype(np.float32),
                                  x_step=1.0, w_step=0.25, w_state=st))
        res = obs.finish()
        return res.rows()[0], dict(res.rows_raw[0].actions)

    plain, a0 = run(without_leakage(load_arch("crossbar_dst")))
    present, a1 = run(load_arch(_dst_with_periphery(tmp_path, named=False)))
    named_arch = load_arch(_dst_with_periphery(tmp_path, named=True))
    named, a2 = run(named_arch)
    assert a0 == a1 and plain["cycles"] == present["cycles"]
    assert plain["energy_pj"] == pytest.approx(present["energy_pj"])
    assert plain["onchip_read_bits"] == 0 and not any(k[0] in MOVERS for k in a0)
    assert {k: v for k, v in a2.items() if k[0] not in MOVERS} == a0  # the periphery adds, changes nothing else
    movers = sum(v * named_arch.energy(*k) for k, v in a2.items() if k[0] in MOVERS)
    assert named["energy_pj"] - plain["energy_pj"] == pytest.approx(movers)
    # ternary inputs: 2 bits each; a sum = one 6-bit ADC code (one plane, no slices) + 1 bit for 2 row tiles
    width = 6 + 1
    assert a2[("output_buffer", "write_bit")] == 3 * 5 * width and a2[("input_buffer", "write_bit")] == 3 * 200 * 2


def test_slicing_is_inference_only():
    arch = load_arch("crossbar_neurosim")
    info = _dense(10, 2)
    obs = HardwareObserver(arch, [info], 1, weight_N=7)
    rng = np.random.default_rng(3)
    st = _states(rng, (10, 2))
    with pytest.raises(ArchError, match="cell_bits"):
        obs.observe(OperandRecord(info, "backward", "train", 0, 1, x=np.ones((1, 10), np.float32),
                                  w=np.zeros((10, 2), np.float32), dy=np.ones((1, 2), np.float32), x_step=1.0,
                                  w_step=1 / 64, w_state=st))


def test_bad_periphery_reference_names_file_key_and_classes(tmp_path):
    doc = yaml.safe_load(find_arch("crossbar_neurosim").read_text())
    tile = next(c for c in doc["components"] if c["class"] == "crossbar_tile")
    tile["attributes"]["interconnect"] = "adc"
    p = tmp_path / "bad_periphery.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ArchError) as e:
        load_arch(p)
    msg = str(e.value)
    assert "bad_periphery.yaml" in msg and "interconnect" in msg, msg
