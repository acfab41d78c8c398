"""Data vectors of the conv products as packed bits: im2col patches, transposed-conv (dX) patches, the
position-sliced column matrix.

A conv data vector is a bit stream of segments (patch row dh of a patch; (b, oh) of an im2col column): each
one bit range of one packed row with zeros around it (padding), cut into 64-bit pieces. The stream is
written whole words at a time, its pending bits kept in a register: (k words written, acc, nb bits in acc).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .bits import _ONE, _ZERO, _copy_bits, _ones, _window


@njit(cache=True)
def _segment_pieces(L, z0, n):
    """A segment of L bits = z0 zeros, n source bits, zeros; cut into 64-bit pieces (the last shorter).
    Per piece: (source bit offset from the start of the n bits, source bits, left shift, piece length), and
    its mask (the taken bits, in place)."""
    npc = (L + 63) // 64
    out = np.zeros((npc, 4), np.int64)
    masks = np.zeros(npc, np.uint64)
    for j in range(npc):
        off = 64 * j
        t = min(64, L - off)
        a = max(off, z0)
        e = min(off + t, z0 + n)
        if e > a:
            out[j, 0] = a - z0
            out[j, 1] = e - a
            out[j, 2] = a - off
            masks[j] = _ones(e - a) << np.uint64(a - off)
        out[j, 3] = t
    return out, masks


@njit(cache=True, inline="always")
def _piece(src, row, sbit, shift, mask):
    """One piece of a segment: the window of ``src[row]`` from ``sbit`` shifted left by ``shift``, cut to
    ``mask``."""
    return (_window(src, row, sbit) << np.uint64(shift)) & mask


@njit(cache=True, inline="always")
def _push(D, r, k, acc, nb, val, t):
    """Append the t (<= 64) bits ``val`` to the bit stream of D[r] (k words written, nb < 64 bits pending in
    ``acc``); a word that fills is written. Returns the new (k, acc, nb)."""
    acc |= val << np.uint64(nb)
    fit = 64 - nb
    if t >= fit:
        D[r, k] = acc
        k += 1
        acc = (val >> _ONE) >> np.uint64(fit - 1)
        nb = t - fit
    else:
        nb += t
    return k, acc, nb


@njit(cache=True, inline="always")
def _push_segment(src, row, valid, sb, pcs, masks, D, r, k, acc, nb):
    """Append a segment cut into pieces ``pcs``, ``masks`` (``_segment_pieces``) to the bit stream of D[r]: its
    bits of ``src[row]`` read from bit ``sb``, or zeros where not ``valid`` (a padding row)."""
    for j in range(pcs.shape[0]):
        val = _piece(src, row, sb + pcs[j, 0], pcs[j, 2], masks[j]) if valid else _ZERO
        k, acc, nb = _push(D, r, k, acc, nb, val, pcs[j, 3])
    return k, acc, nb


@njit(cache=True, inline="always")
def _end_stream(D, r, k, acc, nb):
    """End the bit stream of D[r]: write the pending bits and zero the spare words."""
    if nb > 0:
        D[r, k] = acc
        k += 1
    for j in range(k, D.shape[1]):
        D[r, j] = 0


@njit(cache=True)
def _patches_into(xr, H, W, C, kh, kw, stride, pad, OH, OW, v0, v1, D):
    """im2col patches of the positions v0 <= v < v1 ((b, oh, ow) row-major) into the rows D[0 : v1 - v0],
    pair order (dh, dw, c). ``xr`` (B*H, words+1) the packed rows x[b, ih] in (iw, c) order: patch row dh is
    one bit range of one row with zeros for the padding, cut into pieces that depend on ow alone
    (precomputed); the patch is written as a bit stream (whole words, the pending bits in a register)."""
    L = kw * C  # bits per kernel row
    npc = (L + 63) // 64
    pcs = np.zeros((OW, npc, 4), np.int64)
    masks = np.zeros((OW, npc), np.uint64)  # per (ow, piece): the taken bits, in place
    src0 = np.zeros(OW, np.int64)
    for ow_ in range(OW):
        iw0 = ow_ * stride - pad
        lo = max(0, iw0)
        hi = max(lo, min(W, iw0 + kw))
        pcs_ow, masks_ow = _segment_pieces(L, (lo - iw0) * C, (hi - lo) * C)
        pcs[ow_] = pcs_ow
        masks[ow_] = masks_ow
        src0[ow_] = lo * C if hi > lo else 0  # (no bits taken: read inside the row)
    b, rem = divmod(v0, OH * OW)
    oh, ow = divmod(rem, OW)
    for r in range(v1 - v0):
        k, acc, nb = 0, _ZERO, 0
        if npc == 1:  # one piece per patch row (kw*C <= 64), hoisted
            sb = src0[ow]
            sh = pcs[ow, 0, 2]
            msk = masks[ow, 0]
            for dh in range(kh):
                ih = oh * stride - pad + dh
                val = _piece(xr, b * H + ih, sb, sh, msk) if 0 <= ih < H else _ZERO
                k, acc, nb = _push(D, r, k, acc, nb, val, L)
        for dh in range(kh if npc > 1 else 0):
            ih = oh * stride - pad + dh
            k, acc, nb = _push_segment(xr, b * H + ih, 0 <= ih < H, src0[ow], pcs[ow], masks[ow], D, r, k, acc,
                                       nb)
        _end_stream(D, r, k, acc, nb)
        ow += 1
        if ow == OW:
            ow = 0
            oh += 1
            if oh == OH:
                oh = 0
                b += 1


@njit(cache=True)
def _dx_table(H, W, OH, OW, kh, kw, stride, pad):
    """(H*W, kh*kw): for input position (ih, iw) and tap (dh, dw), the dy position oh*OW + ow of the pair
    block, or OH*OW (a zero row) for a padding block (ih + pad - dh not stride * [0, OH), same along w)."""
    tab = np.full((H * W, kh * kw), OH * OW, np.int64)
    for ih in range(H):
        for dh in range(kh):
            th = ih + pad - dh
            if th < 0 or th % stride != 0 or th // stride >= OH:
                continue
            for iw in range(W):
                for dw in range(kw):
                    tw = iw + pad - dw
                    if tw >= 0 and tw % stride == 0 and tw // stride < OW:
                        tab[ih * W + iw, dh * kw + dw] = (th // stride) * OW + tw // stride
    return tab


@njit(cache=True)
def _dx_into(dyr, tab, H, W, OH, OW, F, v0, v1, D):
    """Transposed-conv patches of the input positions v0 <= v < v1 ((b, ih, iw)) into D[0 : v1 - v0]: block
    (dh, dw) of the pair order (dh, dw, f) is the packed dy row of its dy position, or 0 (padding pairs).
    ``dyr`` (B*(OH*OW + 1), words+1) packed dy rows, each sample's followed by a zero row; ``tab`` from
    ``_dx_table`` (branch-free gather)."""
    nw = D.shape[1]
    Q = tab.shape[1]
    fw = F >> 6
    HW = H * W
    b, p = divmod(v0, HW)
    for r in range(v1 - v0):
        base = b * (OH * OW + 1)
        if F == 64:  # one word per block (the common case, spelled out: a constant trip count)
            for q in range(Q):
                D[r, q] = dyr[base + tab[p, q], 0]
        elif (F & 63) == 0:  # whole words
            for q in range(Q):
                row = base + tab[p, q]
                for j in range(fw):
                    D[r, q * fw + j] = dyr[row, j]
        else:
            for k in range(nw):
                D[r, k] = 0
            for q in range(Q):
                _copy_bits(dyr, base + tab[p, q], 0, F, D, r, q * F)
        p += 1
        if p == HW:
            p = 0
            b += 1


@njit(cache=True)
def _conv_patches(xr, B, H, W, C, kh, kw, stride, pad, OH, OW, width):
    """All im2col patches as bits: (B*OH*OW, width >= ceil(kh*kw*C/64)) (spare words 0)."""
    V = B * OH * OW
    D = np.empty((V, width), np.uint64)
    _patches_into(xr, H, W, C, kh, kw, stride, pad, OH, OW, 0, V, D)
    return D


@njit(cache=True)
def _dx_patches(dyr, B, H, W, OH, OW, F, kh, kw, stride, pad):
    """All transposed-conv patches as bits: (B*H*W, ceil(kh*kw*F/64)) (tests; the scan builds them by blocks)."""
    V = B * H * W
    D = np.empty((V, (kh * kw * F + 63) // 64), np.uint64)
    _dx_into(dyr, _dx_table(H, W, OH, OW, kh, kw, stride, pad), H, W, OH, OW, F, 0, V, D)
    return D


@njit(cache=True)
def _conv_columns(xp, B, H, W, C, kh, kw, pad, OH, OW, width):
    """Stride-1 conv: the im2col matrix packed by columns, (kh*kw*C, width >= ceil(B*OH*OW/64)), position
    bits (b, oh, ow). ``xp`` (C*B*H, words+1): channel-planar packed rows x[b, ih, :, c] (W bits). Each
    (column, b, oh) is one bit range of one row (zeros around it for padding), written as a bit stream."""
    M = kh * kw * C
    Dt = np.empty((M, width), np.uint64)
    npc = (OW + 63) // 64
    for dh in range(kh):
        for dw in range(kw):
            iw0 = dw - pad  # input column of ow = 0
            lo = max(0, -iw0)
            hi = max(lo, min(OW, W - iw0))
            pcs, masks = _segment_pieces(OW, lo, hi - lo)
            sb = iw0 + lo if hi > lo else 0  # (no bits taken: read inside the row)
            sh = pcs[0, 2]
            msk = masks[0]
            for c in range(C):
                m = (dh * kw + dw) * C + c
                k, acc, nb = 0, _ZERO, 0
                for b in range(B):
                    for oh in range(OH if npc == 1 else 0):  # one piece (OW <= 64), hoisted
                        ih = oh - pad + dh
                        val = _piece(xp, (c * B + b) * H + ih, sb, sh, msk) if 0 <= ih < H else _ZERO
                        k, acc, nb = _push(Dt, m, k, acc, nb, val, OW)
                    for oh in range(OH if npc > 1 else 0):
                        ih = oh - pad + dh
                        k, acc, nb = _push_segment(xp, (c * B + b) * H + ih, 0 <= ih < H, sb, pcs, masks, Dt, m, k,
                                                   acc, nb)
                _end_stream(Dt, m, k, acc, nb)
    return Dt

