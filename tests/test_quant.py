"""Activation discretizers and backward windows against their definitions (seed 001 eqs. 5, 7, 8, 22)."""
import numpy as np
import pytest

from neurosim.core.quant import Activation

X = np.array([-2.0, -1.2, -1.0, -0.7, -0.5, -0.3, 0.0, 0.3, 0.5, 0.51, 0.9, 1.0, 1.5, 3.0], np.float32)


def test_ternary_forward_eq5():
    act = Activation("ternary", r=0.5)
    y = act.forward(X)
    expect = np.where(X > 0.5, 1, np.where(X < -0.5, -1, 0))
    np.testing.assert_array_equal(y, expect)
    assert act.step == 1.0 and act.bits == 2 and act.discrete


def test_rect_window_eq7():
    act = Activation("ternary", r=0.5, a=0.25, window="rect")
    g = act.backward(X, np.ones_like(X))
    expect = np.where((np.abs(X - 0.5) <= 0.25) | (np.abs(X + 0.5) <= 0.25), 1 / (2 * 0.25), 0)
    np.testing.assert_allclose(g, expect)


def test_tri_window_eq8():
    r, a = 0.5, 0.5
    act = Activation("ternary", r=r, a=a, window="tri")
    x = np.linspace(-2, 2, 401).astype(np.float64)
    g = act.backward(x, np.ones_like(x))

    def tri(u):  # eq. 8 around +r, mirrored at -r
        return np.where((u >= r) & (u <= r + a), -(u - (r + a)) / a**2,
                        np.where((u >= r - a) & (u < r), (u - (r - a)) / a**2, 0.0))

    np.testing.assert_allclose(g, tri(x) + tri(-x), atol=1e-12)
    # each window has unit area (the jump of the staircase is 1)
    assert np.trapezoid(g, x) == pytest.approx(2.0, rel=1e-3)


def test_multilevel_eq22():
    N2, r, H = 3, 0.2, 1.0
    act = Activation("multilevel", N2=N2, r=r, H=H)
    levels = 2 ** (N2 - 1)
    x = np.linspace(-1.5, 1.5, 3001)
    y = act.forward(x)
    s = (H - r) / levels
    for xi, yi in zip(x, y):
        if abs(xi) <= r:
            assert yi == 0
        else:
            w = min(levels, int(np.ceil((abs(xi) - r) / s)))
            assert yi == pytest.approx(np.sign(xi) * w / levels)
    assert set(np.round(np.unique(y) * levels).astype(int)) == set(range(-levels, levels + 1))
    assert act.bits == N2 + 1
    # N2 = 1 is the ternary activation
    np.testing.assert_array_equal(Activation("multilevel", N2=1, r=0.5).forward(X), Activation("ternary").forward(X))


def test_sign_and_tanh_window_seed003():
    act = Activation("sign", r=0.0, a=1.0, window="tanh")
    np.testing.assert_array_equal(act.forward(X), np.where(X >= 0, 1, -1))
    g = act.backward(X.astype(np.float64), np.ones(len(X)))
    np.testing.assert_allclose(g, 1 - np.tanh(X.astype(np.float64)) ** 2, rtol=1e-12)


def test_relu_and_bad_config():
    act = Activation("relu")
    np.testing.assert_array_equal(act.forward(X), np.maximum(X, 0))
    np.testing.assert_array_equal(act.backward(X, np.ones_like(X)), (X > 0).astype(np.float32))
    with pytest.raises(ValueError, match="activation must be one of"):
        Activation("softsign")
    with pytest.raises(ValueError, match="window"):
        Activation("ternary", window="gauss")
