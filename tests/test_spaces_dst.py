"""Closed-form checks of Z_N and the DST update (seed 000 eqs. 1-10, 13)."""
import numpy as np
import pytest

from neurosim.core.dst import DSTUpdater, expected_transition
from neurosim.core.spaces import DiscreteSpace


@pytest.mark.parametrize("N", [0, 1, 2, 3, 7])
@pytest.mark.parametrize("L", [1.0, 0.5])
def test_state_values_and_bits(N, L):
    sp = DiscreteSpace(N, L)
    z = sp.states()
    assert len(z) == 2**N + 1
    # eq. 1: z_n = (n / 2^(N-1) - 1) L
    np.testing.assert_allclose(z, [(n / 2 ** (N - 1) - 1) * L for n in range(2**N + 1)])
    assert z[0] == -L and z[-1] == L
    np.testing.assert_allclose(np.diff(z), sp.dz)
    assert sp.bits == N + 1 and 2 ** sp.bits >= sp.n_states > 2 ** (sp.bits - 1)
    np.testing.assert_array_equal(sp.indices(z), np.arange(2**N + 1))


def test_binary_and_ternary_spaces():
    np.testing.assert_allclose(DiscreteSpace(0).states(), [-1, 1])
    np.testing.assert_allclose(DiscreteSpace(1).states(), [-1, 0, 1])
    assert DiscreteSpace(1).zero_index == 1 and DiscreteSpace(0).zero_index is None


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_N_is_rejected(bad):
    with pytest.raises(ValueError, match="N must be an integer >= 0"):
        DiscreteSpace(bad)


@pytest.mark.parametrize("N", [0, 1, 3])
def test_projection_probabilities_sum_to_one_and_are_unbiased(N):
    sp = DiscreteSpace(N, 1.0)
    w = np.random.default_rng(0).uniform(-1, 1, 5000)
    P = sp.projection_probabilities(w)
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)  # eq. 4 for every w
    np.testing.assert_allclose(P @ sp.states(), w, atol=1e-12)  # E[projection] = w
    # sampled projections land on the grid with the same mean
    idx = sp.project(np.full(200_000, 0.3), np.random.default_rng(1))
    assert idx.min() >= 0 and idx.max() <= sp.max_index
    assert abs(sp.values(idx).mean() - 0.3) < 4 * sp.dz / np.sqrt(200_000)


def _apply(N, state, dw, tau="linear", m=3.0, step=0, seed=0):
    sp = DiscreteSpace(N, 1.0)
    up = DSTUpdater(sp, tau=tau, m=m, seed=seed)
    state = state.astype(np.int16).copy()
    before = state.copy()
    values = np.empty(state.shape, np.float32)
    trans = np.empty(state.shape, np.int16)
    changed, dist = up.apply(state, dw.astype(np.float32), values, trans, step)
    return sp, before, state, values, trans, changed, dist


@pytest.mark.parametrize("N", [0, 1, 2, 4])
def test_transitions_never_leave_the_space(N):
    rng = np.random.default_rng(N)
    n = 100_000
    s0 = rng.integers(0, 2**N + 1, n)
    dw = rng.normal(0, 3.0, n)  # large increments hit both boundaries
    sp, before, after, values, trans, changed, dist = _apply(N, s0, dw, tau="tanh")
    assert after.min() >= 0 and after.max() <= 2**N
    np.testing.assert_array_equal(values, sp.values(after, np.float32))
    np.testing.assert_array_equal(trans, after.astype(int) - before)
    assert changed == np.count_nonzero(trans) and dist == np.abs(trans.astype(int)).sum()
    # direction follows the sign of dW
    assert np.all(np.sign(trans) * np.sign(dw) >= 0)


@pytest.mark.parametrize("N,dw_val,start", [(1, 0.3, 1), (1, -0.7, 1), (3, 0.55, 3), (3, -0.4, 4), (2, 1.3, 0)])
def test_mean_transition_equals_closed_form_linear(N, dw_val, start):
    n = 200_000
    s0 = np.full(n, start)
    dw = np.full(n, dw_val)
    sp, before, after, *_ = _apply(N, s0, dw, tau="linear")
    d = after.astype(float) - before
    expect = expected_transition(np.array([dw_val]), np.array([start]), sp, "linear")[0]
    # kappa + sign * |nu|/dz; e.g. N=1, dW=0.3: 0 + 0.3
    r = dw_val / sp.dz
    if 0 <= start + r <= sp.max_index:
        assert expect == pytest.approx(np.trunc(r) + np.sign(r) * abs(r - np.trunc(r)))
    assert d.mean() == pytest.approx(expect, abs=5 * d.std() / np.sqrt(n) + 1e-9)
    # only the two neighbouring outcomes kappa and kappa + sign occur
    assert set(np.unique(d)) <= {np.trunc(expect), np.trunc(expect) + np.sign(dw_val)}


def test_mean_transition_tanh():
    n = 200_000
    sp, before, after, *_ = _apply(1, np.full(n, 1), np.full(n, 0.2), tau="tanh", m=3.0)
    d = after.astype(float) - before
    assert d.mean() == pytest.approx(np.tanh(0.6), abs=0.01)


def test_boundary_clipping():
    # at the top state a positive increment cannot move; a negative one can
    sp, before, after, *_ = _apply(2, np.full(1000, 4), np.full(1000, 5.0))
    assert np.all(after == 4)
    sp, before, after, *_ = _apply(2, np.full(1000, 4), np.full(1000, -5.0))
    assert np.all(after == 0)  # clipped to -L - W: exactly to the bottom


def test_same_seed_same_states_and_resumable_streams():
    rng = np.random.default_rng(3)
    s0 = rng.integers(0, 3, 10_000)
    dw = rng.normal(0, 0.3, 10_000)
    a = _apply(1, s0, dw, tau="tanh", step=5, seed=11)[2]
    b = _apply(1, s0, dw, tau="tanh", step=5, seed=11)[2]
    c = _apply(1, s0, dw, tau="tanh", step=6, seed=11)[2]
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)


def test_bad_tau():
    with pytest.raises(ValueError, match="tau"):
        DSTUpdater(DiscreteSpace(1), tau="cubic")
