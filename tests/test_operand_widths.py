"""Each product runs on the array that serves its real operand widths, and is priced there (hand counts).

gxnor: the first layer multiplies 5-bit digits pixels by ternary weights on ``input_array`` (event mux, 16-bit
adds); the ternary x ternary products of the hidden layers run on the gated XNOR ``pe_array``; dX and dW work on
32-bit gradients and run on the fp32 ``grad_array``. A product that no array serves is an error.
"""
import csv

import pytest

from neurosim import cli
from neurosim.hw.arch import load_arch
from neurosim.testing.archs import write_without_leakage


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ow")
    arch = write_without_leakage("gxnor", tmp / "gxnor.yaml")  # dynamic energy only: compared by hand
    out = tmp / "r"
    assert cli.main(["run", "--arch", str(arch), "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    return {(r["mode"], r["name"], r["phase"]): r for r in csv.DictReader(open(out / "layers.csv", newline=""))}


def _e(r, comp):
    return float(r[f"energy_pj_{comp}"])


@pytest.mark.slow
def test_the_first_layer_runs_at_the_data_width_on_the_input_array(rows):
    a = load_arch("gxnor").components["input_array"].actions
    r = rows[("eval", "fc1", "forward")]
    pairs, fired = int(r["operand_pairs"]), int(r["actual_ops"])  # fired: nonzero weights (the selector)
    expect = pairs * a["gate_check"].energy_pj + fired * (a["mux"].energy_pj + a["add"].energy_pj)
    assert _e(r, "input_array") == pytest.approx(expect, rel=1e-12)
    assert _e(r, "pe_array") == 0 and _e(r, "grad_array") == 0
    # the hidden layer's ternary x ternary products stay on the gated XNOR array
    h = rows[("eval", "fc2", "forward")]
    assert _e(h, "pe_array") > 0 and _e(h, "input_array") == 0


@pytest.mark.slow
def test_gradients_run_on_the_gradient_path_at_32_bits(rows):
    a = load_arch("gxnor").components["grad_array"].actions
    for name in ("fc1", "fc2", "out"):
        r = rows[("train", name, "backward")]
        pairs = int(r["operand_pairs"])  # a MAC fires on every pair: dX (not for fc1) and dW
        assert _e(r, "grad_array") == pytest.approx(pairs * (a["mult"].energy_pj + a["add"].energy_pj), rel=1e-12)
        assert _e(r, "pe_array") == 0


def test_a_product_no_array_serves_is_an_error_naming_layer_and_widths(tmp_path, capsys):
    code = cli.main(["run", "--method", "fp", "--epochs", "1", "--quiet", "--out", str(tmp_path / "fp")])
    err = capsys.readouterr().err
    assert code == 2
    assert "layer 'fc1' forward" in err and "32-bit x 5-bit" in err and "pe_array (gated_xnor" in err
    assert not (tmp_path / "fp").exists()


def test_an_array_narrower_than_its_kind_is_checked(tmp_path):
    import yaml
    from neurosim.hw.arch import ArchError, find_arch

    doc = yaml.safe_load(find_arch("gxnor").read_text())
    for c in doc["components"]:
        if c["name"] == "input_array":
            c["attributes"]["operand_bits"] = [4, 8]  # event_mux consumes 2-bit selectors at most
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ArchError, match=r"components\[\d\]\.attributes\.operand_bits") as e:
        load_arch(p)
    assert "at most what kind 'event_mux' consumes (2, 32)" in str(e.value)
