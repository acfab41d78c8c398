"""The hardware observer against closed forms: cycles, action energies, traffic and resting probability."""
import math
from pathlib import Path

import numpy as np
import pytest

from neurosim.events import LayerInfo, OperandRecord
from neurosim.hw.arch import ArchError, load_arch
from neurosim.hw.observer import HardwareObserver, OperandAlphabet
from neurosim.hw.weight_memory import WeightBits
from neurosim.testing.archs import without_leakage

GXNOR = without_leakage(load_arch("gxnor"))  # hand counts of dynamic energy


def _dense_net(n_in: int, n_hidden: int, n_out: int) -> list[LayerInfo]:
    return [
        LayerInfo(0, "fc1", "dense", (n_in,), (n_hidden,), {"units": n_hidden}, weight_bits=2,
                  weight_count=n_in * n_hidden, activation_bits=2),
        LayerInfo(1, "out", "dense", (n_hidden,), (n_out,), {"units": n_out}, weight_bits=2,
                  weight_count=n_hidden * n_out, activation_bits=2),
    ]


def _ternary(rng, shape, p_nonzero=2 / 3):
    v = rng.choice(np.array([-1.0, 1.0], np.float32), size=shape)
    v[rng.random(shape) >= p_nonzero] = 0.0
    return v


def _forward(obs, infos, xs, ws, mode="eval", batch=0):
    for info, x, w in zip(infos, xs, ws):
        obs.observe(OperandRecord(layer=info, phase="forward", mode=mode, batch=batch, batch_size=x.shape[0], x=x,
                                  w=w, x_step=1.0, w_step=1.0))


def test_forward_cycles_energy_and_resting_against_closed_forms():
    rng = np.random.default_rng(0)
    B, n_in, n_h, n_out = 64, 1000, 96, 10
    infos = _dense_net(n_in, n_h, n_out)
    x1, w1 = _ternary(rng, (B, n_in)), _ternary(rng, (n_in, n_h))
    x2, w2 = _ternary(rng, (B, n_h)), _ternary(rng, (n_h, n_out))
    obs = HardwareObserver(GXNOR, infos, B, WeightBits(stored=2, optimizer=64), OperandAlphabet(2 / 3, 2 / 3),
                           continuous_input=False)
    _forward(obs, infos, [x1, x2], [w1, w2])
    res = obs.finish()
    rows = {(r["name"], r["phase"]): r for r in res.rows()}
    P, A = 256, 4
    for name, x, w in (("fc1", x1, w1), ("out", x2, w2)):
        r = rows[(name, "forward")]
        M, N = w.shape
        outputs = B * N
        per_output = max(1, math.ceil(M / P))
        # gating: every output takes ceil(M / P) cycles; outputs are dealt round-robin to A arrays
        assert r["compute_cycles"] == math.ceil(outputs / A) * per_output  # one tile (fits the buffer)
        nz = int(((x != 0).astype(np.int64) @ (w != 0).astype(np.int64)).sum())
        assert r["nonzero_pairs"] == nz and r["operand_pairs"] == outputs * M
        # busy chunks: P-pair chunks of each output holding >= 1 nonzero pair
        chunks = [((x[:, s:s + P] != 0).astype(np.int64) @ (w[s:s + P] != 0).astype(np.int64) > 0).sum()
                  for s in range(0, M, P)]
        e = GXNOR.components["pe_array"].actions
        # the popcount tree: its P inputs in every busy chunk-cycle
        expect = (outputs * M * e["gate_check"].energy_pj + nz * e["xnor"].energy_pj
                  + sum(chunks) * P * e["bitcount_add"].energy_pj)
        assert r["energy_pj_pe_array"] == pytest.approx(expect, rel=1e-12)
        # activations in the on-chip global buffer: B x M inputs x 2 bits read. Hand count of what crosses the
        # chip boundary: the first layer loads its B x M 2-bit inputs from DRAM, the last hands its B x N float32
        # logits to the host through DRAM; nothing else leaves the chip (weights are in the state buffer).
        first, last = name == "fc1", name == "out"
        assert r["offchip_read_bits"] == (B * M * 2 if first else 0)
        assert r["offchip_write_bits"] == (B * N * 32 if last else 0)
        dram = GXNOR.components["dram"].actions
        assert r["energy_pj_dram"] == pytest.approx(r["offchip_read_bits"] * dram["read_bit"].energy_pj
                                                    + r["offchip_write_bits"] * dram["write_bit"].energy_pj)
        assert r["onchip_read_bits"] >= B * M * 2
    # uniform ternary operands: resting probability 5/9 (GXNOR Table 2), the closed form column too
    r = rows[("fc1", "forward")]
    assert abs(r["resting_probability"] - 5 / 9) < 0.005
    assert r["resting_probability_uniform"] == pytest.approx(5 / 9)
    tot = res.mode_totals("eval")
    assert sum(r["energy_pj"] for r in res.rows()) == pytest.approx(tot["energy_pj"], rel=1e-9)
    assert tot["cycles"] >= sum(r["compute_cycles"] for r in res.rows())


def test_weights_that_do_not_fit_are_streamed_from_dram(tmp_path: Path):
    """Hand count: 100x50 + 50x10 ternary weights (2 bits) on a 10,000-bit state buffer: fc1 (10,000 bits) fits,
    out (1,000 bits more) does not, so its forward pass reads its 500 x 2 bits from DRAM (rounded up to 32-bit
    words: 1,000 bits = 32 words = 1,024 bits). Without a DRAM the same network is an error."""
    text = (Path(GXNOR.source_file).read_text().replace("capacity_bits: 16777216", "capacity_bits: 10000"))
    small = tmp_path / "small.yaml"
    small.write_text(text)
    arch = load_arch(small)
    infos = _dense_net(100, 50, 10)
    obs = HardwareObserver(arch, infos, 8, WeightBits(stored=2), continuous_input=False)
    assert obs.datapath.weight_home == {0: "state_buffer", 1: "dram"}
    rng = np.random.default_rng(0)
    xs = [_ternary(rng, (8, 100)), _ternary(rng, (8, 50))]
    ws = [_ternary(rng, (100, 50)), _ternary(rng, (50, 10))]
    _forward(obs, infos, xs, ws)
    rows = {(r["name"], r["phase"]): r for r in obs.finish().rows()}
    out = rows[("out", "forward")]
    assert out["offchip_read_bits"] == 1024  # its weights, one tile
    assert out["offchip_write_bits"] == 8 * 10 * 32  # the logits to the host
    assert "weights streamed from dram" in out["note"]
    assert rows[("fc1", "forward")]["offchip_read_bits"] == 8 * 100 * 2  # only the inputs
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(text.replace("capacity_bits: 10000", "capacity_bits: 1000"))
    import yaml

    doc = yaml.safe_load(tiny.read_text())
    doc["components"] = [c for c in doc["components"] if c["class"] != "dram"]
    doc["placement"]["optimizer_state"] = "global_buffer"
    tiny.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ArchError, match="does not fit|exceed"):
        HardwareObserver(load_arch(tiny), infos, 8, WeightBits(stored=2))


def test_skipping_saves_cycles_gating_does_not():
    rng = np.random.default_rng(1)
    B, n_in, n_out = 16, 2048, 32
    infos = _dense_net(n_in, n_out, 10)[:1]
    x, w = _ternary(rng, (B, n_in), 0.3), _ternary(rng, (n_in, n_out), 0.3)
    out = {}
    for name in ("gxnor", "gxnor_skip"):
        obs = HardwareObserver(load_arch(name), infos, B, WeightBits(stored=2))
        _forward(obs, infos, [x], [w])
        out[name] = obs.finish().rows()[0]
    g, s = out["gxnor"], out["gxnor_skip"]
    assert g["nonzero_pairs"] == s["nonzero_pairs"]
    assert s["compute_cycles"] < g["compute_cycles"] / 3  # ~9 % of pairs are active
    assert g["compute_cycles"] == B * n_out * math.ceil(n_in / 256) // 4


def test_identical_batches_replay_the_engine_exactly():
    rng = np.random.default_rng(2)
    infos = _dense_net(300, 64, 10)
    obs = HardwareObserver(GXNOR, infos, 32, WeightBits(stored=2))
    for b in range(3):
        xs = [_ternary(rng, (32, 300)), _ternary(rng, (32, 64))]
        ws = [_ternary(rng, (300, 64)), _ternary(rng, (64, 10))]
        _forward(obs, infos, xs, ws, batch=b)
    res = obs.finish()
    assert res.engine_runs == 3 and res.engine_hits == 2  # gating: the timeline depends on shapes only
    assert res.total_cycles["eval"] % 3 == 0
