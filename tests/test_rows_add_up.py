"""Every row of every report: cycles = compute + stall (dram + queue + bank), and the rows of each mode add up to
that mode's total in summary.json (each cycle of the critical path belongs to exactly one row)."""
import csv
import json

import pytest

from neurosim import cli


def _check(out):
    s = json.loads((out / "summary.json").read_text())
    with open(out / "layers.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        c, comp, stall = int(r["cycles"]), int(r["compute_cycles"]), int(r["stall_cycles"])
        parts = int(r["stall_dram_cycles"]) + int(r["stall_queue_cycles"]) + int(r["stall_bank_cycles"])
        assert c == comp + stall and stall == parts and c >= 0, r["name"]
        assert int(r["busy_cycles"]) >= comp
    totals = {"train": s.get("training", {}).get("cycles"), "eval": s.get("inference", {}).get("cycles")}
    for mode, total in totals.items():
        if total is not None:
            assert sum(int(r["cycles"]) for r in rows if r["mode"] == mode) == total, mode
    return s


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["run", "--epochs", "1", "--quiet"],
    ["run", "--arch", "gxnor_skip", "--epochs", "1", "--quiet"],
    ["run", "--arch", "bwn_offchip", "--method", "bwn", "--epochs", "1", "--quiet"],
    ["run", "--arch", "crossbar_dst", "--epochs", "1", "--quiet"],
    ["run", "scalesim_lenet.csv", "--arch", "gxnor"],
    ["run", "scalesim_lenet.csv", "--arch", "crossbar_dst"],
])
def test_rows_add_up_to_the_summary(tmp_path, args):
    out = tmp_path / "r"
    assert cli.main([*args, "--out", str(out)]) == 0
    _check(out)
