"""Topology importers: SCALE-Sim topology CSV and DNN+NeuroSim NetWork.csv -> neurosim layer descriptions.

Architects already describe workloads in these two formats; reading them lets the simulator run the same
layers. With no trained model the layers run on seeded random operands of a given density
(:func:`random_operands`).

- SCALE-Sim: a header row ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
  Num Filter, Strides,`` (trailing comma and spaces tolerated, names matched ignoring case and spaces), then
  one conv per row with no padding: out = (ifmap - filter) // stride + 1. Rows are independent (a layer's
  IFMAP need not equal the previous output), so each layer keeps its own input shape.
- DNN+NeuroSim: no header; ``IFM_H, IFM_W, IFM_C, Kernel_H, Kernel_W, Num_Kernels, Pooling, Stride`` per row,
  'same' padding ``(k - 1) // 2``; Pooling = 1 means a 2x2 max-pool (stride 2) follows the layer.

In both formats a layer whose (unpadded) filter covers its whole input is fully connected; it is imported
as ``kind='dense'`` with ``in_shape=(1, 1, fan_in)``, ``kernel=1`` and ``filters=units``.
Only square filters are supported (neurosim convolutions are k x k).

Fixtures in ``workloads/``:

- ``scalesim_lenet.csv``: LeNet-5 shapes (32x32x1 -> 6C5, 14x14x6 -> 16C5, 5x5x16 -> 120, 120 -> 84 -> 10).
- ``scalesim_alexnet.csv``: SCALE-Sim's AlexNet (227x227x3 11x11/4 96; padded IFMAPs 31 and 15 for
  conv2..conv5; FC6 9216 -> 4096, FC7 4096 -> 4096, FC8 4096 -> 1000 written as 1x1 IFMAP and filter).
- ``neurosim_vgg8.csv``: DNN+NeuroSim's VGG-8 for CIFAR-10 (2x128C3-MP2-2x256C3-MP2-2x512C3-MP2-1024FC-10).
"""
from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .shapes import conv_output_size


class TopologyError(ValueError):
    """A malformed topology file; the message names the file, the row, the column and what is allowed."""


@dataclass(frozen=True)
class ImportedLayer:
    """One conv or dense layer, per sample. ``out_shape`` is derived from the geometry, never stored apart."""

    name: str
    kind: str  # conv | dense
    in_shape: tuple[int, int, int]  # (H, W, C); dense: (1, 1, fan_in)
    kernel: int  # dense: 1
    stride: int
    padding: int
    filters: int  # dense: units
    pool_after: int = 0  # 0, or the size (= stride) of the max-pool that follows
    out_shape: tuple[int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        h, w, _ = self.in_shape
        oh = conv_output_size(h, self.kernel, self.stride, self.padding)
        ow = conv_output_size(w, self.kernel, self.stride, self.padding)
        object.__setattr__(self, "out_shape", (oh, ow, self.filters))


def macs(layer: ImportedLayer) -> int:
    """Multiply-accumulates of one sample's forward pass: OH * OW * k * k * C * F."""
    oh, ow, f = layer.out_shape
    return oh * ow * layer.kernel * layer.kernel * layer.in_shape[2] * f


def total_macs(layers: Sequence[ImportedLayer]) -> int:
    return sum(macs(l) for l in layers)


SCALESIM_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                    "Num Filter", "Strides")
NEUROSIM_COLUMNS = ("IFM_H", "IFM_W", "IFM_C", "Kernel_H", "Kernel_W", "Num_Kernels", "Pooling", "Stride")
FORMATS = ("scalesim", "neurosim")


def _norm(s: str) -> str:
    return "".join(s.split()).lower()


def _rows(path: Path) -> list[list[str]]:
    """Non-blank CSV rows, cells stripped, one trailing empty cell (SCALE-Sim's trailing comma) dropped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise TopologyError(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise TopologyError(f"{path}: not a UTF-8 text file (byte {e.start}); expected a CSV of layers") from None
    rows = [[c.strip() for c in r] for r in csv.reader(text.splitlines())]
    rows = [r[:-1] if r[-1] == "" else r for r in rows if any(r)]
    if not rows:
        raise TopologyError(f"{path}: empty topology file; expected one row per layer")
    return rows


def _check_width(path: Path, row: int, r: list[str], cols: Sequence[str]) -> None:
    if len(r) < len(cols):
        raise TopologyError(f"{path}: row {row}, column {len(r) + 1} ('{cols[len(r)]}'): missing; "
                            f"allowed: exactly {len(cols)} columns ({', '.join(cols)})")
    if len(r) > len(cols):
        raise TopologyError(f"{path}: row {row}, column {len(cols) + 1}: unexpected extra column {r[len(cols)]!r}; "
                            f"allowed: exactly {len(cols)} columns ({', '.join(cols)})")


def _int(path: Path, row: int, col: str, value: str, lo: int = 1) -> int:
    try:
        v = int(value)
    except ValueError:
        raise TopologyError(f"{path}: row {row}, column '{col}': {value!r} is not an integer; "
                            f"allowed: an integer >= {lo}") from None
    if v < lo:
        raise TopologyError(f"{path}: row {row}, column '{col}': {v}; allowed: an integer >= {lo}")
    return v


def _layer(path: Path, row: int, cols: tuple[str, str], name: str, h: int, w: int, c: int, kh: int, kw: int,
           f: int, stride: int, pad: int, pool: int) -> ImportedLayer:
    """Validate one row's geometry and build the layer; `cols` names the kernel height/width columns."""
    if kh != kw:
        raise TopologyError(f"{path}: row {row}, column '{cols[1]}': {kw} differs from '{cols[0]}' {kh}; "
                            f"allowed: square filters only")
    for col, k, size in ((cols[0], kh, h), (cols[1], kw, w)):
        if k > size + 2 * pad:
            raise TopologyError(f"{path}: row {row}, column '{col}': filter {k} is larger than the input {size} "
                                f"padded by {pad}; allowed: <= {size + 2 * pad}")
    if h == kh and w == kw and pad == 0:  # the filter covers the input: fully connected
        return ImportedLayer(name, "dense", (1, 1, h * w * c), 1, 1, 0, f, pool)
    return ImportedLayer(name, "conv", (h, w, c), kh, stride, pad, f, pool)


def read_scalesim_csv(path: str | Path) -> list[ImportedLayer]:
    """SCALE-Sim topology CSV -> layers (no padding, no pooling; rows numbered from 1 after the header)."""
    path = Path(path)
    rows = _rows(path)
    header = rows[0]
    for j, want in enumerate(SCALESIM_COLUMNS):
        got = header[j] if j < len(header) else ""
        if _norm(got) != _norm(want):
            raise TopologyError(f"{path}: header row, column {j + 1}: {got!r}; allowed: {want!r} "
                                f"(header must be {', '.join(SCALESIM_COLUMNS)})")
    if len(header) > len(SCALESIM_COLUMNS):
        raise TopologyError(f"{path}: header row, column {len(SCALESIM_COLUMNS) + 1}: unexpected {header[8]!r}; "
                            f"allowed: exactly {', '.join(SCALESIM_COLUMNS)}")
    layers = []
    for i, r in enumerate(rows[1:], start=1):
        _check_width(path, i, r, SCALESIM_COLUMNS)
        h, w, kh, kw, c, f, s = (_int(path, i, SCALESIM_COLUMNS[j], r[j]) for j in range(1, 8))
        layers.append(_layer(path, i, ("Filter Height", "Filter Width"), r[0] or f"layer{i}",
                             h, w, c, kh, kw, f, s, 0, 0))
    if not layers:
        raise TopologyError(f"{path}: no layer rows after the header; expected one row per layer")
    return layers


def read_neurosim_csv(path: str | Path) -> list[ImportedLayer]:
    """DNN+NeuroSim NetWork.csv -> layers ('same' padding, Pooling 1 = 2x2/2 max-pool after the layer)."""
    path = Path(path)
    layers = []
    for i, r in enumerate(_rows(path), start=1):
        _check_width(path, i, r, NEUROSIM_COLUMNS)
        h, w, c, kh, kw, f = (_int(path, i, NEUROSIM_COLUMNS[j], r[j]) for j in range(6))
        pool = _int(path, i, "Pooling", r[6], lo=0)
        if pool not in (0, 1):
            raise TopologyError(f"{path}: row {i}, column 'Pooling': {pool}; allowed: 0 or 1")
        s = _int(path, i, "Stride", r[7])
        layers.append(_layer(path, i, ("Kernel_H", "Kernel_W"), f"layer{i}", h, w, c, kh, kw, f, s,
                             (kh - 1) // 2, 2 if pool else 0))
    return layers


def read_topology(path: str | Path, fmt: str | None = None) -> list[ImportedLayer]:
    """Read either format; without `fmt`, a first row whose first cell is not an integer (a header) means
    SCALE-Sim, otherwise DNN+NeuroSim."""
    path = Path(path)
    if fmt is None:
        first = _rows(path)[0][0]
        fmt = "neurosim" if first.lstrip("+-").isdigit() else "scalesim"
    if fmt == "scalesim":
        return read_scalesim_csv(path)
    if fmt == "neurosim":
        return read_neurosim_csv(path)
    raise TopologyError(f"{path}: unknown topology format {fmt!r}; allowed: {', '.join(FORMATS)} or None (sniff)")


LEVELS = ("ternary", "binary", "float")


def random_operands(layer: ImportedLayer, batch: int, density: float, levels: str = "ternary",
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random float32 (x, w) for a layer when there is no trained model.

    Layouts as in neurosim.events: conv x (batch, H, W, C), w (k, k, C, F); dense x (batch, fan_in),
    w (fan_in, units). 'ternary': {-1, 0, 1} nonzero with probability `density`, signs equally likely;
    'binary': {-1, 1} (density ignored); 'float': standard normal values kept with probability `density`.
    """
    if levels not in LEVELS:
        raise ValueError(f"levels must be one of {', '.join(LEVELS)} (got {levels!r})")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1] (got {density})")
    if batch < 1:
        raise ValueError(f"batch must be >= 1 (got {batch})")
    rng = np.random.default_rng(seed)
    h, w, c = layer.in_shape
    k = layer.kernel
    if layer.kind == "dense":
        x_shape, w_shape = (batch, h * w * c), (h * w * c, layer.filters)
    else:
        x_shape, w_shape = (batch, h, w, c), (k, k, c, layer.filters)

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        if levels == "binary":
            return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)
        mask = rng.random(shape) < density
        vals = np.where(rng.random(shape) < 0.5, -1.0, 1.0) if levels == "ternary" else rng.standard_normal(shape)
        return np.where(mask, vals, 0.0).astype(np.float32)

    return draw(x_shape), draw(w_shape)


def to_spec_string(layers: Sequence[ImportedLayer]) -> str:
    """A neurosim network spec (best effort), e.g. "6C5-MP2-16C5-MP2-120FC-84FC-10".

    Pooling comes from ``pool_after``; for SCALE-Sim files, which list no pooling, an ``MP<p>`` is inferred
    when the next layer's IFMAP is this layer's output divided by an integer p >= 2 (LeNet's 28 -> 14).
    Shapes that the spec grammar cannot express (AlexNet's 3x3/2 pooling plus padding) are left out. A final
    conv gets an ``SVM`` output; a first dense layer gets its fan-in as the input token.
    """
    if not layers:
        raise ValueError("to_spec_string needs at least one layer")
    toks: list[str] = []
    if layers[0].kind == "dense":
        toks.append(str(layers[0].in_shape[2]))
    for i, l in enumerate(layers):
        last = i == len(layers) - 1
        if l.kind == "dense":
            toks.append(str(l.filters) if last else f"{l.filters}FC")
        else:
            toks.append(f"{l.filters}C{l.kernel}" + (f"p{l.padding}" if l.padding else "")
                        + (f"s{l.stride}" if l.stride != 1 else ""))
        pool = l.pool_after
        if not pool and not last and l.kind == "conv":
            oh, nxt = l.out_shape[0], layers[i + 1]
            nh = nxt.in_shape[0] if nxt.kind == "conv" else None
            if nxt.kind == "dense" and nxt.in_shape[2] % l.filters == 0:  # FC fed by a flattened map
                side = round((nxt.in_shape[2] // l.filters) ** 0.5)
                nh = side if side * side * l.filters == nxt.in_shape[2] else None
            if nh and oh % nh == 0 and oh // nh >= 2:
                pool = oh // nh
        if pool:
            toks.append(f"MP{pool}")
    if layers[-1].kind != "dense":
        toks.append("SVM")
    return "-".join(toks)
