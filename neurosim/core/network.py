"""A network built from a spec and a method: forward, backward and update, reporting operands to an observer.

Block order follows the GXNOR reference code: weights -> [max-pool] -> batch norm -> activation; the output
layer is weights -> batch norm -> scores.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..events import MAC_KINDS, LayerInfo, Observer, OperandRecord
from ..spec import LayerSpec, SpecError
from .layers import Act, BatchNorm, Conv2D, Dense, Flatten, Layer, MaxPool
from .losses import loss_fn
from .methods import Method
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
                             w_state=None if w is None else w.state)

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

    def load_arrays(self, d: dict[str, np.ndarray], source: str = "<model>") -> None:
        for layer in self.layers:
            n = layer.info.name
            try:
                if layer.weights is not None:
                    layer.weights.load({k: d[f"{n}.{k}"] for k in layer.weights.arrays()})
                for k, (p, _) in layer.float_params().items():
                    p[...] = d[f"{n}.{k}"]
                for k, b in layer.buffers().items():
                    b[...] = d[f"{n}.{k}"]
            except KeyError as e:
                raise ValueError(f"{source}: missing array {e.args[0]!r}; the model does not match this network") from None
            except ValueError as e:
                raise ValueError(f"{source}: layer {n!r}: {e}") from None


def build_network(specs: list[LayerSpec], input_shape: tuple[int, int, int], num_classes: int, method: Method,
                  seed: int = 0, loss: str | None = None, batch_norm: bool = True, output_bn: bool = True,
                  bn_momentum: float = 0.1, bn_eps: float = 1e-4) -> Network:
    """Instantiate layers for `specs` on inputs of `input_shape` (H, W, C)."""
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
            oh, ow = (h + 2 * pad - k) // s + 1, (w_ + 2 * pad - k) // s + 1
            if oh < 1 or ow < 1:
                raise SpecError(f"layer {i + 1} (conv {k}x{k}) does not fit its {h}x{w_} input")
            mac += 1
            wp = weights((k, k, c, f), k * k * c, k * k * f)
            li = info("conv", f"conv{mac}", (oh, ow, f), params=dict(p), weight_bits=wp.deployed_bits,
                      weight_count=wp.values.size, activation_bits=act.bits if step else 32)
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
                      weight_count=wp.values.size, activation_bits=act.bits if step else 32)
            add(Dense(li, wp), (units,))
            pending_tail = name if final else str(mac)
            if final:
                flush(final=True)
                loss = p["loss"] or loss or "squared_hinge"
    return Network(layers, loss or "squared_hinge", method, num_classes)
