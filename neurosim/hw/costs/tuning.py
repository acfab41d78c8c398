"""Tuning of the packed cost kernels: cost estimates that pick the cheaper of two exact paths, the block
size of the built data vectors, and :class:`CostOptions`, the explicit path overrides (tests force each path).

Every path gives the same numbers; only the speed depends on these.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CostOptions", "CONV_PATHS", "COLUMNS_BUILDS", "DEFAULT_OPTIONS"]

# rough ns per unit of work on the 2-core development machine, to pick the cheaper of two exact paths
_K_PATCH = 3.0  # per (position, kernel row, 64-bit piece) of the im2col patches
_K_DIRECT = 4.0  # per (column, sample, output row) bit range of the direct column build
_K_TRANSPOSE = 230.0  # per 64x64 bit block transposed
_K_ROWSCAN = 0.15  # per (data vector, chunk, selector) of the row scan
_K_COLSCAN = 0.1  # per (selector pair or chunk, word over the data vectors) of the column scan

_BLOCK_WORDS = 1 << 13  # data vectors are built in blocks of about 64 KiB and scanned while in cache

CONV_PATHS = ("auto", "rows", "cols")
COLUMNS_BUILDS = ("auto", "direct", "transpose")


@dataclass(frozen=True)
class CostOptions:
    """Which exact path the packed kernels take where there are two (default: the cheaper by estimate).

    ``conv_path``: the gating busy-chunk scan of the event rule "both" on products that have a
    position-sliced side (conv forward, conv dW): ``rows`` (per data vector against all selectors),
    ``cols`` (per selector over the position-sliced bit matrix) or ``auto``.
    ``columns_build``: how a conv layer's column matrix is built: ``direct`` (from channel-planar rows;
    stride 1 only, other strides fall back to the transpose), ``transpose`` (bit transpose of the im2col
    patches) or ``auto``.
    """

    conv_path: Literal["auto", "rows", "cols"] = "auto"
    columns_build: Literal["auto", "direct", "transpose"] = "auto"

    def __post_init__(self) -> None:
        if self.conv_path not in CONV_PATHS:
            raise ValueError(f"conv_path must be one of {CONV_PATHS}, got {self.conv_path!r}")
        if self.columns_build not in COLUMNS_BUILDS:
            raise ValueError(f"columns_build must be one of {COLUMNS_BUILDS}, got {self.columns_build!r}")


DEFAULT_OPTIONS = CostOptions()
