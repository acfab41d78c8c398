"""Layer forward/backward kernels of the training engine (hot path).

Layouts: activations NHWC ``(B, H, W, C)``; conv weights ``(kh, kw, C, F)``; dense weights ``(in, out)``.
There are no biases (batch norm follows every layer).

Everything works for float32 (training) and float64 (finite-difference tests): numba dispatches on dtype and
the GEMMs go to BLAS through ``np.matmul`` on contiguous arrays.  All outputs are C-contiguous and of the
dtype of the activations.  The numba loops are parallel over independent outputs only (or over fixed-size row
chunks followed by a sequential reduction), so results are bit-identical from run to run and do not depend on
the number of threads.

Most functions accept optional preallocated output buffers (keyword-only ``out=``, ``cols_out=``, ...); they
must be C-contiguous, of the right shape and dtype, and are returned (filled) instead of fresh arrays.
"""
from __future__ import annotations

import os

import numba
import numpy as np
from numba import njit, prange

# The kernels alternate numba parallel regions with multi-threaded BLAS calls.  With numba's default OpenMP
# layer the OpenMP workers spin-wait after every region and steal the cores from the BLAS threads (a CNN
# training step measured 2-3x slower on 2 cores).  numba's own 'workqueue' pool sleeps instead.  Only applied
# when the user has not chosen a layer (env NUMBA_THREADING_LAYER) and takes effect if no parallel numba
# function has run yet in this process.
if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "workqueue"

__all__ = [
    "dense_forward",
    "dense_backward",
    "conv_output_size",
    "im2col",
    "col2im",
    "conv2d_forward",
    "conv2d_backward",
    "maxpool_forward",
    "maxpool_backward",
    "batchnorm_forward_train",
    "batchnorm_forward_eval",
    "batchnorm_backward",
]

# Rows per chunk of the batch-norm reductions.  Fixed (not derived from the thread count) so that the
# summation order, hence the result, is the same whatever NUMBA_NUM_THREADS is.
_BN_CHUNK = 512


# ----------------------------------------------------------------------------------------------- helpers
def _check_out(out, shape, dtype, name):
    if out is None:
        return np.empty(shape, dtype=dtype)
    if out.shape != tuple(shape) or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(
            f"{name}: expected a C-contiguous {np.dtype(dtype).name} buffer of shape {tuple(shape)}, "
            f"got {out.dtype.name} {out.shape} (c_contiguous={out.flags.c_contiguous})"
        )
    return out


def _as(a, dtype):
    """C-contiguous view/copy of ``a`` with ``dtype`` (no copy when it already is)."""
    return np.ascontiguousarray(a, dtype=dtype)


def _float_dtype(x):
    dt = np.asarray(x).dtype
    return dt if dt in (np.float32, np.float64) else np.dtype(np.float32)


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution / pooling along one axis (floor)."""
    return (n + 2 * padding - k) // stride + 1


# ------------------------------------------------------------------------------------------------- dense
def dense_forward(x, w, *, out=None):
    """``y = x @ w`` for ``x`` (B, in), ``w`` (in, out)."""
    dt = _float_dtype(x)
    x = _as(x, dt)
    w = _as(w, dt)
    out = _check_out(out, (x.shape[0], w.shape[1]), dt, "dense_forward")
    return np.matmul(x, w, out=out)


def dense_backward(x, w, dy, need_dx: bool = True, *, dx_out=None, dw_out=None):
    """Gradients of ``y = x @ w``: returns ``(dx | None, dw)``."""
    dt = _float_dtype(x)
    x = _as(x, dt)
    w = _as(w, dt)
    dy = _as(dy, dt)
    dw = np.matmul(x.T, dy, out=_check_out(dw_out, w.shape, dt, "dense_backward(dw)"))
    dx = None
    if need_dx:
        dx = np.matmul(dy, w.T, out=_check_out(dx_out, x.shape, dt, "dense_backward(dx)"))
    return dx, dw


# -------------------------------------------------------------------------------------- im2col / col2im
@njit(parallel=True, cache=True)
def _im2col_kernel(x3, W, C, kh, kw, stride, pad, OH, OW, cols):
    # x3: (B, H, W*C) view of the NHWC input; cols: (B*OH*OW, kh*kw*C), column order (i, j, c).
    B = x3.shape[0]
    H = x3.shape[1]
    seg = kw * C
    WC = W * C
    for t in prange(B * OH):
        b = t // OH
        oh = t - b * OH
        ih0 = oh * stride - pad
        r = t * OW
        for ow in range(OW):
            iw0 = ow * stride - pad
            off = iw0 * C
            for i in range(kh):
                ih = ih0 + i
                base = i * seg
                if ih < 0 or ih >= H:
                    for k in range(seg):
                        cols[r, base + k] = 0
                elif iw0 >= 0 and iw0 + kw <= W:
                    # the kw*C input values of this kernel row are contiguous in NHWC
                    for k in range(seg):
                        cols[r, base + k] = x3[b, ih, off + k]
                else:
                    for k in range(seg):
                        p = off + k
                        if p >= 0 and p < WC:
                            cols[r, base + k] = x3[b, ih, p]
                        else:
                            cols[r, base + k] = 0
            r += 1


@njit(parallel=True, cache=True)
def _col2im_kernel(dcols, W, C, kh, kw, stride, pad, OH, OW, dx3):
    # Adjoint of _im2col_kernel.  Parallel over the batch only: every sample owns its slice of dx, and the
    # overlapping windows of one sample are accumulated sequentially (race-free, deterministic).
    B = dx3.shape[0]
    H = dx3.shape[1]
    seg = kw * C
    WC = W * C
    for b in prange(B):
        for ih in range(H):
            for p in range(WC):
                dx3[b, ih, p] = 0
        r = b * OH * OW
        for oh in range(OH):
            ih0 = oh * stride - pad
            for ow in range(OW):
                iw0 = ow * stride - pad
                off = iw0 * C
                for i in range(kh):
                    ih = ih0 + i
                    if ih < 0 or ih >= H:
                        continue
                    base = i * seg
                    if iw0 >= 0 and iw0 + kw <= W:
                        for k in range(seg):
                            dx3[b, ih, off + k] += dcols[r, base + k]
                    else:
                        for k in range(seg):
                            p = off + k
                            if p >= 0 and p < WC:
                                dx3[b, ih, p] += dcols[r, base + k]
                r += 1


def im2col(x, kh: int, kw: int, stride: int = 1, padding: int = 0, *, out=None):
    """Patches of the NHWC ``x`` as rows of a ``(B*OH*OW, kh*kw*C)`` matrix, column order (kh, kw, c)."""
    x = _as(x, _float_dtype(x))
    B, H, W, C = x.shape
    OH = conv_output_size(H, kh, stride, padding)
    OW = conv_output_size(W, kw, stride, padding)
    if OH <= 0 or OW <= 0:
        raise ValueError(f"kernel {kh}x{kw} larger than padded input {H}x{W} (padding {padding})")
    cols = _check_out(out, (B * OH * OW, kh * kw * C), x.dtype, "im2col")
    _im2col_kernel(x.reshape(B, H, W * C), W, C, kh, kw, stride, padding, OH, OW, cols)
    return cols


def col2im(dcols, x_shape, kh: int, kw: int, stride: int = 1, padding: int = 0, *, out=None):
    """Adjoint of :func:`im2col`: sums the rows of ``dcols`` back into an NHWC array of ``x_shape``."""
    B, H, W, C = x_shape
    OH = conv_output_size(H, kh, stride, padding)
    OW = conv_output_size(W, kw, stride, padding)
    dcols = _as(dcols, _float_dtype(dcols))
    if dcols.shape != (B * OH * OW, kh * kw * C):
        raise ValueError(f"col2im: dcols has shape {dcols.shape}, expected {(B * OH * OW, kh * kw * C)}")
    dx = _check_out(out, (B, H, W, C), dcols.dtype, "col2im")
    _col2im_kernel(dcols, W, C, kh, kw, stride, padding, OH, OW, dx.reshape(B, H, W * C))
    return dx


# -------------------------------------------------------------------------------------------------- conv
def conv2d_forward(x, w, stride: int = 1, padding: int = 0, *, out=None, cols_out=None):
    """2-D convolution (cross-correlation, no bias) of NHWC ``x`` with ``w`` (kh, kw, C, F).

    Returns ``(y, cols)``: ``y`` (B, OH, OW, F) and the im2col matrix ``cols`` (B*OH*OW, kh*kw*C), to be
    handed to :func:`conv2d_backward`.
    """
    dt = _float_dtype(x)
    x = _as(x, dt)
    w = _as(w, dt)
    kh, kw, C, F = w.shape
    B, H, W, Cx = x.shape
    if Cx != C:
        raise ValueError(f"conv2d_forward: input has {Cx} channels, weights expect {C}")
    cols = im2col(x, kh, kw, stride, padding, out=cols_out)
    OH = conv_output_size(H, kh, stride, padding)
    OW = conv_output_size(W, kw, stride, padding)
    y = _check_out(out, (B, OH, OW, F), dt, "conv2d_forward")
    np.matmul(cols, w.reshape(kh * kw * C, F), out=y.reshape(B * OH * OW, F))
    return y, cols


def conv2d_backward(x_shape, cols, w, dy, stride: int = 1, padding: int = 0, need_dx: bool = True, *,
                    dx_out=None, dw_out=None, dcols_out=None):
    """Gradients of :func:`conv2d_forward`: returns ``(dx | None, dw)``.

    ``dw = cols.T @ dy2d``; ``dcols = dy2d @ wmat.T``; ``dx = col2im(dcols)``.  ``dcols_out`` is an optional
    scratch buffer of the shape of ``cols``.
    """
    dt = cols.dtype
    w = _as(w, dt)
    dy = _as(dy, dt)
    kh, kw, C, F = w.shape
    dy2 = dy.reshape(-1, F)
    if dy2.shape[0] != cols.shape[0]:
        raise ValueError(f"conv2d_backward: dy has {dy2.shape[0]} positions, cols has {cols.shape[0]}")
    wmat = w.reshape(kh * kw * C, F)
    dw = _check_out(dw_out, w.shape, dt, "conv2d_backward(dw)")
    np.matmul(cols.T, dy2, out=dw.reshape(kh * kw * C, F))
    dx = None
    if need_dx:
        dcols = _check_out(dcols_out, cols.shape, dt, "conv2d_backward(dcols)")
        np.matmul(dy2, wmat.T, out=dcols)
        dx = col2im(dcols, tuple(x_shape), kh, kw, stride, padding, out=dx_out)
    return dx, dw


# ----------------------------------------------------------------------------------------------- maxpool
@njit(parallel=True, cache=True)
def _maxpool_fwd_kernel(x, pool, stride, y, arg):
    B, H, W, C = x.shape
    OH = y.shape[1]
    OW = y.shape[2]
    for t in prange(B * OH):
        b = t // OH
        oh = t - b * OH
        ih0 = oh * stride
        for ow in range(OW):
            iw0 = ow * stride
            for c in range(C):
                y[b, oh, ow, c] = x[b, ih0, iw0, c]
                arg[b, oh, ow, c] = 0
            for i in range(pool):
                for j in range(pool):
                    if i == 0 and j == 0:
                        continue
                    k = i * pool + j
                    for c in range(C):
                        v = x[b, ih0 + i, iw0 + j, c]
                        if v > y[b, oh, ow, c]:  # strict: the first maximum wins
                            y[b, oh, ow, c] = v
                            arg[b, oh, ow, c] = k


@njit(parallel=True, cache=True)
def _maxpool_bwd_kernel(dy, arg, pool, stride, dx):
    # Overlapping windows (stride < pool): per-sample ownership of dx, zero then scatter-add (race-free).
    B, OH, OW, C = dy.shape
    H = dx.shape[1]
    W = dx.shape[2]
    for b in prange(B):
        for ih in range(H):
            for iw in range(W):
                for c in range(C):
                    dx[b, ih, iw, c] = 0
        for oh in range(OH):
            for ow in range(OW):
                for c in range(C):
                    k = np.int64(arg[b, oh, ow, c])
                    i = k // pool
                    j = k - i * pool
                    dx[b, oh * stride + i, ow * stride + j, c] += dy[b, oh, ow, c]


@njit(parallel=True, cache=True)
def _maxpool_bwd_disjoint_kernel(dy, arg, pool, stride, dx):
    # Disjoint windows (stride >= pool): every input element is written exactly once, in a single sequential
    # sweep of dx (no zeroing pass, no scatter), parallel over input rows.
    B, OH, OW, C = dy.shape
    H = dx.shape[1]
    W = dx.shape[2]
    for t in prange(B * H):
        b = t // H
        ih = t - b * H
        oh = ih // stride
        i = ih - oh * stride
        if oh >= OH or i >= pool:
            for iw in range(W):
                for c in range(C):
                    dx[b, ih, iw, c] = 0
            continue
        for iw in range(W):
            ow = iw // stride
            j = iw - ow * stride
            if ow >= OW or j >= pool:
                for c in range(C):
                    dx[b, ih, iw, c] = 0
            else:
                k = i * pool + j
                for c in range(C):
                    dx[b, ih, iw, c] = dy[b, oh, ow, c] if arg[b, oh, ow, c] == k else 0


def _pool_args(pool, stride):
    stride = pool if stride is None else stride
    if pool < 1 or stride < 1:
        raise ValueError("pool and stride must be >= 1")
    return int(pool), int(stride)


def maxpool_forward(x, pool: int = 2, stride: int | None = None, *, out=None, argmax_out=None):
    """Max pooling of NHWC ``x`` (no padding, floor output size); ``stride`` defaults to ``pool``.

    Returns ``(y, argmax)``; ``argmax`` holds, per output element, the index ``i*pool + j`` of the winning
    element inside its window (int8 when ``pool*pool <= 127``, int32 otherwise; the first maximum wins).
    """
    pool, stride = _pool_args(pool, stride)
    x = _as(x, _float_dtype(x))
    B, H, W, C = x.shape
    OH = (H - pool) // stride + 1
    OW = (W - pool) // stride + 1
    if OH <= 0 or OW <= 0:
        raise ValueError(f"pool {pool} larger than input {H}x{W}")
    adt = np.int8 if pool * pool <= 127 else np.int32
    y = _check_out(out, (B, OH, OW, C), x.dtype, "maxpool_forward")
    arg = _check_out(argmax_out, (B, OH, OW, C), adt, "maxpool_forward(argmax)")
    _maxpool_fwd_kernel(x, pool, stride, y, arg)
    return y, arg


def maxpool_backward(dy, argmax, x_shape, pool: int = 2, stride: int | None = None, *, out=None):
    """Gradient of :func:`maxpool_forward` wrt its input (routes ``dy`` to the winners, summing overlaps)."""
    pool, stride = _pool_args(pool, stride)
    dy = _as(dy, _float_dtype(dy))
    argmax = np.ascontiguousarray(argmax)
    if argmax.shape != dy.shape:
        raise ValueError(f"maxpool_backward: argmax {argmax.shape} vs dy {dy.shape}")
    dx = _check_out(out, tuple(x_shape), dy.dtype, "maxpool_backward")
    if stride >= pool:
        _maxpool_bwd_disjoint_kernel(dy, argmax, pool, stride, dx)
    else:
        _maxpool_bwd_kernel(dy, argmax, pool, stride, dx)
    return dx


# ---------------------------------------------------------------------------------------------- batchnorm
@njit(parallel=True, cache=True)
def _bn_stats_kernel(x2, chunk):
    # One pass: shifted sums (shift = first row) accumulated in float64 per fixed-size row chunk, then a
    # sequential reduction over chunks.  Returns mean and biased variance (float64).
    N, C = x2.shape
    nch = (N + chunk - 1) // chunk
    s1 = np.zeros((nch, C), np.float64)
    s2 = np.zeros((nch, C), np.float64)
    shift = np.empty(C, np.float64)
    for c in range(C):
        shift[c] = x2[0, c]
    for k in prange(nch):
        r1 = min(N, (k + 1) * chunk)
        for r in range(k * chunk, r1):
            for c in range(C):
                d = np.float64(x2[r, c]) - shift[c]
                s1[k, c] += d
                s2[k, c] += d * d
    mean = np.zeros(C, np.float64)
    var = np.zeros(C, np.float64)
    for k in range(nch):
        for c in range(C):
            mean[c] += s1[k, c]
            var[c] += s2[k, c]
    for c in range(C):
        m = mean[c] / N
        v = var[c] / N - m * m
        mean[c] = shift[c] + m
        var[c] = v if v > 0.0 else 0.0
    return mean, var


@njit(parallel=True, cache=True)
def _bn_affine_kernel(x2, mean, scale, beta, chunk, y2):
    # y = (x - mean) * scale + beta   (subtracting first keeps float32 accurate when |mean| >> std)
    N, C = x2.shape
    nch = (N + chunk - 1) // chunk
    for k in prange(nch):
        r1 = min(N, (k + 1) * chunk)
        for r in range(k * chunk, r1):
            for c in range(C):
                y2[r, c] = (x2[r, c] - mean[c]) * scale[c] + beta[c]


@njit(parallel=True, cache=True)
def _bn_bwd_sums_kernel(dy2, x2, mean, inv_std, chunk):
    # dbeta = sum(dy), dgamma = sum(dy * xhat), xhat recomputed from x on the fly (float64 accumulation).
    N, C = dy2.shape
    nch = (N + chunk - 1) // chunk
    s1 = np.zeros((nch, C), np.float64)
    s2 = np.zeros((nch, C), np.float64)
    for k in prange(nch):
        r1 = min(N, (k + 1) * chunk)
        for r in range(k * chunk, r1):
            for c in range(C):
                g = dy2[r, c]
                s1[k, c] += g
                s2[k, c] += g * ((x2[r, c] - mean[c]) * inv_std[c])
    dbeta = np.zeros(C, np.float64)
    dgamma = np.zeros(C, np.float64)
    for k in range(nch):
        for c in range(C):
            dbeta[c] += s1[k, c]
            dgamma[c] += s2[k, c]
    return dbeta, dgamma


@njit(parallel=True, cache=True)
def _bn_bwd_dx_kernel(dy2, x2, mean, inv_std, scale, mdb, mdg, chunk, dx2):
    # dx = scale * (dy - mean(dy) - xhat * mean(dy * xhat)),  scale = gamma * inv_std
    N, C = dy2.shape
    nch = (N + chunk - 1) // chunk
    for k in prange(nch):
        r1 = min(N, (k + 1) * chunk)
        for r in range(k * chunk, r1):
            for c in range(C):
                h = (x2[r, c] - mean[c]) * inv_std[c]
                dx2[r, c] = scale[c] * (dy2[r, c] - mdb[c] - h * mdg[c])


def _bn_2d(x, C, name):
    if x.shape[-1] != C:
        raise ValueError(f"{name}: last axis has {x.shape[-1]} channels, parameters have {C}")
    return x.reshape(-1, C)


def batchnorm_forward_train(x, gamma, beta, eps: float = 1e-4, *, out=None):
    """Training-mode batch norm over every axis but the last (channels / features).

    Returns ``(y, cache, batch_mean, batch_var)``; ``batch_var`` is the biased variance used in the
    normalization (multiply by ``n/(n-1)`` for an unbiased running estimate, ``n = x.size // C``).
    ``cache = (x, mean, inv_std)`` is what :func:`batchnorm_backward` needs; it holds a *reference* to ``x``
    (no copy: xhat is recomputed on the fly in the backward, cheaper than storing it), so ``x`` must not be
    modified in place between the forward and the backward.
    """
    dt = _float_dtype(x)
    x = _as(x, dt)
    gamma = _as(gamma, dt).reshape(-1)
    beta = _as(beta, dt).reshape(-1)
    C = gamma.shape[0]
    x2 = _bn_2d(x, C, "batchnorm_forward_train")
    mean64, var64 = _bn_stats_kernel(x2, _BN_CHUNK)
    inv_std64 = 1.0 / np.sqrt(var64 + eps)
    scale64 = gamma * inv_std64
    mean = mean64.astype(dt)
    y = _check_out(out, x.shape, dt, "batchnorm_forward_train")
    _bn_affine_kernel(x2, mean, scale64.astype(dt), beta, _BN_CHUNK, y.reshape(-1, C))
    return y, (x, mean, inv_std64.astype(dt)), mean, var64.astype(dt)


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps: float = 1e-4, *, out=None):
    """Inference-mode batch norm with the running statistics: ``gamma * (x - mean) / sqrt(var + eps) + beta``."""
    dt = _float_dtype(x)
    x = _as(x, dt)
    g = np.asarray(gamma, np.float64).reshape(-1)
    C = g.shape[0]
    scale = (g / np.sqrt(np.asarray(var, np.float64).reshape(-1) + eps)).astype(dt)
    x2 = _bn_2d(x, C, "batchnorm_forward_eval")
    y = _check_out(out, x.shape, dt, "batchnorm_forward_eval")
    _bn_affine_kernel(x2, _as(mean, dt).reshape(-1), scale, _as(beta, dt).reshape(-1), _BN_CHUNK, y.reshape(-1, C))
    return y


def batchnorm_backward(dy, cache, gamma, *, out=None):
    """Gradients of :func:`batchnorm_forward_train`: returns ``(dx, dgamma, dbeta)``."""
    x, mean, inv_std = cache
    dt = x.dtype
    dy = _as(dy, dt)
    gamma = _as(gamma, dt).reshape(-1)
    C = gamma.shape[0]
    dy2 = _bn_2d(dy, C, "batchnorm_backward")
    x2 = x.reshape(-1, C)
    N = dy2.shape[0]
    dbeta, dgamma = _bn_bwd_sums_kernel(dy2, x2, mean, inv_std, _BN_CHUNK)
    scale = (gamma * inv_std).astype(dt)
    dx = _check_out(out, dy.shape, dt, "batchnorm_backward")
    _bn_bwd_dx_kernel(dy2, x2, mean, inv_std, scale, (dbeta / N).astype(dt), (dgamma / N).astype(dt), _BN_CHUNK,
                      dx.reshape(-1, C))
    return dx, dgamma.astype(dt), dbeta.astype(dt)
