"""The public cost functions: a layer product -> its packed operands -> per-policy closed forms and scans."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..kinds import ComputeKind
from .geometry import LayerProduct, layer_product, matmul_product
from .packed import _Packed, packed
from .result import (_S_ACTIVE, _S_BUSY, _S_CYCLES, _S_EVENTS, _S_OUTPUTS, _S_PAIRS, MIN_CYCLES_PER_OUTPUT,
                     CostResult, check_unit, finish, new_buffers, skips)
from .scans import _busy_columns, _segments, _selector_stats, _skip_repeat
from .tuning import _K_COLSCAN, _K_ROWSCAN, DEFAULT_OPTIONS, CostOptions

__all__ = ["layer_costs", "product_costs"]


def _gating_busy_both(pk: _Packed, segs: tuple, chunks: int, P: int, A: int, T: int, per_array: np.ndarray,
                      tiles: np.ndarray, options: CostOptions) -> int:
    """Gating busy chunks of the event rule "both": the row scan or, where the product has a position-sliced
    side and it is estimated cheaper (or forced by ``options.conv_path``), the column scan."""
    V, N = pk.V, pk.N
    rows_ns = pk.rows_cost + V * chunks * N * _K_ROWSCAN
    cols_ns = pk.cols_cost + (pk.selector_pairs + N * chunks) * (-(-V // 64)) * _K_COLSCAN
    path = options.conv_path
    if pk.cols is not None and (path == "cols" or (path == "auto" and cols_ns < rows_ns)):
        return _busy_columns(pk.cols(), V, pk.S, *segs)
    return pk.scan(False, segs, P, A, T, per_array, tiles)[3]


def _bits_costs(k: ComputeKind, policy: str, P: int, A: int, pk: _Packed, tile_outputs: int,
                options: CostOptions) -> CostResult:
    """Costs of a packed product (see the package docstring, 'Implementation')."""
    skipping = skips(k, policy)
    V, N, M = pk.V, pk.N, pk.M
    n_out = V * N
    stats, per_array, tiles, T = new_buffers(n_out, tile_outputs, A)
    stats[_S_PAIRS] = n_out * M
    stats[_S_OUTPUTS] = n_out
    if n_out == 0:
        return finish(k, policy, P, A, stats, per_array, tiles, T)
    chunks = -(-M // P)
    segs = _segments(M, P) if k.event_driven else None
    if not skipping:  # constant cycles per output: closed forms
        cyc = max(MIN_CYCLES_PER_OUTPUT, chunks)
        base, rem = divmod(n_out, A)
        per_array[:] = cyc * (base + (np.arange(A) < rem))
        sizes = np.full(tiles.size, T, np.int64)
        sizes[-1] = n_out - (tiles.size - 1) * T
        tiles[:] = cyc * (-(-sizes // A))
        stats[_S_CYCLES] = cyc * n_out
        if k.fires == "both":
            stats[_S_BUSY] = _gating_busy_both(pk, segs, chunks, P, A, T, per_array, tiles, options)
        elif k.fires == "selector":
            pop, busy = _selector_stats(pk.S, *segs)
            stats[_S_EVENTS] = V * int(pop.sum())
            stats[_S_BUSY] = V * int(busy.sum())
        else:
            stats[_S_EVENTS] = n_out * M
            stats[_S_BUSY] = n_out * chunks
    else:
        if k.fires == "both":
            st = pk.scan(True, segs, P, A, T, per_array, tiles)
        else:
            pop, _ = _selector_stats(pk.S, *segs)
            st = _skip_repeat(pop, V, P, A, T, per_array, tiles)
        stats[_S_BUSY] = st[3]
        stats[_S_CYCLES] = st[4]
        stats[_S_EVENTS] = st[5]
    stats[_S_ACTIVE] = pk.active() if callable(pk.active) else pk.active
    if k.fires == "both" and not skipping:
        stats[_S_EVENTS] = stats[_S_ACTIVE]
    return finish(k, policy, P, A, stats, per_array, tiles, T)


def _cost(k: ComputeKind, policy: str, lanes: int, arrays: int, lp: LayerProduct,
          options: CostOptions | None, pack: Callable[[LayerProduct, CostOptions], _Packed] | None = None
          ) -> CostResult:
    """Cost a resolved product on a checked unit (``pack``: where the packed operands come from; default: packed
    now)."""
    opts = DEFAULT_OPTIONS if options is None else options
    pk = packed(lp, opts) if pack is None else pack(lp, opts)
    return _bits_costs(k, policy, int(lanes), int(arrays), pk, lp.tile_outputs, opts)


def product_costs(kind: str, policy: str, lanes: int, arrays: int, a: np.ndarray, b: np.ndarray,
                  tile_outputs: int | None = None, *, options: CostOptions | None = None) -> CostResult:
    """Costs of the generic product ``a @ b``: ``a`` (R, M) data operand, ``b`` (M, N) selector operand.

    Outputs (r, n) in row-major order, pairs (a[r, m], b[m, n]) by m. ``tile_outputs`` defaults to N.
    ``options``: which exact path to take where there are two (:class:`CostOptions`; same results).
    """
    k = check_unit(kind, policy, lanes, arrays)
    return _cost(k, policy, lanes, arrays, matmul_product(a, b, tile_outputs), options)


def layer_costs(kind: str, policy: str, lanes: int, arrays: int, x: np.ndarray, w: np.ndarray | None,
                layer: dict, *, dy: np.ndarray | None = None, product: str = "forward",
                tile_outputs: int | None = None, options: CostOptions | None = None,
                pack: Callable[[LayerProduct, CostOptions], _Packed] | None = None) -> CostResult:
    """Actions and cycles of one product of a dense or conv layer on ``arrays`` arrays of ``lanes`` lanes.

    ``layer``: ``{"type": "dense"}`` or ``{"type": "conv", "kernel": k, "stride": s, "padding": p}``
    (``kernel`` may be omitted: taken from ``w``). Layouts as in :mod:`neurosim.events`: dense ``x`` (B, in),
    ``w`` (in, out), ``dy`` (B, out); conv ``x`` (B, H, W, C), ``w`` (kh, kw, C, F), ``dy`` (B, OH, OW, F).
    ``product``: ``forward`` (y = x w), ``dx`` (dX = dY W^T; conv: the transposed convolution, x gives only
    its shape) or ``dw`` (dW = X^T dY). ``tile_outputs``: outputs per tile; default one sample's outputs
    (forward, dx) or one row of dW. ``options``: which exact path to take where there are two
    (:class:`CostOptions`; same results). ``pack``: a function (product, options) -> packed operands, for callers that
    share the packing of the same operands between several units (it depends only on the operands).
    """
    k = check_unit(kind, policy, lanes, arrays)
    lp = layer_product(x, w, layer, dy=dy, product=product, tile_outputs=tile_outputs)
    return _cost(k, policy, lanes, arrays, lp, options, pack)
