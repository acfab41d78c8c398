"""DST paper Tables 1-2 from the weight-memory model: DST on chip beats BWN off chip for every N."""
from __future__ import annotations

import csv
import json

import pytest

from neurosim.explore.dst_tables import COLUMNS, print_table, reproduce, tables


def test_rows_follow_the_paper():
    rows = tables()
    bwn, dst = rows[0], rows[1:]
    assert bwn["scheme"] == "BWN" and bwn["memory_bits_per_weight"] == 32 and bwn["where"] == "off chip"
    assert bwn["forward_offchip_read_bits"] == 32 and bwn["forward_space_switches"] == 1
    assert bwn["backward_offchip_read_bits"] == bwn["backward_offchip_write_bits"] == 32
    assert bwn["adder"] == "float" and bwn["terms_match_paper"]
    assert [r["N"] for r in dst] == list(range(9))
    for r in dst:
        assert r["memory_bits_per_weight"] == r["N"] + 1 and r["where"] == "on chip"
        assert r["forward_offchip_read_bits"] == r["backward_offchip_read_bits"] == 0
        assert r["backward_offchip_write_bits"] == 0 and r["forward_space_switches"] == 0
        assert r["adder"] == "fixed-point" and r["terms_match_paper"]
        assert r["total_energy_pj"] < bwn["total_energy_pj"] and 0 < r["energy_ratio_vs_bwn"] < 0.01
    totals = [r["total_energy_pj"] for r in dst]
    assert totals == sorted(totals)  # more bits per state, more on-chip traffic


def test_changed_fraction_scales_dst_writes_only():
    lo, hi = tables([3], changed_fraction=0.0), tables([3], changed_fraction=0.5)
    assert lo[1]["backward_onchip_write_bits"] == 0 and hi[1]["backward_onchip_write_bits"] == pytest.approx(2.0)
    assert lo[0]["total_energy_pj"] == hi[0]["total_energy_pj"]


def test_optimizer_state_off_chip_shows_up():
    r = tables([2], optimizer_bits=64)
    assert r[1]["backward_offchip_read_bits"] == 64 and not r[1]["terms_match_paper"]


def test_reproduce_writes_csv_and_json(tmp_path):
    rows = reproduce(tmp_path / "out", N_values=range(0, 3))
    with open(tmp_path / "out" / "dst_tables.csv", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert len(got) == len(rows) == 4 and list(got[0]) == COLUMNS
    doc = json.loads((tmp_path / "out" / "dst_tables.json").read_text())
    assert doc["parameters"]["N_values"] == [0, 1, 2] and len(doc["rows"]) == 4
    text = print_table(rows)
    assert "BWN" in text and "fixed-point" in text and len(text.splitlines()) >= 5


@pytest.mark.parametrize("kw", [{"changed_fraction": 1.5}, {"changed_fraction": -0.1},
                                {"changed_fraction": "half"}, {"changed_fraction": float("nan")}, {"N_values": [-1]},
                                {"N_values": [2.5]}, {"n_weights": 0}])
def test_bad_inputs(kw):
    with pytest.raises(ValueError):
        tables(**kw)
