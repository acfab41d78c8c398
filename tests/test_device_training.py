"""Device-aware DST training: the weights the core trains with behave like memristive devices."""
import dataclasses
import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.core.counting import CountingObserver
from neurosim.core.methods import DSTDeviceWeights, DSTWeights, make_method
from neurosim.core.spaces import DiscreteSpace
from neurosim.core.train import train
from neurosim.devices import STUCK_OFF, STUCK_ON, DeviceError, DeviceParams, DeviceSpec, conductance_to_weight
from neurosim.pipeline import Overrides, prepare


def _spec(N=None, mapping="differential", seed=None, **params):
    """A device spec from device parameters (the tests' shorthand)."""
    return DeviceSpec(DeviceParams(**params), mapping=mapping, N=N, seed=seed)


def _trained(device, epochs=1, seed=0, **kw):
    p = prepare("digits_mlp", Overrides(epochs=epochs, seed=seed, **kw), device=device)
    train(p.net, p.data, p.cfg, progress=False)
    return p


def _pair(shape=(200, 300), N=2, device=DeviceSpec(), seed=0):
    sp = DiscreteSpace(N, 1.0)
    a = DSTWeights(shape, sp, np.random.default_rng(seed), seed=seed, stream=1)
    b = DSTDeviceWeights(shape, sp, np.random.default_rng(seed), device, seed=seed, stream=1)
    return a, b


def _set_states(w, value):
    """Program every weight to one state, write-verified (exact), as a test fixture."""
    w.load({"state": np.full(w.state.shape, value, w.state.dtype)})


def _error(w):
    """Read value minus the stored state's value, per weight."""
    return w.values.astype(np.float64) - w.space.values(w.state)


@pytest.mark.slow
def test_ideal_device_trains_bit_identically_to_plain_dst():
    plain = _trained(None, epochs=2, seed=5)
    dev = _trained(DeviceSpec(), epochs=2, seed=5)
    assert isinstance(dev.net.mac_layers[0].weights, DSTDeviceWeights)
    assert not isinstance(plain.net.mac_layers[0].weights, DSTDeviceWeights)
    for lp, ld in zip(plain.net.mac_layers, dev.net.mac_layers):
        np.testing.assert_array_equal(lp.weights.state, ld.weights.state)
        np.testing.assert_array_equal(lp.weights.values, ld.weights.values)
    x, y = plain.data.x_test, plain.data.y_test
    assert plain.net.accuracy(x, y) == dev.net.accuracy(x, y)
    # and the same holds for N = 3 (dst) on the policy level, step by step, also on a bigger device space
    for spec in (DeviceSpec(), DeviceSpec(N=5)):
        a, b = _pair(N=3, device=spec)
        rng = np.random.default_rng(1)
        for step in range(5):
            dw = rng.normal(0, 0.4, a.state.shape).astype(np.float32)
            assert a.apply(dw, step) == b.apply(dw, step)
            np.testing.assert_array_equal(a.values, b.values)
        assert b.step == a.step


def test_make_method_device_field_and_validation():
    m = make_method("gxnor", device=_spec(variation=0.1))
    assert m.device == _spec(variation=0.1)
    with pytest.raises(ValueError, match="DST weights"):
        make_method("bwn", device=DeviceSpec())
    with pytest.raises(ValueError, match="DeviceSpec"):
        make_method("gxnor", device=DeviceParams())
    with pytest.raises(ValueError, match="N = 1"):  # the devices cannot hold the weights' states
        make_method("dst", N=3, device=DeviceSpec(N=1))
    with pytest.raises(DeviceError, match="write_noise"):
        _spec(write_noise=-1)
    with pytest.raises(DeviceError, match="levels"):
        _spec(levels=1)
    with pytest.raises(DeviceError, match="<= 1"):
        _spec(stuck_on_rate=0.6, stuck_off_rate=0.6)
    with pytest.raises(DeviceError, match="mapping"):
        DeviceSpec(mapping="single")


def test_stuck_devices_pinned_at_configured_rates():
    on, off = 0.03, 0.05
    _, w = _pair(shape=(300, 400), device=_spec(stuck_on_rate=on, stuck_off_rate=off, write_noise=0.5))
    d, p = w.devices, w.device.params
    codes = d.stuck_codes  # per device: [0] G+, [1] G-, drawn independently
    n = codes.size
    for rate, code in ((on, STUCK_ON), (off, STUCK_OFF)):
        k = int(np.count_nonzero(codes == code))
        sd = np.sqrt(n * rate * (1 - rate))
        assert abs(k - n * rate) < 5 * sd, (k, n * rate)
    son, soff = codes == STUCK_ON, codes == STUCK_OFF
    any_stuck = (son | soff).any(axis=0)
    rng = np.random.default_rng(2)
    moved = np.zeros(w.state.shape, bool)
    for step in range(20):
        w.apply(rng.normal(0, 0.5, w.state.shape).astype(np.float32), step)
        moved |= w.transitions != 0
        g = np.stack(d.conductances())
        assert np.all(g[son] == p.g_max) and np.all(g[soff] == p.g_min)  # whatever the state does
        # a stuck-on G+ with its G- at G_min reads +L, a stuck-on G- with its G+ at G_min reads -L
        gp_min, gn_min = g[0] == p.g_min, g[1] == p.g_min
        np.testing.assert_array_equal(w.values[son[0] & gn_min & ~soff[1]], np.float32(1.0))
        np.testing.assert_array_equal(w.values[son[1] & gp_min & ~soff[0]], np.float32(-1.0))
    assert moved[any_stuck].any()  # the open-loop driver keeps pulsing stuck devices (pulses are priced)
    # every weight reads its devices (variation-free, noise-free here)
    np.testing.assert_array_equal(w.values, conductance_to_weight(*d.read(False), p).astype(np.float32))


def test_write_noise_sigma_matches_closed_form():
    wn, pps = 0.3, 4
    _, w = _pair(shape=(400, 500), N=2, device=_spec(write_noise=wn, pulses_per_state=pps))
    _set_states(w, 2)  # the middle state: both devices at G_min
    dz = w.space.dz
    dw = np.zeros(w.state.shape, np.float32)
    dw[:200] = dz  # exactly one state up (no stochastic remainder): G+ one level up
    dw[200:] = -dz  # one state down: G- one level up
    w.apply(dw, 0)
    assert np.all(np.abs(w.transitions) == 1)
    e = _error(w).ravel()
    sigma = wn * (dz / pps) * np.sqrt(1 * pps)  # write_noise x one pulse's step x sqrt(pulses)
    assert abs(e.mean()) < 5 * sigma / np.sqrt(e.size)
    assert abs(e.std() / sigma - 1) < 0.02
    # a two-state move (N = 3, from the middle state) pays sqrt(2) more
    _, w2 = _pair(shape=(400, 500), N=3, device=_spec(write_noise=wn, pulses_per_state=pps))
    _set_states(w2, 4)
    dz2 = w2.space.dz
    w2.apply(np.where(np.arange(w2.state.size).reshape(w2.state.shape) % 2 == 0, 2 * dz2, -2 * dz2)
             .astype(np.float32), 0)
    assert np.all(np.abs(w2.transitions) == 2)
    sigma2 = wn * (dz2 / pps) * np.sqrt(2 * pps)
    assert abs(_error(w2).std() / sigma2 - 1) < 0.02
    # and accumulates over transitions (a random walk): back down one state each
    w2.apply(np.where(w2.transitions > 0, -dz2, dz2).astype(np.float32), 1)
    assert np.all(np.abs(w2.transitions) == 1)
    assert abs(_error(w2).std() / (wn * (dz2 / pps) * np.sqrt(3 * pps)) - 1) < 0.02


def test_write_noise_counts_device_steps_on_a_finer_device_space():
    # N = 2 weights on N = 3 devices: one workload state is 2^(3-2) = 2 device steps, so 2 x pps pulses
    wn, pps = 0.3, 2
    _, w = _pair(shape=(400, 500), N=2, device=_spec(N=3, write_noise=wn, pulses_per_state=pps))
    assert w.scale == 2 and w.devices.N == 3
    _set_states(w, 2)  # w = 0: both devices at G_min
    w.apply(np.where(np.arange(w.state.size).reshape(w.state.shape) % 2 == 0, 0.5, -0.5).astype(np.float32), 0)
    assert np.all(np.abs(w.transitions) == 1)  # one workload state (dz = 0.5), no remainder
    S = 4  # device steps per device (differential N = 3)
    sigma = wn * (1.0 / (S * pps)) * np.sqrt(2 * pps)  # weight units: one pulse's step x sqrt(2 x pps pulses)
    e = _error(w)
    assert abs(e.std() / sigma - 1) < 0.02 and abs(e.mean()) < 5 * sigma / np.sqrt(e.size)
    assert w.devices.pulse_count == 2 * pps * w.state.size


def test_read_noise_changes_values_not_states():
    rn = 0.05
    a, b = _pair(device=_spec(read_noise=rn))
    np.testing.assert_array_equal(a.state, b.state)
    assert not np.array_equal(a.values, b.values)
    rng = np.random.default_rng(3)
    dw = rng.normal(0, 0.4, a.state.shape).astype(np.float32)
    before = b.values.copy()
    a.apply(dw, 0)
    b.apply(dw, 0)
    np.testing.assert_array_equal(a.state, b.state)  # the same DST moves: read noise never reaches the states
    # per device: w = (G+ (1 + rn z+) - G- (1 + rn z-)) / unit, so sigma_w = rn sqrt(G+^2 + G-^2) / unit
    gp, gn = b.devices.conductances()
    p = b.device.params
    sigma = rn * np.sqrt(gp ** 2 + gn ** 2) / p.g_range
    z = (b.values - a.values) / sigma
    assert abs(z.std() - 1) < 0.02 and abs(z.mean()) < 0.02
    # a fresh read per update step
    b.apply(np.zeros_like(dw), 1)
    assert not np.array_equal(b.values, before)
    assert b.devices.reads == 3  # the initial read and one per update


def test_every_forward_pass_takes_a_fresh_read():
    p = prepare("digits_mlp", Overrides(epochs=1, seed=2), device=_spec(read_noise=0.05))
    x = p.data.x_test[:50]
    w = p.net.mac_layers[0].weights
    r0 = w.devices.reads
    s1 = p.net.forward(x, train=False)
    v1 = w.values.copy()
    s2 = p.net.forward(x, train=False)
    assert w.devices.reads == r0 + 2  # one read per pass
    assert not np.array_equal(v1, w.values) and not np.array_equal(s1, s2)
    # the draws are counter-based: a twin network replays the same reads exactly
    q = prepare("digits_mlp", Overrides(epochs=1, seed=2), device=_spec(read_noise=0.05))
    q.net.forward(x, train=False)
    np.testing.assert_array_equal(q.net.forward(x, train=False), s2)
    # without read noise a pass reads nothing new
    z = prepare("digits_mlp", Overrides(epochs=1, seed=2), device=_spec(write_noise=0.5))
    wz = z.net.mac_layers[0].weights
    before = (wz.devices.reads, wz.values.copy())
    z.net.forward(x, train=False)
    assert wz.devices.reads == before[0]
    np.testing.assert_array_equal(wz.values, before[1])


def test_levels_and_nonlinearity_land_off_state():
    _, w = _pair(N=3, device=_spec(nonlinearity=3.0))
    rng = np.random.default_rng(4)
    for step in range(3):
        w.apply(rng.normal(0, 0.5, w.state.shape).astype(np.float32), step)
    assert np.abs(_error(w)).max() > 0.05  # open-loop trains on a nonlinear device miss the target
    assert np.all(np.abs(w.values) <= 1.0 + 1e-6)
    _, w = _pair(N=3, device=_spec(levels=2, write_noise=0.2))  # 2 levels per device: -L, 0, +L
    for step in range(3):
        w.apply(rng.normal(0, 0.5, w.state.shape).astype(np.float32), step)
    assert set(np.unique(np.round(w.values, 6))) <= {-1.0, 0.0, 1.0}


@pytest.mark.slow
def test_accuracy_falls_with_write_noise_and_stuck_rate():
    def mean_acc(dev):
        accs = []
        for seed in (0, 1, 2):
            p = _trained(dev, epochs=2, seed=seed)
            accs.append(p.net.accuracy(p.data.x_test, p.data.y_test))
        return float(np.mean(accs))

    ideal = mean_acc(DeviceSpec())
    wn = [mean_acc(_spec(write_noise=v)) for v in (1.0, 4.0)]
    # faults are per device: a stuck-off idle device (at G_min anyway) changes nothing, so per-device rates
    # bite later than the per-weight rates of a weight-level model
    st = [mean_acc(_spec(stuck_on_rate=r, stuck_off_rate=r)) for r in (0.35, 0.45)]
    assert ideal > wn[0] > wn[1], (ideal, wn)
    assert ideal > st[0] > st[1], (ideal, st)


@pytest.mark.slow
def test_seeded_reproducibility_and_exact_resume(tmp_path):
    dev = _spec(write_noise=0.5, variation=0.05, stuck_on_rate=0.01, stuck_off_rate=0.01, read_noise=0.02,
                levels=9, nonlinearity=1.0)
    a = _trained(dev, epochs=2, seed=2)
    b = _trained(dev, epochs=2, seed=2)
    c = _trained(dataclasses.replace(dev, seed=7), epochs=2, seed=2)  # another chip, same run seed
    sa, sb, sc = a.net.arrays(), b.net.arrays(), c.net.arrays()
    assert "fc1.device_gain" in sa and "fc1.device_g" in sa and "fc1.device_stuck" in sa
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k])
    assert not np.array_equal(sa["fc1.device_gain"], sc["fc1.device_gain"])

    full = prepare("digits_mlp", Overrides(epochs=3, seed=1), device=dev)
    obs_full = CountingObserver()
    train(full.net, full.data, full.cfg, observer=obs_full, progress=False)

    class Crash(Exception):
        pass

    def crash(rec):
        if rec["epoch"] == 2:
            raise Crash

    ck = tmp_path / "ck.npz"
    part = prepare("digits_mlp", Overrides(epochs=3, seed=1), device=dev)
    with pytest.raises(Crash):
        train(part.net, part.data, part.cfg, observer=CountingObserver(), checkpoint=ck, progress=False, log=crash)
    resumed = prepare("digits_mlp", Overrides(epochs=3, seed=1), device=dev)
    obs2 = CountingObserver()
    train(resumed.net, resumed.data, resumed.cfg, observer=obs2, checkpoint=ck, resume=True, progress=False)
    sf, sr = full.net.arrays(), resumed.net.arrays()
    for k in sf:
        np.testing.assert_array_equal(sf[k], sr[k])
    for lf, lr in zip(full.net.mac_layers, resumed.net.mac_layers):
        np.testing.assert_array_equal(lf.weights.values, lr.weights.values)
    assert obs2.layers == obs_full.layers


@pytest.mark.slow
def test_ideal_model_loads_onto_device_chip():
    ideal = _trained(None, epochs=1, seed=0)
    chip = prepare("digits_mlp", Overrides(epochs=1, seed=0), device=_spec(stuck_on_rate=0.1, levels=2))
    w = chip.net.mac_layers[0].weights
    d, p = w.devices, w.device.params
    stuck, gain = d.stuck_codes, d.gain.copy()
    pulses = d.pulse_count
    model = ideal.net.mac_layers[0].weights.state
    w.load({"state": model})  # no device arrays: the chip keeps its own devices
    np.testing.assert_array_equal(d.stuck_codes, stuck)
    np.testing.assert_array_equal(d.gain, gain)
    np.testing.assert_array_equal(w.state, model)
    np.testing.assert_array_equal(d.states, model.astype(np.int32))
    assert d.pulse_count == pulses  # programmed write-verified: no pulse trains
    g = np.stack(d.conductances())
    assert np.all(g[stuck == STUCK_ON] == p.g_max)
    free = (stuck == 0).all(axis=0)  # both devices free: the model's state exactly (2 levels hold ternary)
    np.testing.assert_array_equal(w.values[free], ideal.net.mac_layers[0].weights.values[free])
    saved = {k: a.copy() for k, a in w.arrays().items()}
    w.load(saved)  # a device model's own arrays restore exactly
    for k, a in w.arrays().items():
        np.testing.assert_array_equal(a, saved[k])
    # arrays of this chip that hold other states than the model's (what the CLI fills in) are reprogrammed
    other = {**saved, "state": np.where(model == 0, 2, model).astype(model.dtype)}
    w.load(other)
    np.testing.assert_array_equal(d.states, other["state"].astype(np.int32))


@pytest.mark.slow
def test_cli_run_crossbar_devices_vs_ideal(tmp_path, capsys):
    args = ["run", "--arch", "crossbar_dst", "--epochs", "1", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "dev")]) == 0
    assert main(args + ["--ideal-devices", "--out", str(tmp_path / "ideal")]) == 0
    sd = json.loads((tmp_path / "dev" / "summary.json").read_text())
    si = json.loads((tmp_path / "ideal" / "summary.json").read_text())
    assert sd["accuracy"] != si["accuracy"]
    # the summary says which devices trained: the crossbar's device, mapping and N
    assert si["device"] is None and sd["device"]["params"]["stuck_on_rate"] > 0
    assert sd["device"]["mapping"] == "differential" and sd["device"]["N"] == 3
    with np.load(tmp_path / "dev" / "model.npz") as z:
        assert "fc1.device_stuck" in z.files and np.count_nonzero(z["fc1.device_stuck"]) > 0
    with np.load(tmp_path / "ideal" / "model.npz") as z:
        assert "fc1.device_stuck" not in z.files
    # an ideal-device model evaluated on the crossbar's devices, and on ideal ones
    ev = ["run", "--arch", "crossbar_dst", "--quiet", "--eval", str(tmp_path / "ideal" / "model.npz")]
    assert main(ev + ["--out", str(tmp_path / "ev_dev")]) == 0
    assert main(ev + ["--ideal-devices", "--out", str(tmp_path / "ev_ideal")]) == 0
    ed = json.loads((tmp_path / "ev_dev" / "summary.json").read_text())["accuracy"]["test"]
    ei = json.loads((tmp_path / "ev_ideal" / "summary.json").read_text())["accuracy"]["test"]
    assert ei == si["accuracy"]["test"] and ed != ei
