"""Bit intrinsics and uint64 word helpers of the packed cost kernels (packing, windows, bit transpose).

Packed layout: pair m of a vector is bit m % 64 of word m // 64 (uint64). Data vectors are rows (V, words),
selectors are columns (words, N) so that the inner loops over the N selectors are contiguous (vectorized).
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@intrinsic
def _popc(typingctx, x):
    """Population count of a uint64 (LLVM ctpop: one popcnt / vpopcntq instruction)."""
    if isinstance(x, types.Integer):
        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])
        return types.uint64(types.uint64), codegen
    return None


@intrinsic
def _ctz(typingctx, x):
    """Count of trailing zero bits of a nonzero uint64 (LLVM cttz: tzcnt)."""
    if isinstance(x, types.Integer):
        def codegen(context, builder, signature, args):
            return builder.cttz(args[0], context.get_constant(types.boolean, True))
        return types.uint64(types.uint64), codegen
    return None


# ------------------------------------------------------------------- packing (nonzero tests fused in)
@njit(cache=True, inline="always")
def _word_bits(xrow, i0, n):
    """Bits of xrow[i0 : i0 + n] != 0, n <= 64 (inlined: called with the constant 64, the trip count is
    fixed and the loop vectorized)."""
    wd = _ZERO
    for i in range(n):
        wd |= np.uint64(xrow[i0 + i] != 0) << np.uint64(i)
    return wd


@njit(cache=True)
def _pack_rows(X, extra, count):
    """Bits of ``X`` (G, R, L) along L: (G*R, ceil(L/64) + extra) uint64, and (if ``count``) the nonzero
    counts (R, L) summed over G. ``extra`` zero words let a 64-bit window be read across a row's end."""
    G, R, L = X.shape
    nw = (L + 63) // 64
    full = L // 64
    out = np.zeros((G * R, nw + extra), np.uint64)
    cnt = np.zeros((R, L if count else 0), np.int32)
    for g in range(G):
        for r in range(R):
            xrow = X[g, r]
            row = g * R + r
            for k in range(full):
                out[row, k] = _word_bits(xrow, 64 * k, 64)
            if full < nw:
                out[row, full] = _word_bits(xrow, 64 * full, L - 64 * full)
            if count:
                crow = cnt[r]
                for m in range(L):
                    crow[m] += np.int32(xrow[m] != 0)
    return out, cnt


@njit(cache=True)
def _pack_cols(X):
    """Bits of ``X`` (R, N) along R: (ceil(R/64), N) uint64, and nonzero counts per row (R,)."""
    R, N = X.shape
    nw = (R + 63) // 64
    out = np.zeros((nw, N), np.uint64)
    rowcnt = np.zeros(R, np.int64)
    for k in range(nw):
        orow = out[k]
        for i in range(min(64, R - 64 * k)):
            r = 64 * k + i
            xrow = X[r]
            sh = np.uint64(i)
            c = np.int32(0)
            for n in range(N):
                nz = xrow[n] != 0
                orow[n] |= np.uint64(nz) << sh
                c += np.int32(nz)
            rowcnt[r] = c
    return out, rowcnt


# ------------------------------------------------------------------------------------- word helpers
@njit(cache=True, inline="always")
def _ones(n):
    """A word with its n (0..64) low bits set."""
    return ~_ZERO >> np.uint64(64 - n) if n > 0 else _ZERO


@njit(cache=True, inline="always")
def _window(src, row, sbit):
    """The 64 bits of ``src[row]`` from bit ``sbit``.

    ``src`` rows need one spare word past the last bit read (a window straddles two words). Branch-free
    shifts: (w << 1) << (63 - so) is w << (64 - so), and 0 when so = 0.
    """
    sw = sbit >> 6
    so = np.uint64(sbit & 63)
    return (src[row, sw] >> so) | ((src[row, sw + 1] << _ONE) << (np.uint64(63) - so))


@njit(cache=True, inline="always")
def _copy_bits(src, srow, sbit, n, dst, drow, dbit):
    """OR ``n`` bits of ``src[srow]`` from bit ``sbit`` into ``dst[drow]`` at bit ``dbit`` (dst starts 0)."""
    while n > 0:
        do = dbit & 63
        take = min(n, 64 - do)
        dst[drow, dbit >> 6] |= (_window(src, srow, sbit) & _ones(take)) << np.uint64(do)
        sbit += take
        dbit += take
        n -= take


# ------------------------------------------------------------------------------------ bit transpose
@njit(cache=True, inline="always")
def _transpose64(a):
    """In-place transpose of a 64x64 bit matrix: a[i] bit j <-> a[j] bit i (recursive block swaps)."""
    j = 32
    m = np.uint64(0x00000000FFFFFFFF)
    while j != 0:
        uj = np.uint64(j)
        for k0 in range(0, 64, 2 * j):
            for k in range(k0, k0 + j):
                t = ((a[k] >> uj) ^ a[k + j]) & m
                a[k] ^= t << uj
                a[k + j] ^= t
        j >>= 1
        m ^= m << np.uint64(j)


@njit(cache=True)
def _transpose_bits(Pm, M, width):
    """Bit matrix (R rows, M columns) packed by rows -> packed by columns: (M, width >= ceil(R/64))."""
    R = Pm.shape[0]
    nwr = (R + 63) // 64
    out = np.zeros((M, width), np.uint64)
    blk = np.empty(64, np.uint64)
    for rb in range(nwr):
        for kb in range((M + 63) // 64):
            nz = _ZERO
            for i in range(64):
                r = rb * 64 + i
                blk[i] = Pm[r, kb] if r < R else _ZERO
                nz |= blk[i]
            if nz == 0:
                continue
            _transpose64(blk)
            for j in range(min(64, M - kb * 64)):
                out[kb * 64 + j, rb] = blk[j]
    return out
