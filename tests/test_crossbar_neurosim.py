"""arch_configs/crossbar_neurosim.yaml is DNN+NeuroSim V1.3's default RRAM macro (every number sourced), and
NeuroSim's VGG-8 runs on it from the CLI with area, leakage and the periphery's traffic in layers.csv; VGG-8 also runs
on gxnor with the weights that do not fit streamed from DRAM (docs/crossbar_neurosim.md)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from neurosim import cli
from neurosim.hw.arch import load_arch

VGG8 = Path(__file__).resolve().parents[1] / "workloads" / "neurosim_vgg8.csv"


def _layers(folder: Path) -> list[dict]:
    with open(folder / "layers.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_macro_is_neurosims_default():
    a = load_arch("crossbar_neurosim")
    tile = a.crossbar()
    t, dev = tile.attributes, tile.device
    assert (t.rows, t.cols, t.cell_bits, t.N, t.mapping) == (128, 128, 2, 7, "reference")  # numRow/ColSubArray, cellBit
    p = a.crossbar_params(tile)
    assert (p.input_driver, p.input_bits, p.readout, p.adc_bits, p.adc_share) == ("bit_serial", 8, "adc", 5, 8)
    assert (dev.r_on_ohm, dev.r_off_ohm, dev.v_read, dev.t_read_s, dev.v_write) == (6e3, 9e5, 0.5, 10e-9, 2.0)
    assert a.clock_hz == 1e9 and "22nm" in a.technology and "Param.cpp" in tile.device_source
    for c in a.components.values():
        assert all(act.source for act in c.actions.values()), c.name
        assert c.area is not None and c.area.source, c.name
        assert c.leakage is not None and c.leakage.source, c.name


@pytest.mark.slow
def test_vgg8_on_crossbar_neurosim_from_the_cli(tmp_path):
    out = tmp_path / "x"
    assert cli.main(["run", str(VGG8), "--arch", "crossbar_neurosim", "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["area_mm2"] > 0 and s["leakage_mw"] > 0 and s["inference"]["leakage_pj"] > 0
    assert not s["area_not_given"] and not s["leakage_not_given"]
    assert "8-bit codes" in s["operands"]["kind"] and "Z_7" in s["operands"]["kind"]
    rows = _layers(out)
    assert len(rows) == 8
    for r in rows:  # the periphery's traffic: buffer bits (on-chip columns) and their energy, per layer
        moved = int(r["onchip_read_bits"]) + int(r["onchip_write_bits"])
        assert moved > 0 and float(r["energy_pj_input_buffer"]) > 0 and float(r["energy_pj_output_buffer"]) > 0
        assert float(r["energy_pj_htree"]) == pytest.approx(moved * 0.036125, rel=1e-9)
        assert "weights sliced: 4 columns of 2-bit cells" in r["note"]


@pytest.mark.slow
def test_vgg8_on_gxnor_streams_weights(tmp_path):
    out = tmp_path / "y"
    assert cli.main(["run", str(VGG8), "--arch", "gxnor", "--out", str(out), "--quiet"]) == 0
    rows = {r["name"]: r for r in _layers(out)}
    assert "weights streamed" in rows["layer7"]["note"] and int(rows["layer7"]["offchip_read_bits"]) > 0
