"""Nonzero operand pairs (the algorithmic work) of the conv products from operand nonzero counts and bit
matrices, without a scan over the outputs."""
from __future__ import annotations

import numpy as np
from numba import njit

from .bits import _ZERO, _popc


@njit(cache=True)
def _active_conv_fwd(Sx, cntW, C, kh, kw, stride, pad, OH, OW):
    """Nonzero pairs of conv forward: sum over (dh, dw, c) of (patches with x nonzero there) x (filters with
    w nonzero there); ``Sx`` (H, W*C): x nonzero counts over the batch, ``cntW`` (kh*kw*C,)."""
    H = Sx.shape[0]
    W = Sx.shape[1] // max(C, 1)
    total = 0
    for dh in range(kh):
        for dw in range(kw):
            for c in range(C):
                cw = cntW[(dh * kw + dw) * C + c]
                if cw == 0:
                    continue
                cx = 0
                for oh in range(OH):
                    ih = oh * stride - pad + dh
                    if ih < 0 or ih >= H:
                        continue
                    for ow in range(OW):
                        iw = ow * stride - pad + dw
                        if 0 <= iw < W:
                            cx += Sx[ih, iw * C + c]
                total += cx * cw
    return total


@njit(cache=True)
def _active_conv_dx(Tdy, cntW, F, H, W, kh, kw, stride, pad, OH, OW):
    """Nonzero pairs of conv dX: sum over (dh, dw, f) of (dy nonzero at the (oh, ow) that map into the input,
    a rectangle of dy positions: 2-D prefix sums) x (channels c with w[dh, dw, c, f] nonzero); ``Tdy``
    (OH*OW, F): dy nonzero counts over the batch."""
    pre = np.zeros((OH + 1, OW + 1, F), np.int64)
    for oh in range(OH):
        for ow in range(OW):
            for f in range(F):
                pre[oh + 1, ow + 1, f] = pre[oh, ow + 1, f] + pre[oh + 1, ow, f] - pre[oh, ow, f] + Tdy[oh * OW + ow, f]
    total = 0
    for dh in range(kh):
        # oh with 0 <= oh*stride - pad + dh < H
        h0 = min(OH, max(0, (pad - dh + stride - 1) // stride))
        h1 = min(OH, max(h0, (H - 1 + pad - dh) // stride + 1)) if H - 1 + pad - dh >= 0 else h0
        for dw in range(kw):
            w0 = min(OW, max(0, (pad - dw + stride - 1) // stride))
            w1 = min(OW, max(w0, (W - 1 + pad - dw) // stride + 1)) if W - 1 + pad - dw >= 0 else w0
            for f in range(F):
                cd = pre[h1, w1, f] - pre[h0, w1, f] - pre[h1, w0, f] + pre[h0, w0, f]
                total += cd * cntW[(dh * kw + dw) * F + f]
    return total


@njit(cache=True)
def _active_weighted(Pm, w):
    """sum_r popcount(Pm[r]) * w[r] (conv dW from the patches: patch nonzeros x dy nonzeros per position)."""
    total = 0
    for r in range(Pm.shape[0]):
        if w[r] == 0:
            continue
        p = 0
        for k in range(Pm.shape[1]):
            p += _popc(Pm[r, k])
        total += np.int64(p) * w[r]
    return total


@njit(cache=True)
def _active_planes(Dt, w):
    """sum_m sum_r (bit r of Dt[m]) * w[r] (conv dW from the columns), through the bit planes of w >= 0."""
    R = w.shape[0]
    Vw = Dt.shape[1]
    top = 0
    for r in range(R):
        top = max(top, w[r])
    nplanes = 0
    while (1 << nplanes) <= top:
        nplanes += 1
    planes = np.zeros((nplanes, Vw), np.uint64)
    for j in range(nplanes):
        for k in range(R // 64):
            wd = _ZERO
            for i in range(64):
                wd |= np.uint64((w[64 * k + i] >> j) & 1) << np.uint64(i)
            planes[j, k] = wd
        for r in range(R // 64 * 64, R):
            planes[j, r >> 6] |= np.uint64((w[r] >> j) & 1) << np.uint64(r & 63)
    total = 0
    for j in range(nplanes):
        p = 0
        for m in range(Dt.shape[0]):
            for k in range(Vw):
                p += _popc(Dt[m, k] & planes[j, k])
        total += np.int64(p) << j
    return total

