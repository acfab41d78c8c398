"""Shape arithmetic both sides share (core, hw, importers): the one copy of the convolution output size."""
from __future__ import annotations

from typing import Any

__all__ = ["conv_output_size", "square", "conv_geometry"]


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution or pooling window along one axis: floor((n + 2 p - k) / s) + 1."""
    return (n + 2 * padding - k) // stride + 1


def square(v: Any, what: str = "value") -> int:
    """An int, or a pair of equal ints (square kernels, strides and paddings only)."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2 or int(v[0]) != int(v[1]):
            raise ValueError(f"{what}: only square (equal along H and W) values are supported, got {v!r}")
        return int(v[0])
    return int(v)


def conv_geometry(params: dict, w_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(kh, kw, stride, padding) of a conv layer from its LayerInfo params and its (kh, kw, C, F) weight shape."""
    return (int(w_shape[0]), int(w_shape[1]), square(params.get("stride", 1), "stride"),
            square(params.get("padding", 0), "padding"))
