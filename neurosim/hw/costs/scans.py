"""The scans of the packed cost kernels: per data vector against all selectors (row scan), per selector
over the position-sliced data (column scan), the selector-only statistics, and the booking of skipping
outputs onto arrays and tiles.

Chunks of P consecutive pairs (the gating cycles) are (word, mask) segments (``_segments``), so any P is
exact (whole words when P % 64 == 0).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .bits import _ONE, _ZERO, _ctz, _ones, _popc
from .conv_vectors import _dx_into, _patches_into
from .result import MIN_CYCLES_PER_OUTPUT

_NO_TABLE = np.zeros((0, 0), np.int64)  # ``_scan_built`` forward: no dX table


@njit(cache=True, inline="always")
def _tile_makespan(tile_arr):
    """Cycles of a tile alone on the arrays: the largest of its per-array sums ``tile_arr``, which are
    cleared for the next tile."""
    mx = 0
    for k in range(tile_arr.shape[0]):
        if tile_arr[k] > mx:
            mx = tile_arr[k]
        tile_arr[k] = 0
    return mx


@njit(cache=True, inline="always")
def _close_open_tile(it, t, tile_arr, tile_cycles):
    """Close tile ``t`` if it holds ``it`` > 0 outputs: the last tile of a product, left open when the
    outputs do not fill it."""
    if it > 0:
        tile_cycles[t] = _tile_makespan(tile_arr)


@njit(cache=True)
def _segments(M, P):
    """Chunks of P consecutive pairs as (word, mask) segments: (seg_word, seg_mask, chunk_start)."""
    nch = (M + P - 1) // P
    cap = nch + (M + 63) // 64 + 1
    seg_word = np.zeros(cap, np.int64)
    seg_mask = np.zeros(cap, np.uint64)
    start = np.zeros(nch + 1, np.int64)
    s = 0
    for ch in range(nch):
        lo = ch * P
        hi = min(M, lo + P)
        start[ch] = s
        for k in range(lo // 64, (hi - 1) // 64 + 1):
            b0 = max(lo, 64 * k) - 64 * k
            b1 = min(hi, 64 * k + 64) - 64 * k
            seg_word[s] = k
            seg_mask[s] = _ones(b1 - b0) << np.uint64(b0)
            s += 1
    start[nch] = s
    return seg_word[:s], seg_mask[:s], start


@njit(cache=True, inline="always")
def _seg_data(D, v, s, seg_word, seg_mask, whole):
    """(word, data bits) of segment s of the data vector D[v]; ``whole`` (P a multiple of 64): segment s is
    word s, whole (its mask cuts only bits past M, 0 in both operands), read without the indirection."""
    if whole:
        return s, D[v, s]
    k = seg_word[s]
    return k, D[v, k] & seg_mask[s]


@njit(cache=True, inline="always")
def _busy_vec(D, v, S, seg_word, seg_mask, chunk_start, whole, acc):
    """Busy chunks of the N outputs (D[v], n): P-chunks holding a pair with both operands nonzero.

    Per chunk, its first nonzero data word is ANDed against all N selectors at once; only when that leaves
    a selector without an event are the chunk's further words ORed up (stopping once all are settled).
    ``whole``: see ``_seg_data`` (pass a constant: the inlined test folds away).
    """
    N = S.shape[1]
    total = 0
    for ch in range(chunk_start.shape[0] - 1):
        s0 = chunk_start[ch]
        s1 = chunk_start[ch + 1]
        k, dk = 0, _ZERO
        while s0 < s1:
            k, dk = _seg_data(D, v, s0, seg_word, seg_mask, whole)
            if dk != 0:
                break
            s0 += 1
        if s0 == s1:
            continue  # no nonzero data operand in the chunk
        z = 0
        for n in range(N):
            z += (dk & S[k, n]) == 0
        if z == 0:
            total += N
            continue
        for n in range(N):
            acc[n] = dk & S[k, n]
        for s in range(s0 + 1, s1):
            k, dk = _seg_data(D, v, s, seg_word, seg_mask, whole)
            if dk == 0:
                continue
            z = 0
            for n in range(N):
                t = acc[n] | (dk & S[k, n])
                acc[n] = t
                z += t == 0
            if z == 0:
                break
        total += N - z
    return total


@njit(cache=True, inline="always")
def _events_vec(D, v, S, row):
    """row[n] = popcount(D[v] AND selector n): the events of the outputs (D[v], n) (event rule "both")."""
    N = S.shape[1]
    for n in range(N):
        row[n] = 0
    for k in range(S.shape[0]):
        dk = D[v, k]
        if dk == 0:
            continue
        for n in range(N):
            row[n] += np.int64(_popc(dk & S[k, n]))


@njit(cache=True, inline="always")
def _row_cycles(ev, N, P, sh, pow2):
    """Skipping: ev[1, n] = the cycles of output n from its events ev[0, n] (ceil(events / P), at least
    MIN_CYCLES_PER_OUTPUT; ``pow2``, a constant: P = 1 << sh, shift instead of divide). Returns the sums
    (busy cycles, cycles, events)."""
    busy = 0
    cyc = 0
    evs = 0
    for n in range(N):
        e = ev[0, n]
        b = (e + P - 1) >> sh if pow2 else (e + P - 1) // P
        c = max(b, MIN_CYCLES_PER_OUTPUT)
        ev[1, n] = c
        busy += b
        cyc += c
        evs += e
    return busy, cyc, evs


@njit(cache=True, inline="always")
def _book_row(ev, N, P, A, T, per_array, tile_arr, tile_cycles, st):
    """Skipping: book the N consecutive outputs whose events are ``ev[0, :N]`` onto arrays and tiles
    (``ev[1]`` is scratch for their cycles). ``st`` = [next array, current tile, outputs in it, busy, cycles, events]
    carries across calls. The outputs of a run inside one tile go to arrays round-robin: each array gets a
    strided sum."""
    if P & (P - 1) == 0:  # a power of two: shift instead of divide
        sh = 0
        while (1 << sh) < P:
            sh += 1
        busy, cyc, evs = _row_cycles(ev, N, P, sh, True)
    else:
        busy, cyc, evs = _row_cycles(ev, N, P, 0, False)
    a = st[0]
    t = st[1]
    it = st[2]
    n0 = 0
    while n0 < N:
        seg = min(N - n0, T - it)  # outputs until the tile closes
        for i in range(min(A, seg)):
            acc = 0
            n = n0 + i
            while n < n0 + seg:
                acc += ev[1, n]
                n += A
            aa = a + i
            if aa >= A:
                aa -= A
            per_array[aa] += acc
            tile_arr[aa] += acc
        a = (a + seg) % A
        it += seg
        n0 += seg
        if it == T:
            tile_cycles[t] = _tile_makespan(tile_arr)
            t += 1
            it = 0
    st[0] = a
    st[1] = t
    st[2] = it
    st[3] += busy
    st[4] += cyc
    st[5] += evs


@njit(cache=True)
def _events_buffer(N):
    """(2, G*N) int64: the events and cycles of the outputs of G data vectors (G*N about 4096)."""
    return np.empty((2, max(1, 4096 // max(N, 1)) * N), np.int64)


@njit(cache=True, inline="always")
def _scan_state(N, A):
    """A scan's state: st = [next array, current tile, outputs in it, busy, cycles, events] (``_book_row``),
    the per-array cycles of the open tile, and the scratch of ``_scan_block`` (acc, events buffer)."""
    return np.zeros(6, np.int64), np.zeros(A, np.int64), np.empty(N, np.uint64), _events_buffer(N)


@njit(cache=True)
def _scan_block(D, nrows, S, seg_word, seg_mask, chunk_start, skip, P, A, T, per_array, tile_arr, tile_cycles, st,
                acc, ev):
    """The outputs of the data vectors D[0 : nrows], in order: gating adds their busy chunks to st[3];
    skipping books each output (events -> cycles) onto arrays and tiles."""
    if skip:  # events of G data vectors at a time, then booked in one run
        N = S.shape[1]
        G = ev.shape[1] // N
        ev0 = ev[0]
        for g0 in range(0, nrows, G):
            g1 = min(nrows, g0 + G)
            for v in range(g0, g1):
                _events_vec(D, v, S, ev0[(v - g0) * N:(v - g0 + 1) * N])
            _book_row(ev, (g1 - g0) * N, P, A, T, per_array, tile_arr, tile_cycles, st)
    elif P % 64 == 0:  # chunks of whole words
        busy = 0
        for v in range(nrows):
            busy += _busy_vec(D, v, S, seg_word, seg_mask, chunk_start, True, acc)
        st[3] += busy
    else:
        busy = 0
        for v in range(nrows):
            busy += _busy_vec(D, v, S, seg_word, seg_mask, chunk_start, False, acc)
        st[3] += busy


@njit(cache=True)
def _scan_rows(D, S, seg_word, seg_mask, chunk_start, skip, P, A, T, per_array, tile_cycles):
    """Scan the data vectors ``D`` (V, words) against the selectors ``S`` (words, N); returns
    st = [_, _, _, busy, cycles, events] (cycles, events: skipping only)."""
    st, tile_arr, acc, ev = _scan_state(S.shape[1], A)
    _scan_block(D, D.shape[0], S, seg_word, seg_mask, chunk_start, skip, P, A, T, per_array, tile_arr, tile_cycles,
                st, acc, ev)
    _close_open_tile(st[2], st[1], tile_arr, tile_cycles)
    return st


@njit(cache=True)
def _scan_built(src, tab, B, H, W, C, kh, kw, stride, pad, OH, OW, dx, S, seg_word, seg_mask, chunk_start, skip,
                P, A, T, per_array, tile_cycles, block_words):
    """As ``_scan_rows`` for the conv data vectors, built block by block and each block scanned at once:
    conv forward, the im2col patches (``src`` the packed input rows, ``_patches_into``); ``dx``, conv dX, the
    transposed-conv patches (``src`` the packed dy rows, ``tab`` from ``_dx_table``, C = F the dy channels,
    ``_dx_into``)."""
    nw, N = S.shape
    V = B * H * W if dx else B * OH * OW
    st, tile_arr, acc, ev = _scan_state(N, A)
    blk = max(1, block_words // max(nw, 1))
    buf = np.empty((blk, nw), np.uint64)
    for v0 in range(0, V, blk):
        v1 = min(V, v0 + blk)
        if dx:
            _dx_into(src, tab, H, W, OH, OW, C, v0, v1, buf)
        else:
            _patches_into(src, H, W, C, kh, kw, stride, pad, OH, OW, v0, v1, buf)
        _scan_block(buf, v1 - v0, S, seg_word, seg_mask, chunk_start, skip, P, A, T, per_array, tile_arr,
                    tile_cycles, st, acc, ev)
    _close_open_tile(st[2], st[1], tile_arr, tile_cycles)
    return st


@njit(cache=True)
def _busy_columns(Dt, V, S, seg_word, seg_mask, chunk_start):
    """Gating busy chunks of the event rule "both" from the position-sliced side (suits small M and many data
    vectors).

    ``Dt`` (M, words over V): data bits of pair m for every data vector; for selector n and chunk ch, the
    data vectors with an event in the chunk are the OR of the rows Dt[m] over the chunk's m with S[m, n] != 0
    (V data vectors: the OR stops early once all of them are in).
    """
    Vw = Dt.shape[1]
    N = S.shape[1]
    nch = chunk_start.shape[0] - 1
    acc = np.empty(Vw, np.uint64)
    full = np.zeros(Vw, np.uint64)  # every data vector: once acc is full, more ORs change nothing
    for j in range(min(Vw, V // 64)):
        full[j] = ~_ZERO
    if V % 64:
        full[V // 64] = _ones(V % 64)
    total = 0
    for n in range(N):
        for ch in range(nch):
            ors = 0
            saturated = False
            for s in range(chunk_start[ch], chunk_start[ch + 1]):
                k = seg_word[s]
                bits = S[k, n] & seg_mask[s]
                while bits:
                    m = k * 64 + np.int64(_ctz(bits))
                    bits &= bits - _ONE
                    if ors == 0:
                        for j in range(Vw):
                            acc[j] = Dt[m, j]
                    else:
                        for j in range(Vw):
                            acc[j] |= Dt[m, j]
                    ors += 1
                    if ors % 8 == 0:
                        diff = _ZERO
                        for j in range(Vw):
                            diff |= acc[j] ^ full[j]
                        if diff == 0:
                            saturated = True
                            break
                if saturated:
                    break
            if saturated:
                total += V
            elif ors > 0:
                p = 0
                for j in range(Vw):
                    p += _popc(acc[j])
                total += np.int64(p)
    return total


@njit(cache=True)
def _selector_stats(S, seg_word, seg_mask, chunk_start):
    """Per selector n: its nonzero pairs and its P-chunks holding one (the events and busy chunks
    of the event rule "selector")."""
    nw, N = S.shape
    nch = chunk_start.shape[0] - 1
    pop = np.zeros(N, np.int64)
    busy = np.zeros(N, np.int64)
    for n in range(N):
        p = 0
        for k in range(nw):
            p += _popc(S[k, n])
        pop[n] = p
        b = 0
        for ch in range(nch):
            for s in range(chunk_start[ch], chunk_start[ch + 1]):
                if S[seg_word[s], n] & seg_mask[s]:
                    b += 1
                    break
        busy[n] = b
    return pop, busy


@njit(cache=True)
def _skip_repeat(ev, V, P, A, T, per_array, tile_cycles):
    """Skipping, event rule "selector": the events of output (v, n) are ev[n] for every v; book V rows of them."""
    N = ev.shape[0]
    st, tile_arr, _, buf = _scan_state(N, A)
    G = buf.shape[1] // N
    for g in range(G):
        buf[0, g * N:(g + 1) * N] = ev
    for v0 in range(0, V, G):
        _book_row(buf, (min(V, v0 + G) - v0) * N, P, A, T, per_array, tile_arr, tile_cycles, st)
    _close_open_tile(st[2], st[1], tile_arr, tile_cycles)
    return st
