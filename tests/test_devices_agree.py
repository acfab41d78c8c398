"""One device physics: the training core and the hardware side see the same conductances (neurosim.devices)."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim.core.methods import DSTDeviceWeights, make_method
from neurosim.core.network import build_network
from neurosim.core.spaces import DiscreteSpace
from neurosim.devices import (
    STUCK_ON, CounterDraws, DeviceArray, DeviceParams, DeviceSpec, conductance_to_weight, line_conductance_sums,
)
from neurosim.spec import parse_network

NOISY = DeviceParams(write_noise=0.3, variation=0.05, stuck_on_rate=0.02, stuck_off_rate=0.03, read_noise=0.02,
                     nonlinearity=1.5, pulses_per_state=2, levels=33)


class Capture:
    """An observer keeping every record."""

    def __init__(self) -> None:
        self.records = []

    def observe(self, rec) -> None:
        self.records.append(rec)


def _core(shape, N, spec, seed=3, stream=2):
    return DSTDeviceWeights(shape, DiscreteSpace(N, 1.0), np.random.default_rng(seed), spec, seed=seed, stream=stream)


@pytest.mark.parametrize("mapping", ["differential", "reference"])
@pytest.mark.parametrize("shape", [(40, 30), (3, 3, 4, 6)])  # dense, and a conv kernel unrolled to (36, 6)
@pytest.mark.parametrize("params", [NOISY, NOISY.replace(read_noise=0.0)])  # a fresh read, or moved weights only
def test_core_and_hw_see_the_same_conductances(mapping, shape, params):
    N, Na, seed, stream = 1, 3, 3, 2
    spec = DeviceSpec(params, mapping=mapping, N=Na)
    core = _core(shape, N, spec, seed, stream)
    rc = (int(np.prod(shape[:-1])), shape[-1])
    scale = 2 ** (Na - N)  # a workload state n sits at device state n x 2^(Na - N)
    hw = DeviceArray(rc, Na, params, mapping, CounterDraws(seed, stream), core.state.reshape(rc) * scale)

    def same() -> None:
        gp, gn = hw.read()  # the hw side reads as often as the core did (one read per refresh)
        np.testing.assert_array_equal(gp, core.conductance[0])
        np.testing.assert_array_equal(gn, core.conductance[1])
        np.testing.assert_array_equal(np.stack(hw.conductances()), np.stack(core.devices.conductances()))
        w = conductance_to_weight(gp, gn, params, mapping).astype(np.float32).reshape(shape)
        np.testing.assert_array_equal(core.values, w)
        assert hw.reads == core.devices.reads

    np.testing.assert_array_equal(hw.stuck_codes, core.devices.stuck_codes)  # the same faults
    np.testing.assert_array_equal(hw.gain, core.devices.gain)  # the same variation
    same()
    rng = np.random.default_rng(0)
    for step in range(6):
        core.apply(rng.normal(0, 0.6, shape).astype(np.float32), step)
        res = hw.program(core.state.reshape(rc) * scale)  # the same transitions, as pulse trains
        assert res.pulses > 0
        same()
    assert hw.pulse_count == core.devices.pulse_count and hw.writes == core.devices.writes == 6


def test_records_carry_the_read_behind_w():
    spec = DeviceSpec(NOISY, N=3)
    method = make_method("gxnor", device=spec)
    net = build_network(parse_network("4C3-MP2-10"), (8, 8, 1), 10, method, seed=1)
    obs = Capture()
    x = np.random.default_rng(0).uniform(0, 1, (5, 8, 8, 1)).astype(np.float32)
    net.forward(x, train=False, observer=obs)
    recs = [r for r in obs.records if r.layer.kind in ("conv", "dense")]
    assert [r.layer.kind for r in recs] == ["conv", "dense"]
    for rec, layer in zip(recs, net.mac_layers):
        gp, gn = rec.w_conductance
        rc = (int(np.prod(rec.w.shape[:-1])), rec.w.shape[-1])
        assert gp.shape == gn.shape == rc  # the crossbar's unrolled layout
        w = layer.weights
        np.testing.assert_array_equal(conductance_to_weight(gp, gn, NOISY).astype(np.float32).reshape(rec.w.shape),
                                      rec.w)
        # replay that read on a hw-side array restored from the layer's device arrays (counter one back)
        saved = {k[len("device_"):]: a.copy() for k, a in w.arrays().items() if k.startswith("device_")}
        saved["counters"][1] -= 1
        d = w.devices.draws  # the network's seed, the layer's stream
        assert isinstance(d, CounterDraws) and d.seed == 1
        hw = DeviceArray(rc, 3, NOISY, "differential", CounterDraws(d.seed, d.stream))
        hw.load(saved)
        hp, hn = hw.read()
        np.testing.assert_array_equal(hp, gp)
        np.testing.assert_array_equal(hn, gn)
    # weights without devices carry no conductances
    plain = build_network(parse_network("4C3-MP2-10"), (8, 8, 1), 10, make_method("gxnor"), seed=1)
    obs = Capture()
    plain.forward(x, train=False, observer=obs)
    assert all(r.w_conductance is None for r in obs.records)


def test_stuck_on_devices_read_plus_and_minus_L():
    p = DeviceParams()
    arr = DeviceArray((1, 4), 1, p, "differential", CounterDraws(0), states=[[1, 1, 0, 2]])  # w = 0, 0, -1, +1
    a = arr.arrays()
    stuck = np.zeros((2, 1, 4), np.int8)
    stuck[0, 0, 0] = STUCK_ON  # G+ of a zero weight: +L
    stuck[1, 0, 1] = STUCK_ON  # G- of a zero weight: -L
    stuck[0, 0, 2] = STUCK_ON  # G+ of a -L weight (G- at G_max): 0
    stuck[1, 0, 3] = STUCK_ON  # G- of a +L weight: 0
    arr.load({**a, "stuck": stuck})
    arr.write_verified(arr.states)  # pin the faults
    np.testing.assert_allclose(arr.read_weights(), [[1.0, -1.0, 0.0, 0.0]], atol=1e-12)
    # the same seen by the core (stuck-on G- reads -L, not +L)
    core = _core((1, 4), 1, DeviceSpec(DeviceParams(variation=1e-9)))
    core.load({"state": np.array([[1, 1, 0, 2]], np.int16), "device_stuck": stuck})
    np.testing.assert_allclose(core.values, [[1.0, -1.0, 0.0, 0.0]], atol=1e-6)
    # reference mapping: the one device stuck on reads +L
    ref = DeviceArray((1, 2), 1, p, "reference", CounterDraws(0), states=[[1, 0]])
    s = np.zeros((2, 1, 2), np.int8)
    s[0, 0, :] = STUCK_ON
    ref.load({**ref.arrays(), "stuck": s})
    ref.write_verified(ref.states)
    np.testing.assert_allclose(ref.read_weights(), [[1.0, 1.0]], atol=1e-12)


def test_pulse_train_by_hand():
    # one device pair, N = 3 differential (S = 4 steps), 3 pulses per state, linear: state 4 (w = 0) -> 6 is
    # 2 states = 6 SET pulses on G+: G+ = G_min + 6 (G_max - G_min) / (S x pulses_per_state)
    p = DeviceParams(pulses_per_state=3)
    arr = DeviceArray((1, 1), 3, p, draws=CounterDraws(5), states=[[4]])
    res = arr.program([[6]])
    gp, gn = arr.conductances()
    assert (res.set_pulses, res.reset_pulses) == (6, 0)
    assert gp[0, 0] == pytest.approx(p.g_min + 6 * p.g_range / (4 * 3), rel=1e-12)
    assert gn[0, 0] == p.g_min
    # and through the core: N = 2 weights on those N = 3 devices, one workload state = 2 device states
    core = _core((1, 1), 2, DeviceSpec(DeviceParams(pulses_per_state=3, read_noise=1e-12), N=3))
    core.load({"state": np.array([[2]], np.int16)})  # w = 0
    core.apply(np.array([[0.5]], np.float32), 0)  # one state up, no remainder
    assert core.state[0, 0] == 3 and core.devices.pulse_count == 6
    assert core.devices.conductances()[0][0, 0] == pytest.approx(p.g_min + 6 * p.g_range / (4 * 3), rel=1e-12)
    assert core.values[0, 0] == pytest.approx(0.5, rel=1e-6)


def test_counter_draws_at_indices_match_whole_draws():
    d = CounterDraws(11, 4)
    z = d.normal(3, 7, (5, 9))
    idx = np.array([0, 1, 2, 17, 44, 43])
    np.testing.assert_array_equal(d.normal(3, 7, (5, 9), idx), z.reshape(-1)[idx])
    assert abs(d.normal(1, 0, (200_000,)).std() - 1) < 0.01
    u = d.uniform(2, 0, (100_000,))
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert not np.array_equal(z, CounterDraws(11, 5).normal(3, 7, (5, 9)))  # another stream
    assert not np.array_equal(z, d.normal(3, 8, (5, 9)))  # another counter


def test_line_conductance_sums_price_a_read():
    p = DeviceParams()
    arr = DeviceArray((5, 7), 2, p, draws=CounterDraws(1), states=np.arange(35).reshape(5, 7) % 5)
    gp, gn = arr.read()
    rows, cols, copy = line_conductance_sums(gp, gn, "differential", copy_tile_cols=4)
    np.testing.assert_allclose(rows, (gp + gn).sum(axis=1))
    np.testing.assert_allclose(cols, (gp + gn).sum(axis=0))
    np.testing.assert_allclose(copy, cols)
    ref = DeviceArray((5, 7), 2, DeviceParams(variation=0.1), "reference", CounterDraws(1))
    gp, gn = ref.read()
    rows, cols, copy = line_conductance_sums(gp, gn, "reference", tile_cols=4, copy_tile_cols=2)
    np.testing.assert_allclose(rows, gp.sum(axis=1) + 2 * gn[:, 0])  # 7 columns in tiles of 4: 2 references
    np.testing.assert_allclose(cols, gp.sum(axis=0))
    np.testing.assert_allclose(copy, gp.sum(axis=0) + 3 * gn[:, 0].mean())
