"""Write-back is charged in time and energy for the same set of weights (hand counts on gxnor, N = 1: 2-bit
states in the state buffer): ``write_back: changed`` writes the weights whose state changed, ``all`` every
weight each step."""
import csv

import pytest
import yaml

from neurosim import cli
from neurosim.hw.arch import find_arch


def _run(tmp_path, write_back):
    doc = yaml.safe_load(find_arch("gxnor").read_text())
    for c in doc["components"]:
        if c["class"] == "update_unit":
            c["attributes"]["write_back"] = write_back
    p = tmp_path / f"{write_back}.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / write_back
    assert cli.main(["run", "--arch", str(p), "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    return {r["name"]: r for r in csv.DictReader(open(out / "layers.csv", newline=""))
            if r["mode"] == "train" and r["phase"] == "update" and r["kind"] == "dense"}


@pytest.mark.slow
@pytest.mark.parametrize("write_back", ["changed", "all"])
def test_the_weights_written_back_are_the_ones_charged(tmp_path, write_back):
    rows = _run(tmp_path, write_back)
    weights = {"fc1": 64 * 256, "fc2": 256 * 256, "out": 256 * 10}
    for name, r in rows.items():
        batches = int(r["batches"])
        written = int(r["weight_transitions"]) if write_back == "changed" else batches * weights[name]
        assert int(r["onchip_write_bits"]) == written * 2, name  # the state buffer is the only on-chip write
        # the update unit streams every weight (ceil(n / 64 lanes) cycles a step); the state buffer's port
        # (256 banks x 64 bits) never holds it longer, whichever set is written
        assert int(r["busy_cycles"]) == batches * -(-weights[name] // 64)
