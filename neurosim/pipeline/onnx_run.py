"""An ONNX model as a workload: its real weights and the activations of a numpy forward pass, simulated for inference
through the same hardware observer, engine and report as every run (docs/onnx.md).

Weights: the float initializers mapped to the architecture's weight space, keeping their real sparsity:

- digital array whose kind consumes 2-bit weights (gxnor, twn): ternary by the TWN rule (delta = 0.7 mean|w|);
  1-bit weights (bnn): sign; wider (fp): the float values;
- crossbar: DST quantization onto the tile's Z_N (:func:`neurosim.onnx_import.dst_states`: N = 1 TWN, N >= 2
  nearest of 2^N + 1 states after scaling by max|w|), held as N-state DST indices.

Activations: the float network runs in numpy on one batch of ``batch`` samples of

1. the MNIST test split (``data_dir``, $NEUROSIM_DATA or the cache) when the input is 1x28x28 or 784,
2. scikit-learn's embedded digits when the input is 1x8x8 or 64 (and scikit-learn is installed),
3. else (or when ``density`` is given) seeded random inputs: values uniform in (0, 1], nonzero with probability
   ``density`` (0.5 when not given);

each product's input is quantized as the array consumes it: ternary by the TWN rule applied to the batch's
activations (gxnor; a crossbar's ternary driver), sign (binary), signed integer codes of ``input_bits`` scaled by
the batch's peak (a crossbar's bit-serial driver), or float (a full-precision array, an analog driver). The
summary names the source (``operands.source``) and the rules (``operands.weights``, ``operands.activations``).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..events import MAC_KINDS, LayerInfo, OperandRecord
from ..hw.arch import ArchError, Architecture
from ..hw.kinds import kind
from ..hw.observer import HardwareObserver, OperandAlphabet
from ..hw.weight_memory import WeightBits
from ..onnx_import import OnnxLayer, OnnxModel, dst_states, read_onnx, ternary_twn
from .outputs import claim
from .topology import publish_inference

__all__ = ["OperandRules", "graph_summary", "layer_infos", "model_inputs", "onnx_report", "simulate_onnx"]


class OperandRules:
    """How weights and activations are mapped onto an architecture: widths and quantization rules."""

    def __init__(self, arch: Architecture):
        self.crossbar = arch.is_crossbar
        if self.crossbar:
            tile = arch.crossbar()
            self.N = int(arch.weight_space(tile)[0])
            drv = arch.component(tile.attributes.driver).attributes
            self.driver = drv.kind
            self.input_bits = int(getattr(drv, "input_bits", 0) or 0)
            self.w_bits = self.N + 1
            self.a_bits = {"ternary": 2, "binary": 1, "bit_serial": self.input_bits}.get(self.driver, 32)
            self.weights = f"DST states of Z_{self.N} ({2 ** self.N + 1} states): " + (
                "TWN threshold 0.7 mean|w|" if self.N == 1 else "nearest state after scaling by max|w|")
            self.activations = {"ternary": "ternary (TWN threshold 0.7 mean|x| of the batch)",
                                "binary": "sign (+-1)",
                                "bit_serial": f"signed {self.input_bits}-bit codes scaled by the batch's peak"
                                }.get(self.driver, "float (analog driver)")
        else:
            self.N = 0
            self.driver = ""
            self.input_bits = 0
            self.w_bits, self.a_bits = kind(arch.compute_array().kind).operand_bits
            self.weights = {2: "ternary (TWN threshold 0.7 mean|w|)", 1: "binary (sign)"}.get(
                self.w_bits, f"float ({self.w_bits} bits)")
            self.activations = {2: "ternary (TWN threshold 0.7 mean|x| of the batch)", 1: "binary (sign)"}.get(
                self.a_bits, f"float ({self.a_bits} bits)")

    def alphabet(self) -> OperandAlphabet:
        """Nonzero probability of uniformly random operands of these widths (the report's 'uniform' column): 2/3
        for ternary, 1 - 1/(2^N + 1) for Z_N states, 1 for binary and float."""
        w = 1.0 - 1.0 / (2 ** self.N + 1) if self.crossbar else (2 / 3 if self.w_bits == 2 else 1.0)
        ternary_x = self.driver == "ternary" if self.crossbar else self.a_bits == 2
        return OperandAlphabet(2 / 3 if ternary_x else 1.0, w)

    def weight(self, w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray | None]:
        """(values, step, states) of float weights ``w`` on the architecture's weight space."""
        if self.crossbar:
            vals, states = dst_states(w, self.N)
            return vals, 1.0 / 2 ** (self.N - 1), states
        if self.w_bits == 2:
            t = ternary_twn(w)
            return t, 1.0, (t + 1).astype(np.int16)
        if self.w_bits == 1:
            b = np.where(w >= 0, 1.0, -1.0).astype(np.float32)
            return b, 1.0, (b > 0).astype(np.int16)
        return np.asarray(w, np.float32), 0.0, None

    def activation(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """(values, step) of a product's float input ``x`` as the array (or the crossbar's driver) consumes it."""
        ternary = self.driver == "ternary" if self.crossbar else self.a_bits == 2
        binary = self.driver == "binary" if self.crossbar else self.a_bits == 1
        if ternary:
            return ternary_twn(x), 1.0
        if binary:
            return np.where(x >= 0, 1.0, -1.0).astype(np.float32), 1.0
        if self.crossbar and self.driver == "bit_serial":
            peak = float(np.max(np.abs(x))) if x.size else 0.0
            top = 2 ** self.input_bits - 1
            q = np.rint(x / peak * top) if peak > 0 else np.zeros_like(x)
            return q.astype(np.float32), 1.0
        return np.asarray(x, np.float32), 0.0


def layer_infos(model: OnnxModel, w_bits: int, a_bits: int) -> list[LayerInfo]:
    """LayerInfos of the imported layers, each naming the layers it reads (a DAG, not a chain)."""
    infos = []
    for layer in model.layers:
        p = dict(layer.params)
        weights = int(layer.weight.size) if layer.weight is not None else 0
        in_shape = layer.in_shape if layer.kind != "dense" else (int(np.prod(layer.in_shape)),)
        if layer.kind == "dense":
            p = {"units": p["units"]}
        infos.append(LayerInfo(layer.index, layer.name, layer.kind, tuple(in_shape), tuple(layer.out_shape), p,
                               weight_bits=w_bits if weights else 0, weight_count=weights, activation_bits=a_bits,
                               inputs=tuple(layer.inputs)))
    return infos


def model_inputs(model: OnnxModel, batch: int, density: float | None, seed: int,
                 data_dir: str | Path | None) -> tuple[np.ndarray, str]:
    """(the network input (batch, *input_shape) NHWC, what it is) as the module doc says."""
    shape = tuple(model.input_shape)
    if data_dir is not None:
        if density is not None:
            raise ValueError("--data, --density: give one (the dataset's images, or seeded random inputs of a density)")
        if shape not in ((28, 28, 1), (784,)):
            raise ValueError(f"--data: {model.path}: the input {'x'.join(map(str, shape))} (HWC) matches no dataset "
                             f"read from a folder; allowed: 28x28x1 or 784 (the MNIST test split)")
    if density is None:
        got = _dataset(shape, batch, data_dir)
        if got is not None:
            return got
        density, why = 0.5, "no dataset matches the input shape " + "x".join(map(str, shape)) + "; "
    else:
        why = ""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"--density must be in [0, 1] (got {density})")
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((batch, *shape)) < density, 1.0 - rng.random((batch, *shape)), 0.0)
    return x.astype(np.float32), f"{why}seeded random inputs (seed {seed}, density {density:g}, uniform in (0, 1])"


def _dataset(shape: tuple[int, ...], batch: int, data_dir: str | Path | None) -> tuple[np.ndarray, str] | None:
    from ..data import DataError, load_idx_pair, resolve_data_dir

    if shape in ((28, 28, 1), (784,)):
        need = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
        try:
            folder = resolve_data_dir("mnist", data_dir, need)
        except DataError:
            if data_dir is not None:
                raise
            return None
        from ..data import _locate

        x, _ = load_idx_pair(_locate(folder, need[0]), _locate(folder, need[1]))
        x = (x[:batch].astype(np.float32) / 255.0).reshape(min(batch, len(x)), *shape)
        return x, f"mnist test split, first {len(x)} images ({folder})"
    if shape in ((8, 8, 1), (64,)):
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            return None
        imgs = load_digits().images.astype(np.float32)[:batch] / 16.0
        return imgs.reshape(len(imgs), *shape), f"scikit-learn digits, first {len(imgs)} images"
    return None


def simulate_onnx(model: OnnxModel, arch: Architecture, x: np.ndarray) -> tuple[Any, list[dict], float]:
    """Run the model on ``x`` in numpy and its layers through the hardware observer; return (result, per-layer
    weight mapping facts, seconds)."""
    rules = OperandRules(arch)
    infos = layer_infos(model, rules.w_bits, rules.a_bits)
    B = int(x.shape[0])
    alphabet = rules.alphabet()
    if rules.crossbar:
        obs = HardwareObserver(arch, infos, B, alphabet=alphabet, weight_N=rules.N)
    else:
        obs = HardwareObserver(arch, infos, B, WeightBits(stored=rules.w_bits), alphabet, continuous_input=False)
    ins, _ = model.forward(x)
    by_index = {i.index: i for i in infos}
    t0 = time.perf_counter()
    facts = []
    for idx in obs.order:
        layer, info = model.layers[idx], by_index[idx]
        xin = ins[idx][0]
        if info.kind in MAC_KINDS:
            w, w_step, states = rules.weight(layer.weight)
            xq, x_step = rules.activation(xin if info.kind == "conv" else xin.reshape(B, -1))
            facts.append(_weight_facts(layer, w))
            rec = OperandRecord(layer=info, phase="forward", mode="eval", batch=0, batch_size=B, x=xq, w=w,
                                x_step=x_step, w_step=w_step, w_state=states)
        else:
            rec = OperandRecord(layer=info, phase="forward", mode="eval", batch=0, batch_size=B, x=xin)
        obs.observe(rec)
    res = obs.finish()
    return res, facts, time.perf_counter() - t0


def _weight_facts(layer: OnnxLayer, mapped: np.ndarray) -> dict[str, Any]:
    w = layer.weight
    return {"layer": layer.name, "weights": int(w.size),
            "initializer_zero_fraction": float(np.mean(w == 0)) if w.size else 0.0,
            "mapped_zero_fraction": float(np.mean(mapped == 0)) if mapped.size else 0.0}


def _network(model: OnnxModel) -> str:
    return "-".join(layer.op for layer in model.layers)


def graph_summary(model: OnnxModel) -> dict[str, Any]:
    """The DAG as JSON: edges (source, target, tensor) and the skip edges (they jump over layers)."""
    g = model.graph
    edges = [[model.layers[a].name, model.layers[b].name, d.get("tensor", "")] for a, b, d in g.edges(data=True)]
    skips = [[model.layers[a].name, model.layers[b].name] for a, b in g.edges() if b - a > 1]
    return {"nodes": g.number_of_nodes(), "edges": edges, "skip_edges": skips}


def onnx_report(path: str | Path, arch: Architecture, out: str | Path, batch: int = 1, density: float | None = None,
                seed: int = 0, force: bool = False, data_dir: str | Path | None = None) -> dict[str, Any]:
    """Import an ONNX model, simulate one inference batch on ``arch`` and write summary.json, layers.csv, the plots
    and report.html into ``out`` (as a unit, into a folder that holds no other run's report unless ``force``)."""
    path, out = Path(path), Path(out)
    if batch < 1:
        raise ValueError(f"--batch must be >= 1 (got {batch})")
    model = read_onnx(path)
    x, source = model_inputs(model, batch, density, seed, data_dir)
    claim(out, force=force, resumable=False)
    try:
        res, facts, seconds = simulate_onnx(model, arch, x)
    except ArchError as e:
        raise ArchError(f"{path}: on {e}") from None
    rules = OperandRules(arch)
    summary: dict[str, Any] = {
        "workload": path.stem, "workload_file": str(path), "format": "onnx", "network": _network(model),
        "layers": len(model.layers), "macs_per_sample": model.macs_per_sample, "batch": int(x.shape[0]),
        "operands": {"source": source, "weights": rules.weights, "activations": rules.activations,
                     "weight_bits": rules.w_bits, "activation_bits": rules.a_bits, "seed": seed,
                     "density": density},
        "weight_mapping": facts, "graph": graph_summary(model), "neurosim_version": __version__}
    return publish_inference(out, res, arch, seconds, summary)

