"""The counting observer: per layer operand pairs, nonzero pairs, resting probability and state transitions.

Counts are exact and computed without touching every (input, weight) pair: for a dense layer the nonzero
pairs are sum_i nnz(x[:, i]) * nnz(w[i, :]); for a convolution, the nonzero inputs summed over the batch
are box-summed per kernel tap and multiplied by the nonzero filters at that tap.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from ..events import MAC_KINDS, OperandRecord


@njit(cache=True)
def _nnz_rows_cols(a2):
    """Nonzeros per row and per column of a 2-D array, in one branch-free row-major pass (vectorizes)."""
    rows, cols = a2.shape
    r = np.zeros(rows, np.int64)
    c = np.zeros(cols, np.int64)
    for i in range(rows):
        n = 0
        row = a2[i]
        for j in range(cols):
            nz = np.int64(row[j] != 0)
            n += nz
            c[j] += nz
        r[i] = n
    return r, c


def _col_nnz(a2: np.ndarray) -> np.ndarray:
    """Nonzeros per column."""
    return _nnz_rows_cols(a2)[1]


def _row_nnz(a2: np.ndarray) -> np.ndarray:
    """Nonzeros per row."""
    return _nnz_rows_cols(a2)[0]


@njit(cache=True)
def _conv_forward_nnz(x, wnz, kh, kw, stride, pad, oh, ow):
    """Nonzero (input, weight) pairs of a convolution; wnz[kh, kw, c] = nonzero filters at that tap."""
    b, h, w, c = x.shape
    m = np.zeros((h, w, c), np.int64)  # nonzero inputs summed over the batch
    for bi in range(b):
        for hi in range(h):
            for wi in range(w):
                row = m[hi, wi]
                xr = x[bi, hi, wi]
                for ci in range(c):
                    row[ci] += np.int64(xr[ci] != 0)
    total = 0
    for i in range(kh):
        for j in range(kw):
            for ci in range(c):
                if wnz[i, j, ci] == 0:
                    continue
                s = 0
                for p in range(oh):
                    hi = p * stride + i - pad
                    if hi < 0 or hi >= h:
                        continue
                    for q in range(ow):
                        wi = q * stride + j - pad
                        if 0 <= wi < w:
                            s += m[hi, wi, ci]
                total += s * wnz[i, j, ci]
    return total


@njit(cache=True)
def _conv_wgrad_nnz(x, dy, kh, kw, stride, pad):
    """Nonzero (input, gradient) pairs of the weight-gradient product of a convolution.

    Per output position: (nonzero gradients over filters) x (nonzero inputs in its receptive field); the
    latter is an O(1) box sum of an integral image of per-pixel nonzero-channel counts.
    """
    b, h, w, c = x.shape
    _, oh, ow, f = dy.shape
    total = 0
    integral = np.zeros((h + 1, w + 1), np.int64)
    for bi in range(b):
        for hi in range(h):
            run = 0
            for wi in range(w):
                n = 0
                xr = x[bi, hi, wi]
                for ci in range(c):
                    n += np.int64(xr[ci] != 0)
                run += n
                integral[hi + 1, wi + 1] = integral[hi, wi + 1] + run
        for p in range(oh):
            h0 = max(p * stride - pad, 0)
            h1 = min(p * stride - pad + kh, h)
            for q in range(ow):
                nd = 0
                dr = dy[bi, p, q]
                for fi in range(f):
                    nd += np.int64(dr[fi] != 0)
                if nd == 0 or h1 <= h0:
                    continue
                w0 = max(q * stride - pad, 0)
                w1 = min(q * stride - pad + kw, w)
                if w1 <= w0:
                    continue
                total += nd * (integral[h1, w1] - integral[h0, w1] - integral[h1, w0] + integral[h0, w0])
    return total


def _flat2(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])


class WeightNonzeros:
    """Nonzero counts of a weight tensor, as the pair counts need them (computed in one pass)."""

    def __init__(self, w: np.ndarray, kind: str):
        w2 = _flat2(w)  # dense: (in, out); conv: (kh*kw*C, F)
        self.per_input, self.per_output = _nnz_rows_cols(w2)
        self.total = int(self.per_input.sum())
        self.per_tap = self.per_input.reshape(w.shape[:-1]) if kind == "conv" else None


def forward_pairs(rec: OperandRecord, wnz: WeightNonzeros | None = None) -> tuple[int, int]:
    """(all operand pairs, nonzero operand pairs) of a dense/conv layer's forward product."""
    x, w, info = rec.x, rec.w, rec.layer
    wnz = wnz or WeightNonzeros(w, info.kind)
    if info.kind == "dense":
        return x.shape[0] * w.size, int(_col_nnz(x) @ wnz.per_input)
    p = info.params
    k, s, pad = p["kernel"], p["stride"], p["padding"]
    oh, ow, f = info.out_shape
    nz = _conv_forward_nnz(x, wnz.per_tap, k, k, s, pad, oh, ow)
    return x.shape[0] * oh * ow * w.size, int(nz)


def backward_pairs(rec: OperandRecord, input_grad: bool, wnz: WeightNonzeros | None = None) -> tuple[int, int]:
    """(all, nonzero) pairs of the backward products: dW = x * dy, and dX = dy * w unless first layer."""
    x, w, dy, info = rec.x, rec.w, rec.dy, rec.layer
    wnz = wnz or WeightNonzeros(w, info.kind)
    if info.kind == "dense":
        pairs = x.shape[0] * w.size
        dy_rows, dy_cols = _nnz_rows_cols(dy)
        nz = int(_row_nnz(x) @ dy_rows)
        total = pairs
        if input_grad:
            nz += int(dy_cols @ wnz.per_output)
            total += pairs
        return total, nz
    p = info.params
    pairs = x.shape[0] * info.out_shape[0] * info.out_shape[1] * w.size
    nz = int(_conv_wgrad_nnz(x, dy, p["kernel"], p["kernel"], p["stride"], p["padding"]))
    total = pairs
    if input_grad:
        nz += int(_col_nnz(_flat2(dy)) @ wnz.per_output)
        total += pairs
    return total, nz


@dataclass
class LayerCounts:
    """Accumulated counts of one dense/conv layer over a run."""

    layer: int = 0
    name: str = ""
    kind: str = ""
    weights: int = 0
    batches: int = 0
    samples: int = 0
    operand_pairs: int = 0
    nonzero_pairs: int = 0
    nonzero_weights: int = 0  # summed over batches
    activations: int = 0
    nonzero_activations: int = 0
    backward_pairs: int = 0
    backward_nonzero_pairs: int = 0
    weight_transitions: int = 0  # weights whose stored state changed, summed over updates
    state_distance: int = 0  # states moved, summed over updates
    updates: int = 0
    eval_operand_pairs: int = 0
    eval_nonzero_pairs: int = 0

    @property
    def resting_probability(self) -> float:
        return 1.0 - self.nonzero_pairs / self.operand_pairs if self.operand_pairs else float("nan")

    def row(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["resting_probability"] = self.resting_probability
        d["nonzero_weight_fraction"] = self.nonzero_weights / (self.weights * self.batches) if self.batches else float("nan")
        d["nonzero_activation_fraction"] = self.nonzero_activations / self.activations if self.activations else float("nan")
        d["backward_resting_probability"] = (1.0 - self.backward_nonzero_pairs / self.backward_pairs
                                             if self.backward_pairs else float("nan"))
        return d


CSV_COLUMNS = ["layer", "name", "kind", "weights", "operand_pairs", "nonzero_pairs", "resting_probability",
               "weight_transitions", "state_distance", "nonzero_weight_fraction", "nonzero_activation_fraction",
               "backward_pairs", "backward_nonzero_pairs", "backward_resting_probability", "batches", "samples",
               "updates", "eval_operand_pairs", "eval_nonzero_pairs"]


class CountingObserver:
    """Counts operand pairs, nonzero pairs and state transitions per dense/conv layer."""

    def __init__(self, count_eval: bool = False):
        self.count_eval = count_eval
        self.layers: dict[int, LayerCounts] = {}
        self._first_mac: int | None = None
        self._wnz: dict[int, tuple[int, WeightNonzeros]] = {}  # layer -> (updates seen, counts)

    def _weights(self, rec: OperandRecord, lc: "LayerCounts") -> WeightNonzeros:
        """Weight nonzero counts, recomputed only after the layer's weights were updated."""
        hit = self._wnz.get(rec.layer.index)
        if rec.mode == "eval":  # weights may have been reloaded (best epoch) without an update record
            return WeightNonzeros(rec.w, rec.layer.kind)
        if hit is None or hit[0] != lc.updates:
            hit = self._wnz[rec.layer.index] = (lc.updates, WeightNonzeros(rec.w, rec.layer.kind))
        return hit[1]

    def _get(self, rec: OperandRecord) -> LayerCounts:
        info = rec.layer
        lc = self.layers.get(info.index)
        if lc is None:
            lc = self.layers[info.index] = LayerCounts(layer=info.index, name=info.name, kind=info.kind,
                                                        weights=info.weight_count)
            if self._first_mac is None or info.index < self._first_mac:
                self._first_mac = info.index
        return lc

    def observe(self, rec: OperandRecord) -> None:
        if rec.layer.kind not in MAC_KINDS:
            return
        lc = self._get(rec)
        if rec.phase == "forward":
            wnz = self._weights(rec, lc)
            pairs, nz = forward_pairs(rec, wnz)
            if rec.mode == "eval":
                if self.count_eval:
                    lc.eval_operand_pairs += pairs
                    lc.eval_nonzero_pairs += nz
                return
            lc.operand_pairs += pairs
            lc.nonzero_pairs += nz
            lc.batches += 1
            lc.samples += rec.batch_size
            lc.nonzero_weights += wnz.total
            lc.activations += rec.x.size
            lc.nonzero_activations += int(np.count_nonzero(rec.x))
        elif rec.phase == "backward":
            pairs, nz = backward_pairs(rec, rec.layer.index != self._first_mac, self._weights(rec, lc))
            lc.backward_pairs += pairs
            lc.backward_nonzero_pairs += nz
        elif rec.phase == "update":
            lc.weight_transitions += rec.changed
            lc.state_distance += rec.distance
            lc.updates += 1

    # ---------------------------------------------------------------- results
    def resting_probability(self) -> float:
        pairs = sum(l.operand_pairs for l in self.layers.values())
        nz = sum(l.nonzero_pairs for l in self.layers.values())
        return 1.0 - nz / pairs if pairs else float("nan")

    def rows(self) -> list[dict]:
        return [self.layers[k].row() for k in sorted(self.layers)]

    def finish(self) -> list[dict]:
        """The run's result: one row of counts per layer (nothing is pending between records)."""
        return self.rows()

    def state(self) -> dict[str, np.ndarray]:
        """Counts as arrays (for checkpoints)."""
        names = [f.name for f in fields(LayerCounts) if f.name not in ("name", "kind")]
        return {f"count.{k}.{n}": np.array(getattr(lc, n)) for k, lc in self.layers.items() for n in names} | {
            f"count.{k}.name": np.array(lc.name) for k, lc in self.layers.items()} | {
            f"count.{k}.kind": np.array(lc.kind) for k, lc in self.layers.items()}

    def load_state(self, d: dict[str, np.ndarray]) -> None:
        self.layers.clear()
        keys = sorted({int(k.split(".")[1]) for k in d if k.startswith("count.")})
        for k in keys:
            lc = LayerCounts()
            for f in fields(LayerCounts):
                v = d[f"count.{k}.{f.name}"]
                setattr(lc, f.name, str(v) if f.name in ("name", "kind") else int(v))
            self.layers[k] = lc
        self._first_mac = min(keys) if keys else None
