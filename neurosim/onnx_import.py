"""ONNX importer: an ``.onnx`` file -> neurosim layers, a networkx DAG of them, and a numpy forward pass.

The file is loaded with ``onnx.load``, validated with ``onnx.checker.check_model`` and shape-inferred
(``onnx.shape_inference.infer_shapes``). Every node becomes one layer; supported ops and the neurosim layer kind
they become:

=====================  ==========  =================================================================
ONNX op                kind        notes
=====================  ==========  =================================================================
Conv                   conv        2-D, square kernel, equal strides, symmetric equal pads, group 1
Gemm, MatMul           dense       the weight is an initializer; Gemm alpha = beta = 1, transA = 0
MaxPool, AveragePool   pool        square kernel, stride, symmetric pads (``mode`` max / avg)
BatchNormalization     bn          inference form (scale, B, mean, var, epsilon)
Relu                   act         ``activation: relu``
Add                    add         two activation tensors (a skip connection); an Add of an initializer
                                   (a bias after MatMul) is folded into the product that feeds it
Concat                 concat      along the channel axis (axis 1 of NCHW / of (N, F))
Flatten                flatten     axis 1, in ONNX's (C, H, W) order
=====================  ==========  =================================================================

Any other op is an :class:`OnnxError` naming the file, the node and its op. Tensors are NCHW in ONNX and NHWC
here (the layout of :mod:`neurosim.events`): conv weights (F, C, kh, kw) become (kh, kw, C, F), dense weights
(in, out); Flatten transposes back to (C, H, W) before flattening, so a Gemm's weights apply unchanged.

The layers' DAG (:attr:`OnnxModel.graph`) has one node per layer and one edge per tensor a layer reads from
another (``tensor``, ``elements`` per sample); a skip connection is an edge that jumps layers. The network input
feeds the layers with no incoming edge. :meth:`OnnxModel.forward` runs the float network in numpy (im2col
convolutions, vectorized over the batch) and returns every layer's input and output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .importers import ImportedLayer, TopologyError, macs
from .shapes import conv_output_size

__all__ = ["SUPPORTED_OPS", "OnnxError", "OnnxLayer", "OnnxModel", "dst_states", "read_onnx", "ternary_twn"]

SUPPORTED_OPS = ("Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "BatchNormalization", "Relu", "Add", "Concat",
                 "Flatten")
KINDS = {"Conv": "conv", "Gemm": "dense", "MatMul": "dense", "MaxPool": "pool", "AveragePool": "pool",
         "BatchNormalization": "bn", "Relu": "act", "Add": "add", "Concat": "concat", "Flatten": "flatten"}


class OnnxError(TopologyError):
    """A model the importer cannot read; the message names the file, the node, its op and what is allowed."""


@dataclass
class OnnxLayer:
    """One imported node. Shapes are per sample, NHWC ((H, W, C) maps, (F,) vectors); ``inputs`` are the indices
    of the layers it reads (empty: the network input)."""

    index: int
    name: str
    op: str
    kind: str
    inputs: tuple[int, ...]
    in_shapes: tuple[tuple[int, ...], ...]
    out_shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    weight: np.ndarray | None = None  # conv (kh, kw, C, F), dense (in, out), float32
    bias: np.ndarray | None = None
    bn: tuple[np.ndarray, np.ndarray] | None = None  # batch norm folded into (scale, shift) per channel

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.in_shapes[0]

    def imported(self) -> ImportedLayer | None:
        """The product layer as the topology importers describe it (None for other kinds)."""
        if self.kind == "dense":
            return ImportedLayer(self.name, "dense", (1, 1, int(np.prod(self.in_shape))), 1, 1, 0,
                                 int(self.out_shape[-1]))
        if self.kind == "conv":
            p = self.params
            return ImportedLayer(self.name, "conv", tuple(self.in_shape), p["kernel"], p["stride"], p["padding"],
                                 p["filters"])
        return None

    @property
    def macs(self) -> int:
        imp = self.imported()
        return macs(imp) if imp is not None else 0


@dataclass
class OnnxModel:
    """The imported network: layers in program (topological) order, their DAG, the input and output."""

    path: Path
    layers: list[OnnxLayer]
    graph: nx.DiGraph
    input_name: str
    input_shape: tuple[int, ...]  # per sample, NHWC: (H, W, C) or (F,)
    output: int  # index of the layer whose output is the network's

    @property
    def macs_per_sample(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def forward(self, x: np.ndarray) -> tuple[list[list[np.ndarray]], list[np.ndarray]]:
        """Run the float network on ``x`` (batch, *input_shape) NHWC; return (inputs per layer, output per layer)."""
        x = np.asarray(x, np.float32)
        if tuple(x.shape[1:]) != tuple(self.input_shape):
            raise OnnxError(f"{self.path}: input {self.input_name!r}: per-sample shape {tuple(x.shape[1:])}; "
                            f"allowed: {tuple(self.input_shape)} (NHWC)")
        outs: list[np.ndarray] = []
        ins: list[list[np.ndarray]] = []
        for layer in self.layers:
            xs = [outs[i] for i in layer.inputs] if layer.inputs else [x]
            ins.append(xs)
            outs.append(_run(layer, xs))
        return ins, outs


# ---------------------------------------------------------------------------------------------- weight spaces
def ternary_twn(w: np.ndarray) -> np.ndarray:
    """Ternary codes {-1, 0, 1} by the TWN rule: threshold delta = 0.7 x mean|w|; |w| <= delta -> 0, else sign(w).

    Exact zeros (pruned weights) stay zero, so the mapped sparsity is at least the real one."""
    w = np.asarray(w, np.float32)
    delta = 0.7 * float(np.mean(np.abs(w))) if w.size else 0.0
    return np.where(np.abs(w) > delta, np.sign(w), 0.0).astype(np.float32)


def dst_states(w: np.ndarray, N: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, states) of ``w`` on the DST weight space Z_N (2^N + 1 states, values k / 2^(N-1), k in
    -2^(N-1)..2^(N-1)): N = 1 is :func:`ternary_twn`; N >= 2 scales by max|w| and rounds to the nearest state,
    so exact zeros (and values below half a step) map to the zero state. ``states`` = k + 2^(N-1) (int16)."""
    w = np.asarray(w, np.float32)
    if N < 1:
        raise ValueError(f"N must be >= 1 for a DST weight space (got {N})")
    half = 2 ** (N - 1)
    if N == 1:
        k = ternary_twn(w)
    else:
        peak = float(np.max(np.abs(w))) if w.size else 0.0
        k = np.clip(np.rint(w / peak * half), -half, half) if peak > 0 else np.zeros_like(w)
    return (k / half).astype(np.float32), (k + half).astype(np.int16)


# ---------------------------------------------------------------------------------------------- numpy ops
def _pad(x: np.ndarray, p: int, value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=value) if p else x


def _windows(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """(B, OH, OW, C, k, k) views of NHWC ``x`` (already padded)."""
    v = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))
    return v[:, ::s, ::s]


def conv2d(x: np.ndarray, w: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """NHWC conv by im2col: x (B, H, W, C), w (k, k, C, F) -> (B, OH, OW, F)."""
    k = w.shape[0]
    win = _windows(_pad(x, padding), k, stride)  # (B, OH, OW, C, k, k)
    return np.tensordot(win, w.transpose(2, 0, 1, 3), axes=([3, 4, 5], [0, 1, 2])).astype(np.float32)


def _run(layer: OnnxLayer, xs: list[np.ndarray]) -> np.ndarray:
    p, x = layer.params, xs[0]
    if layer.kind == "conv":
        y = conv2d(x, layer.weight, p["stride"], p["padding"])
    elif layer.kind == "dense":
        y = x.reshape(x.shape[0], -1) @ layer.weight
    elif layer.kind == "pool":
        k, s, pad = p["pool"], p["stride"], p["padding"]
        if p["mode"] == "max":
            y = _windows(_pad(x, pad, -np.inf), k, s).max(axis=(-2, -1))
        else:
            total = _windows(_pad(x, pad), k, s).sum(axis=(-2, -1))
            if p["count_include_pad"] or not pad:
                y = total / (k * k)
            else:
                ones = _pad(np.ones((1, *x.shape[1:3], 1), np.float32), pad)
                y = total / _windows(ones, k, s).sum(axis=(-2, -1))
    elif layer.kind == "bn":
        scale, shift = layer.bn
        y = x * scale + shift
    elif layer.kind == "act":
        y = np.maximum(x, 0)
    elif layer.kind == "add":
        y = xs[0] + xs[1]
    elif layer.kind == "concat":
        y = np.concatenate(xs, axis=-1)
    else:  # flatten, in ONNX's channel-first order
        y = (x.transpose(0, 3, 1, 2) if x.ndim == 4 else x).reshape(x.shape[0], -1)
    if layer.bias is not None:
        y = y + layer.bias
    return np.asarray(y, np.float32)


# ---------------------------------------------------------------------------------------------- parsing
def _load(path: Path) -> Any:
    try:
        import onnx
    except ImportError:
        raise OnnxError(f"{path}: reading ONNX models needs the package onnx (pip install onnx, or the extra [onnx])") \
            from None
    if not path.is_file():
        raise OnnxError(f"{path}: no such file; expected an ONNX model (.onnx)")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
        return onnx.shape_inference.infer_shapes(model)
    except Exception as e:  # noqa: BLE001 - protobuf decode errors, checker failures: the file is bad
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OnnxError(f"{path}: not a valid ONNX model ({first})") from None


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _square(path: Path, where: str, name: str, v: Any, n: int = 2) -> int:
    """One int from a per-axis list of equal ints (kernel, strides; pads: begins then ends)."""
    vals = [int(a) for a in (v if isinstance(v, (list, tuple)) else [v])]
    if len(set(vals)) > 1:
        raise OnnxError(f"{where}: attribute {name} {vals}: allowed: equal values on every axis (square "
                        f"{'symmetric ' if name == 'pads' else ''}windows)")
    return vals[0] if vals else 0


class _Parser:
    def __init__(self, path: Path, model: Any):
        from onnx import numpy_helper

        self.path, self.g = path, model.graph
        self.init = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in self.g.initializer}
        self.layers: list[OnnxLayer] = []
        self.producer: dict[str, int] = {}  # tensor name -> layer index
        self.shape: dict[str, tuple[int, ...]] = {}  # tensor name -> per-sample NHWC shape
        inputs = [i for i in self.g.input if i.name not in self.init]
        if len(inputs) != 1:
            raise OnnxError(f"{path}: {len(inputs)} graph inputs ({', '.join(i.name for i in inputs)}); "
                            f"allowed: exactly one (the images or feature vectors)")
        inp = inputs[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        if len(dims) not in (2, 4) or any(d is None or d < 1 for d in dims[1:]):
            raise OnnxError(f"{path}: input {inp.name!r}: shape {dims}; allowed: (N, C, H, W) or (N, F) with "
                            f"fixed sizes after the batch axis")
        self.input_name = inp.name
        self.input_shape = (dims[2], dims[3], dims[1]) if len(dims) == 4 else (dims[1],)
        self.shape[inp.name] = self.input_shape

    def where(self, node: Any, i: int) -> str:
        return f"{self.path}: node {node.name or f'#{i}'!r} (op {node.op_type})"

    def act_inputs(self, node: Any, i: int) -> list[str]:
        names = [n for n in node.input if n and n not in self.init]
        for n in names:
            if n not in self.shape:
                raise OnnxError(f"{self.where(node, i)}: input {n!r} is produced by no supported node before it")
        return names

    def weight(self, node: Any, i: int, k: int, what: str) -> np.ndarray:
        if len(node.input) <= k or node.input[k] not in self.init:
            raise OnnxError(f"{self.where(node, i)}: input {k} ({what}) must be an initializer (constant weights); "
                            f"products of two activations are not supported")
        return self.init[node.input[k]]

    def parse(self) -> OnnxModel:
        for i, node in enumerate(self.g.node):
            if node.op_type not in KINDS:
                raise OnnxError(f"{self.path}: node {node.name or f'#{i}'!r} (op {node.op_type}): not supported; "
                                f"supported: {', '.join(SUPPORTED_OPS)}")
            self.node(node, i)
        outs = [o.name for o in self.g.output]
        if len(outs) != 1 or outs[0] not in self.producer:
            raise OnnxError(f"{self.path}: graph outputs {outs}; allowed: exactly one, produced by a node")
        graph = nx.DiGraph()
        for layer in self.layers:
            graph.add_node(layer.index, name=layer.name, op=layer.op, kind=layer.kind, out_shape=layer.out_shape)
            for src in layer.inputs:
                graph.add_edge(src, layer.index, tensor=self.layers[src].params.get("_out", ""),
                               elements=int(np.prod(self.layers[src].out_shape)))
        for layer in self.layers:
            layer.params.pop("_out", None)
        return OnnxModel(self.path, self.layers, graph, self.input_name, self.input_shape,
                         self.producer[outs[0]])

    def add_layer(self, node: Any, i: int, kind: str, xs: list[str], out: tuple[int, ...], **kw: Any) -> None:
        idx = len(self.layers)
        fed = [n in self.producer for n in xs]
        if any(fed) and not all(fed):
            raise OnnxError(f"{self.where(node, i)}: mixes the network input with other tensors; allowed: the "
                            f"network input feeds a node alone")
        params = kw.pop("params", {})
        params["_out"] = node.output[0]
        layer = OnnxLayer(idx, node.name or f"{node.op_type}_{i}", node.op_type, kind,
                          tuple(self.producer[n] for n in xs if n in self.producer),
                          tuple(self.shape[n] for n in xs), tuple(int(d) for d in out), params, **kw)
        self.layers.append(layer)
        self.producer[node.output[0]] = idx
        self.shape[node.output[0]] = layer.out_shape

    def node(self, node: Any, i: int) -> None:
        op, a, where = node.op_type, _attrs(node), self.where(node, i)
        xs = self.act_inputs(node, i)
        if op == "Add" and len(xs) == 1:  # bias after MatMul / Conv: fold into the product
            return self.fold_bias(node, i, xs[0])
        want = 2 if op == "Add" else (None if op == "Concat" else 1)
        if want is not None and len(xs) != want:
            raise OnnxError(f"{where}: {len(xs)} activation inputs; allowed: {want}")
        shp = self.shape[xs[0]]
        if op in ("Conv", "MaxPool", "AveragePool") and len(shp) != 3:
            raise OnnxError(f"{where}: input shape {shp} (NHWC); allowed: a 4-D (N, C, H, W) tensor")
        if op == "Conv":
            w = self.weight(node, i, 1, "weights")
            if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1])):
                raise OnnxError(f"{where}: group {a.get('group', 1)}, dilations {a.get('dilations', [1])}; "
                                f"allowed: group 1, dilations 1")
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise OnnxError(f"{where}: auto_pad {a['auto_pad']!r}; allowed: NOTSET with explicit pads")
            f, c, kh, kw = w.shape
            if kh != kw:
                raise OnnxError(f"{where}: kernel {kh}x{kw}; allowed: square kernels")
            if c != shp[2]:
                raise OnnxError(f"{where}: weights for {c} input channels, input has {shp[2]}")
            s = _square(self.path, where, "strides", a.get("strides", [1]))
            pad = _square(self.path, where, "pads", a.get("pads", [0]))
            oh, ow = conv_output_size(shp[0], kh, s, pad), conv_output_size(shp[1], kh, s, pad)
            bias = self.init[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            self.add_layer(node, i, "conv", xs, (oh, ow, f), weight=w.transpose(2, 3, 1, 0).copy(), bias=bias,
                           params={"kernel": kh, "stride": s, "padding": pad, "filters": f})
        elif op in ("Gemm", "MatMul"):
            w = self.weight(node, i, 1, "weights")
            if op == "Gemm":
                if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                    raise OnnxError(f"{where}: transA {a.get('transA', 0)}, alpha {a.get('alpha', 1.0)}, beta "
                                    f"{a.get('beta', 1.0)}; allowed: transA 0, alpha 1, beta 1")
                w = w.T if a.get("transB", 0) else w
            if w.ndim != 2 or len(shp) != 1 or w.shape[0] != shp[0]:
                raise OnnxError(f"{where}: weights {tuple(w.shape)} for input {shp}; allowed: (in, out) weights on a "
                                f"flat (N, in) input (Flatten first)")
            bias = self.init[node.input[2]].reshape(-1) if op == "Gemm" and len(node.input) > 2 and node.input[2] \
                else None
            self.add_layer(node, i, "dense", xs, (w.shape[1],), weight=np.ascontiguousarray(w), bias=bias,
                           params={"units": int(w.shape[1])})
        elif op in ("MaxPool", "AveragePool"):
            k = _square(self.path, where, "kernel_shape", a["kernel_shape"])
            s = _square(self.path, where, "strides", a.get("strides", [1]))
            pad = _square(self.path, where, "pads", a.get("pads", [0]))
            if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])):
                raise OnnxError(f"{where}: ceil_mode / dilations; allowed: ceil_mode 0, dilations 1")
            oh, ow = conv_output_size(shp[0], k, s, pad), conv_output_size(shp[1], k, s, pad)
            self.add_layer(node, i, "pool", xs, (oh, ow, shp[2]), params={
                "pool": k, "stride": s, "padding": pad, "mode": "max" if op == "MaxPool" else "avg",
                "count_include_pad": int(a.get("count_include_pad", 0))})
        elif op == "BatchNormalization":
            scale, b, mean, var = (self.weight(node, i, k, n) for k, n in ((1, "scale"), (2, "B"), (3, "mean"),
                                                                           (4, "var")))
            mul = scale / np.sqrt(var + float(a.get("epsilon", 1e-5)))
            self.add_layer(node, i, "bn", xs, shp, bn=(mul.astype(np.float32), (b - mean * mul).astype(np.float32)))
        elif op == "Relu":
            self.add_layer(node, i, "act", xs, shp, params={"activation": "relu"})
        elif op == "Add":
            other = self.shape[xs[1]]
            if other != shp:
                raise OnnxError(f"{where}: input shapes {shp} and {other}; allowed: equal shapes (no broadcasting)")
            self.add_layer(node, i, "add", xs, shp)
        elif op == "Concat":
            axis = int(a.get("axis", 1))
            rank = len(shp) + 1
            if axis not in (1, 1 - rank):
                raise OnnxError(f"{where}: axis {axis}; allowed: 1 (channels)")
            shapes = [self.shape[n] for n in xs]
            if any(s[:-1] != shp[:-1] for s in shapes):
                raise OnnxError(f"{where}: input shapes {shapes}; allowed: equal except the channel axis")
            self.add_layer(node, i, "concat", xs, (*shp[:-1], sum(s[-1] for s in shapes)))
        else:  # Flatten
            if int(a.get("axis", 1)) != 1:
                raise OnnxError(f"{where}: axis {a.get('axis')}; allowed: 1")
            self.add_layer(node, i, "flatten", xs, (int(np.prod(shp)),))

    def fold_bias(self, node: Any, i: int, x: str) -> None:
        where = self.where(node, i)
        src = self.producer.get(x)
        const = next(n for n in node.input if n in self.init)
        layer = self.layers[src] if src is not None else None
        if layer is None or layer.kind not in ("dense", "conv") or layer.bias is not None:
            raise OnnxError(f"{where}: adds the constant {const!r} to a non-product tensor; allowed: an Add of two "
                            f"activations, or a bias Add right after a MatMul / Conv")
        b = self.init[const].reshape(-1)
        if b.size != layer.out_shape[-1]:
            raise OnnxError(f"{where}: bias of {b.size} values for {layer.out_shape[-1]} outputs")
        layer.bias = b
        self.producer[node.output[0]] = src
        self.shape[node.output[0]] = layer.out_shape
        layer.params["_out"] = node.output[0]


def read_onnx(path: str | Path) -> OnnxModel:
    """Load, check and import an ONNX model (module doc); errors are :class:`OnnxError` (exit status 2)."""
    path = Path(path)
    return _Parser(path, _load(path)).parse()
