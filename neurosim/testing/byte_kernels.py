"""The per-pair byte kernels: every output's pairs scanned one by one on uint8 0/1 masks, chunk by chunk.

A second, slow implementation of the cost model of :mod:`neurosim.hw.costs` (which it shares only the
argument checks, the statistics layout and :class:`~neurosim.hw.costs.CostResult` with), held to the
brute-force stepper (:mod:`neurosim.testing.reference`) on small shapes and against the packed kernels on
larger ones. The kernels take a kind's event-rule code (:attr:`neurosim.hw.kinds.ComputeKind.rule_code`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numba import njit

from ..hw.costs.geometry import LayerProduct, layer_product, matmul_product
from ..hw.costs.result import (_S_ACTIVE, _S_BUSY, _S_CYCLES, _S_EVENTS, _S_OUTPUTS, _S_PAIRS, MIN_CYCLES_PER_OUTPUT,
                               CostResult, check_unit, finish, new_buffers, skips)
from ..hw.costs.scans import _close_open_tile, _tile_makespan
from ..hw.kinds import ComputeKind

__all__ = ["layer_costs_bytes", "product_costs_bytes"]

# event-rule codes as ComputeKind.rule_code gives them
EV_BOTH = 0  # both operands nonzero
EV_SELECTOR = 1  # selector (weight) operand nonzero


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
def _conv_dw_kernel(xm, dymT, stride, pad, kh, kw, OH, OW, rule, P, A, skipping, tile_outputs, stats, per_array,
                    tile_cycles):
    """Conv weight-gradient outputs (dh, dw, c, f); pairs (x[b, ih, iw, c], dy[b, oh, ow, f]) by (b, oh, ow).

    ``xm`` (B, H, W, C), ``dymT`` (F, B*OH*OW) (dy transposed so the pair scan is contiguous), uint8 masks.
    """
    B, H, W, C = xm.shape
    M = dymT.shape[1]
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


# ------------------------------------------------------------------------------------------------ python
def _mask(v) -> np.ndarray:
    """The nonzero pattern of ``v`` as C-contiguous uint8 0/1."""
    return np.ascontiguousarray(np.asarray(v) != 0).view(np.uint8)


def _bytes_costs(k: ComputeKind, policy: str, P: int, A: int, n_outputs: int, tile_outputs: int,
                 kernel: Callable, *operands) -> CostResult:
    """Costs by a byte kernel: ``kernel(*operands, rule, P, A, skipping, tile_outputs, stats, per_array,
    tile_cycles)`` books the ``n_outputs`` outputs."""
    stats, per_array, tiles, tile_outputs = new_buffers(n_outputs, tile_outputs, A)
    if n_outputs:
        kernel(*operands, k.rule_code, P, A, skips(k, policy), tile_outputs, stats, per_array, tiles)
    return finish(k, policy, P, A, stats, per_array, tiles, tile_outputs)


def _costs(k: ComputeKind, policy: str, P: int, A: int, lp: LayerProduct) -> CostResult:
    """Cost a checked layer product with the byte kernel of its kind of product."""
    T = lp.tile_outputs
    if lp.op == "matmul":
        (R, _), N = lp.a.shape, lp.b.shape[1]
        return _bytes_costs(k, policy, P, A, R * N, T, _product_kernel, _mask(lp.a), _mask(lp.b.T))
    g = lp.conv
    if lp.op == "conv_forward":
        x, w = lp.a, lp.b
        F = w.shape[3]
        wmT = _mask(np.transpose(w, (3, 0, 1, 2))).reshape(F, g.kh * g.kw * g.C)
        return _bytes_costs(k, policy, P, A, g.B * g.OH * g.OW * F, T, _patch_kernel, _mask(x), wmT, g.stride,
                            g.pad, g.kh, g.kw, g.OH, g.OW, False)
    if lp.op == "conv_dx":
        dy, w = lp.a, lp.b
        F = w.shape[3]
        wmT = _mask(np.transpose(w, (2, 0, 1, 3))).reshape(g.C, g.kh * g.kw * F)
        return _bytes_costs(k, policy, P, A, g.B * g.H * g.W * g.C, T, _patch_kernel, _mask(dy), wmT, g.stride,
                            g.pad, g.kh, g.kw, g.H, g.W, True)
    x, dy = lp.a, lp.b
    F = dy.shape[3]
    dymT = _mask(np.transpose(dy, (3, 0, 1, 2))).reshape(F, g.B * g.OH * g.OW)
    return _bytes_costs(k, policy, P, A, g.kh * g.kw * g.C * F, T, _conv_dw_kernel, _mask(x), dymT, g.stride, g.pad,
                        g.kh, g.kw, g.OH, g.OW)


def product_costs_bytes(kind: str, policy: str, lanes: int, arrays: int, a: np.ndarray, b: np.ndarray,
                        tile_outputs: int | None = None) -> CostResult:
    """:func:`neurosim.hw.costs.product_costs` by the per-pair byte scan (same arguments, same results)."""
    k = check_unit(kind, policy, lanes, arrays)
    return _costs(k, policy, int(lanes), int(arrays), matmul_product(a, b, tile_outputs))


def layer_costs_bytes(kind: str, policy: str, lanes: int, arrays: int, x: np.ndarray, w: np.ndarray | None,
                      layer: dict, *, dy: np.ndarray | None = None, product: str = "forward",
                      tile_outputs: int | None = None) -> CostResult:
    """:func:`neurosim.hw.costs.layer_costs` by the per-pair byte scan (same arguments, same results)."""
    k = check_unit(kind, policy, lanes, arrays)
    lp = layer_product(x, w, layer, dy=dy, product=product, tile_outputs=tile_outputs)
    return _costs(k, policy, int(lanes), int(arrays), lp)
