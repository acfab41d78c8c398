"""Exact cost kernels: the real operands of a dense or conv layer -> action counts and compute cycles.

Model (``hw/reference.py`` steps the same model cycle by cycle; the tests hold the two to exact equality)
---------------------------------------------------------------------------------------------------------
A **compute array** has ``lanes`` P (one operand pair per lane per cycle) and there are ``arrays`` A
identical arrays working on different outputs in parallel. Its ``kind`` says what a lane does, its
``policy`` what happens to a zero operand pair: ``gating`` (the lane rests, the cycle is still spent) or
``skipping`` (zero pairs are compacted away first, saving the cycle; costs index + compaction actions).

Products. Every layer product is a set of **outputs**, each the sum over an ordered list of M operand
pairs (a, b), ``a`` the data operand and ``b`` the *selector* operand (the weight, for the kinds that key on
the weight alone):
- dense forward ``y[b,j] = sum_i x[b,i] w[i,j]``: outputs (b, j), M = in, pairs (x[b,i], w[i,j]) by i;
- conv forward ``y[b,oh,ow,f]``: outputs (b, oh, ow, f), M = kh*kw*C, pairs in (dh, dw, c) order
  (the im2col column order); a padding position is a pair whose input is 0;
- dense backward ``dX = dY W^T``: outputs (b, i), M = out, pairs (dy[b,j], w[i,j]) by j;
- dense backward ``dW = X^T dY``: outputs (i, j), M = B, pairs (x[b,i], dy[b,j]) by b (selector = dy);
- conv backward ``dW[dh,dw,c,f] = sum_(b,oh,ow) x[b, oh*s-p+dh, ow*s-p+dw, c] dy[b,oh,ow,f]``: outputs
  (dh, dw, c, f), M = B*OH*OW, pairs by (b, oh, ow) (padding pairs have input 0; selector = dy);
- conv backward dX (a transposed convolution) ``dX[b,ih,iw,c] = sum_(dh,dw,f) dy[b,oh,ow,f] w[dh,dw,c,f]``:
  outputs (b, ih, iw, c) over x's shape (B, H, W, C), M = kh*kw*F, pairs (dy[b,oh,ow,f], w[dh,dw,c,f]) in
  (dh, dw, f) order with oh = (ih + p - dh) / s and ow = (iw + p - dw) / s; where that is not an integer or
  falls outside [0, OH) / [0, OW) the dy operand is 0 (a padding pair); selector = w.
Outputs are taken in that order (row-major over the output index) and dealt round-robin to the arrays:
output o goes to array ``o % A``; each array processes its outputs one after another.

Per output, with ``active`` = pairs with both operands nonzero and ``events`` = the pairs the unit must
fire on (its *event rule*):

============  ==================================  =====================================================
kind          event rule (lanes that fire)        actions
============  ==================================  =====================================================
gated_xnor    a != 0 and b != 0  (= active)       gate_check = M, xnor = events, bitcount_add = busy
(GXNOR)                                           cycles, rest
event_mux     b != 0  (weight nonzero)            gate_check = M, mux = add = events, rest
(TWN)
xnor (BNN)    every pair                          xnor = M, bitcount_add = busy cycles, rest
mac (FP)      every pair                          mult = M, add = M, rest
mux (BWN)     every pair                          mux = M, add = M, rest
============  ==================================  =====================================================

- gating: cycles = max(1, ceil(M / P)); cycle k consumes pairs k*P .. k*P+P-1 in order; a lane whose pair is
  an event fires, the others (and the empty lanes of a last partial cycle) rest.
- skipping (event kinds only): the event pairs are compacted first, cycles = max(1, ceil(events / P));
  actions add ``index`` = events and ``compact`` = M. The kinds without an event rule (xnor, mac, mux)
  have nothing to skip: for them skipping is identical to gating, with no index/compact actions.
- **Minimum one cycle per output** (``MIN_CYCLES_PER_OUTPUT``): an output always takes at least one cycle, to
  emit it, even when skipping leaves it no event pair (that cycle has all P lanes resting).
- A **busy cycle** is a cycle with >= 1 firing lane; xnor kinds do one bitcount/accumulate per busy cycle
  (skipping: ceil(events / P) busy cycles; gating: the number of P-chunks holding >= 1 event).
- ``rest`` = cycles * P - events, summed over outputs (lane-slots that did not fire); ``fired`` = events.
- Layer: ``compute_cycles`` = max over arrays of the sum of its outputs' cycles (arrays run in parallel);
  ``utilization`` = fired / (compute_cycles * P * A).
- Tiles: a tile is a contiguous chunk of ``tile_outputs`` outputs (default: one sample's outputs for forward
  and dX, one row (i, or dh/dw/c) of dW); outputs keep their global array ``o % A``; a tile's cycles
  are its makespan when it runs alone on the A arrays (max over arrays of the cycles of its outputs there),
  so ``sum(tile_cycles) >= compute_cycles`` (tiles are barrier-synchronized, the whole layer is not).
- Statistics: ``operand_pairs`` = sum of M, ``nonzero_pairs`` = sum of active (algorithmic work, the same for
  every kind), so ``resting_probability`` = 1 - nonzero_pairs / operand_pairs (GXNOR Table 2: 5/9 for
  uniform ternary operands); ``unit_resting_probability`` = 1 - fired / operand_pairs is what the unit rests
  (TWN: 1/3 for uniform ternary weights whatever the inputs; BNN/BWN/FP: 0).

Implementation. Only the zero/nonzero pattern of the operands matters. Every product is written as outputs
o = v*N + n: a *data vector* v (a row of ``a``, the im2col patch of (b, oh, ow), the transposed-conv patch of
(b, ih, iw), or one (dh, dw, c) column of the im2col matrix for conv dW) against N *selectors* n (columns of
``b``, filters, input channels, dy channels), each an ordered list of M pairs. The default ``method="bits"``
packs both into uint64 words, pair m at bit m % 64 of word m // 64 (the nonzero tests fused into the
packing), and computes per output only what the policy needs:

- ``nonzero_pairs`` never needs a scan: it is sum_m (data vectors with pair m nonzero) x (selectors with
  pair m nonzero), from nonzero counts of the operands (conv dW: sum over positions of patch nonzeros x dy
  nonzeros, popcounts of one of the bit matrices);
- gating: cycles per output are the constant max(1, ceil(M / P)), so ``per_array_cycles``/``tile_cycles``
  are closed forms; event_mux's events and busy chunks depend on the selector alone, the other kinds' are
  M and ceil(M / P); only gated_xnor's busy chunks need the operands, counted by one of two exact scans:
  the *row scan* ANDs a data vector's chunk against all N selectors at once, word by word, and stops at the
  first word that leaves no selector without an event (usually the first); the *column scan* works on the
  position-sliced matrix (pair m -> bits over the data vectors): for (selector, chunk), the OR of the rows
  of the chunk's pairs where the selector is nonzero, popcounted (stopping once it holds every data
  vector). Conv products take the one with the lower estimated cost (conv1-like forward: columns; dW: the
  patch matrix is its position-sliced side). Chunks are P consecutive pairs of an output's list, i.e.
  (word, mask) segments, so any P is exact (whole words when P % 64 == 0);
- skipping: per-output events (gated_xnor: popcount of the AND; event_mux: popcount of the selector), then
  booked output by output onto arrays and tiles (strided sums over runs of consecutive outputs).

``method="bytes"`` keeps the original per-pair scan on uint8 masks (slow; a second implementation to test
against). The bit kernels are single-threaded: deterministic, and no thread hand-off on a shared machine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

KINDS = ("gated_xnor", "event_mux", "xnor", "mac", "mux")
POLICIES = ("gating", "skipping")
PRODUCTS = ("forward", "dx", "dw")
METHODS = ("bits", "bytes")
MIN_CYCLES_PER_OUTPUT = 1

# event rule codes used by the kernels
EV_BOTH = 0  # both operands nonzero
EV_SELECTOR = 1  # selector (weight) operand nonzero
EV_ALL = 2  # every pair
EVENT_RULE = {"gated_xnor": EV_BOTH, "event_mux": EV_SELECTOR, "xnor": EV_ALL, "mac": EV_ALL, "mux": EV_ALL}

# stats vector layout returned by the kernels
_S_PAIRS, _S_ACTIVE, _S_EVENTS, _S_BUSY, _S_CYCLES, _S_OUTPUTS = range(6)


@dataclass
class CostResult:
    """Actions and cycles of one product (layer, phase) on A arrays of P lanes."""

    kind: str
    policy: str
    lanes: int
    arrays: int
    actions: dict[str, int]
    compute_cycles: int
    per_array_cycles: np.ndarray  # (A,) int64: sum of cycles of the outputs dealt to each array
    tile_cycles: np.ndarray  # (tiles,) int64: makespan of each tile alone on the A arrays
    tile_outputs: int
    outputs: int
    operand_pairs: int  # sum of M over outputs
    nonzero_pairs: int  # pairs with both operands nonzero (algorithmic work)
    fired: int  # lane operations actually fired (the kind's event rule)
    busy_cycles: int  # output-cycles with >= 1 firing lane (summed over outputs)
    output_cycles: int  # sum of cycles over outputs (= sum of per_array_cycles)
    utilization: float  # fired / (compute_cycles * P * A)
    extra: dict = field(default_factory=dict)

    @property
    def lane_slots(self) -> int:
        """Lane-slots occupied by the outputs (fired + rest)."""
        return self.output_cycles * self.lanes

    @property
    def resting_probability(self) -> float:
        """1 - nonzero pairs / operand pairs (algorithmic, same for every kind)."""
        return 1.0 - self.nonzero_pairs / self.operand_pairs if self.operand_pairs else 0.0

    @property
    def unit_resting_probability(self) -> float:
        """1 - fired / operand pairs: the share of pairs on which the unit's lanes rest."""
        return 1.0 - self.fired / self.operand_pairs if self.operand_pairs else 0.0


# ----------------------------------------------------------------------------------------------- kernels
@njit(cache=True)
def _account(o, M, active, events, busy_gating, P, A, skipping, tile_outputs, stats, per_array, tile_arr,
             tile_cycles):
    """Book one output: its cycles onto its array and its tile, its counts into ``stats``."""
    if skipping:
        n = events
        busy = (events + P - 1) // P
    else:
        n = M
        busy = busy_gating
    cyc = (n + P - 1) // P
    if cyc < MIN_CYCLES_PER_OUTPUT:
        cyc = MIN_CYCLES_PER_OUTPUT
    stats[_S_PAIRS] += M
    stats[_S_ACTIVE] += active
    stats[_S_EVENTS] += events
    stats[_S_BUSY] += busy
    stats[_S_CYCLES] += cyc
    stats[_S_OUTPUTS] += 1
    a = o % A
    per_array[a] += cyc
    tile_arr[a] += cyc
    if (o + 1) % tile_outputs == 0:  # last output of its tile: close the tile
        tile_cycles[o // tile_outputs] = _tile_makespan(tile_arr)


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
def _scan(xr, wr, rule, P):
    """(active, events, busy P-chunks) of one output whose pairs are (xr[m], wr[m]), uint8 0/1 rows.

    Chunks of P consecutive pairs are the gating cycles; the inner loops are branch-free reductions.
    """
    M = xr.shape[0]
    active = 0
    events = 0
    busy = 0
    # unsigned indices: no negative-index wraparound code, so LLVM vectorizes the reductions
    uP = np.uint64(P)
    uM = np.uint64(M)
    c0 = np.uint64(0)
    while c0 < uM:
        c1 = min(c0 + uP, uM)
        act = np.uint64(0)
        for m in range(c0, c1):
            act += xr[m] & wr[m]
        if rule == EV_BOTH:
            ev = act
        elif rule == EV_SELECTOR:
            ev = np.uint64(0)
            for m in range(c0, c1):
                ev += wr[m]
        else:
            ev = c1 - c0
        active += np.int64(act)
        events += np.int64(ev)
        busy += 1 if ev > 0 else 0
        c0 = c1
    return active, events, busy


@njit(cache=True, inline="always")
def _book_vector(vec, selT, o, rule, P, A, skipping, tile_outputs, stats, per_array, tile_arr, tile_cycles):
    """Scan the data vector ``vec`` against each selector row of ``selT`` (uint8 0/1) and book the outputs
    o, o + 1, ... in that order; returns the next output index."""
    M = vec.shape[0]
    for n in range(selT.shape[0]):
        active, events, busy = _scan(vec, selT[n], rule, P)
        _account(o, M, active, events, busy, P, A, skipping, tile_outputs, stats, per_array, tile_arr,
                 tile_cycles)
        o += 1
    return o


@njit(cache=True)
def _product_kernel(am, bmT, rule, P, A, skipping, tile_outputs, stats, per_array, tile_cycles):
    """Outputs (r, n) of ``am @ bmT.T`` with masks ``am`` (R, M) and ``bmT`` (N, M), uint8 0/1."""
    tile_arr = np.zeros(A, np.int64)
    o = 0
    for r in range(am.shape[0]):
        o = _book_vector(am[r], bmT, o, rule, P, A, skipping, tile_outputs, stats, per_array, tile_arr,
                         tile_cycles)
    _close_open_tile(o % tile_outputs, o // tile_outputs, tile_arr, tile_cycles)


@njit(cache=True, inline="always")
def _tap(i, d, stride, pad, n, transposed):
    """Source index along one axis of tap ``d`` of position ``i``, or -1 (a padding pair): conv forward
    i*stride - pad + d; ``transposed`` (conv dX) (i + pad - d) / stride, where that is an integer; in [0, n)."""
    if transposed:
        t = i + pad - d
        if t < 0 or t % stride != 0:
            return -1
        s = t // stride
    else:
        s = i * stride - pad + d
    return s if 0 <= s < n else -1


@njit(cache=True)
def _patch_kernel(src, selT, stride, pad, kh, kw, PH, PW, transposed, rule, P, A, skipping, tile_outputs, stats,
                  per_array, tile_cycles):
    """Conv outputs (b, i, j, n) over a PH x PW grid of positions and the selector rows n of ``selT``; the
    data vector of (b, i, j) is gathered once, in (dh, dw, channel) order, from ``src`` (B, SH, SW, channels)
    at (``_tap`` (i, dh), ``_tap`` (j, dw)) (0 for a padding tap), and scanned against every selector; uint8
    0/1 masks.

    Forward: ``src`` x (B, H, W, C), grid (OH, OW), ``selT`` the filters (F, kh*kw*C). ``transposed``, conv
    dX: ``src`` dy (B, OH, OW, F), grid (H, W), ``selT`` the input channels (C, kh*kw*F) (w as (c, dh, dw, f));
    a pair with no integral in-range (oh, ow) has dy operand 0.
    """
    B, SH, SW, Cs = src.shape
    patch = np.zeros(selT.shape[1], np.uint8)
    tile_arr = np.zeros(A, np.int64)
    o = 0
    for b in range(B):
        for i in range(PH):
            for j in range(PW):
                m = 0
                for dh in range(kh):
                    si = _tap(i, dh, stride, pad, SH, transposed)
                    for dw in range(kw):
                        sj = _tap(j, dw, stride, pad, SW, transposed)
                        inside = si >= 0 and sj >= 0
                        for c in range(Cs):
                            patch[m] = src[b, si, sj, c] if inside else np.uint8(0)
                            m += 1
                o = _book_vector(patch, selT, o, rule, P, A, skipping, tile_outputs, stats, per_array, tile_arr,
                                 tile_cycles)
    _close_open_tile(o % tile_outputs, o // tile_outputs, tile_arr, tile_cycles)


@njit(cache=True)
def _conv_dw_kernel(xm, dymT, stride, pad, kh, kw, rule, P, A, skipping, tile_outputs, stats, per_array,
                    tile_cycles):
    """Conv weight-gradient outputs (dh, dw, c, f); pairs (x[b, ih, iw, c], dy[b, oh, ow, f]) by (b, oh, ow).

    ``xm`` (B, H, W, C), ``dymT`` (F, B*OH*OW) (dy transposed so the pair scan is contiguous), uint8 masks.
    """
    B, H, W, C = xm.shape
    M = dymT.shape[1]
    OH = (H + 2 * pad - kh) // stride + 1
    OW = (W + 2 * pad - kw) // stride + 1
    col = np.zeros(M, np.uint8)
    tile_arr = np.zeros(A, np.int64)
    o = 0
    for dh in range(kh):
        for dw in range(kw):
            for c in range(C):
                m = 0
                for b in range(B):
                    for oh in range(OH):
                        ih = _tap(oh, dh, stride, pad, H, False)
                        for ow in range(OW):
                            iw = _tap(ow, dw, stride, pad, W, False)
                            col[m] = xm[b, ih, iw, c] if ih >= 0 and iw >= 0 else np.uint8(0)
                            m += 1
                o = _book_vector(col, dymT, o, rule, P, A, skipping, tile_outputs, stats, per_array, tile_arr,
                                 tile_cycles)
    _close_open_tile(o % tile_outputs, o // tile_outputs, tile_arr, tile_cycles)


# ------------------------------------------------------------------------------------------- bit kernels
# Packed layout: pair m of a vector is bit m % 64 of word m // 64 (uint64). Data vectors are rows (V, words),
# selectors are columns (words, N) so that the inner loops over the N selectors are contiguous (vectorized).
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


# ----------------------------------------------------------------------- data vectors of the conv products
# A conv data vector is a bit stream of segments (patch row dh of a patch; (b, oh) of an im2col column): each
# one bit range of one packed row with zeros around it (padding), cut into 64-bit pieces. The stream is
# written whole words at a time, its pending bits kept in a register: (k words written, acc, nb bits in acc).
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


# ------------------------------------------------------------------------------------------- the scans
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
    """row[n] = popcount(D[v] AND selector n): the events of the outputs (D[v], n) (gated_xnor)."""
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


_BLOCK_WORDS = 1 << 13  # data vectors are built in blocks of about 64 KiB and scanned while in cache
_NO_TABLE = np.zeros((0, 0), np.int64)  # ``_scan_built`` forward: no dX table


@njit(cache=True)
def _scan_built(src, tab, B, H, W, C, kh, kw, stride, pad, OH, OW, dx, S, seg_word, seg_mask, chunk_start, skip,
                P, A, T, per_array, tile_cycles):
    """As ``_scan_rows`` for the conv data vectors, built block by block and each block scanned at once:
    conv forward, the im2col patches (``src`` the packed input rows, ``_patches_into``); ``dx``, conv dX, the
    transposed-conv patches (``src`` the packed dy rows, ``tab`` from ``_dx_table``, C = F the dy channels,
    ``_dx_into``)."""
    nw, N = S.shape
    V = B * H * W if dx else B * OH * OW
    st, tile_arr, acc, ev = _scan_state(N, A)
    blk = max(1, _BLOCK_WORDS // max(nw, 1))
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
    """gated_xnor gating busy chunks from the position-sliced side (suits small M and many data vectors).

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
    """Per selector n: its nonzero pairs and its P-chunks holding one (event_mux events and busy chunks)."""
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
    """Skipping event_mux: the events of output (v, n) are ev[n] for every v; book V rows of them."""
    N = ev.shape[0]
    st, tile_arr, _, buf = _scan_state(N, A)
    G = buf.shape[1] // N
    for g in range(G):
        buf[0, g * N:(g + 1) * N] = ev
    for v0 in range(0, V, G):
        _book_row(buf, (min(V, v0 + G) - v0) * N, P, A, T, per_array, tile_arr, tile_cycles, st)
    _close_open_tile(st[2], st[1], tile_arr, tile_cycles)
    return st


# --------------------------------------------------------------------- nonzero pairs from operand counts
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


# ------------------------------------------------------------------------------------------------ python
def _mask(v) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(v) != 0).view(np.uint8)


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _conv_geometry(layer: dict) -> tuple[int, int, int]:
    """(stride, padding, kernel) of a conv layer dict; square strides/paddings only."""
    sh, sw = _pair(layer.get("stride", 1))
    ph, pw = _pair(layer.get("padding", 0))
    if sh != sw or ph != pw:
        raise ValueError("costs: only equal strides/paddings along H and W are supported")
    if sh < 1 or ph < 0:
        raise ValueError(f"costs: bad stride {sh} / padding {ph}")
    return sh, ph, layer.get("kernel")


def _finish(kind, policy, P, A, stats, per_array, tile_cycles, tile_outputs) -> CostResult:
    pairs = int(stats[_S_PAIRS])
    events = int(stats[_S_EVENTS])
    busy = int(stats[_S_BUSY])
    cyc = int(stats[_S_CYCLES])
    outputs = int(stats[_S_OUTPUTS])
    rest = cyc * P - events
    skipping = policy == "skipping" and EVENT_RULE[kind] != EV_ALL
    if kind == "gated_xnor":
        actions = {"gate_check": pairs, "xnor": events, "bitcount_add": busy, "rest": rest}
    elif kind == "event_mux":
        actions = {"gate_check": pairs, "mux": events, "add": events, "rest": rest}
    elif kind == "xnor":
        actions = {"xnor": pairs, "bitcount_add": busy, "rest": rest}
    elif kind == "mac":
        actions = {"mult": pairs, "add": pairs, "rest": rest}
    else:  # mux
        actions = {"mux": pairs, "add": pairs, "rest": rest}
    if skipping:
        actions["index"] = events
        actions["compact"] = pairs
    compute = int(per_array.max()) if per_array.size else 0
    util = events / (compute * P * A) if compute else 0.0
    return CostResult(kind=kind, policy=policy, lanes=P, arrays=A, actions=actions, compute_cycles=compute,
                      per_array_cycles=per_array, tile_cycles=tile_cycles, tile_outputs=tile_outputs,
                      outputs=outputs, operand_pairs=pairs, nonzero_pairs=int(stats[_S_ACTIVE]), fired=events,
                      busy_cycles=busy, output_cycles=cyc, utilization=util)


def _check(kind, policy, lanes, arrays, method="bits"):
    if kind not in KINDS:
        raise ValueError(f"unknown compute kind {kind!r} (expected one of {KINDS})")
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r} (expected one of {POLICIES})")
    if int(lanes) < 1 or int(arrays) < 1:
        raise ValueError(f"lanes and arrays must be >= 1 (got {lanes}, {arrays})")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (expected one of {METHODS})")


def _bytes_costs(kind, policy, P, A, n_outputs, tile_outputs, kernel, *operands) -> CostResult:
    """Costs by a byte kernel (``method="bytes"``): ``kernel(*operands, rule, P, A, skipping, tile_outputs,
    stats, per_array, tile_cycles)`` books the ``n_outputs`` outputs."""
    stats, per_array, tiles, tile_outputs = _buffers(n_outputs, tile_outputs, A)
    if n_outputs:
        kernel(*operands, EVENT_RULE[kind], P, A, policy == "skipping", tile_outputs, stats, per_array, tiles)
    return _finish(kind, policy, P, A, stats, per_array, tiles, tile_outputs)


def _buffers(n_outputs, tile_outputs, A):
    tile_outputs = int(tile_outputs)
    if tile_outputs < 1:
        raise ValueError(f"tile_outputs must be >= 1 (got {tile_outputs})")
    n_tiles = -(-n_outputs // tile_outputs)
    return (np.zeros(6, np.int64), np.zeros(A, np.int64), np.zeros(n_tiles, np.int64), tile_outputs)


# ---------------------------------------------------------------------------------------- bits: operands
Scan = Callable[[bool, tuple, int, int, int, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class _Packed:
    """A product as V data vectors x N selectors of M ordered pairs (outputs o = v*N + n), bit-packed.

    ``S`` (words, N) selector bits; ``active`` the nonzero pairs over all outputs (from operand counts, or a
    callable run after the scan, which may reuse its bit matrices);
    ``scan(skip, segments, P, A, T, per_array, tile_cycles)`` runs the per-data-vector scan (gated_xnor only)
    and returns [_, _, _, busy, cycles, events]; ``cols()``, where given, the position-sliced data bits
    (M, words over V) for the gating busy scan (``_busy_columns``), used when its estimated cost is lower.
    """

    V: int
    N: int
    M: int
    S: np.ndarray
    active: int | Callable[[], int]
    scan: Scan
    cols: Callable[[], np.ndarray] | None = None
    rows_cost: float = 0.0  # ns to build the data vectors for ``scan``
    cols_cost: float = float("inf")  # ns to build ``cols()``
    selector_pairs: int = 0  # nonzero selector pairs (the column scan ORs one row per pair)


_CONV_PATH = "auto"  # tests force "rows" (per data vector scan) or "cols" (position-sliced) on conv gating
_COLUMNS_BUILD = "auto"  # tests force "direct" (stride 1 only) or "transpose" for the column matrix

# rough ns per unit of work on the 2-core development machine, to pick the cheaper of two exact paths
_K_PATCH = 3.0  # per (position, kernel row, 64-bit piece) of the im2col patches
_K_DIRECT = 4.0  # per (column, sample, output row) bit range of the direct column build
_K_TRANSPOSE = 230.0  # per 64x64 bit block transposed
_K_ROWSCAN = 0.15  # per (data vector, chunk, selector) of the row scan
_K_COLSCAN = 0.1  # per (selector pair or chunk, word over the data vectors) of the column scan


def _c(a: np.ndarray) -> np.ndarray:
    """C-contiguous, with bool read as uint8 (one compiled kernel serves both)."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint8) if a.dtype == np.bool_ else a


def _rows_scan(D: np.ndarray, S: np.ndarray) -> Scan:
    def scan(skip, segs, P, A, T, per_array, tiles):
        return _scan_rows(D, S, *segs, skip, P, A, T, per_array, tiles)
    return scan


def _rows_bits(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``a`` (R, M) as bits (R, words), and per-column nonzero counts (M,)."""
    R, M = a.shape
    if not a.flags.c_contiguous and a.T.flags.c_contiguous:  # e.g. x.T: pack the columns of the transpose
        bits, cnt = _pack_cols(_c(a.T))
        return np.ascontiguousarray(bits.T), cnt
    bits, cnt = _pack_rows(_c(a).reshape(R, 1, M), 0, True)
    return bits, cnt[0]


def _cols_bits(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``b`` (M, N) as bits (words, N), and per-row nonzero counts (M,)."""
    M, N = b.shape
    if not b.flags.c_contiguous and b.T.flags.c_contiguous:  # e.g. w.T
        bits, cnt = _pack_rows(_c(b.T).reshape(N, 1, M), 0, True)
        return np.ascontiguousarray(bits.T), cnt[0]
    return _pack_cols(_c(b))


def _packed_product(a: np.ndarray, b: np.ndarray) -> _Packed:
    D, cnt_a = _rows_bits(a)
    S, cnt_b = _cols_bits(b)
    active = int(np.dot(cnt_a.astype(np.int64), cnt_b.astype(np.int64)))
    return _Packed(a.shape[0], b.shape[1], a.shape[1], S, active, _rows_scan(D, S))


class _ConvBits:
    """The packed input of a conv layer and the two bit matrices built from it, on demand: the im2col
    patches (B*OH*OW, words over kh*kw*C) and the column matrix (kh*kw*C, words over B*OH*OW)."""

    def __init__(self, x: np.ndarray, kh: int, kw: int, stride: int, pad: int, count: bool):
        self.x, self.kh, self.kw, self.stride, self.pad = x, kh, kw, stride, pad
        B, H, W, C = x.shape
        self.OH, self.OW = _out_size(H, kh, stride, pad), _out_size(W, kw, stride, pad)
        self.V, self.M = B * self.OH * self.OW, kh * kw * C
        # rows x[b, ih] in (iw, c) order (B*H, words+1); counts (H, W*C) over the batch
        self.xr, self.Sx = _pack_rows(_c(x).reshape(B, H, W * C), 1, count)
        Vw, Mw = -(-self.V // 64), -(-self.M // 64)
        self.patch_cost = self.V * kh * (-(-kw * C // 64)) * _K_PATCH
        direct = self.M * B * self.OH * _K_DIRECT if stride == 1 else float("inf")
        via = self.patch_cost + Vw * Mw * _K_TRANSPOSE
        self.direct = stride == 1 and (_COLUMNS_BUILD == "direct" or (_COLUMNS_BUILD == "auto" and direct <= via))
        self.columns_cost = direct if self.direct else via
        self._patches: np.ndarray | None = None
        self._columns: np.ndarray | None = None

    def geometry(self) -> tuple:
        B, H, W, C = self.x.shape
        return B, H, W, C, self.kh, self.kw, self.stride, self.pad, self.OH, self.OW

    def patches(self) -> np.ndarray:
        """(V, words over M), memoized; words padded to a multiple of 8 for the vectorized column scan."""
        if self._patches is None:
            self._patches = _conv_patches(self.xr, *self.geometry(), _padded(-(-self.M // 64)))
        return self._patches

    def columns(self) -> np.ndarray:
        """(M, words over V), memoized; words padded to a multiple of 8."""
        if self._columns is None:
            B, H, W, C = self.x.shape
            width = _padded(-(-self.V // 64))
            if not self.direct:
                self._columns = _transpose_bits(self.patches(), self.M, width)
            else:
                xp = self.xr if C == 1 else _pack_rows(
                    _c(np.transpose(self.x, (3, 0, 1, 2))).reshape(C * B * H, 1, W), 1, False)[0]  # channel-planar
                self._columns = _conv_columns(xp, B, H, W, C, self.kh, self.kw, self.pad, self.OH, self.OW, width)
        return self._columns


def _padded(words: int) -> int:
    """Row length in words for the column scans: a multiple of 8 (one AVX-512 vector) above 8."""
    return words if words <= 8 else -(-words // 8) * 8


def _packed_conv_forward(x, w, stride, pad) -> _Packed:
    kh, kw, C, F = w.shape
    cb = _ConvBits(x, kh, kw, stride, pad, True)
    S, cntW = _pack_cols(_c(w).reshape(kh * kw * C, F))
    active = _active_conv_fwd(cb.Sx, cntW, C, kh, kw, stride, pad, cb.OH, cb.OW)
    xr, geo = cb.xr, cb.geometry()

    def scan(skip, segs, P, A, T, per_array, tiles):
        return _scan_built(xr, _NO_TABLE, *geo, False, S, *segs, skip, P, A, T, per_array, tiles)

    return _Packed(cb.V, F, cb.M, S, int(active), scan, cols=cb.columns, rows_cost=cb.patch_cost,
                   cols_cost=cb.columns_cost, selector_pairs=int(cntW.sum()))


def _zero_row_after_each(rows: np.ndarray, B: int, n: int) -> np.ndarray:
    """(B*n, w) -> (B*(n+1), w): a zero row after each of the B groups of n rows."""
    r = rows.reshape(B, n, rows.shape[1])
    return np.concatenate([r, np.zeros((B, 1, rows.shape[1]), rows.dtype)], axis=1).reshape(-1, rows.shape[1])


def _packed_conv_dx(x_shape, w, dy, stride, pad) -> _Packed:
    B, H, W, C = x_shape
    kh, kw, _, F = w.shape
    _, OH, OW, _ = dy.shape
    dyr, Tdy = _pack_rows(_c(dy).reshape(B, OH * OW, F), 1, True)
    dyr = _zero_row_after_each(dyr, B, OH * OW)  # the padding pairs read a zero row
    S, cntW = _pack_cols(_c(np.transpose(w, (0, 1, 3, 2))).reshape(kh * kw * F, C))
    active = _active_conv_dx(Tdy, cntW, F, H, W, kh, kw, stride, pad, OH, OW)

    def scan(skip, segs, P, A, T, per_array, tiles):
        tab = _dx_table(H, W, OH, OW, kh, kw, stride, pad)
        return _scan_built(dyr, tab, B, H, W, F, kh, kw, stride, pad, OH, OW, True, S, *segs, skip, P, A, T,
                           per_array, tiles)

    return _Packed(B * H * W, C, kh * kw * F, S, int(active), scan)


def _packed_conv_dw(x, dy, kh, kw, stride, pad) -> _Packed:
    """dW: data vectors = the columns (dh, dw, c) of the im2col matrix, selectors = the dy channels, pairs =
    positions; the position-sliced side of it is the patch matrix itself. Nonzero pairs = sum over positions
    of (patch nonzeros) x (dy nonzeros), from whichever bit matrix the scan built (or the cheaper one)."""
    cb = _ConvBits(x, kh, kw, stride, pad, False)
    F = dy.shape[3]
    S, dycnt = _pack_cols(_c(dy).reshape(cb.V, F))

    def scan(skip, segs, P, A, T, per_array, tiles):
        return _scan_rows(cb.columns(), S, *segs, skip, P, A, T, per_array, tiles)

    def active() -> int:
        if cb._patches is None and (cb._columns is not None or cb.columns_cost < cb.patch_cost):
            return int(_active_planes(cb.columns(), dycnt))
        return int(_active_weighted(cb.patches(), dycnt))

    return _Packed(cb.M, F, cb.V, S, active, scan, cols=cb.patches, rows_cost=cb.columns_cost,
                   cols_cost=cb.patch_cost, selector_pairs=int(dycnt.sum()))


def _bits_costs(kind, policy, P, A, pk: _Packed, tile_outputs) -> CostResult:
    """Costs of a packed product (see the module docstring, 'Implementation')."""
    rule = EVENT_RULE[kind]
    skipping = policy == "skipping" and rule != EV_ALL
    V, N, M = pk.V, pk.N, pk.M
    n_out = V * N
    stats, per_array, tiles, T = _buffers(n_out, tile_outputs, A)
    stats[_S_PAIRS] = n_out * M
    stats[_S_OUTPUTS] = n_out
    if n_out == 0:
        return _finish(kind, policy, P, A, stats, per_array, tiles, T)
    chunks = -(-M // P)
    segs = _segments(M, P) if rule != EV_ALL else None
    if not skipping:  # constant cycles per output: closed forms
        cyc = max(MIN_CYCLES_PER_OUTPUT, chunks)
        base, rem = divmod(n_out, A)
        per_array[:] = cyc * (base + (np.arange(A) < rem))
        sizes = np.full(tiles.size, T, np.int64)
        sizes[-1] = n_out - (tiles.size - 1) * T
        tiles[:] = cyc * (-(-sizes // A))
        stats[_S_CYCLES] = cyc * n_out
        if rule == EV_BOTH:
            rows_ns = pk.rows_cost + V * chunks * N * _K_ROWSCAN
            cols_ns = pk.cols_cost + (pk.selector_pairs + N * chunks) * (-(-V // 64)) * _K_COLSCAN
            use_cols = pk.cols is not None and (_CONV_PATH == "cols" or (_CONV_PATH == "auto" and cols_ns < rows_ns))
            if use_cols:
                stats[_S_BUSY] = _busy_columns(pk.cols(), V, pk.S, *segs)
            else:
                stats[_S_BUSY] = pk.scan(False, segs, P, A, T, per_array, tiles)[3]
        elif rule == EV_SELECTOR:
            pop, busy = _selector_stats(pk.S, *segs)
            stats[_S_EVENTS] = V * int(pop.sum())
            stats[_S_BUSY] = V * int(busy.sum())
        else:
            stats[_S_EVENTS] = n_out * M
            stats[_S_BUSY] = n_out * chunks
    else:
        if rule == EV_BOTH:
            st = pk.scan(True, segs, P, A, T, per_array, tiles)
        else:
            pop, _ = _selector_stats(pk.S, *segs)
            st = _skip_repeat(pop, V, P, A, T, per_array, tiles)
        stats[_S_BUSY] = st[3]
        stats[_S_CYCLES] = st[4]
        stats[_S_EVENTS] = st[5]
    stats[_S_ACTIVE] = pk.active() if callable(pk.active) else pk.active
    if rule == EV_BOTH and not skipping:
        stats[_S_EVENTS] = stats[_S_ACTIVE]
    return _finish(kind, policy, P, A, stats, per_array, tiles, T)


# ------------------------------------------------------------------------------------------- public API
def product_costs(kind: str, policy: str, lanes: int, arrays: int, a: np.ndarray, b: np.ndarray,
                  tile_outputs: int | None = None, *, method: str = "bits") -> CostResult:
    """Costs of the generic product ``a @ b``: ``a`` (R, M) data operand, ``b`` (M, N) selector operand.

    Outputs (r, n) in row-major order, pairs (a[r, m], b[m, n]) by m. ``tile_outputs`` defaults to N.
    ``method``: ``bits`` (packed words, fast) or ``bytes`` (the per-pair byte scan; same results).
    """
    _check(kind, policy, lanes, arrays, method)
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"product_costs: shapes {a.shape} @ {b.shape} do not chain")
    R, M = a.shape
    N = b.shape[1]
    P, A = int(lanes), int(arrays)
    T = N if tile_outputs is None else tile_outputs
    if method == "bits":
        return _bits_costs(kind, policy, P, A, _packed_product(a, b), T)
    return _bytes_costs(kind, policy, P, A, R * N, T, _product_kernel, _mask(a), _mask(b.T))


def layer_costs(kind: str, policy: str, lanes: int, arrays: int, x: np.ndarray, w: np.ndarray | None,
                layer: dict, *, dy: np.ndarray | None = None, product: str = "forward",
                tile_outputs: int | None = None, method: str = "bits") -> CostResult:
    """Actions and cycles of one product of a dense or conv layer on ``arrays`` arrays of ``lanes`` lanes.

    ``layer``: ``{"type": "dense"}`` or ``{"type": "conv", "kernel": k, "stride": s, "padding": p}``
    (``kernel`` may be omitted: taken from ``w``). Layouts as in :mod:`neurosim.events`: dense ``x`` (B, in),
    ``w`` (in, out), ``dy`` (B, out); conv ``x`` (B, H, W, C), ``w`` (kh, kw, C, F), ``dy`` (B, OH, OW, F).
    ``product``: ``forward`` (y = x w), ``dx`` (dX = dY W^T; conv: the transposed convolution, x gives only
    its shape) or ``dw`` (dW = X^T dY). ``tile_outputs``: outputs per tile; default one sample's outputs
    (forward, dx) or one row of dW. ``method``: ``bits`` (default, fast) or ``bytes`` (reference scan).
    """
    _check(kind, policy, lanes, arrays, method)
    if product not in PRODUCTS:
        raise ValueError(f"unknown product {product!r} (expected one of {PRODUCTS})")
    ltype = layer.get("type", layer.get("kind"))
    x = np.asarray(x)
    if ltype == "dense":
        if product == "forward":
            if w is None:
                raise ValueError("dense forward needs w")
            return product_costs(kind, policy, lanes, arrays, x, np.asarray(w), tile_outputs, method=method)
        if dy is None:
            raise ValueError(f"dense {product} needs dy")
        dy = np.asarray(dy)
        if product == "dx":
            if w is None:
                raise ValueError("dense dx needs w")
            return product_costs(kind, policy, lanes, arrays, dy, np.asarray(w).T, tile_outputs, method=method)
        return product_costs(kind, policy, lanes, arrays, x.T, dy, tile_outputs, method=method)
    if ltype != "conv":
        raise ValueError(f"costs: layer type {ltype!r} has no compute-array product (dense | conv)")
    if x.ndim != 4:
        raise ValueError(f"conv x must be (B, H, W, C), got {x.shape}")
    stride, pad, kernel = _conv_geometry(layer)
    B, H, W, C = x.shape
    P, A = int(lanes), int(arrays)
    if product in ("forward", "dx"):
        if w is None:
            raise ValueError(f"conv {product} needs w")
        w = np.asarray(w)
        if w.ndim != 4:
            raise ValueError(f"conv w must be (kh, kw, C, F), got {w.shape}")
        kh, kw, wc, F = w.shape
        if kernel is not None and _pair(kernel) != (kh, kw):
            raise ValueError(f"conv kernel {kernel} does not match w {w.shape}")
        if wc != C:
            raise ValueError(f"conv w {w.shape} does not match x channels {C}")
        OH, OW = _out_size(H, kh, stride, pad), _out_size(W, kw, stride, pad)
        if OH < 1 or OW < 1:
            raise ValueError(f"conv kernel {kh}x{kw} larger than padded input {H}x{W}")
    if product == "forward":
        T = OH * OW * F if tile_outputs is None else tile_outputs
        if method == "bits":
            return _bits_costs(kind, policy, P, A, _packed_conv_forward(x, w, stride, pad), T)
        wmT = _mask(np.transpose(w, (3, 0, 1, 2))).reshape(F, kh * kw * C)
        return _bytes_costs(kind, policy, P, A, B * OH * OW * F, T, _patch_kernel, _mask(x), wmT, stride, pad, kh,
                            kw, OH, OW, False)
    if dy is None:
        raise ValueError(f"conv {product} needs dy")
    dy = np.asarray(dy)
    if product == "dx":
        if dy.ndim != 4 or dy.shape != (B, OH, OW, F):
            raise ValueError(f"conv dy {dy.shape} does not match (B, OH, OW, F) = {(B, OH, OW, F)}")
        T = H * W * C if tile_outputs is None else tile_outputs
        if method == "bits":
            return _bits_costs(kind, policy, P, A, _packed_conv_dx(x.shape, w, dy, stride, pad), T)
        wmT = _mask(np.transpose(w, (2, 0, 1, 3))).reshape(C, kh * kw * F)
        return _bytes_costs(kind, policy, P, A, B * H * W * C, T, _patch_kernel, _mask(dy), wmT, stride, pad, kh,
                            kw, H, W, True)
    # conv dW
    if kernel is None:
        if w is None:
            raise ValueError("conv dw needs layer['kernel'] or w")
        kh, kw = np.asarray(w).shape[:2]
    else:
        kh, kw = _pair(kernel)
    OH, OW = _out_size(H, kh, stride, pad), _out_size(W, kw, stride, pad)
    if dy.ndim != 4 or dy.shape[:3] != (B, OH, OW):
        raise ValueError(f"conv dy {dy.shape} does not match (B, OH, OW) = {(B, OH, OW)}")
    F = dy.shape[3]
    T = F if tile_outputs is None else tile_outputs
    if method == "bits":
        return _bits_costs(kind, policy, P, A, _packed_conv_dw(x, dy, kh, kw, stride, pad), T)
    dymT = _mask(np.transpose(dy, (3, 0, 1, 2))).reshape(F, B * OH * OW)
    return _bytes_costs(kind, policy, P, A, kh * kw * C * F, T, _conv_dw_kernel, _mask(x), dymT, stride, pad, kh, kw)
