"""Which product of a layer is asked for: the checked operands, the conv geometry and the default tile.

Shared by the packed kernels and the test oracles (:mod:`neurosim.testing`), so both see the same
arguments checked the same way.
"""
from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from ...shapes import conv_output_size, square

__all__ = ["PRODUCTS", "ConvGeometry", "LayerProduct", "layer_product", "matmul_product"]

PRODUCTS = ("forward", "dx", "dw")


class ConvGeometry(NamedTuple):
    """A conv layer's shapes: input (B, H, W, C), kernel kh x kw, stride, padding, output OH x OW (a named
    tuple: cheap to build on every call)."""

    B: int
    H: int
    W: int
    C: int
    kh: int
    kw: int
    stride: int
    pad: int
    OH: int
    OW: int


class LayerProduct(NamedTuple):
    """One product as the kernels take it: ``a`` the data-side operand, ``b`` the selector-side operand.

    ``matmul``: a (R, M), b (M, N); ``conv_forward``: a = x, b = w; ``conv_dx``: a = dy, b = w (x gives only
    ``conv``'s shape); ``conv_dw``: a = x, b = dy. ``tile_outputs`` is resolved (the default filled in).
    """

    op: Literal["matmul", "conv_forward", "conv_dx", "conv_dw"]
    a: np.ndarray
    b: np.ndarray
    tile_outputs: int
    conv: ConvGeometry | None = None


def matmul_product(a: np.ndarray, b: np.ndarray, tile_outputs: int | None) -> LayerProduct:
    """The generic product ``a @ b`` (tile default: one row of outputs, N)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"product_costs: shapes {a.shape} @ {b.shape} do not chain")
    return LayerProduct("matmul", a, b, b.shape[1] if tile_outputs is None else tile_outputs)


def _stride_padding(layer: dict) -> tuple[int, int]:
    """(stride, padding) of a conv layer dict; square strides/paddings only."""
    stride = square(layer.get("stride", 1), "costs: stride")
    pad = square(layer.get("padding", 0), "costs: padding")
    if stride < 1 or pad < 0:
        raise ValueError(f"costs: bad stride {stride} / padding {pad}")
    return stride, pad


def _dense_product(x: np.ndarray, w, dy, product: str, tile_outputs: int | None) -> LayerProduct:
    """Dense forward (x, w), dX (dy, w^T) or dW (x^T, dy) as a generic product."""
    if product == "forward":
        if w is None:
            raise ValueError("dense forward needs w")
        return matmul_product(x, np.asarray(w), tile_outputs)
    if dy is None:
        raise ValueError(f"dense {product} needs dy")
    dy = np.asarray(dy)
    if product == "dx":
        if w is None:
            raise ValueError("dense dx needs w")
        return matmul_product(dy, np.asarray(w).T, tile_outputs)
    return matmul_product(x.T, dy, tile_outputs)


def _conv_product(x: np.ndarray, w, dy, layer: dict, product: str, tile_outputs: int | None) -> LayerProduct:
    """Conv forward, dX (the transposed convolution) or dW, checked against the layer dict."""
    if x.ndim != 4:
        raise ValueError(f"conv x must be (B, H, W, C), got {x.shape}")
    stride, pad = _stride_padding(layer)
    kernel = layer.get("kernel")
    B, H, W, C = x.shape
    if product in ("forward", "dx"):
        if w is None:
            raise ValueError(f"conv {product} needs w")
        w = np.asarray(w)
        if w.ndim != 4:
            raise ValueError(f"conv w must be (kh, kw, C, F), got {w.shape}")
        kh, kw, wc, F = w.shape
        if kernel is not None and (square(kernel, "costs: kernel"),) * 2 != (kh, kw):
            raise ValueError(f"conv kernel {kernel} does not match w {w.shape}")
        if wc != C:
            raise ValueError(f"conv w {w.shape} does not match x channels {C}")
    elif kernel is None:
        if w is None:
            raise ValueError("conv dw needs layer['kernel'] or w")
        kh, kw = np.asarray(w).shape[:2]
    else:
        kh = kw = square(kernel, "costs: kernel")
    OH, OW = conv_output_size(H, kh, stride, pad), conv_output_size(W, kw, stride, pad)
    geo = ConvGeometry(B, H, W, C, int(kh), int(kw), stride, pad, OH, OW)
    if product in ("forward", "dx") and (OH < 1 or OW < 1):
        raise ValueError(f"conv kernel {kh}x{kw} larger than padded input {H}x{W}")
    if product == "forward":
        return LayerProduct("conv_forward", x, w, OH * OW * F if tile_outputs is None else tile_outputs, geo)
    if dy is None:
        raise ValueError(f"conv {product} needs dy")
    dy = np.asarray(dy)
    if product == "dx":
        if dy.ndim != 4 or dy.shape != (B, OH, OW, F):
            raise ValueError(f"conv dy {dy.shape} does not match (B, OH, OW, F) = {(B, OH, OW, F)}")
        return LayerProduct("conv_dx", dy, w, H * W * C if tile_outputs is None else tile_outputs, geo)
    if dy.ndim != 4 or dy.shape[:3] != (B, OH, OW):
        raise ValueError(f"conv dy {dy.shape} does not match (B, OH, OW) = {(B, OH, OW)}")
    return LayerProduct("conv_dw", x, dy, dy.shape[3] if tile_outputs is None else tile_outputs, geo)


def layer_product(x: np.ndarray, w: np.ndarray | None, layer: dict, *, dy: np.ndarray | None = None,
                  product: str = "forward", tile_outputs: int | None = None) -> LayerProduct:
    """The product ``product`` of a dense or conv ``layer`` (arguments as :func:`neurosim.hw.costs.layer_costs`)."""
    if product not in PRODUCTS:
        raise ValueError(f"unknown product {product!r} (expected one of {PRODUCTS})")
    ltype = layer.get("type", layer.get("kind"))
    x = np.asarray(x)
    if ltype == "dense":
        return _dense_product(x, w, dy, product, tile_outputs)
    if ltype != "conv":
        raise ValueError(f"costs: layer type {ltype!r} has no compute-array product (dense | conv)")
    return _conv_product(x, w, dy, layer, product, tile_outputs)
