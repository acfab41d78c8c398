"""`neurosim run` / `simulate`: accuracy and the hardware report from one run, evaluation of a saved model,
topology CSVs, and bad input (exit 2, nothing left behind)."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIRED = ("layer,name,phase,compute_cycles,stall_cycles,cycles,energy_pj,offchip_read_bits,offchip_write_bits,"
            "onchip_read_bits,onchip_write_bits,algorithmic_ops,actual_ops,resting_probability,"
            "resting_probability_uniform,utilization").split(",")


def _cli(cwd, *args):
    r = subprocess.run([sys.executable, "-m", "neurosim.cli", *args], capture_output=True, text=True, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    out = tmp / "r"
    code, stdout, err = _cli(tmp, "run", "--epochs", "2", "--quiet", "--out", str(out))
    assert code == 0, err
    return tmp, out, stdout


@pytest.mark.slow
def test_run_gives_accuracy_and_per_layer_report(trained):
    _, out, stdout = trained
    s = json.loads((out / "summary.json").read_text())
    for key in ("arch", "cycles", "latency_s", "energy_pj", "energy_pj_by_component", "accuracy",
                "resting_probability", "samples_per_second"):
        assert key in s, key
    assert s["arch"] == "gxnor" and s["accuracy"]["test"] > 0.8
    assert s["cycles"] > 0 and s["energy_pj"] == pytest.approx(sum(s["energy_pj_by_component"].values()))
    assert s["latency_s"] == pytest.approx(s["cycles"] / s["clock_hz"])
    rows = _rows(out / "layers.csv")
    cols = rows[0].keys()
    for c in REQUIRED:
        assert c in cols, c
    for comp in s["energy_pj_by_component"]:
        assert f"energy_pj_{comp}" in cols
    train = [r for r in rows if r["mode"] == "train"]
    assert {r["phase"] for r in train} == {"forward", "backward", "update"}
    assert sum(float(r["energy_pj"]) for r in train) == pytest.approx(s["energy_pj"], rel=1e-6)
    # the hardware sees the same operands as the counting observer: same forward pairs per layer
    counts = {r["name"]: r for r in _rows(out / "counts.csv")}
    for r in train:
        if r["phase"] == "forward" and r["kind"] in ("dense", "conv"):
            assert int(r["operand_pairs"]) == int(counts[r["name"]]["operand_pairs"])
            assert int(r["nonzero_pairs"]) == int(counts[r["name"]]["nonzero_pairs"])
    upd = [r for r in train if r["phase"] == "update" and r["kind"] == "dense"]
    assert sum(int(r["weight_transitions"]) for r in upd) == sum(int(c["weight_transitions"]) for c in counts.values())
    for png in ("energy_per_layer.png", "cycles_per_layer.png", "resting_per_layer.png"):
        assert (out / png).stat().st_size > 1000
    assert "gxnor (train)" in stdout and "report:" in stdout
    html = (out / "report.html").read_text()
    assert "energy_per_layer.png" in html and "fc1" in html and "gxnor" in html


@pytest.mark.slow
def test_eval_and_simulate_a_saved_model(trained):
    tmp, out, _ = trained
    s0 = json.loads((out / "summary.json").read_text())
    ev = tmp / "ev"
    code, stdout, err = _cli(tmp, "run", "--eval", str(out / "model.npz"), "--out", str(ev))
    assert code == 0, err
    s = json.loads((ev / "summary.json").read_text())
    assert s["accuracy"]["test"] == pytest.approx(s0["accuracy"]["test"])  # same model, same split
    assert s["simulated_mode"] == "eval" and s["cycles"] == s0["inference"]["cycles"]
    assert s["energy_pj"] == pytest.approx(s0["inference"]["energy_pj"], rel=1e-9)
    sim = tmp / "sim"
    code, stdout, err = _cli(tmp, "simulate", str(out / "model.npz"), "--arch", "gxnor_skip", "--out", str(sim))
    assert code == 0, err
    s2 = json.loads((sim / "summary.json").read_text())
    assert s2["arch"] == "gxnor_skip"
    compute = {}
    for name, d in (("gating", ev), ("skipping", sim)):
        compute[name] = sum(int(r["compute_cycles"]) for r in _rows(d / "layers.csv") if r["unit"] == "array")
    assert compute["skipping"] <= compute["gating"]  # digits: M <= 256 lanes, one cycle per output either way
    assert s2["energy_pj_by_component"]["pe_array"] > s["energy_pj_by_component"]["pe_array"]  # pays index/compact


@pytest.mark.slow
def test_topology_csv_runs_on_random_operands(tmp_path):
    out = tmp_path / "lenet"
    code, stdout, err = _cli(tmp_path, "run", str(REPO / "workloads" / "scalesim_lenet.csv"), "--density", "0.4",
                             "--out", str(out))
    assert code == 0, err
    rows = _rows(out / "layers.csv")
    assert [r["name"] for r in rows] == ["Conv1", "Conv2", "Conv3", "FC1", "FC2"]
    for r in rows:  # random ternary operands of density 0.4: resting 1 - 0.16
        assert abs(float(r["resting_probability"]) - 0.84) < 0.05


@pytest.mark.slow
def test_topology_csv_runs_on_a_crossbar(tmp_path):
    out = tmp_path / "lenet_xbar"
    code, _, err = _cli(tmp_path, "run", str(REPO / "workloads" / "scalesim_lenet.csv"), "--arch", "crossbar_dst",
                        "--density", "0.4", "--out", str(out))
    assert code == 0, err
    rows = _rows(out / "layers.csv")
    assert [r["name"] for r in rows] == ["Conv1", "Conv2", "Conv3", "FC1", "FC2"]
    for r in rows:  # every layer is read on the arrays; ternary inputs of density 0.4 leave rows undriven
        assert int(r["array_reads"]) > 0 and int(r["adc_conversions"]) > 0
        assert abs(float(r["resting_probability"]) - 0.84) < 0.05


@pytest.mark.parametrize("args,msg", [
    (["run", "--arch", "nope.yaml"], "nope.yaml"),
    (["run", "--arch", "BAD"], "components[0].actions"),
    (["run", "--method", "nope"], "--method: got 'nope'; allowed: fp"),
    (["run", "TOPO"], "Num Filter"),
    (["run", "--eval", "missing.npz"], "missing.npz"),
])
def test_bad_input_exits_2_and_leaves_nothing(tmp_path, args, msg):
    bad = tmp_path / "bad.yaml"
    text = (REPO / "arch_configs" / "gxnor.yaml").read_text()
    bad.write_text(text.replace("read_bit:  {energy_pj: 20.0", "read_bit:  {energy_pj: -1.0", 1))
    topo = tmp_path / "topo.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                    "Conv1, 32, 32, 5, 5, 1, six, 1,\n")
    args = [str(bad) if a == "BAD" else str(topo) if a == "TOPO" else a for a in args]
    out = tmp_path / "out"
    code, _, err = _cli(tmp_path, *args, "--out", str(out))
    assert code == 2, err
    assert msg in err
    assert not out.exists()


@pytest.mark.slow
def test_alexnet_csv_simulates_off_chip_and_does_not_fit_a_state_buffer(tmp_path):
    csv_path = str(REPO / "workloads" / "scalesim_alexnet.csv")
    out = tmp_path / "alex"
    code, stdout, err = _cli(tmp_path, "run", csv_path, "--arch", "bwn_offchip", "--out", str(out))
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text())
    assert s["layers"] == 8 and s["macs_per_sample"] > 6e8  # ~0.7 GMAC per AlexNet image
    rows = _rows(out / "layers.csv")
    assert int(rows[5]["offchip_read_bits"]) >= 9216 * 4096  # FC6 streams its weights from DRAM
    # on gxnor the layers after the 2 MiB state buffer is full stream their weights from DRAM
    code, _, err = _cli(tmp_path, "run", csv_path, "--arch", "gxnor", "--out", str(tmp_path / "g"))
    assert code == 0, err
    rows = _rows(tmp_path / "g" / "layers.csv")
    streamed = [r for r in rows if "weights streamed from dram" in r["note"]]
    assert streamed and all(int(r["offchip_read_bits"]) > 0 for r in streamed)
