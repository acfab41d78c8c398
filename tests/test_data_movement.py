"""Data that crosses the chip boundary, against a hand count: the input samples come in from DRAM at the width the
dataset stores them, the network's float32 outputs go out to the host, and in training the host's loss step
(logits and labels read, loss gradient written, the gradient streamed back in) is charged too.

Hand count, not a restatement of the datapath: digits pixels are 0..16 (5 bits), 64 per sample, 10 classes
(4-bit labels); the last layer of digits_mlp is the output batch norm ``bnout``.
"""
import csv
import json

import pytest

from neurosim import cli
from neurosim.hw.arch import load_arch
from neurosim.testing.archs import write_without_leakage


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dm")
    arch = write_without_leakage("gxnor", tmp / "gxnor.yaml")  # DRAM energy by hand below: dynamic only
    out = tmp / "r"
    assert cli.main(["run", "--arch", str(arch), "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    rows = {(r["mode"], r["name"], r["phase"]): r for r in csv.DictReader(open(out / "layers.csv", newline=""))}
    return json.loads((out / "summary.json").read_text()), rows


@pytest.mark.slow
def test_inputs_come_in_at_the_width_of_the_data(run):
    s, rows = run
    pixels, bits = 64, 5
    assert int(rows[("train", "fc1", "forward")]["offchip_read_bits"]) == s["dataset"]["train"] * pixels * bits
    assert int(rows[("eval", "fc1", "forward")]["offchip_read_bits"]) == s["dataset"]["test"] * pixels * bits
    # the second and later products read their inputs on chip only
    assert int(rows[("train", "fc2", "forward")]["offchip_read_bits"]) == 0


@pytest.mark.slow
def test_outputs_go_out_and_the_loss_gradient_comes_back(run):
    s, rows = run
    n, classes = s["dataset"]["train"], 10
    logits, labels, grad = n * classes * 32, n * 4, n * classes * 32
    fwd, bwd = rows[("train", "bnout", "forward")], rows[("train", "bnout", "backward")]
    assert int(fwd["offchip_write_bits"]) == logits
    # the host reads logits and labels and writes the gradient; the chip reads the gradient back
    assert int(bwd["offchip_read_bits"]) == logits + labels + grad
    assert int(bwd["offchip_write_bits"]) == grad
    assert int(rows[("eval", "bnout", "forward")]["offchip_write_bits"]) == s["dataset"]["test"] * classes * 32
    dram = load_arch("gxnor").components["dram"].actions
    expect = int(bwd["offchip_read_bits"]) * dram["read_bit"].energy_pj \
        + int(bwd["offchip_write_bits"]) * dram["write_bit"].energy_pj
    assert float(bwd["energy_pj_dram"]) == pytest.approx(expect, rel=1e-9)
