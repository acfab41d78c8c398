"""Crossbar observer: closed-form pulses, write energy and ADC conversions; rows add up; `neurosim run --arch
crossbar_dst` end to end; a conv workload on a crossbar architecture is refused (exit 2, nothing written)."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tempfile

import yaml

from neurosim.events import LayerInfo, OperandRecord
from neurosim.hw.arch import ArchError, find_arch, load_arch
from neurosim.hw.crossbar_reads import update_pulses
from neurosim.hw.observer import HardwareObserver
from neurosim.report.columns import csv_columns
from neurosim.testing.archs import without_leakage, write_without_leakage

REPO = Path(__file__).resolve().parents[1]


_WHERE = {"rows": "crossbar", "cols": "crossbar", "share": "adc"}  # attribute -> component of crossbar_dst.yaml


def _arch(**changes):
    """crossbar_dst with some attributes changed (rows, cols of the tile; share of the ADC)."""
    if not changes:
        return without_leakage(load_arch("crossbar_dst"))  # hand counts of dynamic energy
    doc = yaml.safe_load(find_arch("crossbar_dst").read_text())
    comps = {c["name"]: c for c in doc["components"]}
    for key, v in changes.items():
        comps[_WHERE[key]].setdefault("attributes", {})[key] = v
    path = Path(tempfile.mkdtemp()) / "crossbar_dst_changed.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return without_leakage(load_arch(path))


def _observer(arch, infos, batch, weight_N=None):
    return HardwareObserver(arch, infos, batch, weight_N=weight_N)


def _cells(row):
    """The cells' V^2 G t_read of a row without writes (the device energy of a read)."""
    return row["device_energy_pj"]


def _dense(index, n_in, n_out, name="fc"):
    return LayerInfo(index, name, "dense", (n_in,), (n_out,), {"units": n_out}, weight_bits=2,
                     weight_count=n_in * n_out, activation_bits=2)


@pytest.mark.parametrize("N,mapping,factor", [(3, "differential", 1), (1, "differential", 1), (0, "differential", 2),
                                              (3, "reference", 1)])
def test_update_pulses_closed_form(N, mapping, factor):
    rng = np.random.default_rng(0)
    new = rng.integers(0, 2 ** N + 1, size=(7, 5))
    old = rng.integers(0, 2 ** N + 1, size=(7, 5))
    t = (new - old).astype(np.int16)
    for pps in (1, 3):
        kp, kn = update_pulses(new, t, N, mapping, pps)
        assert np.abs(kp).sum() + np.abs(kn).sum() == factor * np.abs(t).sum() * pps


def test_observer_update_pulses_and_write_energy_by_hand():
    arch = _arch()  # N = 3, differential, 1 pulse per state, 9 pJ per pulse, row writes
    assert arch.energy("write_driver", "pulse") == pytest.approx(3.0 ** 2 / 10e3 * 10e-9 * 1e12)  # 9 pJ
    info = _dense(0, 2, 2)
    obs = _observer(arch, [info], batch=1, weight_N=3)
    new = np.array([[4, 6], [1, 4]], np.int16)
    t = np.array([[0, 2], [-3, 1]], np.int16)  # old: [[4, 4], [4, 3]]
    obs.observe(OperandRecord(info, "update", "train", 0, 0, w_state=new, transitions=t, changed=3, distance=6))
    r = obs.finish().rows()[0]
    assert r["write_pulses"] == 6  # sum |t| x pulses_per_state
    assert r["energy_pj_write_driver"] == pytest.approx(6 * 9.0)
    assert r["device_energy_pj"] == pytest.approx(6 * 9.0)
    # row writes, per row max SET + max RESET: row 0: 4 -> 6 is G+ up 2 (SET 2); row 1: 4 -> 1 is G- up 3
    # (SET 3), 3 -> 4 is G- down 1 (RESET 1): 2 + (3 + 1) = 6 pulse slots
    assert r["write_cycles"] == 6
    assert r["cycles"] == 6 * 10 + 1  # 6 pulse slots of 10 ns + one state-adder wave (1 cycle) at 1 GHz
    # a workload with N = 1 on the N = 3 crossbar: each workload state is 4 device steps
    obs1 = _observer(arch, [info], batch=1, weight_N=1)
    obs1.observe(OperandRecord(info, "update", "train", 0, 0, w_state=np.array([[2, 1], [0, 1]]),
                               transitions=np.array([[1, 0], [-1, 0]], np.int16), changed=2, distance=2))
    assert obs1.finish().rows()[0]["write_pulses"] == 2 * 4


def test_adc_conversions_of_a_forward_pass_by_hand():
    arch = _arch(rows=4, cols=4, share=2)  # 2 ADCs per tile; in 10 -> 3 row tiles, out 6 -> 2 column tiles
    info = _dense(0, 10, 6)
    obs = _observer(arch, [info], batch=2, weight_N=1)
    x = np.zeros((2, 10), np.float32)
    x[0, [0, 3]] = [1, -1]  # sample 0: row tile 0 only
    x[1, [1, 9]] = [-1, 1]  # sample 1: row tiles 0 and 2 (row tile 1 has no driven row: skipped)
    rng = np.random.default_rng(1)
    st = rng.integers(0, 3, size=(10, 6)).astype(np.int16)
    obs.observe(OperandRecord(info, "forward", "eval", 0, 2, x=x, w=(st - 1).astype(np.float32), x_step=1.0,
                              w_step=1.0, w_state=st))
    r = obs.finish().rows()[0]
    activated = 1 + 2  # (sample, plane, row tile) with a driven row; ternary driver: one plane
    assert r["array_reads"] == activated * 2  # x column tiles
    assert r["adc_conversions"] == activated * 6  # every used column of every activated tile
    assert r["energy_pj_adc"] == pytest.approx(activated * 6 * 1.26)
    assert r["energy_pj_shift_adder"] == pytest.approx(6 * (0 + 1) * 0.05)  # extra partial sums per column
    assert r["actual_ops"] == 4 * 6  # driven rows x columns
    # time: sample 0: t_read + ceil(4 / 2) conversion slots x 1 ns; sample 1 also one adder level (1 ns)
    assert r["cycles"] == int(np.ceil(2 * (3.16 + 2 * 1.0) + 1.0))
    # the cells: V_read^2 x t_read x conductance of the driven rows (G+ + G- of each device pair)
    from neurosim.devices import state_to_conductance
    gp, gn = state_to_conductance(st.astype(np.int64) * 4, 3, arch.crossbar().device, "differential")
    g = (gp + gn).sum(axis=1)[[0, 3, 1, 9]].sum()
    assert _cells(r) == pytest.approx(g * 0.15 ** 2 * 3.16e-9 * 1e12)
    assert r["energy_pj_crossbar"] == pytest.approx(_cells(r) + r["array_reads"] * 0.48)


def test_device_reads_price_the_cells_the_core_read():
    """A device-aware core hands continuous reads (w_step 0): the cells are priced at the conductances that read
    as those values (a stuck-on device at G_max), not at the nominal states."""
    arch = _arch()
    info = _dense(0, 3, 2)
    st = np.array([[1, 1], [0, 2], [1, 1]], np.int16)  # N = 1 workload: values 0, -1, +1
    x = np.ones((1, 3), np.float32)

    def cells(w, w_step):
        obs = _observer(arch, [info], batch=1, weight_N=1)
        obs.observe(OperandRecord(info, "forward", "eval", 0, 1, x=x, w=w, x_step=1.0, w_step=w_step, w_state=st))
        return _cells(obs.finish().rows()[0])

    nominal = (st - 1).astype(np.float32)
    assert cells(nominal, 0.0) == pytest.approx(cells(nominal, 1.0))  # same values, same conductances
    stuck = nominal.copy()
    stuck[0, 0] = 1.0  # the core read weight (0, 0) as +L: its G+ device is stuck at G_max
    d = arch.crossbar().device
    extra = d.g_range * d.v_read ** 2 * d.t_read_s * 1e12  # one device from G_min to G_max, one read
    assert cells(stuck, 0.0) - cells(nominal, 1.0) == pytest.approx(extra)


def test_unknown_layer_kind_and_too_many_states_are_refused():
    odd = LayerInfo(0, "rnn1", "rnn", (8,), (8,), {})
    with pytest.raises(ArchError, match="rnn1.*conv"):
        _observer(_arch(), [odd], batch=1)
    with pytest.raises(ArchError, match="crossbar.attributes.N"):
        _observer(_arch(), [_dense(0, 4, 4)], batch=1, weight_N=5)


def _patches_by_loops(x, k, stride, pad):
    """Independent im2col: explicit loops over positions, (i, j, c) order, zeros in the padding."""
    B, H, W, C = x.shape
    OH, OW = (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1
    out = np.zeros((B, OH, OW, k, k, C), x.dtype)
    for b in range(B):
        for oh in range(OH):
            for ow in range(OW):
                for i in range(k):
                    for j in range(k):
                        ih, iw = oh * stride - pad + i, ow * stride - pad + j
                        if 0 <= ih < H and 0 <= iw < W:
                            out[b, oh, ow, i, j] = x[b, ih, iw]
    return out.reshape(B * OH * OW, k * k * C)


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (1, 2)])
def test_conv_unrolled_reads_equal_the_dense_reads_of_its_patches(stride, pad):
    """A conv layer on a crossbar = a dense layer read once per output position by that position's patch."""
    from neurosim.hw.unroll import fold_adds, patches
    rng = np.random.default_rng(stride + pad)
    B, H, C, F, k = 2, 7, 3, 5, 3
    x = rng.integers(-1, 2, (B, H, H, C)).astype(np.float32)
    np.testing.assert_array_equal(patches(x, k, k, stride, pad), _patches_by_loops(x, k, stride, pad))
    # fold adds: every in-bounds patch element lands on its input; all arrivals but the first are adds.
    # Patches of an image of input ids (padding reads 0) say which input each patch element lands on.
    ids = np.arange(1, x.size + 1).reshape(x.shape)
    hits = np.bincount(_patches_by_loops(ids, k, stride, pad).ravel(), minlength=x.size + 1)[1:]
    assert fold_adds(x.shape, k, k, stride, pad) == int(np.maximum(hits - 1, 0).sum())
    OH = (H + 2 * pad - k) // stride + 1

    arch = _arch(rows=8, cols=4, share=2)
    conv = LayerInfo(0, "conv1", "conv", (H, H, C), (OH, OH, F), {"kernel": k, "stride": stride, "padding": pad},
                     weight_bits=2, weight_count=k * k * C * F, activation_bits=2)
    st = rng.integers(0, 3, (k, k, C, F)).astype(np.int16)
    w = (st - 1).astype(np.float32)
    obs = _observer(arch, [conv], batch=B, weight_N=1)
    obs.observe(OperandRecord(conv, "forward", "eval", 0, B, x=x, w=w, x_step=1.0, w_step=1.0, w_state=st))
    rc = obs.finish().rows()[0]
    cols = _patches_by_loops(x, k, stride, pad)
    dense = _dense(0, k * k * C, F)
    obs_d = _observer(arch, [dense], batch=cols.shape[0], weight_N=1)
    obs_d.observe(OperandRecord(dense, "forward", "eval", 0, cols.shape[0], x=cols, w=w.reshape(-1, F), x_step=1.0,
                                w_step=1.0, w_state=st.reshape(-1, F)))
    rd = obs_d.finish().rows()[0]
    for col in ("array_reads", "adc_conversions", "operand_pairs", "nonzero_pairs", "actual_ops",
                "device_energy_pj", "energy_pj_crossbar", "energy_pj_adc", "energy_pj_shift_adder"):
        assert rc[col] == pytest.approx(rd[col]), col


def test_conv_backward_reads_dy_per_position_and_folds_the_patches():
    from neurosim.hw.unroll import fold_adds
    rng = np.random.default_rng(7)
    B, H, C, F, k = 2, 6, 2, 3, 3
    OH = H - k + 1
    arch = _arch(rows=8, cols=4, share=2)
    first = _dense(0, 5, 5, "fc0")  # some earlier weighted layer, so this conv needs dX
    conv = LayerInfo(1, "conv2", "conv", (H, H, C), (OH, OH, F), {"kernel": k, "stride": 1, "padding": 0},
                     weight_bits=2, weight_count=k * k * C * F, activation_bits=2)
    x = rng.integers(-1, 2, (B, H, H, C)).astype(np.float32)
    dy = (rng.normal(size=(B, OH, OH, F)) * (rng.random((B, OH, OH, F)) < 0.5)).astype(np.float32)
    st = rng.integers(0, 3, (k, k, C, F)).astype(np.int16)
    obs = _observer(arch, [first, conv], batch=B, weight_N=1)
    obs.observe(OperandRecord(conv, "backward", "train", 0, B, x=x, w=(st - 1).astype(np.float32), dy=dy,
                              x_step=1.0, w_step=1.0, w_state=st))
    rc = obs.finish().rows()[0]
    cols = _patches_by_loops(x, k, 1, 0)
    dense = _dense(1, k * k * C, F, "fc1")
    obs_d = _observer(arch, [first, dense], batch=cols.shape[0], weight_N=1)
    obs_d.observe(OperandRecord(dense, "backward", "train", 0, cols.shape[0], x=cols,
                                w=(st - 1).reshape(-1, F).astype(np.float32), dy=dy.reshape(-1, F), x_step=1.0,
                                w_step=1.0, w_state=st.reshape(-1, F)))
    rd = obs_d.finish().rows()[0]
    for col in ("array_reads", "adc_conversions", "operand_pairs", "nonzero_pairs", "device_energy_pj"):
        assert rc[col] == pytest.approx(rd[col]), col
    folds = fold_adds(x.shape, k, k, 1, 0)
    assert folds > 0
    assert rc["energy_pj_shift_adder"] - rd["energy_pj_shift_adder"] == pytest.approx(
        folds * arch.energy("shift_adder", "add"))


def _cli(cwd, *args):
    r = subprocess.run([sys.executable, "-m", "neurosim.cli", *args], capture_output=True, text=True, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.slow
def test_run_crossbar_dst_writes_the_report(tmp_path):
    out = tmp_path / "r"
    code, stdout, err = _cli(tmp_path, "run", "--arch", "crossbar_dst", "--epochs", "1", "--quiet", "--out", str(out))
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text())
    assert s["arch"] == "crossbar_dst" and s["accuracy"]["test"] > 0.7
    assert s["cycles"] > 0 and s["latency_s"] == pytest.approx(s["cycles"] / s["clock_hz"])
    assert s["energy_pj"] == pytest.approx(sum(s["energy_pj_by_component"].values()))
    assert s["training"]["write_pulses"] > 0
    with open(out / "layers.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols = rows[0].keys()
    for c in csv_columns(list(s["energy_pj_by_component"])):
        assert c in cols, c
    train = [r for r in rows if r["mode"] == "train"]
    assert sum(float(r["energy_pj"]) for r in train) == pytest.approx(s["energy_pj"], rel=1e-6)
    for r in rows:
        assert float(r["device_energy_pj"]) + float(r["peripheral_energy_pj"]) == pytest.approx(
            float(r["energy_pj"]), rel=1e-9, abs=1e-9)
        assert sum(float(r[f"energy_pj_{c}"]) for c in s["energy_pj_by_component"]) == pytest.approx(
            float(r["energy_pj"]), rel=1e-9, abs=1e-9)
    upd = [r for r in train if r["phase"] == "update" and r["kind"] == "dense"]
    # gxnor (N = 1) on the N = 3 crossbar: a state is 4 device steps of one pulse
    assert sum(int(r["write_pulses"]) for r in upd) == 4 * sum(int(r["state_distance"]) for r in upd)
    assert {r["phase"] for r in train} == {"forward", "backward", "update"}
    assert any(r["mode"] == "eval" for r in rows)
    for png in ("energy_per_layer.png", "cycles_per_layer.png", "resting_per_layer.png"):
        assert (out / png).stat().st_size > 1000


@pytest.mark.slow
def test_cnn_workload_runs_on_a_crossbar(tmp_path):
    """conv, pool, bn, act and dense layers train on crossbar_dst through the CLI; pool and conv rows appear."""
    w = tmp_path / "conv.yaml"
    text = (REPO / "workloads" / "digits_mlp.yaml").read_text()
    w.write_text(text.replace("network: 64-256-256-10", "network: 4C3-MP2-10").replace("name: digits_mlp",
                                                                                        "name: digits_conv"))
    out = tmp_path / "out"
    arch = write_without_leakage("crossbar_dst", tmp_path / "crossbar_dst.yaml")  # dynamic energy by hand below
    code, _, err = _cli(tmp_path, "run", str(w), "--arch", str(arch), "--epochs", "1", "--quiet", "--out",
                        str(out))
    assert code == 0, err
    with open(out / "layers.csv") as fh:
        rows = list(csv.DictReader(fh))
    train = [r for r in rows if r["mode"] == "train"]
    conv = {r["phase"]: r for r in train if r["kind"] == "conv"}
    assert set(conv) == {"forward", "backward", "update"}
    assert int(conv["forward"]["array_reads"]) > 0 and int(conv["update"]["write_pulses"]) > 0
    # the first weighted layer needs no dX: its backward reads nothing, only the digital dW adds
    assert int(conv["backward"]["array_reads"]) == 0
    ctl = {(r["kind"], r["phase"]): float(r["energy_pj_control"]) for r in train if r["kind"] in ("pool", "bn")
           and r["name"] in ("pool1", "bn1")}
    # per sample: 4C3 on 8x8 digits -> 6x6x4; MP2 -> 3x3x4. Pool forward: 3 compares per output (108), pool
    # backward: one routing op per input (144); bn forward after the pool: 2 per element (72)
    assert ctl[("pool", "forward")] == pytest.approx(108 / 72 * ctl[("bn", "forward")])
    assert ctl[("pool", "backward")] == pytest.approx(144 / 72 * ctl[("bn", "forward")])
