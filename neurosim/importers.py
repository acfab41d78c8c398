"""Topology importers: SCALE-Sim topology CSV and DNN+NeuroSim NetWork.csv -> layer descriptions.

- SCALE-Sim: a header row ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
  Num Filter, Strides,`` then one conv per row, no padding (a fully-connected layer is a conv whose filter
  covers its IFMAP). Rows are independent: each layer carries its own input shape.
- DNN+NeuroSim: no header; ``IFM_H, IFM_W, IFM_C, Kernel_H, Kernel_W, Num_Kernels, Pooling, Stride`` per row,
  'same' padding ((k - 1) // 2), and Pooling = 1 means a 2x2 max-pool follows the layer.
Without a trained model the simulator runs these on random operands of a given density
(:func:`random_operands`).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class TopologyError(ValueError):
    """A malformed topology file; the message names the file, the row, the column and what is allowed."""


@dataclass(frozen=True)
class ImportedLayer:
    name: str
    kind: str  # conv | dense
    in_shape: tuple[int, int, int]  # (H, W, C) per sample
    kernel: int
    stride: int
    padding: int
    filters: int
    pool_after: int = 0

    @property
    def out_shape(self) -> tuple[int, int, int]:
        h, w, _ = self.in_shape
        oh = (h + 2 * self.padding - self.kernel) // self.stride + 1
        ow = (w + 2 * self.padding - self.kernel) // self.stride + 1
        return oh, ow, self.filters

    def macs(self) -> int:
        """Multiply-accumulates of one sample's forward pass: OH * OW * k * k * C * F."""
        oh, ow, f = self.out_shape
        return oh * ow * self.kernel * self.kernel * self.in_shape[2] * f


SCALESIM_COLUMNS = ["layer name", "ifmap height", "ifmap width", "filter height", "filter width", "channels",
                    "num filter", "strides"]
NEUROSIM_COLUMNS = ["IFM_H", "IFM_W", "IFM_C", "Kernel_H", "Kernel_W", "Num_Kernels", "Pooling", "Stride"]


def _rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_text()
    except OSError as e:
        raise TopologyError(f"{path}: cannot read ({e.strerror})") from None
    rows = [[c.strip() for c in r] for r in csv.reader(text.splitlines())]
    rows = [r[:-1] if r and r[-1] == "" else r for r in rows if any(c for c in r)]  # SCALE-Sim's trailing comma
    if not rows:
        raise TopologyError(f"{path}: empty topology file")
    return rows


def _int(path: Path, row: int, col: str, value: str, lo: int = 1) -> int:
    try:
        v = int(value)
    except ValueError:
        raise TopologyError(f"{path}: row {row}, column '{col}': {value!r} is not an integer") from None
    if v < lo:
        raise TopologyError(f"{path}: row {row}, column '{col}': {v} must be >= {lo}")
    return v


def _layer(path: Path, row: int, name: str, h: int, w: int, c: int, kh: int, kw: int, f: int, stride: int,
           pad: int, pool: int) -> ImportedLayer:
    if kh != kw:
        raise TopologyError(f"{path}: row {row}: non-square filters ({kh}x{kw}) are not supported")
    if kh > h + 2 * pad or kw > w + 2 * pad:
        raise TopologyError(f"{path}: row {row}, column 'filter': a {kh}x{kw} filter does not fit the "
                            f"{h}x{w} input (padding {pad})")
    dense = h == kh and w == kw and pad == 0
    return ImportedLayer(name=name, kind="dense" if dense else "conv", in_shape=(h, w, c), kernel=kh,
                         stride=stride, padding=pad, filters=f, pool_after=pool)


def read_scalesim_csv(path: str | Path) -> list[ImportedLayer]:
    path = Path(path)
    rows = _rows(path)
    header = [h.lower() for h in rows[0]]
    if header[:8] != SCALESIM_COLUMNS:
        raise TopologyError(f"{path}: header must be {', '.join(c.title() for c in SCALESIM_COLUMNS)} "
                            f"(got {', '.join(rows[0])})")
    layers = []
    for i, r in enumerate(rows[1:], start=1):
        if len(r) != 8:
            raise TopologyError(f"{path}: row {i}: expected 8 columns ({', '.join(SCALESIM_COLUMNS)}), got {len(r)}")
        h, w, kh, kw, c, f, s = (_int(path, i, SCALESIM_COLUMNS[j], r[j]) for j in range(1, 8))
        layers.append(_layer(path, i, r[0] or f"layer{i}", h, w, c, kh, kw, f, s, 0, 0))
    if not layers:
        raise TopologyError(f"{path}: no layers after the header")
    return layers


def read_neurosim_csv(path: str | Path) -> list[ImportedLayer]:
    path = Path(path)
    layers = []
    for i, r in enumerate(_rows(path), start=1):
        if len(r) != 8:
            raise TopologyError(f"{path}: row {i}: expected 8 columns ({', '.join(NEUROSIM_COLUMNS)}), got {len(r)}")
        h, w, c, kh, kw, f = (_int(path, i, NEUROSIM_COLUMNS[j], r[j]) for j in range(6))
        pool = _int(path, i, "Pooling", r[6], lo=0)
        if pool not in (0, 1):
            raise TopologyError(f"{path}: row {i}, column 'Pooling': {pool}; allowed: 0 or 1")
        s = _int(path, i, "Stride", r[7])
        pad = 0 if (h == kh and w == kw) else (kh - 1) // 2
        layers.append(_layer(path, i, f"layer{i}", h, w, c, kh, kw, f, s, pad, 2 if pool else 0))
    return layers


def read_topology(path: str | Path, fmt: str | None = None) -> list[ImportedLayer]:
    """Read either format; without `fmt`, a header row that names 'Layer name' means SCALE-Sim."""
    path = Path(path)
    if fmt is None:
        first = _rows(path)[0]
        fmt = "scalesim" if first and first[0].lower() == "layer name" else "neurosim"
    if fmt == "scalesim":
        return read_scalesim_csv(path)
    if fmt == "neurosim":
        return read_neurosim_csv(path)
    raise TopologyError(f"{path}: unknown topology format {fmt!r}; allowed: scalesim, neurosim")


def random_operands(layer: ImportedLayer, batch: int, density: float, levels: str = "ternary",
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random (x, w) for a layer: ternary values nonzero with probability `density`, binary +-1,
    or float values masked to `density`. Layouts as in neurosim.events (NHWC / (kh, kw, C, F); dense flat)."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1] (got {density})")
    rng = np.random.default_rng(seed)
    h, w, c = layer.in_shape
    k = layer.kernel
    x_shape = (batch, h * w * c) if layer.kind == "dense" else (batch, h, w, c)
    w_shape = (h * w * c, layer.filters) if layer.kind == "dense" else (k, k, c, layer.filters)

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        if levels == "binary":
            return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)
        mask = rng.random(shape) < density
        if levels == "ternary":
            return (mask * np.where(rng.random(shape) < 0.5, -1.0, 1.0)).astype(np.float32)
        if levels == "float":
            return (mask * rng.standard_normal(shape)).astype(np.float32)
        raise ValueError(f"levels must be ternary, binary or float (got {levels!r})")

    return draw(x_shape), draw(w_shape)


def to_spec_string(layers: list[ImportedLayer]) -> str:
    """A neurosim network spec for a chained topology (best effort: each layer's own shape is not checked)."""
    toks = []
    for i, l in enumerate(layers):
        last = i == len(layers) - 1
        if l.kind == "dense":
            toks.append(str(l.filters) if last else f"{l.filters}FC")
        else:
            toks.append(f"{l.filters}C{l.kernel}" + (f"p{l.padding}" if l.padding else "")
                        + (f"s{l.stride}" if l.stride != 1 else ""))
        if l.pool_after:
            toks.append(f"MP{l.pool_after}")
    if layers and layers[-1].kind != "dense":
        toks.append("SVM")
    return "-".join(toks)


def total_macs(layers: list[ImportedLayer]) -> int:
    return int(math.fsum(l.macs() for l in layers))
