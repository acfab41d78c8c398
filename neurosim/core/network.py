"""A network built from a spec and a method: forward, backward and update, reporting operands to an observer.

Block order follows the GXNOR reference code: weights -> [max-pool] -> batch norm -> activation; the output
layer is weights -> batch norm -> scores.
"""
from __future__ import annotations

import io
import json
import lzma
import math
import struct
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..events import MAC_KINDS, LayerInfo, Observer, OperandRecord
from ..names import is_plain_name
from ..shapes import conv_output_size
from ..spec import LayerSpec, SpecError
from .layers import Act, BatchNorm, Conv2D, Dense, Flatten, Layer, MaxPool
from .losses import loss_fn
from .methods import METHODS, Method
from .optim import Adam, SGD


class Network:
    """Layers plus the loss; trains with a method's weight and activation policies."""

    def __init__(self, layers: list[Layer], loss: str, method: Method, num_classes: int):
        self.layers, self.loss, self.method, self.num_classes = layers, loss, method, num_classes
        self._loss = loss_fn(loss)
        self._inc: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ structure
    @property
    def mac_layers(self) -> list[Layer]:
        return [l for l in self.layers if l.info.kind in MAC_KINDS]

    def infos(self) -> list[LayerInfo]:
        return [l.info for l in self.layers]

    def weight_count(self) -> int:
        return sum(l.weights.values.size for l in self.mac_layers)

    # ------------------------------------------------------------------ passes
    def forward(self, x: np.ndarray, train: bool, observer: Observer | None = None, batch: int = 0) -> np.ndarray:
        mode = "train" if train else "eval"
        for layer in self.layers:
            if layer.weights is not None:
                layer.weights.read()
            if observer is not None:
                observer.observe(self._record(layer, "forward", mode, batch, x))
            x = layer.forward(x, train)
        return x

    def loss_and_grad(self, scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        return self._loss(scores, labels)

    def backward(self, dscores: np.ndarray, observer: Observer | None = None, batch: int = 0) -> None:
        dy = dscores
        last = len(self.layers) - 1
        first_mac = next(i for i, l in enumerate(self.layers) if l.info.kind in MAC_KINDS)
        for i in range(last, first_mac - 1, -1):
            layer = self.layers[i]
            need_dx = i > first_mac
            dx = layer.backward(dy, need_dx)
            if observer is not None:
                rec = self._record(layer, "backward", "train", batch, getattr(layer, "x", None))
                rec.dy = dy
                observer.observe(rec)
            dy = dx

    def init_optimizer(self, optimizer: Adam | SGD) -> None:
        for layer in self.layers:
            if layer.weights is not None:
                optimizer.register(layer.info.name + ".w", layer.weights.values.shape)
                self._inc[layer.info.name + ".w"] = np.zeros_like(layer.weights.values)
            for pname, (p, _) in layer.float_params().items():
                key = f"{layer.info.name}.{pname}"
                optimizer.register(key, p.shape)
                self._inc[key] = np.zeros_like(p)

    def update(self, optimizer: Adam | SGD, lr: float, step: int, observer: Observer | None = None,
               batch: int = 0) -> None:
        optimizer.begin_step()
        for layer in self.layers:
            if layer.weights is not None:
                key = layer.info.name + ".w"
                inc = optimizer.increment(key, layer.grad, self._inc[key], lr)
                changed, distance = layer.weights.apply(inc, step)
                if observer is not None:
                    rec = self._record(layer, "update", "train", batch, None)
                    rec.transitions, rec.changed, rec.distance = layer.weights.transitions, changed, distance
                    observer.observe(rec)
            for pname, (p, g) in layer.float_params().items():
                key = f"{layer.info.name}.{pname}"
                p += optimizer.increment(key, g, self._inc[key], lr)

    def _record(self, layer: Layer, phase: str, mode: str, batch: int, x: np.ndarray | None) -> OperandRecord:
        w = layer.weights
        return OperandRecord(layer=layer.info, phase=phase, mode=mode, batch=batch,
                             batch_size=0 if x is None else x.shape[0], x=x, x_step=layer.in_step,
                             w=None if w is None else w.values, w_step=0.0 if w is None else w.step,
                             w_state=None if w is None else w.state, w_conductance=None if w is None else w.conductance)

    # ------------------------------------------------------------------ evaluation
    def predict(self, x: np.ndarray, batch: int = 1000, observer: Observer | None = None) -> np.ndarray:
        out = np.empty(len(x), np.int64)
        for b, s in enumerate(range(0, len(x), batch)):
            out[s:s + batch] = self.forward(x[s:s + batch], False, observer, b).argmax(axis=1)
        return out

    def accuracy(self, x: np.ndarray, y: np.ndarray, batch: int = 1000, observer: Observer | None = None) -> float:
        if len(x) == 0:
            return float("nan")
        return float(np.mean(self.predict(x, batch, observer) == y))

    # ------------------------------------------------------------------ state
    def arrays(self) -> dict[str, np.ndarray]:
        """Everything that defines the trained model (weights in their stored form, BN parameters, stats)."""
        d: dict[str, np.ndarray] = {}
        for layer in self.layers:
            n = layer.info.name
            if layer.weights is not None:
                d.update({f"{n}.{k}": a for k, a in layer.weights.arrays().items()})
            d.update({f"{n}.{k}": p for k, (p, _) in layer.float_params().items()})
            d.update({f"{n}.{k}": b for k, b in layer.buffers().items()})
        return d

    def load_arrays(self, d: Mapping[str, np.ndarray], source: str = "<model>", prefix: str = "") -> None:
        """Load saved arrays after :meth:`check_arrays` (all or nothing: a bad file changes no weight)."""
        self.check_arrays(d, source, prefix)
        for layer in self.layers:
            n = layer.info.name
            if layer.weights is not None:
                layer.weights.load({k: d[f"{n}.{k}"] for k in layer.weights.arrays() if f"{n}.{k}" in d})
            for k, (p, _) in layer.float_params().items():
                p[...] = d[f"{n}.{k}"]
            for k, b in layer.buffers().items():
                b[...] = d[f"{n}.{k}"]

    def check_arrays(self, d: Mapping[str, np.ndarray], source: str = "<model>", prefix: str = "") -> None:
        """Raise ModelFileError unless ``d`` holds exactly this network's arrays, each of its exact shape,
        dtype kind and value range (``prefix``: how the file names the keys, e.g. ``model.`` in a checkpoint)."""
        expected = self.arrays()
        check_keys(d, expected, source, prefix, optional=_is_device_key, ignorable=self._ignorable)
        ranges = self._value_ranges()
        for key, ref in expected.items():
            if key in d:
                check_array(d[key], ref, source, prefix + key, ranges.get(key))

    def _value_ranges(self) -> dict[str, tuple[float, float]]:
        """Allowed values of the arrays that have a range: DST state indices, batch-norm running variances."""
        out: dict[str, tuple[float, float]] = {}
        for layer in self.layers:
            n, w = layer.info.name, layer.weights
            space = getattr(w, "space", None)
            if w is not None and space is not None and "state" in w.arrays():
                out[f"{n}.state"] = (0, space.max_index)
            if "running_var" in layer.buffers():
                out[f"{n}.running_var"] = (0.0, math.inf)  # eval adds eps; an underflowed 0 is still valid
        return out

    def _ignorable(self, key: str) -> bool:
        """Device arrays of a layer with weights: a model trained on devices may be deployed on ideal ones."""
        layer, _, last = key.rpartition(".")
        return last.startswith("device_") and layer in {l.info.name for l in self.layers if l.weights is not None}


# ---------------------------------------------------------------------------------------------- saved arrays
class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be read or does not fit the network; names the file and array."""


_NPZ_DAMAGE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, struct.error, NotImplementedError,
               ValueError, TypeError, SyntaxError, OverflowError)
_MAX_LISTED = 6  # keys named in a missing/unexpected-array message


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read without pickle; any damage is a ModelFileError naming the file.

    Read member by member with the header checked against the stored size before any allocation, so a
    bit-flipped shape cannot ask for terabytes, and object (pickled) arrays are refused.
    """
    src = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            out: dict[str, np.ndarray] = {}
            for info in zf.infolist():
                name = _member_name(info, src)
                if name in out:
                    raise ModelFileError(f"{src}: array {name!r}: stored twice; the file is damaged")
                out[name] = _read_member(zf.read(info), src, name)
            return out
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise ModelFileError(f"{src}: no such file") from None
    except OSError as e:
        raise ModelFileError(f"{src}: cannot read: {e.strerror or e}") from None
    except _NPZ_DAMAGE as e:
        raise ModelFileError(f"{src}: damaged or not an .npz file ({str(e) or type(e).__name__}); "
                             f"allowed: an .npz archive of plain arrays as neurosim writes them") from None


def _member_name(info: zipfile.ZipInfo, src: str) -> str:
    """The array name of one archive member ('x.npy' -> 'x')."""
    if not info.filename.endswith(".npy") or info.is_dir():
        raise ModelFileError(f"{src}: member {info.filename!r} is not an .npy array; allowed: .npy members only")
    return info.filename[:-4]


def _read_member(raw: bytes, src: str, name: str) -> np.ndarray:
    """One .npy member: header, then exactly the bytes its shape and dtype need."""
    fh = io.BytesIO(raw)
    version = np.lib.format.read_magic(fh)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ModelFileError(f"{src}: array {name!r}: .npy format {version}; allowed: 1.0, 2.0, 3.0")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(fh)
    if dtype.hasobject:
        raise ModelFileError(f"{src}: array {name!r}: holds Python objects (pickle), refused; allowed: plain "
                             f"numeric arrays")
    need = math.prod(shape) * dtype.itemsize
    have = len(raw) - fh.tell()
    if need != have:
        raise ModelFileError(f"{src}: array {name!r}: header says {shape} {dtype} ({need} bytes), the file holds "
                             f"{have} bytes; the file is damaged")
    a = np.frombuffer(raw, dtype, math.prod(shape), fh.tell())
    return a.reshape(shape, order="F" if fortran else "C").copy()


def read_meta(arrays: dict[str, np.ndarray], src: str) -> dict[str, Any]:
    """Pop and parse the JSON ``meta`` entry of a model or checkpoint file."""
    m = arrays.pop("meta", None)
    if m is None:
        raise ModelFileError(f"{src}: array 'meta': missing; allowed: a file written by neurosim (it has 'meta')")
    if m.shape != () or m.dtype.kind != "U":
        raise ModelFileError(f"{src}: array 'meta': {m.dtype} of shape {m.shape}; expected a JSON string")
    try:
        meta = json.loads(str(m))
    except ValueError as e:
        raise ModelFileError(f"{src}: array 'meta': not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{src}: array 'meta': a JSON {type(meta).__name__}; expected a JSON object")
    return meta




def read_model_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A model.npz's arrays and its checked metadata (which workload, method and seed trained it)."""
    src = str(path)
    arrays = read_npz(path)
    meta = read_meta(arrays, src)
    check_model_meta(meta, src)
    return arrays, meta


def check_model_meta(meta: dict[str, Any], src: str) -> None:
    """The keys a model's metadata must have for the model to be rebuilt: workload name, method, N, seed."""
    w = meta.get("workload")
    if not is_plain_name(w):
        raise ModelFileError(f"{src}: meta.workload: got {w!r}; allowed: the plain name of the workload that "
                             f"trained the model")
    if meta.get("method") not in METHODS:
        raise ModelFileError(f"{src}: meta.method: got {meta.get('method')!r}; allowed: {', '.join(METHODS)}")
    for key, lo, hi in (("N", 0, 14), ("seed", 0, 2**63 - 1)):
        v = meta.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi):
            raise ModelFileError(f"{src}: meta.{key}: got {v!r}; allowed: an integer {lo}..{hi} or null")


def _is_device_key(key: str) -> bool:
    """Device arrays may be missing from a model trained on ideal devices (the chip keeps its own)."""
    return key.rpartition(".")[2].startswith("device_")


def check_keys(d: Mapping[str, Any], expected: Mapping[str, np.ndarray], source: str, prefix: str = "",
               optional=lambda k: False, ignorable=lambda k: False) -> None:
    """Every expected key is present (unless ``optional``) and no other key is (unless ``ignorable``)."""
    missing = [k for k in expected if k not in d and not optional(k)]
    if missing:
        k = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ModelFileError(f"{source}: array {prefix + k!r}: missing{more}; expected {_describe(expected[k])}; "
                             f"the file does not match this network")
    extra = [k for k in d if k not in expected and not ignorable(k)]
    if extra:
        names = ", ".join(prefix + k for k in list(expected)[:_MAX_LISTED])
        more = ", ..." if len(expected) > _MAX_LISTED else ""
        raise ModelFileError(f"{source}: array {prefix + extra[0]!r}: unexpected; allowed: {names}{more}; the "
                             f"file does not match this network")


def check_array(a: Any, ref: np.ndarray, source: str, key: str, value_range: tuple[float, float] | None = None) -> None:
    """``a`` can replace ``ref`` exactly: same shape (no broadcasting), same dtype kind, finite, in range.

    Integers must fit ``ref``'s dtype (no wrap-around) and ``value_range`` when given; floats must be finite
    once cast to ``ref``'s dtype (no overflow to inf).
    """
    where = f"{source}: array {key!r}"
    if not isinstance(a, np.ndarray):
        raise ModelFileError(f"{where}: a {type(a).__name__}; expected {_describe(ref)}")
    want_int = ref.dtype.kind in "iu"
    if (a.dtype.kind in "iu") != want_int or a.dtype.kind not in "iuf":
        raise ModelFileError(f"{where}: dtype {a.dtype}; expected {_describe(ref)}")
    if a.shape != ref.shape:
        raise ModelFileError(f"{where}: shape {a.shape}, expected {ref.shape}")
    if want_int:
        info = np.iinfo(ref.dtype)
        lo, hi = value_range if value_range is not None else (info.min, info.max)
        _check_range(a, max(lo, info.min), min(hi, info.max), where)
        return
    with np.errstate(over="ignore", invalid="ignore"):
        bad = ~np.isfinite(a.astype(ref.dtype))
    if bad.any():
        raise ModelFileError(f"{where}: {_first(a, bad)} is not a finite {ref.dtype}; allowed: finite numbers")
    if value_range is not None:
        _check_range(a, *value_range, where)


def _check_range(a: np.ndarray, lo: float, hi: float, where: str) -> None:
    """Every value of ``a`` in [lo, hi]; the message names the first one outside."""
    bad = (a < lo) | (a > hi)
    if bad.any():
        allowed = f"{lo} or more" if hi == math.inf else f"{lo}..{hi}"
        raise ModelFileError(f"{where}: {_first(a, bad)} out of range; allowed: {allowed}")


def _first(a: np.ndarray, bad: np.ndarray) -> str:
    """'value 7 at index (3, 1)' for the first flagged element ('value 7' for a 0-d array)."""
    if a.ndim == 0:
        return f"value {a.item()!r}"
    i = tuple(int(j) for j in np.unravel_index(int(np.argmax(bad)), a.shape))
    return f"value {a[i].item()!r} at index {i}"


def _describe(ref: np.ndarray) -> str:
    """'an int16 array of shape (64, 256)'."""
    article = "an" if ref.dtype.name.startswith("int") else "a"
    return f"{article} {ref.dtype} array of shape {ref.shape}"


def _input_width(act, step: float, mac: int, input_bits: int) -> int:
    """Bits per input value of a product: its activation's code width, the data's width for the first product,
    else full precision (a continuous activation)."""
    if step:
        return act.bits
    return input_bits if mac == 1 else 32


def build_network(specs: list[LayerSpec], input_shape: tuple[int, int, int], num_classes: int, method: Method,
                  seed: int = 0, loss: str | None = None, batch_norm: bool = True, output_bn: bool = True,
                  bn_momentum: float = 0.1, bn_eps: float = 1e-4, input_bits: int = 32) -> Network:
    """Instantiate layers for `specs` on inputs of `input_shape` (H, W, C); ``input_bits``: the width of the data
    the first product reads (the dataset's stored pixels), for the hardware side."""
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    shape: tuple[int, ...] = tuple(input_shape)
    step = 0.0
    mac = 0
    pending_tail: str | None = None  # name suffix of the block whose BN + activation are still to come
    act = method.activation

    def add(layer: Layer, out_shape: tuple[int, ...]) -> None:
        nonlocal shape, step
        layer.in_step = step
        layers.append(layer)
        shape = out_shape
        kind = layer.info.kind
        if kind == "act":
            step = act.step
        elif kind in ("dense", "conv", "bn"):
            step = 0.0

    def info(kind: str, name: str, out_shape: tuple[int, ...], **kw: Any) -> LayerInfo:
        return LayerInfo(index=len(layers), name=name, kind=kind, in_shape=shape, out_shape=out_shape, **kw)

    def flush(final: bool = False) -> None:
        nonlocal pending_tail
        if pending_tail is None:
            return
        ch = shape[-1]
        if batch_norm and (not final or output_bn):
            add(BatchNorm(info("bn", "bn" + pending_tail, shape), ch, bn_momentum, bn_eps), shape)
        if not final:
            add(Act(info("act", "act" + pending_tail, shape, params={"activation": act.kind},
                         activation_bits=act.bits), act), shape)
        pending_tail = None

    def flatten() -> None:
        if len(shape) > 1:
            n = int(np.prod(shape))
            add(Flatten(info("flatten", f"flatten{mac}", (n,))), (n,))

    def weights(w_shape: tuple[int, ...], fan_in: int, fan_out: int):
        return method.make_weights(w_shape, fan_in, fan_out, rng, seed, stream=mac)

    for i, ls in enumerate(specs):
        p = ls.params
        if ls.kind == "input":
            if i != 0:
                raise SpecError("the input size may only be the first token")
            if p["size"] != int(np.prod(input_shape)):
                raise SpecError(f"network spec input size {p['size']} does not match the dataset's "
                                f"{'x'.join(map(str, input_shape))} = {int(np.prod(input_shape))} inputs")
            flatten()
        elif ls.kind == "conv":
            flush()
            if len(shape) != 3:
                raise SpecError(f"layer {i + 1} (conv) needs an image input, but its input is flat {shape}")
            h, w_, c = shape
            k, s, pad, f = p["kernel"], p["stride"], p["padding"], p["filters"]
            oh, ow = conv_output_size(h, k, s, pad), conv_output_size(w_, k, s, pad)
            if oh < 1 or ow < 1:
                raise SpecError(f"layer {i + 1} (conv {k}x{k}) does not fit its {h}x{w_} input")
            mac += 1
            wp = weights((k, k, c, f), k * k * c, k * k * f)
            li = info("conv", f"conv{mac}", (oh, ow, f), params=dict(p), weight_bits=wp.deployed_bits,
                      weight_count=wp.values.size, activation_bits=_input_width(act, step, mac, input_bits))
            add(Conv2D(li, wp, s, pad), (oh, ow, f))
            pending_tail = str(mac)
        elif ls.kind == "pool":
            if len(shape) != 3:
                raise SpecError(f"layer {i + 1} (max-pool) needs an image input, but its input is flat {shape}")
            k = p["pool"]
            h, w_, c = shape
            if h < k or w_ < k:
                raise SpecError(f"layer {i + 1} (MP{k}) does not fit its {h}x{w_} input")
            out = (h // k, w_ // k, c)
            add(MaxPool(info("pool", f"pool{mac}", out, params={"pool": k, "stride": k}), k), out)
        elif ls.kind in ("dense", "output"):
            final = ls.kind == "output"
            flush()
            flatten()
            units = p["units"] if p["units"] is not None else num_classes
            if final and units != num_classes:
                raise SpecError(f"network spec output size {units} does not match the dataset's {num_classes} classes")
            n_in = shape[0]
            mac += 1
            wp = weights((n_in, units), n_in, units)
            name = "out" if final else f"fc{mac}"
            li = info("dense", name, (units,), params={"units": units}, weight_bits=wp.deployed_bits,
                      weight_count=wp.values.size, activation_bits=_input_width(act, step, mac, input_bits))
            add(Dense(li, wp), (units,))
            pending_tail = name if final else str(mac)
            if final:
                flush(final=True)
                loss = p["loss"] or loss or "squared_hinge"
    return Network(layers, loss or "squared_hinge", method, num_classes)
