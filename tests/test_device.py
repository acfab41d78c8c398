"""Device model (neurosim.devices) against closed forms: mapping, pulses, energy, faults, noise, seeds."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurosim.devices import (
    CounterDraws, DeviceArray, DeviceError, DeviceParams, DeviceSpec, GeneratorDraws, conductance_to_weight,
    levels_needed, state_to_conductance, state_to_weight, steps_per_device, weight_to_conductance,
)

IDEAL = DeviceParams()


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("changes, name", [
    (dict(r_off_ohm=10e3), "r_off_ohm"),  # Roff == Ron
    (dict(r_off_ohm=5e3), "r_off_ohm"),  # Roff < Ron
    (dict(r_on_ohm=0.0), "r_on_ohm"),
    (dict(levels=0), "levels"),
    (dict(levels=1), "levels"),
    (dict(levels=2.5), "levels"),
    (dict(pulse_width_s=-1e-9), "pulse_width_s"),
    (dict(pulses_per_state=0), "pulses_per_state"),
    (dict(stuck_on_rate=1.5), "stuck_on_rate"),
    (dict(stuck_off_rate=-0.1), "stuck_off_rate"),
    (dict(stuck_on_rate=0.6, stuck_off_rate=0.6), "stuck_on_rate + stuck_off_rate"),
    (dict(v_read=float("nan")), "v_read"),
    (dict(write_noise=float("inf")), "write_noise"),
    (dict(variation=-0.01), "variation"),
    (dict(pulse_energy_pj=-1.0), "pulse_energy_pj"),
    (dict(nonlinearity="high"), "nonlinearity"),
])
def test_bad_parameters_name_the_key(changes: dict, name: str) -> None:
    with pytest.raises(DeviceError, match=name.replace("+", r"\+")) as e:
        DeviceParams(**changes)
    assert isinstance(e.value, ValueError)


def test_validate_and_replace() -> None:
    p = DeviceParams.mnsim2()
    assert (p.r_on_ohm, p.r_off_ohm, p.v_read, p.variation, p.stuck_on_rate) == (10e3, 1e6, 0.15, 0.01, 0.001)
    assert DeviceParams.neurosim_v14().r_off_ohm == 1.7e6
    with pytest.raises(DeviceError, match="levels"):
        p.replace(levels=0)
    with pytest.raises(DeviceError, match="unknown"):
        p.replace(r_on=1.0)
    with pytest.raises(DeviceError, match="mapping"):
        state_to_conductance([0], 2, p, "single")
    with pytest.raises(DeviceError, match="states"):
        state_to_conductance([5], 2, p)  # 0..4 for N = 2
    with pytest.raises(DeviceError, match="N"):
        steps_per_device(-1)


def test_energy_per_pulse_default_is_v2_over_ron_times_width() -> None:
    assert IDEAL.energy_per_pulse_pj == pytest.approx(3.0 ** 2 / 10e3 * 10e-9 * 1e12)  # 9 pJ
    assert DeviceParams(pulse_energy_pj=0.5).energy_per_pulse_pj == 0.5


# ---------------------------------------------------------------- state <-> conductance

@pytest.mark.parametrize("N", [0, 1, 2, 5])
@pytest.mark.parametrize("mapping", ["differential", "reference"])
def test_states_map_to_their_weights(N: int, mapping: str) -> None:
    n = np.arange(2 ** N + 1)
    gp, gn = state_to_conductance(n, N, IDEAL, mapping)
    w = conductance_to_weight(gp, gn, IDEAL, mapping, L=2.0)
    np.testing.assert_allclose(w, state_to_weight(n, N, L=2.0), atol=1e-12)
    np.testing.assert_allclose(state_to_weight(n, N), n / 2.0 ** (N - 1) - 1.0)
    assert np.all((gp >= IDEAL.g_min - 1e-18) & (gp <= IDEAL.g_max + 1e-18))
    if mapping == "differential":
        # positive weights on G+, negative on G-, the other device at G_min
        assert np.all(np.isclose(gp, IDEAL.g_min) | np.isclose(gn, IDEAL.g_min))
        assert np.all(np.isclose(gn[w > 0], IDEAL.g_min)) and np.all(np.isclose(gp[w < 0], IDEAL.g_min))
    else:
        np.testing.assert_allclose(gn, (IDEAL.g_min + IDEAL.g_max) / 2)
    assert levels_needed(N, mapping) == (2 ** N + 1 if mapping == "reference" else max(2 ** (N - 1), 1) + 1)


def test_limited_levels_round_conductances() -> None:
    p = DeviceParams(levels=2)
    gp, gn = state_to_conductance(np.arange(9), 3, p)  # needs 5 levels per device, has 2
    assert set(np.unique(np.round(np.concatenate([gp, gn]) / p.g_min))) <= {1.0, round(p.g_max / p.g_min)}


# ---------------------------------------------------------------- writes

@pytest.mark.parametrize("mapping", ["differential", "reference"])
@pytest.mark.parametrize("pps", [1, 3])
def test_pulses_are_state_distance_times_pulses_per_state(mapping: str, pps: int) -> None:
    rng = np.random.default_rng(5)
    N = 3
    s0 = rng.integers(0, 9, (17, 11))
    arr = DeviceArray((17, 11), N, DeviceParams(pulses_per_state=pps), mapping, draws=GeneratorDraws(1), states=s0)
    total = 0
    for _ in range(4):
        s1 = rng.integers(0, 9, (17, 11))
        res = arr.program(s1)
        dist = int(np.abs(s1 - s0).sum())
        assert res.pulses == dist * pps
        np.testing.assert_array_equal(res.moved, np.flatnonzero(s1 != s0))
        assert res.energy_pj == pytest.approx(dist * pps * 9.0)
        total += dist * pps
        s0 = s1
    assert arr.pulse_count == total == arr.set_count + arr.reset_count
    assert arr.write_energy_pj == pytest.approx(total * 9.0)


def test_binary_differential_flips_both_devices() -> None:
    arr = DeviceArray((1, 2), 0, IDEAL, states=[[0, 1]])
    res = arr.program([[1, 0]])
    assert res.pulses == 4 and res.set_pulses == 2 and res.reset_pulses == 2


def test_write_energy_by_hand() -> None:
    # N = 2 differential, 2 pulses per state: state 0 (w = -1: G+ at level 0, G- at level 2) -> state 3
    # (w = +0.5: G+ at level 1, G- at level 0): G+ gets 1 x 2 SET pulses, G- gets 2 x 2 RESET pulses.
    # Energy per pulse V^2 / Ron x width = 2^2 / 10 kOhm x 10 ns = 4 pJ -> 6 pulses = 24 pJ.
    p = DeviceParams(v_write=2.0, pulse_width_s=10e-9, pulses_per_state=2)
    arr = DeviceArray((1, 1), 2, p, states=[[0]])
    res = arr.program([[3]])
    assert (res.set_pulses, res.reset_pulses, res.devices_written) == (2, 4, 2)
    assert res.pulses_pos.tolist() == [[2]] and res.pulses_neg.tolist() == [[-4]]
    assert res.energy_pj == pytest.approx(24.0)


def test_linear_noiseless_writes_land_on_targets_and_step_clips() -> None:
    rng = np.random.default_rng(2)
    arr = DeviceArray((9, 7), 4, DeviceParams(pulses_per_state=3), draws=GeneratorDraws(0),
                      states=rng.integers(0, 17, (9, 7)))
    for _ in range(5):
        arr.step(rng.integers(-6, 7, (9, 7)))
        assert arr.states.min() >= 0 and arr.states.max() <= 16
        gp, gn = arr.conductances()
        ep, en = state_to_conductance(arr.states, 4, arr.params)
        np.testing.assert_allclose(gp, ep, rtol=1e-9)
        np.testing.assert_allclose(gn, en, rtol=1e-9)
        np.testing.assert_allclose(arr.read_weights(), arr.nominal_weights(), atol=1e-9)
    with pytest.raises(DeviceError, match="delta"):
        arr.step(np.full((9, 7), 0.5))


def test_nonlinear_update_is_concave_and_reaches_the_bounds() -> None:
    p = DeviceParams(nonlinearity=3.0, pulses_per_state=4)
    N = 3  # differential: S = 4 steps, P = 16 pulses for the full range
    arr = DeviceArray((1, 1), N, p, states=[[4]])  # w = 0: both devices at G_min
    arr.program([[6]])  # half range on G+: 8 SET pulses
    gp, _ = arr.conductances()
    linear = p.g_min + 0.5 * p.g_range
    expected = p.g_min + p.g_range * (1 - math.exp(-3.0 * 8 / 16)) / (1 - math.exp(-3.0))
    assert gp[0, 0] == pytest.approx(expected) and gp[0, 0] > linear
    arr.program([[8]])  # 8 more: full range
    assert arr.conductances()[0][0, 0] == pytest.approx(p.g_max)
    arr.program([[4]])  # 16 RESET pulses back to G_min
    assert arr.conductances()[0][0, 0] == pytest.approx(p.g_min)


def test_write_noise_sigma_grows_with_sqrt_pulses() -> None:
    p = DeviceParams(write_noise=0.2, pulses_per_state=4)
    arr = DeviceArray((200, 200), 3, p, draws=GeneratorDraws(7), states=np.full((200, 200), 4))
    arr.program(np.full((200, 200), 6))  # 8 pulses per G+ device, from G_min
    gp, _ = arr.conductances()
    step = p.g_range / 16
    d = gp - (p.g_min + 8 * step)
    inner = np.abs(d) < 3 * step  # away from the clip at G_min / G_max
    assert d[inner].std() == pytest.approx(0.2 * step * math.sqrt(8), rel=0.05)


# ---------------------------------------------------------------- faults, variation, noise, seeds

def test_stuck_at_rates_within_binomial_bounds_and_stuck_devices_never_change() -> None:
    p = DeviceParams(stuck_on_rate=0.01, stuck_off_rate=0.03)
    shape = (150, 120)
    rng = np.random.default_rng(3)
    arr = DeviceArray(shape, 3, p, draws=GeneratorDraws(11), states=rng.integers(0, 9, shape))
    n = 2 * shape[0] * shape[1]
    for rate, mask in ((0.01, arr.stuck_on), (0.03, arr.stuck_off)):
        sigma = math.sqrt(n * rate * (1 - rate))
        assert abs(int(mask.sum()) - n * rate) < 5 * sigma
    assert not np.any(arr.stuck_on & arr.stuck_off)
    g0 = np.stack(arr.conductances())
    st = arr.stuck
    assert np.all(g0[arr.stuck_on] == p.g_max) and np.all(g0[arr.stuck_off] == p.g_min)
    for _ in range(6):
        arr.step(rng.integers(-8, 9, shape))
        g = np.stack(arr.conductances())
        np.testing.assert_array_equal(g[st], g0[st])
        assert np.any(g[~st] != g0[~st])


def test_reference_mapping_has_no_faulty_g_minus() -> None:
    arr = DeviceArray((50, 50), 2, DeviceParams(stuck_on_rate=0.5), "reference", draws=GeneratorDraws(0))
    assert not arr.stuck[1].any() and arr.stuck[0].any()


def test_variation_and_read_noise() -> None:
    p = DeviceParams(variation=0.05, read_noise=0.02)
    arr = DeviceArray((100, 100), 2, p, draws=GeneratorDraws(4), states=np.full((100, 100), 4))
    assert arr.gain_pos.std() == pytest.approx(0.05, rel=0.1)
    a, b = arr.read(), arr.read()
    assert not np.array_equal(a[0], b[0])  # fresh read noise every read
    quiet = arr.read(noise=False)
    np.testing.assert_allclose(quiet[0], arr.conductances()[0] * arr.gain_pos)
    assert (a[0] / quiet[0] - 1).std() == pytest.approx(0.02, rel=0.1)
    assert np.abs(arr.read_weights(noise=False) - 1.0).max() > 0.01  # variation shows in the weights


@pytest.mark.parametrize("draws", [GeneratorDraws, CounterDraws])
def test_seeded_arrays_are_identical(draws) -> None:
    p = DeviceParams(variation=0.05, read_noise=0.02, write_noise=0.1, nonlinearity=1.0,
                     stuck_on_rate=0.02, stuck_off_rate=0.02)
    rng = np.random.default_rng(0)
    s0, steps = rng.integers(0, 9, (30, 20)), rng.integers(-3, 4, (5, 30, 20))

    def run(seed: int) -> tuple[np.ndarray, ...]:
        arr = DeviceArray((30, 20), 3, p, draws=draws(seed), states=s0)
        for d in steps:
            arr.step(d)
        return arr.read_weights(), np.stack(arr.conductances()), arr.stuck

    a, b, c = run(9), run(9), run(10)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("mapping", ["differential", "reference"])
def test_counter_draws_resume_from_saved_arrays(mapping: str) -> None:
    # a run saved after 3 writes and 3 reads, restored into a fresh array, continues exactly as the uninterrupted one
    p = DeviceParams(variation=0.05, read_noise=0.02, write_noise=0.2, nonlinearity=0.5, levels=17,
                     stuck_on_rate=0.05, stuck_off_rate=0.05)
    rng = np.random.default_rng(1)
    s0, targets = rng.integers(0, 9, (12, 8)), rng.integers(0, 9, (6, 12, 8))
    full = DeviceArray((12, 8), 3, p, mapping, CounterDraws(4, 2), s0)
    part = DeviceArray((12, 8), 3, p, mapping, CounterDraws(4, 2), s0)
    for t in targets[:3]:
        full.program(t), full.read()
        part.program(t), part.read()
    saved = {k: a.copy() for k, a in part.arrays().items()}
    resumed = DeviceArray((12, 8), 3, p, mapping, CounterDraws(4, 2))  # other states: all replaced by the load
    resumed.load(saved)
    for t in targets[3:]:
        a, b = full.program(t), resumed.program(t)
        np.testing.assert_array_equal(a.pulses_pos, b.pulses_pos)
        for x, y in zip(full.read(), resumed.read()):
            np.testing.assert_array_equal(x, y)
    for k, a in full.arrays().items():
        np.testing.assert_array_equal(a, resumed.arrays()[k])
    assert full.pulse_count == resumed.pulse_count and full.write_energy_pj == resumed.write_energy_pj
    with pytest.raises(DeviceError, match="gain"):
        resumed.load({k: a for k, a in saved.items() if k != "gain"})
    with pytest.raises(DeviceError, match="g: expected"):
        resumed.load({**saved, "g": saved["g"][:, :3]})


def test_counter_writes_leave_unwritten_devices_alone() -> None:
    # counter-based draws pulse (and draw for) only the devices whose level changes
    p = DeviceParams(write_noise=0.5, pulses_per_state=2)
    s0 = np.full((40, 40), 4)
    arr = DeviceArray((40, 40), 3, p, draws=CounterDraws(0), states=s0)
    g0 = np.stack(arr.conductances())
    new = s0.copy()
    new[:5] = 6  # G+ of the first 5 rows moves up 2 levels, the rest stays
    res = arr.program(new)
    g1 = np.stack(arr.conductances())
    assert res.devices_written == 5 * 40 and res.set_pulses == 5 * 40 * 4
    np.testing.assert_array_equal(res.moved, np.arange(5 * 40))  # the weights whose state changed
    assert np.all(res.pulses_pos[:5] == 4) and not res.pulses_pos[5:].any() and not res.pulses_neg.any()
    np.testing.assert_array_equal(g1[:, 5:], g0[:, 5:])
    np.testing.assert_array_equal(g1[1], g0[1])
    assert np.all(g1[0, :5] != g0[0, :5])


def test_device_spec() -> None:
    spec = DeviceSpec(DeviceParams.mnsim2(), mapping="reference", N=3, seed=2)
    assert spec.device_N(1) == 3 and DeviceSpec().device_N(2) == 2
    assert DeviceSpec().ideal and not spec.ideal
    with pytest.raises(DeviceError, match="N = 1"):
        DeviceSpec(N=1).device_N(2)
    with pytest.raises(DeviceError, match="params"):
        DeviceSpec(params={"variation": 0.1})
    with pytest.raises(DeviceError, match="N"):
        DeviceSpec(N=15)
    with pytest.raises(DeviceError, match="seed"):
        DeviceSpec(seed=-1)


def test_bad_array_arguments() -> None:
    with pytest.raises(DeviceError, match="draws"):
        DeviceArray((2, 2), 2, IDEAL, draws=np.random.default_rng(0))  # a bare Generator: wrap it
    with pytest.raises(DeviceError, match="shape"):
        DeviceArray((0, 3), 2, IDEAL)
    with pytest.raises(DeviceError, match="states"):
        DeviceArray((2, 2), 2, IDEAL, states=np.zeros((3, 2), int))
    with pytest.raises(DeviceError, match="N"):
        DeviceArray((2, 2), 15, IDEAL)


@pytest.mark.parametrize("N,mapping", [(0, "differential"), (1, "differential"), (3, "differential"), (3, "reference")])
def test_weight_to_conductance_inverts_and_matches_the_nominal_states(N, mapping):
    states = np.arange(2 ** N + 1)
    L = 2.0
    v = state_to_weight(states, N, L)
    gp, gn = weight_to_conductance(v, IDEAL, mapping, L)
    np.testing.assert_allclose(conductance_to_weight(gp, gn, IDEAL, mapping, L), v, atol=1e-18)
    ep, en = state_to_conductance(states, N, IDEAL, mapping)
    np.testing.assert_allclose(gp, ep, rtol=1e-12)
    np.testing.assert_allclose(gn, en, rtol=1e-12)
    # off-grid values (conductance errors, read noise) land between; beyond +-L they clip to the device range
    gp, gn = weight_to_conductance(np.array([0.3, -3.0, 5.0]), IDEAL, mapping, L)
    assert conductance_to_weight(gp[:1], gn[:1], IDEAL, mapping, L)[0] == pytest.approx(0.3)
    assert gp.max() <= IDEAL.g_min + IDEAL.g_range + 1e-18 and min(gp.min(), gn.min()) >= IDEAL.g_min - 1e-18
