"""Crossbar model (neurosim.hw.crossbar) against closed forms: Ohm + Kirchhoff, readouts, writes, copy pair."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurosim.hw.crossbar import (
    ActionCounts, Crossbar, CrossbarError, CrossbarParams, TrainingCrossbarPair, adc_quantize, analog_subtract,
    filter_unit, sample_binary_inputs, sign_unit, write_cycles,
)
from neurosim.devices import DeviceParams

NOISY = DeviceParams(variation=0.05, write_noise=0.1, nonlinearity=1.0, stuck_on_rate=0.01, stuck_off_rate=0.01)


def _states(rng: np.random.Generator, shape: tuple[int, int], N: int) -> np.ndarray:
    return rng.integers(0, 2 ** N + 1, shape)


# ---------------------------------------------------------------- Ohm's law + Kirchhoff

@pytest.mark.parametrize("mapping", ["differential", "reference"])
@pytest.mark.parametrize("driver", ["binary", "ternary", "analog"])
def test_column_currents_equal_dense_matmul_across_tiles(mapping: str, driver: str) -> None:
    rng = np.random.default_rng(0)
    n_in, n_out = 37, 23  # 8 x 5 tiles -> 5 x 5 tiles, ragged edges
    xb = Crossbar(n_in, n_out, 3, CrossbarParams(rows=8, cols=5, input_driver=driver),
                  DeviceParams(variation=0.1, stuck_on_rate=0.02), mapping, rng=1,
                  states=_states(rng, (n_in, n_out), 3))
    assert (xb.row_tiles, xb.col_tiles) == (5, 5)
    x = {"binary": rng.choice([-1.0, 1.0], (6, n_in)), "ternary": rng.integers(-1, 2, (6, n_in)).astype(float),
         "analog": rng.uniform(-1, 1, (6, n_in))}[driver]
    v = x * xb.device.v_read
    gp, gn = xb.devices.read(noise=False)
    ip, ineg = xb.column_currents(x)
    np.testing.assert_allclose(ip, v @ gp, rtol=1e-12)
    np.testing.assert_allclose(ineg, v @ gn, rtol=1e-12)
    np.testing.assert_allclose(ip - ineg, v @ (gp - gn), rtol=1e-9, atol=1e-18)
    # a single vector gives the single row
    np.testing.assert_allclose(xb.column_currents(x[0])[0], ip[0], rtol=1e-12)


def test_bit_serial_planes_add_up_to_the_quantized_input() -> None:
    rng = np.random.default_rng(1)
    xb = Crossbar(20, 9, 2, CrossbarParams(rows=6, cols=4, input_driver="bit_serial", input_bits=5), rng=0,
                  states=_states(rng, (20, 9), 2))
    x = rng.uniform(-1, 1, (4, 20))
    volts, pw = xb.encode(x)
    assert volts.shape == (5, 4, 20)
    xq = np.sign(x) * np.rint(np.abs(x) * 31) / 31
    np.testing.assert_allclose(np.einsum("p,pbi->bi", pw, volts), xq * xb.device.v_read, atol=1e-15)
    ip, ineg = xb.column_currents(x)
    gp, gn = xb.devices.read()
    np.testing.assert_allclose(ip - ineg, xq * xb.device.v_read @ (gp - gn), rtol=1e-9, atol=1e-18)


# ---------------------------------------------------------------- readouts

@pytest.mark.parametrize("driver", ["binary", "bit_serial"])
def test_comparator_gives_sign_of_the_ideal_product(driver: str) -> None:
    rng = np.random.default_rng(2)
    n_in, n_out, N = 65, 30, 3  # weights are multiples of 1/4: a nonzero product is at least 1/4 from 0
    xb = Crossbar(n_in, n_out, N, CrossbarParams(rows=16, cols=8, input_driver=driver, input_bits=2), rng=3,
                  states=_states(rng, (n_in, n_out), N))
    x = rng.choice([-1.0, 1.0], (40, n_in))
    y = xb.mvm(x)
    ideal = x @ xb.weights
    assert y.dtype == np.int8 and set(np.unique(y)) <= {-1, 1}
    nz = np.abs(ideal) > 1e-9
    np.testing.assert_array_equal(y[nz], np.sign(ideal[nz]))
    c = xb.counts
    planes = 2 if driver == "bit_serial" else 1
    assert c.comparator_decisions == 40 * n_out and c.conversions == 0
    assert c.integrations == planes * 40 * xb.row_tiles * n_out
    assert c.array_reads == planes * 40 * xb.n_tiles


def test_adc_quantization_error_is_within_half_an_lsb() -> None:
    rng = np.random.default_rng(3)
    for bits in (1, 3, 8):
        fs = 2.5e-4
        i = rng.uniform(-fs, fs, 10_000)
        lsb = 2 * fs / (2 ** bits - 1)
        q = adc_quantize(i, bits, fs)
        assert np.abs(q - i).max() <= lsb / 2 * (1 + 1e-9)
        assert len(np.unique(q)) <= 2 ** bits
    assert adc_quantize([10.0, -10.0], 4, 1.0).tolist() == [1.0, -1.0]  # saturates
    with pytest.raises(CrossbarError, match="adc_bits"):
        adc_quantize([0.0], 0, 1.0)


def test_adc_readout_error_and_conversions_with_sharing() -> None:
    rng = np.random.default_rng(4)
    n_in, n_out, B = 20, 10, 3
    params = CrossbarParams(rows=8, cols=4, readout="adc", adc_bits=6, adc_share=2)
    xb = Crossbar(n_in, n_out, 2, params, rng=0, states=_states(rng, (n_in, n_out), 2))
    x = rng.choice([-1.0, 1.0], (B, n_in))
    y = xb.mvm(x)
    # each of the 3 row tiles adds at most half an LSB (in weight units: FS = rows x L, LSB = 2 FS / 63)
    lsb_w = 2 * 8 / 63
    assert np.abs(y - x @ xb.weights).max() <= 3 * lsb_w / 2 + 1e-9
    c = xb.counts
    assert params.adcs_per_tile == 2
    assert c.conversions == B * 3 * n_out  # every tile column of every row tile, per input
    assert c.conversion_cycles == B * 2  # ceil(4 used columns / 2 ADCs) per input, tiles in parallel
    assert c.partial_sum_adds == B * n_out * (3 - 1)
    # bit serial: every plane is converted
    xs = Crossbar(n_in, n_out, 2, CrossbarParams(rows=8, cols=4, readout="adc", adc_share=4,
                                                 input_driver="bit_serial", input_bits=4), rng=0)
    xs.mvm(rng.uniform(-1, 1, (B, n_in)))
    assert xs.counts.conversions == 4 * B * 3 * n_out and xs.counts.conversion_cycles == 4 * B * 4


def test_ideal_high_resolution_adc_reproduces_the_product() -> None:
    rng = np.random.default_rng(5)
    xb = Crossbar(50, 12, 4, CrossbarParams(rows=16, cols=5, readout="adc", adc_bits=16, adc_share=5,
                                            input_driver="analog"), rng=0, states=_states(rng, (50, 12), 4))
    x = rng.uniform(-1, 1, (7, 50))
    np.testing.assert_allclose(xb.mvm(x), x @ xb.weights, atol=4 * 16 / 65535)


def test_read_counters_and_energy_by_hand() -> None:
    # one weight +1 (G+ = G_max, G- = G_min) read with x = +1: E = V^2 (G_max + G_min) t_read
    p = DeviceParams()
    xb = Crossbar(1, 1, 1, rng=0, states=[[2]])
    xb.mvm(np.array([1.0]))
    assert xb.counts.read_energy_pj == pytest.approx(0.15 ** 2 * (1e-4 + 1e-6) * 3.16e-9 * 1e12)
    assert xb.counts.cell_reads == 2 and xb.counts.row_drives == 1 and p.v_read == 0.15
    # ternary zeros are not driven
    xt = Crossbar(6, 4, 1, CrossbarParams(rows=3, cols=2, input_driver="ternary"), rng=0)
    xt.mvm(np.array([[1.0, 0, 0, -1, 0, 1]]))
    assert xt.counts.row_drives == 3 * xt.col_tiles


# ---------------------------------------------------------------- writes

def test_write_cycles_by_hand() -> None:
    # one 2 x 2 tile; signed pulses (G+, G-): row 0 has SET 3 and RESET 1, row 1 has SET 2
    kp = np.array([[3, -1], [0, 2]])
    kn = np.array([[0, 0], [1, 0]])
    assert write_cycles(kp, kn, 2, 2, "row") == (3 + 1) + (2 + 0)
    assert write_cycles(kp, kn, 2, 2, "column_parallel") == 3 + 1
    # two row tiles of one row each write in parallel: max(4, 2)
    assert write_cycles(kp, kn, 1, 2, "row") == 4
    assert write_cycles(np.zeros((3, 3)), np.zeros((3, 3)), 2, 2, "row") == 0


def test_crossbar_writes_count_pulses_cycles_and_energy() -> None:
    rng = np.random.default_rng(6)
    dev = DeviceParams(pulses_per_state=2, pulse_energy_pj=0.5)
    xb = Crossbar(10, 6, 3, CrossbarParams(rows=4, cols=3, write_mode="row"), dev, rng=0,
                  states=_states(rng, (10, 6), 3))
    s0 = xb.states
    s1 = _states(rng, (10, 6), 3)
    st = xb.program(s1)
    dist = int(np.abs(s1 - s0).sum())
    assert st.pulses == 2 * dist and st.energy_pj == pytest.approx(dist)
    assert xb.counts.write_pulses == st.pulses and xb.counts.write_energy_pj == pytest.approx(dist)
    assert st.write_cycles > 0 and st.time_s == pytest.approx(st.write_cycles * 10e-9)
    np.testing.assert_array_equal(xb.states, s1)
    with pytest.raises(CrossbarError, match="states"):
        xb.program(np.full((10, 6), 9))


# ---------------------------------------------------------------- the training pair (seed 004)

def test_copy_crossbar_stays_the_transpose_under_random_updates() -> None:
    rng = np.random.default_rng(7)
    n_in, n_out, N = 23, 9, 3
    pair = TrainingCrossbarPair(n_in, n_out, N, CrossbarParams(rows=8, cols=4), NOISY, seed=1,
                                states=_states(rng, (n_in, n_out), N))
    assert pair.consistent() and pair.copy.shape == (n_out, n_in)
    for k in range(25):
        op = k % 3
        if op == 0:
            pair.step(rng.integers(-3, 4, (n_in, n_out)))
        elif op == 1:
            pair.sign_update(rng.random((4, n_in)), rng.standard_normal((4, n_out)), rng.integers(0, 3, n_out))
        else:
            pair.program(_states(rng, (n_in, n_out), N))
        assert pair.consistent()
        np.testing.assert_array_equal(pair.copy.weights, pair.normal.weights.T)
    # independent devices: same stored weights, different faults
    assert not np.array_equal(pair.copy.devices.stuck[0], pair.normal.devices.stuck[0].T)
    t = pair.total_counts()
    assert t.write_pulses == pair.normal.counts.write_pulses + pair.copy.counts.write_pulses
    assert pair.normal.counts.write_pulses == pair.copy.counts.write_pulses  # same moves, same pulses


def test_sign_update_and_error_units() -> None:
    pair = TrainingCrossbarPair(3, 2, 2, CrossbarParams(rows=2, cols=2, readout="adc", adc_bits=16,
                                                        adc_share=1, input_driver="analog"), seed=0)
    x = np.array([1.0, 0.0, 0.6])
    delta = np.array([0.3, -0.2])
    st = pair.sign_update(x, delta, rate=np.array([2, 1]))
    # steps = rint(x_i sign(delta_j) rate_j): [[2, -1], [0, 0], [1, -1]] from the middle state 2
    np.testing.assert_array_equal(pair.normal.states, [[4, 1], [2, 2], [3, 1]])
    assert st.pulses == 2 * 5 and pair.counts.sign_ops == 2
    e = pair.output_error([1.0, 0.0], [0.25, 0.5])
    np.testing.assert_allclose(e, [0.75, -0.5])
    assert pair.counts.subtractor_ops == 2
    o_in = np.array([0.05, 0.5, 0.97])
    back = pair.input_error(o_in, e, eps=0.1, mode="printed")
    np.testing.assert_allclose(back, np.array([1, 0, 1]) * (e @ pair.normal.weights.T), atol=1e-3)
    back = pair.input_error(o_in, e, eps=0.1, mode="derivative")
    np.testing.assert_allclose(back, np.array([0, 1, 0]) * (e @ pair.normal.weights.T), atol=1e-3)
    assert pair.counts.filter_ops == 6


def test_periphery_functions() -> None:
    c = ActionCounts()
    o = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    assert filter_unit(o, 0.1, "printed", c).tolist() == [1, 1, 0, 1, 1]
    assert filter_unit(o, 0.1, "derivative", c).tolist() == [0, 0, 1, 0, 0]
    assert sign_unit([-0.3, 0.0, 2.0], c).tolist() == [-1, 0, 1]
    assert analog_subtract([1, 1], [0.5, 2], c).tolist() == [0.5, -1.0]
    assert (c.filter_ops, c.sign_ops, c.subtractor_ops) == (10, 3, 2)
    assert (c + c).filter_ops == 20
    c.reset()
    assert c.as_dict()["filter_ops"] == 0
    with pytest.raises(CrossbarError, match="filter mode"):
        filter_unit(o, 0.1, "sigmoid")


def test_stochastic_multi_sampling() -> None:
    x = np.array([-1.0, -0.5, 0.0, 0.8, 1.0])
    s = sample_binary_inputs(x, 20_000, rng=3)
    assert s.shape == (20_000, 5) and set(np.unique(s)) == {-1, 1}
    sigma = np.sqrt((1 - x ** 2) / 20_000)
    assert np.all(np.abs(s.mean(axis=0) - x) <= 5 * sigma + 1e-12)
    np.testing.assert_array_equal(s, sample_binary_inputs(x, 20_000, rng=3))
    with pytest.raises(CrossbarError, match="x"):
        sample_binary_inputs([1.5], 4)


# ---------------------------------------------------------------- seeds and errors

def test_seeded_randomness_gives_identical_results() -> None:
    dev = NOISY.replace(read_noise=0.02)
    rng = np.random.default_rng(8)
    s0 = _states(rng, (30, 12), 3)
    x = rng.choice([-1.0, 1.0], (5, 30))
    steps = rng.integers(-2, 3, (4, 30, 12))

    def run(seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
        params = CrossbarParams(rows=8, cols=5, readout="adc", adc_share=5)
        back = CrossbarParams(rows=8, cols=5, input_driver="analog")  # the copy reads analog errors
        pair = TrainingCrossbarPair(30, 12, 3, params, dev, seed=seed, states=s0, copy_params=back)
        for d in steps:
            pair.step(d)
        return pair.forward(x), pair.backward(pair.forward(x).astype(float) / 20), pair.total_counts().as_dict()

    a, b, c = run(4), run(4), run(5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("changes, name", [
    (dict(rows=0), "rows"), (dict(cols=0), "cols"), (dict(rows=2.5), "rows"),
    (dict(input_driver="pwm"), "input_driver"), (dict(input_bits=0), "input_bits"),
    (dict(readout="sense_amp"), "readout"), (dict(adc_bits=0), "adc_bits"),
    (dict(cols=4, adc_share=8, readout="adc"), "adc_share"), (dict(adc_share=0), "adc_share"),
    (dict(adc_full_scale=0.0), "adc_full_scale"), (dict(adc_full_scale=float("nan")), "adc_full_scale"),
    (dict(write_mode="cell"), "write_mode"),
])
def test_bad_crossbar_parameters_name_the_key(changes: dict, name: str) -> None:
    with pytest.raises(CrossbarError, match=name) as e:
        CrossbarParams(**changes)
    assert isinstance(e.value, ValueError) and ("allowed" in str(e.value) or "must" in str(e.value))


def test_bad_operands() -> None:
    xb = Crossbar(4, 3, 1, CrossbarParams(rows=2, cols=2), rng=0)
    with pytest.raises(CrossbarError, match="shape"):
        xb.mvm(np.ones(5))
    with pytest.raises(CrossbarError, match="binary"):
        xb.mvm(np.array([1.0, 0.0, -1.0, 1.0]))
    with pytest.raises(CrossbarError, match="in_features"):
        Crossbar(0, 3, 1)
    with pytest.raises(CrossbarError, match="mapping"):
        Crossbar(2, 2, 1, mapping="single")
    with pytest.raises(CrossbarError, match="rate"):
        TrainingCrossbarPair(2, 2, 1).sign_update([1, 1], [1, -1], rate=[1, 2, 3])
    assert math.isfinite(xb.full_scale)
