"""Area and leakage as a workload uses them, against hand counts.

Crossbar: digits_mlp (64-256-256-10) on 128 x 128 tiles takes 1x2 + 2x2 + 2x1 = 8 tiles; a differential tile has
128 x 256 devices; an ADC shared by 8 columns gives 16 converters per tile; the periphery has 128 lanes per tile.
Leakage: power x the simulated time of each mode, shared over that mode's rows.
"""
import csv
import json

import pytest
import yaml

from neurosim import cli
from neurosim.hw.arch import find_arch

TILES = 1 * 2 + 2 * 2 + 2 * 1


def _crossbar_with_figures(tmp_path):
    doc = yaml.safe_load(open(find_arch("crossbar_dst")))
    per = {"crossbar_tile": "cell", "adc": "converter", "input_driver": "row", "write_driver": "tile"}
    for c in doc["components"]:
        unit = per.get(c["class"], "lane")
        c["area"] = {"um2": 2.0, "per": unit, "source": "test value"}
        c["leakage"] = {"mw": 0.001, "per": unit, "source": "test value"}
    p = tmp_path / "xb.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


@pytest.mark.slow
def test_crossbar_units_are_counted_from_the_mapping(tmp_path):
    out = tmp_path / "r"
    assert cli.main(["run", "--arch", str(_crossbar_with_figures(tmp_path)), "--epochs", "1", "--quiet",
                     "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    units = {n: u["area"][0] for n, u in s["footprint_units"].items()}
    assert units["crossbar"] == TILES * 128 * 256  # cells: two devices per weight
    assert units["adc"] == TILES * 128 / 8
    assert units["row_driver"] == TILES * 128
    assert units["write_driver"] == TILES
    assert units["shift_adder"] == TILES * 128
    expect_area = 2.0 * sum(units.values())
    assert s["area_um2"] == pytest.approx(expect_area)
    assert s["leakage_mw"] == pytest.approx(0.001 * sum(units.values()))


@pytest.mark.slow
def test_leakage_is_power_times_simulated_time_and_rows_add_up(tmp_path):
    out = tmp_path / "r"
    assert cli.main(["run", "--arch", str(_crossbar_with_figures(tmp_path)), "--epochs", "1", "--quiet",
                     "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader(open(out / "layers.csv", newline="")))
    for mode, key in (("train", "training"), ("eval", "inference")):
        t = s[key]
        assert t["leakage_pj"] == pytest.approx(s["leakage_mw"] * t["latency_s"] * 1e9, rel=1e-9)  # 1 mW s = 1e9 pJ
        assert t["leakage_pj"] > 0
        assert sum(float(r["leakage_pj"]) for r in rows if r["mode"] == mode) == pytest.approx(t["leakage_pj"])
        assert sum(t["energy_pj_by_component"].values()) == pytest.approx(t["energy_pj"])


@pytest.mark.slow
def test_more_lanes_cost_area_and_save_cycles(tmp_path):
    """The trade-off a lanes sweep must show: area and leakage power rise with lanes, cycles fall."""
    base = yaml.safe_load(open(find_arch("gxnor")))
    got = []
    for lanes in (32, 512):
        doc = yaml.safe_load(yaml.safe_dump(base))
        for c in doc["components"]:
            c.pop("area", None), c.pop("leakage", None)
            if c["class"] == "compute_array":
                c["attributes"]["lanes"] = lanes
                c["area"] = {"um2": 30.0, "per": "lane", "source": "test value"}
                c["leakage"] = {"mw": 0.0002, "per": "lane", "source": "test value"}
        p = tmp_path / f"g{lanes}.yaml"
        p.write_text(yaml.safe_dump(doc, sort_keys=False))
        out = tmp_path / f"r{lanes}"
        assert cli.main(["run", "--arch", str(p), "--epochs", "1", "--quiet", "--out", str(out)]) == 0
        got.append(json.loads((out / "summary.json").read_text()))
    small, big = got
    assert big["area_um2"] == pytest.approx(small["area_um2"] * 512 / 32)
    assert big["leakage_mw"] > small["leakage_mw"]
    assert big["inference"]["cycles"] < small["inference"]["cycles"]
