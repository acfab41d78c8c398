"""End-to-end training on real data: the digits bar, determinism, exact resume, every method runs."""
import json

import numpy as np
import pytest

from neurosim.core.counting import CountingObserver
from neurosim.core.train import train
from neurosim.pipeline import Overrides, prepare, train_and_report


def _states(net):
    return {k: v.copy() for k, v in net.arrays().items()}


@pytest.mark.slow
def test_gxnor_digits_reaches_bar(tmp_path):
    p = prepare("digits_mlp", Overrides(epochs=20))
    s = train_and_report(p, tmp_path / "run", progress=False)
    assert s["accuracy"]["test"] >= 0.95, s["accuracy"]
    # weights never left the ternary space, stored as integer states
    for layer in p.net.mac_layers:
        assert layer.weights.state.dtype == np.int16
        assert set(np.unique(layer.weights.state)) <= {0, 1, 2}
        np.testing.assert_array_equal(layer.weights.values, layer.weights.state - 1.0)
    # ternary activations rest on real data: resting probability is measured and substantial
    assert 0.2 < s["resting_probability"] < 0.9
    files = {f.name for f in (tmp_path / "run").iterdir()}
    assert {"summary.json", "layers.csv", "model.npz"} <= files
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["accuracy"]["test"] == s["accuracy"]["test"]
    header = (tmp_path / "run" / "layers.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["layer", "name", "kind", "weights", "operand_pairs", "nonzero_pairs", "resting_probability"]
    assert "weight_transitions" in header
    with np.load(tmp_path / "run" / "model.npz", allow_pickle=False) as z:
        assert z["fc1.state"].dtype == np.int16


@pytest.mark.slow
def test_same_seed_identical_states_different_seed_differs():
    a = prepare("digits_mlp", Overrides(epochs=2, seed=3))
    b = prepare("digits_mlp", Overrides(epochs=2, seed=3))
    c = prepare("digits_mlp", Overrides(epochs=2, seed=4))
    for p in (a, b, c):
        train(p.net, p.data, p.cfg, progress=False)
    sa, sb, sc = _states(a.net), _states(b.net), _states(c.net)
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k])
    assert any(not np.array_equal(sa[k], sc[k]) for k in sa)


@pytest.mark.slow
def test_resume_is_exact(tmp_path):
    full = prepare("digits_mlp", Overrides(epochs=3, seed=1))
    obs_full = CountingObserver()
    train(full.net, full.data, full.cfg, observer=obs_full, progress=False)

    class Crash(Exception):
        pass

    def crash_in_epoch_two(rec):
        if rec["epoch"] == 2:  # raised before epoch 2's checkpoint: the file holds epoch 1
            raise Crash

    ck = tmp_path / "ck.npz"
    part = prepare("digits_mlp", Overrides(epochs=3, seed=1))
    with pytest.raises(Crash):
        train(part.net, part.data, part.cfg, observer=CountingObserver(), checkpoint=ck, progress=False,
              log=crash_in_epoch_two)
    assert ck.exists() and not ck.with_name(ck.name + ".tmp").exists()
    resumed = prepare("digits_mlp", Overrides(epochs=3, seed=1))
    obs2 = CountingObserver()
    res = train(resumed.net, resumed.data, resumed.cfg, observer=obs2, checkpoint=ck, resume=True, progress=False)
    assert res.epochs_run == 3 and len(res.history) == 3
    sf, sr = _states(full.net), _states(resumed.net)
    for k in sf:
        np.testing.assert_array_equal(sf[k], sr[k])
    assert obs2.layers == obs_full.layers


@pytest.mark.slow
@pytest.mark.parametrize("method,N", [("fp", None), ("bwn", None), ("twn", None), ("bnn", None), ("dst", 0),
                                      ("dst", 3)])
def test_every_method_trains(method, N):
    p = prepare("digits_mlp", Overrides(method=method, N=N, epochs=3))
    obs = CountingObserver()
    train(p.net, p.data, p.cfg, observer=obs, progress=False)
    acc = p.net.accuracy(p.data.x_test, p.data.y_test)
    assert acc > 0.7, (method, acc)
    if method == "dst":
        for layer in p.net.mac_layers:
            assert layer.weights.state.min() >= 0 and layer.weights.state.max() <= 2**N
            assert layer.weights.stored_bits == N + 1
    if method in ("fp", "bwn"):
        # relu activations and (nearly) dense weights: operands are rarely both zero in the first layer
        assert obs.layers[min(obs.layers)].resting_probability < 0.6


def test_adam_increments_do_not_depend_on_the_numba_thread_count():
    """Each thread's chunk has a vectorized body and a scalar tail; both must round alike (no fastmath)."""
    import numba

    from neurosim.core.optim import _adam_kernel
    from neurosim.core.runtime import ensure_threads

    ensure_threads()
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread only")
    saved = numba.get_num_threads()
    rng = np.random.default_rng(0)
    try:
        for n in (*range(1, 40), 512, 5121):
            g = rng.standard_normal(n).astype(np.float32)
            outs = []
            for threads in (1, 2):
                numba.set_num_threads(threads)
                m, v, out = np.full(n, 0.1, np.float32), np.full(n, 0.01, np.float32), np.empty(n, np.float32)
                _adam_kernel(g, m, v, out, 0.9, 0.999, 1e-3, 1e-8)
                outs.append((out, m, v))
            for a, b in zip(*outs):
                np.testing.assert_array_equal(a, b, err_msg=f"n = {n}")
    finally:
        numba.set_num_threads(saved)
