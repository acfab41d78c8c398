"""Layer forward/backward kernels of the training engine (hot path).

Layouts: activations NHWC ``(B, H, W, C)``; conv weights ``(kh, kw, C, F)``; dense weights ``(in, out)``.
There are no biases (batch norm follows every layer).

Everything works for float32 (training) and float64 (finite-difference tests): numba dispatches on dtype and
the GEMMs go to BLAS through ``np.matmul`` on contiguous arrays.  All outputs are C-contiguous and of the
dtype of the activations.  The numba loops are parallel over independent outputs only (or over fixed-size row
chunks followed by a reduction in chunk order), so results are bit-identical from run to run and do not depend
on the number of numba threads.

Most functions accept optional preallocated output buffers (keyword-only ``out=``, ``cols_out=``, ...); they
must be C-contiguous, of the right shape and dtype, and are returned (filled) instead of fresh arrays.

Runtime settings (process-wide, see :func:`configure_threads` and :func:`tune_allocator`): at import, glibc's
malloc is told to keep freed large blocks (fresh page-faulted memory for every big temporary cost ~25% of a
CNN step); at the first kernel call, numba's pool is started with the OpenMP layer and a short spin-wait so
that it does not fight OpenBLAS's threads for the cores.
"""
from __future__ import annotations


import numpy as np
from numba import njit, prange

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
    "configure_threads",
    "tune_allocator",
]

# Rows per chunk of the batch-norm reductions.  Fixed (not derived from the thread count) so that the
# summation order, hence the result, is the same whatever NUMBA_NUM_THREADS is.
_BN_CHUNK = 512


from ..shapes import conv_output_size
from .runtime import configure_threads, ensure_threads as _ensure_threads, tune_allocator  # noqa: F401


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
    # Inner copies index 1-D row views with unsigned offsets: numba then emits no negative-index wraparound
    # code and LLVM vectorizes them (3-4x faster than signed 2-D indexing here).
    B = x3.shape[0]
    H = x3.shape[1]
    seg = kw * C
    useg = np.uint64(seg)
    WC = W * C
    for t in prange(B * OH):
        b = t // OH
        oh = t - b * OH
        ih0 = oh * stride - pad
        r = t * OW
        for ow in range(OW):
            iw0 = ow * stride - pad
            off = iw0 * C
            dst = cols[r]
            for i in range(kh):
                ih = ih0 + i
                base = np.uint64(i * seg)
                if ih < 0 or ih >= H:
                    for k in range(useg):
                        dst[base + k] = 0
                elif iw0 >= 0 and iw0 + kw <= W:
                    # the kw*C input values of this kernel row are contiguous in NHWC
                    src = x3[b, ih]
                    o = np.uint64(off)
                    for k in range(useg):
                        dst[base + k] = src[o + k]
                else:  # left/right border with padding
                    src = x3[b, ih]
                    for k in range(seg):
                        q = off + k
                        dst[base + np.uint64(k)] = src[np.uint64(q)] if (q >= 0 and q < WC) else 0
            r += 1


@njit(parallel=True, cache=True)
def _col2im_kernel(dcols, W, C, kh, kw, stride, pad, OH, OW, dx3):
    # Adjoint of _im2col_kernel.  Parallel over the batch only: every sample owns its slice of dx, and the
    # overlapping windows of one sample are accumulated sequentially (race-free, deterministic).
    B = dx3.shape[0]
    H = dx3.shape[1]
    seg = kw * C
    useg = np.uint64(seg)
    WC = W * C
    uWC = np.uint64(WC)
    for b in prange(B):
        for ih in range(H):
            row = dx3[b, ih]
            for q in range(uWC):
                row[q] = 0
        r = b * OH * OW
        for oh in range(OH):
            ih0 = oh * stride - pad
            for ow in range(OW):
                iw0 = ow * stride - pad
                off = iw0 * C
                src = dcols[r]
                for i in range(kh):
                    ih = ih0 + i
                    if ih < 0 or ih >= H:
                        continue
                    base = np.uint64(i * seg)
                    dst = dx3[b, ih]
                    if iw0 >= 0 and iw0 + kw <= W:
                        o = np.uint64(off)
                        for k in range(useg):
                            dst[o + k] += src[base + k]
                    else:
                        for k in range(seg):
                            q = off + k
                            if q >= 0 and q < WC:
                                dst[np.uint64(q)] += src[base + np.uint64(k)]
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
    _ensure_threads()
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
    _ensure_threads()
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
    uC = np.uint64(C)
    for t in prange(B * OH):
        b = t // OH
        oh = t - b * OH
        ih0 = oh * stride
        for ow in range(OW):
            iw0 = ow * stride
            yr = y[b, oh, ow]
            ar = arg[b, oh, ow]
            xr = x[b, ih0, iw0]
            for c in range(uC):
                yr[c] = xr[c]
                ar[c] = 0
            for i in range(pool):
                for j in range(pool):
                    if i == 0 and j == 0:
                        continue
                    k = i * pool + j
                    xr = x[b, ih0 + i, iw0 + j]
                    for c in range(uC):
                        v = xr[c]
                        if v > yr[c]:  # strict: the first maximum wins
                            yr[c] = v
                            ar[c] = k


@njit(parallel=True, cache=True)
def _maxpool_bwd_kernel(dy, arg, pool, stride, dx):
    # Gather formulation: every dx element is written exactly once, by the thread owning its input row, as the
    # sum (in a fixed order) of the dy of the windows that contain it and whose argmax points at it.  Race-free
    # and deterministic for overlapping windows too; no zeroing pass.
    B, OH, OW, C = dy.shape
    H = dx.shape[1]
    W = dx.shape[2]
    uC = np.uint64(C)
    for t in prange(B * H):
        b = t // H
        ih = t - b * H
        n = ih - pool + 1
        oh0 = 0 if n <= 0 else (n + stride - 1) // stride
        oh1 = min(OH - 1, ih // stride)
        for iw in range(W):
            n = iw - pool + 1
            ow0 = 0 if n <= 0 else (n + stride - 1) // stride
            ow1 = min(OW - 1, iw // stride)
            dr = dx[b, ih, iw]
            if oh0 == oh1 and ow0 == ow1:  # exactly one window (always so when stride == pool)
                k = (ih - oh0 * stride) * pool + iw - ow0 * stride
                gr = dy[b, oh0, ow0]
                ar = arg[b, oh0, ow0]
                for c in range(uC):
                    dr[c] = gr[c] if ar[c] == k else 0
                continue
            for c in range(uC):
                dr[c] = 0
            for oh in range(oh0, oh1 + 1):
                i = ih - oh * stride
                for ow in range(ow0, ow1 + 1):
                    k = i * pool + iw - ow * stride
                    gr = dy[b, oh, ow]
                    ar = arg[b, oh, ow]
                    for c in range(uC):
                        if ar[c] == k:
                            dr[c] += gr[c]


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
    OH = conv_output_size(H, pool, stride)
    OW = conv_output_size(W, pool, stride)
    if OH <= 0 or OW <= 0:
        raise ValueError(f"pool {pool} larger than input {H}x{W}")
    adt = np.int8 if pool * pool <= 127 else np.int32
    y = _check_out(out, (B, OH, OW, C), x.dtype, "maxpool_forward")
    arg = _check_out(argmax_out, (B, OH, OW, C), adt, "maxpool_forward(argmax)")
    _ensure_threads()
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
    _ensure_threads()
    _maxpool_bwd_kernel(dy, argmax, pool, stride, dx)
    return dx


# ---------------------------------------------------------------------------------------------- batchnorm
# Two fused kernels serve the forward and the backward (fewer kernels: less numba compilation):
#   _bn_colsums_kernel: per channel, S1 = sum(a - p) and S2 = sum((a - p) * (b - q) * r), float64 accumulation,
#                       one pass, partial sums per fixed-size row chunk (summed afterwards in chunk order);
#   _bn_affine_kernel:  out = a * alpha + (b - m) * beta + gamma per channel (the a term optional), one pass.
@njit(parallel=True, cache=True)
def _bn_colsums_kernel(a2, p, b2, q, r, chunk, s1, s2):
    N, C = a2.shape
    uC = np.uint64(C)
    nch = s1.shape[0]
    for k in prange(nch):
        r1 = min(N, (k + 1) * chunk)
        t1 = s1[k]
        t2 = s2[k]
        for row in range(k * chunk, r1):
            ar = a2[row]
            br = b2[row]
            for c in range(uC):
                u = np.float64(ar[c]) - p[c]
                t1[c] += u
                t2[c] += u * ((np.float64(br[c]) - q[c]) * r[c])


@njit(parallel=True, cache=True)
def _bn_affine_kernel(a2, alpha, use_a, b2, m, beta, gamma, chunk, out2):
    N, C = b2.shape
    uC = np.uint64(C)
    nch = (N + chunk - 1) // chunk
    for k in prange(nch):
        r1 = min(N, (k + 1) * chunk)
        if use_a:
            for row in range(k * chunk, r1):
                ar = a2[row]
                br = b2[row]
                orow = out2[row]
                for c in range(uC):
                    orow[c] = ar[c] * alpha[c] + (br[c] - m[c]) * beta[c] + gamma[c]
        else:
            for row in range(k * chunk, r1):
                br = b2[row]
                orow = out2[row]
                for c in range(uC):
                    orow[c] = (br[c] - m[c]) * beta[c] + gamma[c]


def _bn_colsums(a2, p, b2, q, r):
    nch = (a2.shape[0] + _BN_CHUNK - 1) // _BN_CHUNK
    s1 = np.zeros((nch, a2.shape[1]))
    s2 = np.zeros((nch, a2.shape[1]))
    _bn_colsums_kernel(a2, p, b2, q, r, _BN_CHUNK, s1, s2)
    return s1.sum(axis=0), s2.sum(axis=0)


def _bn_2d(x, C, name):
    if x.ndim < 2 or x.shape[-1] != C:
        raise ValueError(f"{name}: input of shape {x.shape} does not end with the {C} channels of the parameters")
    return x.reshape(-1, C)


def _vec(a, dtype, C, name):
    v = np.ascontiguousarray(a, dtype=dtype).reshape(-1)
    if v.shape[0] != C:
        raise ValueError(f"{name} has {v.shape[0]} entries, expected {C}")
    return v


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
    gamma = _vec(gamma, dt, x.shape[-1], "gamma")
    beta = _vec(beta, dt, x.shape[-1], "beta")
    C = gamma.shape[0]
    x2 = _bn_2d(x, C, "batchnorm_forward_train")
    N = x2.shape[0]
    y = _check_out(out, x.shape, dt, "batchnorm_forward_train")
    _ensure_threads()
    shift = x2[0].astype(np.float64)  # shifted sums: robust one-pass variance when |mean| >> std
    s1, s2 = _bn_colsums(x2, shift, x2, shift, np.ones(C))
    m = s1 / N
    var64 = np.maximum(s2 / N - m * m, 0.0)
    mean64 = shift + m
    inv_std64 = 1.0 / np.sqrt(var64 + eps)
    mean = mean64.astype(dt)
    inv_std = inv_std64.astype(dt)
    _bn_affine_kernel(x2, gamma, False, x2, mean, (gamma * inv_std64).astype(dt), beta, _BN_CHUNK,
                      y.reshape(-1, C))
    return y, (x, mean, inv_std), mean, var64.astype(dt)


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps: float = 1e-4, *, out=None):
    """Inference-mode batch norm with the running statistics: ``gamma * (x - mean) / sqrt(var + eps) + beta``."""
    dt = _float_dtype(x)
    x = _as(x, dt)
    C = x.shape[-1]
    scale = _vec(gamma, np.float64, C, "gamma") / np.sqrt(_vec(var, np.float64, C, "var") + eps)
    x2 = _bn_2d(x, C, "batchnorm_forward_eval")
    y = _check_out(out, x.shape, dt, "batchnorm_forward_eval")
    _ensure_threads()
    beta = _vec(beta, dt, C, "beta")
    _bn_affine_kernel(x2, beta, False, x2, _vec(mean, dt, C, "mean"), scale.astype(dt), beta, _BN_CHUNK,
                      y.reshape(-1, C))  # (the a term is unused: x2, beta are placeholders of the right types)
    return y


def batchnorm_backward(dy, cache, gamma, *, out=None):
    """Gradients of :func:`batchnorm_forward_train`: returns ``(dx, dgamma, dbeta)``.

    ``dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat))``, ``dgamma = sum(dy * xhat)``,
    ``dbeta = sum(dy)``, with ``xhat = (x - mean) * inv_std`` recomputed on the fly.
    """
    x, mean, inv_std = cache
    dt = x.dtype
    dy = _as(dy, dt)
    C = x.shape[-1]
    gamma = _vec(gamma, dt, C, "gamma")
    if dy.shape != x.shape:
        raise ValueError(f"batchnorm_backward: dy {dy.shape} vs x {x.shape}")
    dy2 = dy.reshape(-1, C)
    x2 = x.reshape(-1, C)
    N = dy2.shape[0]
    dx = _check_out(out, dy.shape, dt, "batchnorm_backward")
    _ensure_threads()
    inv64 = inv_std.astype(np.float64)
    dbeta, dgamma = _bn_colsums(dy2, np.zeros(C), x2, mean.astype(np.float64), inv64)
    scale = gamma * inv64  # dx = dy * scale + (x - mean) * (-scale * inv_std * dgamma / N) - scale * dbeta / N
    _bn_affine_kernel(dy2, scale.astype(dt), True, x2, mean, (-scale * inv64 * dgamma / N).astype(dt),
                      (-scale * dbeta / N).astype(dt), _BN_CHUNK, dx.reshape(-1, C))
    return dx, dgamma.astype(dt), dbeta.astype(dt)
