"""Seed 004 self-training on crossbars: hand-checked energy and time of one step, learning, noise, determinism."""
import math

import numpy as np
import pytest

from neurosim.data import load_dataset
from neurosim.explore.self_training import SelfTrainConfig, SelfTrainer, print_table


@pytest.fixture(scope="module")
def digits():
    d = load_dataset({"name": "digits", "shuffle": True, "train": [0, 1300], "test": [1300, 1797]}, seed=0)
    f = lambda x: (x.reshape(len(x), -1).astype(np.float64) + 1.0) / 2.0  # noqa: E731
    return f(d.x_train), d.y_train, f(d.x_test), d.y_test


def _cfg(**kw) -> SelfTrainConfig:
    base = dict(hidden=32, batch=10, gamma=1.0, window=400, max_epochs=3, gains=(3.0, 2.0), warmup=0)
    return SelfTrainConfig(**{**base, **kw})


def test_one_step_energy_and_counts_by_hand(digits):
    x, y = digits[0][:4], digits[1][:4]
    tr = SelfTrainer(cfg=_cfg(), n_in=64)
    tr.step(x, y)
    c, a, t = tr.counts, tr.arch, tr.tally
    assert t.activations == 4 * (32 + 10) and t.samples == 4 and t.updates == 1
    assert c.subtractor_ops == 4 * 10 and c.sign_ops == 4 * (10 + 32)
    # 65 x 32 and 33 x 10 arrays are one tile each: 4 forward reads per layer, up to 4 backward reads
    assert c.array_reads >= 8 and c.conversions >= 4 * (32 + 10)
    assert c.write_pulses == c.set_pulses + c.reset_pulses
    e = tr.energy()
    by_hand = (c.array_reads * 153.6 + c.conversions * 1.67 + c.partial_sum_adds * 0.05 + t.activations * 1.25
               + c.subtractor_ops * 0.25 + c.filter_ops * 0.0101 + c.sign_ops * 0.00506 + c.write_pulses * 9.0
               + t.control_ops * 0.1 + c.read_energy_pj)
    # leakage: the periphery's static power (tiles used by this network) over the simulated time, 1 mW s = 1e9 pJ
    leak_mw = sum(f.leakage_mw for f in tr.hardware.footprints.values())
    assert leak_mw > 0
    by_hand += leak_mw * tr.hardware.total_cycles["train"] / a.clock_hz * 1e9
    assert e["total"] == pytest.approx(by_hand)
    seconds = tr.hardware.total_cycles["train"] / a.clock_hz
    assert e["write_driver"] == pytest.approx(c.write_pulses * a.energy("write_driver", "pulse")
                                              + tr.hardware.footprints["write_driver"].leakage_mw * seconds * 1e9)
    assert all(p.consistent() for p in tr.pairs)
    # time through the engine: one transaction per stage, each after the one before, B x the per-sample latency
    # rounded up to 1 GHz cycles. Reads of a one-tile crossbar: t_read 3.16 ns + ADC slots x 0.833 ns (16 ADCs per
    # tile: fc1's 32 outputs need 2 slots, fc2's 10 one); the neuron lookup is 1 cycle; the output error is
    # subtractor 3.16 + filter 3.16 + control 1 + sign 3.16 ns.
    rows = {(r["name"], r["phase"]): r for r in tr.result().rows()}
    by_hand = {("fc1", "forward"): math.ceil(4 * (3.16 + 2 * 0.833)), ("act1", "forward"): 4,
               ("fc2", "forward"): math.ceil(4 * (3.16 + 0.833)), ("act2", "forward"): 4,
               ("act2", "backward"): math.ceil(4 * (3.16 + 3.16 + 1 + 3.16))}
    for key, cycles in by_hand.items():
        assert rows[key]["compute_cycles"] == cycles, key
    chain = sum(r["compute_cycles"] for r in rows.values())
    assert tr.hardware.total_cycles["train"] == chain and tr.seconds == pytest.approx(chain * 1e-9)
    assert rows[("fc1", "update")]["write_pulses"] + rows[("fc2", "update")]["write_pulses"] == c.write_pulses


@pytest.mark.slow
def test_accuracy_improves(digits):
    xtr, ytr, xte, yte = digits
    tr = SelfTrainer(cfg=_cfg(), n_in=64)
    before = tr.accuracy(xte, yte)
    tr.train(xtr, ytr)
    after = tr.accuracy(xte, yte)
    assert after > 0.8 and after > before + 0.4, (before, after)


@pytest.mark.slow
def test_noise_lowers_accuracy_on_average(digits):
    xtr, ytr, xte, yte = digits
    acc = {nz: np.mean([SelfTrainer(cfg=_cfg(noise=nz, seed=s, max_epochs=2), n_in=64).train(xtr, ytr)
                        .accuracy(xte, yte) for s in range(3)]) for nz in (0.0, 8.0)}
    assert acc[8.0] < acc[0.0], acc


@pytest.mark.slow
def test_seeded_and_resumable(digits):
    xtr, ytr, xte, yte = digits
    full = SelfTrainer(cfg=_cfg(max_epochs=1, noise=0.5), n_in=64).train(xtr, ytr)
    part = SelfTrainer(cfg=_cfg(max_epochs=1, noise=0.5), n_in=64).train(xtr, ytr, max_updates=37)
    snap = part.state()
    part.train(xtr, ytr)
    snap.train(xtr, ytr)
    for other in (part, snap):
        assert all(np.array_equal(p.normal.states, q.normal.states) for p, q in zip(full.pairs, other.pairs))
        assert other.counts.as_dict() == full.counts.as_dict() and other.tally == full.tally
    assert full.accuracy(xte, yte) == snap.accuracy(xte, yte)


def test_config_errors_and_table_text():
    with pytest.raises(ValueError, match="filter_mode"):
        SelfTrainer(cfg=_cfg(filter_mode="sometimes"), n_in=64)
    with pytest.raises(ValueError, match="decay"):
        SelfTrainer(cfg=_cfg(decay=1.0), n_in=64)
    row = {"decay": 1.5, "noise": 0.0, "accuracy": 93.0, "iterations": 1e4, "time_ms": 1.0, "energy_mj": 0.1,
           "speed_up": 5000.0, "energy_saving": 60000.0}
    assert "94.30" in print_table([row])  # the seed's row beside ours


@pytest.mark.slow
def test_control_unit_stops_sooner_with_larger_decay(digits):
    xtr, ytr, _, _ = digits
    runs = {d: SelfTrainer(cfg=_cfg(decay=d, window=200, tol=0.05, max_epochs=30), n_in=64).train(xtr, ytr)
            for d in (1.2, 3.0)}
    assert all(r.done for r in runs.values())  # stopped by the control unit, not by max_epochs
    assert runs[3.0].tally.samples < runs[1.2].tally.samples, {d: r.tally.samples for d, r in runs.items()}
    last = runs[3.0].history[-1]
    assert last["moved"] == 0 or runs[3.0].cfg.gamma * last["rate"] * runs[3.0].cfg.batch < 0.5


@pytest.mark.slow
def test_warmup_holds_the_rate(digits):
    xtr, ytr, _, _ = digits
    kw = dict(window=200, tol=0.5, max_epochs=3)  # tol 0.5: nearly every window is a plateau
    free = SelfTrainer(cfg=_cfg(**kw), n_in=64).train(xtr, ytr)
    held = SelfTrainer(cfg=_cfg(warmup=1500, **kw), n_in=64).train(xtr, ytr)
    first = lambda tr: next(h["samples"] for h in tr.history if h["rate"] < tr.cfg.rate)  # noqa: E731
    assert first(free) < 1500 < first(held), (first(free), first(held))
    assert all(h["rate"] == held.cfg.rate for h in held.history if h["samples"] <= 1500)


def test_noise_levels_are_paired(digits):
    """One seed at different noise levels: same init, data order and random draws; only the noise scales."""
    xtr, ytr, _, _ = digits
    runs = {nz: SelfTrainer(cfg=_cfg(noise=nz), n_in=64) for nz in (0.0, 0.5, 1.0)}
    for tr in runs.values():
        tr.train(xtr, ytr, max_updates=1)
    base = runs[0.0]
    for tr in runs.values():
        assert np.array_equal(tr.order, base.order)
        assert all(np.array_equal(p.normal.states, q.normal.states) for p, q in zip(tr.pairs, base.pairs))
    g = {nz: tr.pairs[0].normal.devices.conductances()[0] for nz, tr in runs.items()}
    d1, d2 = g[0.5] - g[0.0], g[1.0] - g[0.0]
    dev = base.pairs[0].normal.device
    inner = np.all([(v > dev.g_min) & (v < dev.g_max) for v in g.values()], axis=0)  # not clipped
    assert np.abs(d1).max() > 0
    np.testing.assert_allclose(d2[inner], 2.0 * d1[inner], rtol=1e-6, atol=1e-18)
