"""Brute-force per-cycle stepper of the compute-array cost model (tests only; small shapes).

It restates the cycle model independently of the cost kernels (it imports nothing from
:mod:`neurosim.hw.costs`): it builds every output's ordered list of operand pairs from the layer definition,
deals the outputs to the arrays, and steps a global clock cycle by cycle. In each cycle every array that
still has work takes the next P pairs of its current output (gating) or the next P event pairs (skipping),
marks each lane fired or resting and increments the action counters. The model is written down in the
docstring of :mod:`neurosim.hw.costs`. What it does not restate is each kind's event rule and action units:
those it takes from the kind's own module (:mod:`neurosim.hw.kinds`), as the kernels do, through
:meth:`~neurosim.hw.kinds.ComputeKind.fires_on` and the kind's ``per_pair`` / ``per_event`` /
``per_busy_lane`` / ``rest`` actions.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..hw.kinds import ComputeKind, kind as compute_kind
from ..shapes import conv_output_size, square

__all__ = ["MIN_CYCLES_PER_OUTPUT", "reference_costs"]

MIN_CYCLES_PER_OUTPUT = 1  # an output always takes at least one cycle (to emit it)


def _pairs_and_outputs(x, w, layer, dy, product):
    """The ordered list of outputs; each output is its ordered list of (a, b) operand values."""
    ltype = layer.get("type", layer.get("kind"))
    outs = []
    if ltype == "dense":
        if product == "forward":  # y[b, j] = sum_i x[b, i] w[i, j]
            B, n_in = x.shape
            n_out = w.shape[1]
            for bb in range(B):
                for j in range(n_out):
                    outs.append([(x[bb, i], w[i, j]) for i in range(n_in)])
            return outs, n_out
        if product == "dx":  # dx[b, i] = sum_j dy[b, j] w[i, j]
            B, n_out = dy.shape
            n_in = w.shape[0]
            for bb in range(B):
                for i in range(n_in):
                    outs.append([(dy[bb, j], w[i, j]) for j in range(n_out)])
            return outs, n_in
        # dw[i, j] = sum_b x[b, i] dy[b, j]
        B, n_in = x.shape
        n_out = dy.shape[1]
        for i in range(n_in):
            for j in range(n_out):
                outs.append([(x[bb, i], dy[bb, j]) for bb in range(B)])
        return outs, n_out
    # conv
    s = square(layer.get("stride", 1), "stride")
    p = square(layer.get("padding", 0), "padding")
    B, H, W, C = x.shape

    def xin(bb, ih, iw, c):
        return x[bb, ih, iw, c] if (0 <= ih < H and 0 <= iw < W) else 0.0

    if product == "forward":
        kh, kw, _, F = w.shape
        OH, OW = conv_output_size(H, kh, s, p), conv_output_size(W, kw, s, p)
        for bb in range(B):
            for oh in range(OH):
                for ow in range(OW):
                    for f in range(F):
                        pairs = []
                        for dh in range(kh):
                            for dw in range(kw):
                                for c in range(C):
                                    pairs.append((xin(bb, oh * s - p + dh, ow * s - p + dw, c), w[dh, dw, c, f]))
                        outs.append(pairs)
        return outs, OH * OW * F
    if product == "dw":
        k = layer.get("kernel")
        if k is None:
            kh, kw = w.shape[:2]
        else:
            kh = kw = square(k, "kernel")
        _, OH, OW, F = dy.shape
        for dh in range(kh):
            for dw in range(kw):
                for c in range(C):
                    for f in range(F):
                        pairs = []
                        for bb in range(B):
                            for oh in range(OH):
                                for ow in range(OW):
                                    pairs.append((xin(bb, oh * s - p + dh, ow * s - p + dw, c), dy[bb, oh, ow, f]))
                        outs.append(pairs)
        return outs, F
    if product == "dx":  # transposed convolution: dx[b, ih, iw, c] = sum_(dh, dw, f) dy[b, oh, ow, f] w[dh, dw, c, f]
        kh, kw, _, F = w.shape
        _, OH, OW, _ = dy.shape

        def dyin(bb, ih, iw, dh, dw, f):
            th, tw = ih + p - dh, iw + p - dw  # = oh * s, ow * s when the pair is real
            if th % s or tw % s or not (0 <= th // s < OH and 0 <= tw // s < OW):
                return 0.0  # padding pair
            return dy[bb, th // s, tw // s, f]

        for bb in range(B):
            for ih in range(H):
                for iw in range(W):
                    for c in range(C):
                        pairs = []
                        for dh in range(kh):
                            for dw in range(kw):
                                for f in range(F):
                                    pairs.append((dyin(bb, ih, iw, dh, dw, f), w[dh, dw, c, f]))
                        outs.append(pairs)
        return outs, H * W * C
    raise NotImplementedError(product)


def _count(counters: Counter, actions: tuple[str, ...], n: int = 1) -> None:
    """Add ``n`` to each of ``actions``."""
    for a in actions:
        counters[a] += n


class _Array:
    """One compute array: a queue of outputs, stepped one cycle at a time."""

    def __init__(self, k: ComputeKind, skipping: bool, P: int):
        self.k, self.skipping, self.P = k, skipping, P
        self.queue = []  # outputs still to do: lists of pairs
        self.work = None  # the current output's remaining cycle loads
        self.cycles = 0

    def load(self, pairs, counters: Counter) -> None:
        """Start an output: lay its pairs out as the sequence of per-cycle lane loads."""
        ev = [self.k.fires_on(a, b) for a, b in pairs]
        if self.skipping:
            _count(counters, self.k.per_pair, len(pairs))  # every pair is checked to compact it
            counters["compact"] += len(pairs)
            stream = [True] * sum(ev)  # the compacted event pairs
            counters["index"] += len(stream)
        else:
            stream = ev
        loads = [stream[i:i + self.P] for i in range(0, len(stream), self.P)]
        while len(loads) < MIN_CYCLES_PER_OUTPUT:
            loads.append([])  # the emit cycle: no pair, every lane rests
        self.work = loads

    def step(self, counters: Counter, stats: Counter) -> bool:
        """One clock cycle (actions into ``counters``, fired lanes and busy cycles into ``stats``); returns
        False when idle (nothing left)."""
        if not self.work:
            if not self.queue:
                return False
            self.load(self.queue.pop(0), counters)
        lanes = self.work.pop(0)
        self.cycles += 1
        fired = 0
        for lane in range(self.P):
            has_pair = lane < len(lanes)
            if has_pair and not self.skipping:
                _count(counters, self.k.per_pair)  # the pair is checked in its lane
            if has_pair and lanes[lane]:
                fired += 1
                _count(counters, self.k.per_event)
            else:
                counters[self.k.rest] += 1
        stats["fired"] += fired
        if fired:  # the adder tree is enabled for this cycle: all P of its inputs
            _count(counters, self.k.per_busy_lane, self.P)
            stats["busy"] += 1
        return True


def _run(outs, k: ComputeKind, skipping: bool, P: int, A: int, counters: Counter,
         stats: Counter) -> tuple[int, list[int]]:
    """Deal outputs round-robin, step all arrays together until all are idle; returns (span, per-array)."""
    arrays = [_Array(k, skipping, P) for _ in range(A)]
    for o, pairs in enumerate(outs):
        arrays[o % A].queue.append(pairs)
    clock = 0
    while True:
        busy = [arr.step(counters, stats) for arr in arrays]
        if not any(busy):
            break
        clock += 1
    return clock, [arr.cycles for arr in arrays]


def reference_costs(kind, policy, lanes, arrays, x, w, layer, *, dy=None, product="forward",
                    tile_outputs=None) -> dict:
    """Step the model cycle by cycle; returns a dict with CostResult's field names."""
    k = compute_kind(kind)
    P, A = int(lanes), int(arrays)
    skipping = policy == "skipping" and k.event_driven  # only event-driven kinds have pairs to skip
    x = np.asarray(x, dtype=float)
    w = None if w is None else np.asarray(w, dtype=float)
    dy = None if dy is None else np.asarray(dy, dtype=float)
    outs, default_tile = _pairs_and_outputs(x, w, layer, dy, product)
    T = default_tile if tile_outputs is None else int(tile_outputs)
    counters: Counter = Counter()  # actions
    stats: Counter = Counter()  # fired lanes, busy cycles
    # the whole layer, arrays free-running
    compute, per_array = _run(outs, k, skipping, P, A, counters, stats)
    # tiles, one after another, all arrays starting each tile together; outputs keep their array o % A:
    # pad the tile's front with empty slots so that output o lands on array o % A
    tile_cycles = []
    for t0 in range(0, len(outs), T):
        lead = t0 % A
        chunk = outs[t0:t0 + T]
        arrs = [_Array(k, skipping, P) for _ in range(A)]
        for i, pairs in enumerate(chunk):
            arrs[(lead + i) % A].queue.append(pairs)
        scratch, scratch_stats = Counter(), Counter()
        clock = 0
        while any([arr.step(scratch, scratch_stats) for arr in arrs]):
            clock += 1
        tile_cycles.append(clock)
    keep = k.per_pair + k.per_event + k.per_busy_lane + (k.rest,)
    if skipping:
        keep = keep + ("index", "compact")
    actions = {a: counters[a] for a in keep}
    pairs_total = sum(len(pp) for pp in outs)
    nonzero = sum(1 for pp in outs for a, b in pp if a != 0 and b != 0)
    fired = stats["fired"]
    return {
        "actions": actions,
        "compute_cycles": compute,
        "per_array_cycles": np.array(per_array, dtype=np.int64),
        "tile_cycles": np.array(tile_cycles, dtype=np.int64),
        "tile_outputs": T,
        "outputs": len(outs),
        "operand_pairs": pairs_total,
        "nonzero_pairs": nonzero,
        "fired": fired,
        "busy_cycles": stats["busy"],
        "output_cycles": sum(per_array),
        "utilization": fired / (compute * P * A) if compute else 0.0,
    }
