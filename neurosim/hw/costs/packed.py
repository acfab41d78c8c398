"""Products as packed bit operands: V data vectors x N selectors of M ordered pairs, with their scans and
nonzero-pair counts, built from a :class:`~neurosim.hw.costs.geometry.LayerProduct`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .bits import _pack_cols, _pack_rows, _transpose_bits
from .conv_vectors import _conv_columns, _conv_patches, _dx_table
from .geometry import ConvGeometry, LayerProduct
from .nonzero import _active_conv_dx, _active_conv_fwd, _active_planes, _active_weighted
from .scans import _NO_TABLE, _scan_built, _scan_rows
from .tuning import _BLOCK_WORDS, _K_DIRECT, _K_PATCH, _K_TRANSPOSE, CostOptions

Scan = Callable[[bool, tuple, int, int, int, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class _Packed:
    """A product as V data vectors x N selectors of M ordered pairs (outputs o = v*N + n), bit-packed.

    ``S`` (words, N) selector bits; ``active`` the nonzero pairs over all outputs (from operand counts, or a
    callable run after the scan, which may reuse its bit matrices);
    ``scan(skip, segments, P, A, T, per_array, tile_cycles)`` runs the per-data-vector scan (event rule
    "both" only) and returns [_, _, _, busy, cycles, events]; ``cols()``, where given, the position-sliced
    data bits (M, words over V) for the gating busy scan (``_busy_columns``), used when its estimated cost is
    lower.
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


def _c(a: np.ndarray) -> np.ndarray:
    """C-contiguous, with bool read as uint8 (one compiled kernel serves both)."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint8) if a.dtype == np.bool_ else a


def _rows_scan(D: np.ndarray, S: np.ndarray) -> Scan:
    """The row scan of the packed data vectors ``D`` against the selectors ``S``."""
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
    """The generic product ``a @ b``: data vectors the rows of ``a``, selectors the columns of ``b``."""
    D, cnt_a = _rows_bits(a)
    S, cnt_b = _cols_bits(b)
    active = int(np.dot(cnt_a.astype(np.int64), cnt_b.astype(np.int64)))
    return _Packed(a.shape[0], b.shape[1], a.shape[1], S, active, _rows_scan(D, S))


def _padded(words: int) -> int:
    """Row length in words for the column scans: a multiple of 8 (one AVX-512 vector) above 8."""
    return words if words <= 8 else -(-words // 8) * 8


class _ConvBits:
    """The packed input of a conv layer and the two bit matrices built from it, on demand: the im2col
    patches (B*OH*OW, words over kh*kw*C) and the column matrix (kh*kw*C, words over B*OH*OW)."""

    def __init__(self, x: np.ndarray, g: ConvGeometry, count: bool, columns_build: str):
        self.x, self.g = x, g
        B, H, W, C = x.shape
        self.OH, self.OW = g.OH, g.OW
        self.V, self.M = B * g.OH * g.OW, g.kh * g.kw * C
        # rows x[b, ih] in (iw, c) order (B*H, words+1); counts (H, W*C) over the batch
        self.xr, self.Sx = _pack_rows(_c(x).reshape(B, H, W * C), 1, count)
        Vw, Mw = -(-self.V // 64), -(-self.M // 64)
        self.patch_cost = self.V * g.kh * (-(-g.kw * C // 64)) * _K_PATCH
        direct = self.M * B * g.OH * _K_DIRECT if g.stride == 1 else float("inf")
        via = self.patch_cost + Vw * Mw * _K_TRANSPOSE
        self.direct = g.stride == 1 and (columns_build == "direct" or (columns_build == "auto" and direct <= via))
        self.columns_cost = direct if self.direct else via
        self._patches: np.ndarray | None = None
        self._columns: np.ndarray | None = None

    def geometry(self) -> tuple:
        """(B, H, W, C, kh, kw, stride, pad, OH, OW) as the kernels take it."""
        B, H, W, C = self.x.shape
        g = self.g
        return B, H, W, C, g.kh, g.kw, g.stride, g.pad, g.OH, g.OW

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
                g = self.g
                self._columns = _conv_columns(xp, B, H, W, C, g.kh, g.kw, g.pad, g.OH, g.OW, width)
        return self._columns


def _packed_conv_forward(x: np.ndarray, w: np.ndarray, g: ConvGeometry, options: CostOptions) -> _Packed:
    """Conv forward: data vectors the im2col patches (built block by block while scanned), selectors the filters."""
    kh, kw, C, F = w.shape
    cb = _ConvBits(x, g, True, options.columns_build)
    S, cntW = _pack_cols(_c(w).reshape(kh * kw * C, F))
    active = _active_conv_fwd(cb.Sx, cntW, C, kh, kw, g.stride, g.pad, g.OH, g.OW)
    xr, geo = cb.xr, cb.geometry()

    def scan(skip, segs, P, A, T, per_array, tiles):
        return _scan_built(xr, _NO_TABLE, *geo, False, S, *segs, skip, P, A, T, per_array, tiles, _BLOCK_WORDS)

    return _Packed(cb.V, F, cb.M, S, int(active), scan, cols=cb.columns, rows_cost=cb.patch_cost,
                   cols_cost=cb.columns_cost, selector_pairs=int(cntW.sum()))


def _zero_row_after_each(rows: np.ndarray, B: int, n: int) -> np.ndarray:
    """(B*n, w) -> (B*(n+1), w): a zero row after each of the B groups of n rows."""
    r = rows.reshape(B, n, rows.shape[1])
    return np.concatenate([r, np.zeros((B, 1, rows.shape[1]), rows.dtype)], axis=1).reshape(-1, rows.shape[1])


def _packed_conv_dx(w: np.ndarray, dy: np.ndarray, g: ConvGeometry) -> _Packed:
    """Conv dX: data vectors the transposed-conv patches of dy, selectors the input channels of w."""
    B, H, W, C = g.B, g.H, g.W, g.C
    kh, kw, _, F = w.shape
    OH, OW = g.OH, g.OW
    dyr, Tdy = _pack_rows(_c(dy).reshape(B, OH * OW, F), 1, True)
    dyr = _zero_row_after_each(dyr, B, OH * OW)  # the padding pairs read a zero row
    S, cntW = _pack_cols(_c(np.transpose(w, (0, 1, 3, 2))).reshape(kh * kw * F, C))
    active = _active_conv_dx(Tdy, cntW, F, H, W, kh, kw, g.stride, g.pad, OH, OW)

    def scan(skip, segs, P, A, T, per_array, tiles):
        tab = _dx_table(H, W, OH, OW, kh, kw, g.stride, g.pad)
        return _scan_built(dyr, tab, B, H, W, F, kh, kw, g.stride, g.pad, OH, OW, True, S, *segs, skip, P, A, T,
                           per_array, tiles, _BLOCK_WORDS)

    return _Packed(B * H * W, C, kh * kw * F, S, int(active), scan)


def _packed_conv_dw(x: np.ndarray, dy: np.ndarray, g: ConvGeometry, options: CostOptions) -> _Packed:
    """dW: data vectors = the columns (dh, dw, c) of the im2col matrix, selectors = the dy channels, pairs =
    positions; the position-sliced side of it is the patch matrix itself. Nonzero pairs = sum over positions
    of (patch nonzeros) x (dy nonzeros), from whichever bit matrix the scan built (or the cheaper one)."""
    cb = _ConvBits(x, g, False, options.columns_build)
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


def packed(lp: LayerProduct, options: CostOptions) -> _Packed:
    """The packed operands of a layer product."""
    if lp.op == "matmul":
        return _packed_product(lp.a, lp.b)
    if lp.op == "conv_forward":
        return _packed_conv_forward(lp.a, lp.b, lp.conv, options)
    if lp.op == "conv_dx":
        return _packed_conv_dx(lp.b, lp.a, lp.conv)
    return _packed_conv_dw(lp.a, lp.b, lp.conv, options)
