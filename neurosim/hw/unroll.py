"""Convolutions unrolled onto crossbars: the input patches that drive the rows, and the adds that fold them back.

A conv layer with weights (kh, kw, C, F) sits on a crossbar as a (kh*kw*C) x F matrix (rows in (i, j, c) order,
the order of ``weights.reshape(-1, F)``), the mapping of MNSIM and DNN+NeuroSim. Every output position is one
read, driven by that position's input patch. The backward pass reads dY per position through the transposed
weights and folds the patch gradients back into dX with digital adds where patches overlap.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..shapes import conv_output_size

__all__ = ["patches", "fold_adds"]


def patches(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Input patches of NHWC ``x`` as rows (B*OH*OW, kh*kw*C), column order (i, j, c); padding reads as 0."""
    x = np.asarray(x)
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    v = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # (B, OH, OW, C, kh, kw)
    B, OH, OW, C = v.shape[:4]
    return np.ascontiguousarray(v.transpose(0, 1, 2, 4, 5, 3)).reshape(B * OH * OW, kh * kw * C)


def _axis_cover(n: int, k: int, stride: int, padding: int) -> tuple[int, int]:
    """(in-bounds contributions, covered inputs) along one axis of length n."""
    out = conv_output_size(n, k, stride, padding)
    pos = np.arange(out)[:, None] * stride - padding + np.arange(k)[None, :]
    inside = (pos >= 0) & (pos < n)
    return int(inside.sum()), int(np.unique(pos[inside]).size)


def fold_adds(x_shape: tuple[int, ...], kh: int, kw: int, stride: int = 1, padding: int = 0) -> int:
    """Digital adds that fold patch gradients (B*OH*OW, kh*kw*C) into dX of ``x_shape`` (B, H, W, C): every
    in-bounds patch element lands on its input, and all but the first arrival at an input is an add."""
    B, H, W, C = x_shape
    ch, nh = _axis_cover(H, kh, stride, padding)
    cw, nw = _axis_cover(W, kw, stride, padding)
    return B * C * (ch * cw - nh * nw)
