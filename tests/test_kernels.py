"""Tests of the layer kernels (neurosim.core.kernels): gradients against central finite differences in
float64, forwards against naive independent references, dtypes, layouts and buffers."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim.core import kernels as K

RTOL = 1e-5


# ----------------------------------------------------------------------------------------------- helpers
def numgrad(f, a, h=1e-6):
    """Central finite-difference gradient of the scalar ``f()`` wrt ``a`` (modified in place, restored)."""
    g = np.zeros_like(a)
    flat, gflat = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return g


def assert_grad(analytic, numeric, rtol=RTOL):
    scale = max(1.0, float(np.abs(numeric).max()))
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=rtol * 1e-2 * scale)


def conv_ref(x, w, stride, padding):
    """Independent float64 reference: explicit patches and einsum over (kh, kw, C)."""
    kh, kw, C, F = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    B, Hp, Wp, _ = xp.shape
    OH = (Hp - kh) // stride + 1
    OW = (Wp - kw) // stride + 1
    y = np.zeros((B, OH, OW, F))
    for oh in range(OH):
        for ow in range(OW):
            patch = xp[:, oh * stride:oh * stride + kh, ow * stride:ow * stride + kw, :]
            y[:, oh, ow, :] = np.einsum("bijc,ijcf->bf", patch, w.astype(np.float64))
    return y


def unique_input(rng, shape):
    """Values with pairwise gaps >= 1e-3, so that the maxima are unique and stable under a 1e-6 nudge."""
    n = int(np.prod(shape))
    v = rng.permutation(n).astype(np.float64) * 1e-2 + rng.uniform(0, 1e-3, n)
    return (v - v.mean()).reshape(shape)


# ------------------------------------------------------------------------------------------------- dense
def test_dense_forward_backward_fd():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5))
    w = rng.standard_normal((5, 3))
    np.testing.assert_allclose(K.dense_forward(x, w), x @ w, rtol=1e-12)
    r = rng.standard_normal((4, 3))
    dx, dw = K.dense_backward(x, w, r)
    loss = lambda: float(np.sum(r * K.dense_forward(x, w)))  # noqa: E731
    assert_grad(dx, numgrad(loss, x))
    assert_grad(dw, numgrad(loss, w))
    dx2, dw2 = K.dense_backward(x, w, r, need_dx=False)
    assert dx2 is None
    np.testing.assert_array_equal(dw2, dw)


# -------------------------------------------------------------------------------------------------- conv
CONV_CASES = [  # (B, H, W, C, kh, kw, F, stride, padding)
    (2, 6, 5, 3, 3, 3, 4, 1, 0),
    (2, 6, 5, 3, 3, 3, 4, 1, 1),
    (2, 7, 6, 2, 3, 2, 3, 2, 0),
    (2, 7, 6, 2, 3, 3, 3, 2, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_matches_reference(case):
    B, H, W, C, kh, kw, F, s, p = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal((B, H, W, C))
    w = rng.standard_normal((kh, kw, C, F))
    y, cols = K.conv2d_forward(x, w, stride=s, padding=p)
    ref = conv_ref(x, w, s, p)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    assert cols.shape == (y.shape[0] * y.shape[1] * y.shape[2], kh * kw * C)
    # float32 agrees too
    y32, _ = K.conv2d_forward(x.astype(np.float32), w.astype(np.float32), stride=s, padding=p)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, ref, rtol=1e-4, atol=1e-4)


def test_conv_forward_mnist_like_shapes():
    # MNIST layer shapes in miniature: C=1 first layer and a C=32 second layer, 5x5 kernels
    rng = np.random.default_rng(3)
    for B, H, C, F in ((2, 12, 1, 8), (2, 8, 32, 6)):
        x = rng.standard_normal((B, H, H, C))
        w = rng.standard_normal((5, 5, C, F))
        y, _ = K.conv2d_forward(x, w)
        np.testing.assert_allclose(y, conv_ref(x, w, 1, 0), rtol=1e-12, atol=1e-11)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_fd(case):
    B, H, W, C, kh, kw, F, s, p = case
    rng = np.random.default_rng(4)
    x = rng.standard_normal((B, H, W, C))
    w = rng.standard_normal((kh, kw, C, F))
    y, cols = K.conv2d_forward(x, w, stride=s, padding=p)
    r = rng.standard_normal(y.shape)
    dx, dw = K.conv2d_backward(x.shape, cols, w, r, stride=s, padding=p)
    assert dx.shape == x.shape and dw.shape == w.shape
    loss = lambda: float(np.sum(r * K.conv2d_forward(x, w, stride=s, padding=p)[0]))  # noqa: E731
    assert_grad(dx, numgrad(loss, x))
    assert_grad(dw, numgrad(loss, w))
    dxn, dw2 = K.conv2d_backward(x.shape, cols, w, r, stride=s, padding=p, need_dx=False)
    assert dxn is None
    np.testing.assert_array_equal(dw2, dw)


def test_col2im_is_adjoint_of_im2col():
    rng = np.random.default_rng(5)
    for s, p in ((1, 0), (1, 2), (2, 1), (3, 0)):
        x = rng.standard_normal((3, 9, 8, 4))
        cols = K.im2col(x, 3, 4, s, p)
        d = rng.standard_normal(cols.shape)
        lhs = np.sum(cols * d)
        rhs = np.sum(x * K.col2im(d, x.shape, 3, 4, s, p))
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_conv_preallocated_buffers_and_float32():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 10, 10, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    y, cols = K.conv2d_forward(x, w, 1, 1)
    ybuf, cbuf = np.full_like(y, np.nan), np.full_like(cols, np.nan)
    y2, cols2 = K.conv2d_forward(x, w, 1, 1, out=ybuf, cols_out=cbuf)
    assert y2 is ybuf and cols2 is cbuf
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(cols2, cols)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw = K.conv2d_backward(x.shape, cols, w, dy, 1, 1)
    bufs = dict(dx_out=np.full_like(x, np.nan), dw_out=np.full_like(w, np.nan), dcols_out=np.full_like(cols, np.nan))
    dx2, dw2 = K.conv2d_backward(x.shape, cols, w, dy, 1, 1, **bufs)
    assert dx2 is bufs["dx_out"] and dw2 is bufs["dw_out"]
    np.testing.assert_array_equal(dx2, dx)
    np.testing.assert_array_equal(dw2, dw)
    for a in (y, cols, dx, dw):
        assert a.dtype == np.float32 and a.flags.c_contiguous
    # float32 results agree with float64
    dx64, dw64 = K.conv2d_backward(x.shape, cols.astype(np.float64), w.astype(np.float64), dy.astype(np.float64), 1, 1)
    np.testing.assert_allclose(dx, dx64, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dw, dw64, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError):
        K.conv2d_forward(x, w, 1, 1, out=np.empty((3, 10, 10, 5), np.float64))


# ----------------------------------------------------------------------------------------------- maxpool
def pool_ref(x, pool, stride):
    v = np.lib.stride_tricks.sliding_window_view(x, (pool, pool), axis=(1, 2))[:, ::stride, ::stride]
    return v.max(axis=(-2, -1))


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (3, 7, 9, 5)])
def test_maxpool_forward_2x2_matches_reshape_max(shape):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    y, arg = K.maxpool_forward(x, 2)
    B, H, W, C = shape
    Hc, Wc = H // 2 * 2, W // 2 * 2
    ref = x[:, :Hc, :Wc].reshape(B, H // 2, 2, W // 2, 2, C).max(axis=(2, 4))
    np.testing.assert_array_equal(y, ref)
    assert arg.dtype == np.int8 and arg.shape == y.shape
    # argmax points at the winner
    i, j = arg // 2, arg % 2
    b, oh, ow, c = np.indices(y.shape)
    np.testing.assert_array_equal(x[b, 2 * oh + i, 2 * ow + j, c], y)


def test_maxpool_forward_3x3_stride2_and_ties():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    y, arg = K.maxpool_forward(x, 3, 2)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_array_equal(y, pool_ref(x, 3, 2))
    # ties: the first maximum (row-major within the window) wins
    xt = np.zeros((1, 4, 4, 2))
    xt[0, 1, 1, 0] = xt[0, 1, 0, 0] = 1.0
    _, a = K.maxpool_forward(xt, 2)
    assert a[0, 0, 0, 0] == 2 and a[0, 0, 0, 1] == 0


@pytest.mark.parametrize("pool,stride,shape", [
    (2, 2, (2, 6, 6, 3)),  # MNIST-style 2x2/2
    (3, 2, (2, 7, 8, 2)),  # overlapping windows
    (2, 2, (1, 5, 7, 2)),  # odd sizes: floor, uncovered border gets zero gradient
    (2, 3, (2, 8, 7, 2)),  # gaps between windows
])
def test_maxpool_backward_fd(pool, stride, shape):
    rng = np.random.default_rng(9)
    x = unique_input(rng, shape)
    y, arg = K.maxpool_forward(x, pool, stride)
    r = rng.standard_normal(y.shape)
    dx = K.maxpool_backward(r, arg, x.shape, pool, stride)
    loss = lambda: float(np.sum(r * K.maxpool_forward(x, pool, stride)[0]))  # noqa: E731
    assert_grad(dx, numgrad(loss, x))
    assert dx.flags.c_contiguous and dx.dtype == np.float64


# --------------------------------------------------------------------------------------------- batchnorm
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 3, 4)])
def test_batchnorm_backward_fd(shape):
    rng = np.random.default_rng(10)
    C = shape[-1]
    x = rng.standard_normal(shape) * 2.0 + 0.5
    gamma = rng.uniform(0.5, 1.5, C)
    beta = rng.standard_normal(C)
    r = rng.standard_normal(shape)
    y, cache, _, _ = K.batchnorm_forward_train(x, gamma, beta)
    dx, dgamma, dbeta = K.batchnorm_backward(r, cache, gamma)
    loss = lambda: float(np.sum(r * K.batchnorm_forward_train(x, gamma, beta)[0]))  # noqa: E731
    assert_grad(dx, numgrad(loss, x, h=1e-5))
    assert_grad(dgamma, numgrad(loss, gamma, h=1e-5))
    assert_grad(dbeta, numgrad(loss, beta, h=1e-5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 6), (4, 5, 5, 3)])
def test_batchnorm_train_statistics(dtype, shape):
    rng = np.random.default_rng(11)
    C = shape[-1]
    x = (rng.standard_normal(shape) * 3.0 + 100.0).astype(dtype)  # large offset: the one-pass stats must cope
    eps = 1e-4
    y, cache, mean, var = K.batchnorm_forward_train(x, np.ones(C, dtype), np.zeros(C, dtype), eps)
    x2 = x.astype(np.float64).reshape(-1, C)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(mean, x2.mean(0), rtol=tol)
    np.testing.assert_allclose(var, x2.var(0), rtol=10 * tol)
    for a in (y, mean, var):
        assert a.dtype == dtype and a.flags.c_contiguous
    assert y.shape == x.shape
    y2 = y.astype(np.float64).reshape(-1, C)
    atol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y2.mean(0), 0.0, atol=atol)
    # unit biased variance, up to the eps in the denominator
    np.testing.assert_allclose(y2.var(0), x2.var(0) / (x2.var(0) + eps), rtol=10 * tol)
    # gamma / beta are applied per channel
    g = np.arange(1, C + 1, dtype=dtype)
    b = -np.arange(C, dtype=dtype)
    y3, _, _, _ = K.batchnorm_forward_train(x, g, b, eps)
    np.testing.assert_allclose(y3, y * g + b, rtol=1e-5, atol=1e-5)
    dx, dg, db = K.batchnorm_backward(np.ones_like(y), cache, g)
    for a in (dx, dg, db):
        assert a.dtype == dtype and a.flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_eval_closed_form(dtype):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 4, 4, 5)).astype(dtype)
    gamma, beta = rng.uniform(0.5, 2, 5), rng.standard_normal(5)
    mean, var = rng.standard_normal(5), rng.uniform(0.1, 3, 5)
    y = K.batchnorm_forward_eval(x, gamma, beta, mean, var, eps=1e-3)
    ref = gamma * (x.astype(np.float64) - mean) / np.sqrt(var + 1e-3) + beta
    assert y.dtype == dtype and y.flags.c_contiguous
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


def test_batchnorm_deterministic_large():
    # several reduction chunks; bit-identical over calls
    rng = np.random.default_rng(13)
    x = rng.standard_normal((40, 12, 12, 8)).astype(np.float32)
    g, b = np.ones(8, np.float32), np.zeros(8, np.float32)
    y1, c1, m1, v1 = K.batchnorm_forward_train(x, g, b)
    y2, c2, m2, v2 = K.batchnorm_forward_train(x, g, b)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(v1, v2)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    a = K.batchnorm_backward(dy, c1, g)
    bb = K.batchnorm_backward(dy, c2, g)
    for u, v in zip(a, bb):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_allclose(m1, x.reshape(-1, 8).astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)


# -------------------------------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_outputs_dtype_and_contiguous(dtype):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 6, 6, 3)).astype(dtype)
    w = rng.standard_normal((3, 3, 3, 4)).astype(dtype)
    y, cols = K.conv2d_forward(x, w, 1, 1)
    dx, dw = K.conv2d_backward(x.shape, cols, w, np.ones_like(y), 1, 1)
    p, arg = K.maxpool_forward(y)
    dp = K.maxpool_backward(np.ones_like(p), arg, y.shape)
    xd = rng.standard_normal((5, 7)).astype(dtype)
    wd = rng.standard_normal((7, 3)).astype(dtype)
    yd = K.dense_forward(xd, wd)
    dxd, dwd = K.dense_backward(xd, wd, np.ones_like(yd))
    for a in (y, cols, dx, dw, p, dp, yd, dxd, dwd):
        assert a.dtype == dtype, a.dtype
        assert a.flags.c_contiguous
    # non-contiguous inputs are accepted
    yt, _ = K.conv2d_forward(np.asfortranarray(x), w, 1, 1)
    np.testing.assert_array_equal(yt, y)


def test_runtime_configuration():
    import os

    had_spin = "GOMP_SPINCOUNT" in os.environ
    layer = K.configure_threads()  # idempotent; the kernels above already started the pool
    assert layer in ("omp", "workqueue", "tbb")
    assert ("GOMP_SPINCOUNT" in os.environ) == had_spin  # the temporary setting does not leak
    assert isinstance(K.tune_allocator(), bool)
