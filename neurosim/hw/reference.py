"""Brute-force per-cycle reference of the compute-array cost model (tests only; small shapes).

Deliberately simple and independent of :mod:`neurosim.hw.costs` (it imports nothing from it): it builds
every output's ordered list of operand pairs from the layer definition, deals the outputs to the arrays,
and steps a global clock cycle by cycle. In each cycle every array that still has work takes the next P
pairs of its current output (gating) or the next P event pairs (skipping), marks each lane fired or
resting and increments the action counters. The model it steps is written down in ``costs.py``'s module
docstring; the rules are restated here as plain tables so that a slip in one file shows up as a mismatch.
"""
from __future__ import annotations

import numpy as np

MIN_CYCLES_PER_OUTPUT = 1  # an output always takes at least one cycle (to emit it)


def _fires(kind, a, b):
    """Does a lane of ``kind`` fire on the pair (a, b)?  (b is the weight / selector operand)."""
    if kind == "gated_xnor":
        return a != 0 and b != 0
    if kind == "event_mux":
        return b != 0
    if kind in ("xnor", "mac", "mux"):
        return True
    raise ValueError(kind)


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
    s = layer.get("stride", 1)
    p = layer.get("padding", 0)
    s = s[0] if isinstance(s, (tuple, list)) else s
    p = p[0] if isinstance(p, (tuple, list)) else p
    B, H, W, C = x.shape

    def xin(bb, ih, iw, c):
        return x[bb, ih, iw, c] if (0 <= ih < H and 0 <= iw < W) else 0.0

    if product == "forward":
        kh, kw, _, F = w.shape
        OH = (H + 2 * p - kh) // s + 1
        OW = (W + 2 * p - kw) // s + 1
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
            kh, kw = (k, k) if not isinstance(k, (tuple, list)) else k
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


class _Array:
    """One compute array: a queue of outputs, stepped one cycle at a time."""

    def __init__(self, kind, skipping, P):
        self.kind, self.skipping, self.P = kind, skipping, P
        self.queue = []  # outputs still to do: lists of pairs
        self.work = None  # the current output's remaining cycle loads
        self.cycles = 0

    def load(self, pairs, counters):
        """Start an output: lay its pairs out as the sequence of per-cycle lane loads."""
        k = self.kind
        ev = [_fires(k, a, b) for a, b in pairs]
        if self.skipping and k in ("gated_xnor", "event_mux"):
            counters["gate_check"] += len(pairs)  # every pair is checked to compact it
            counters["compact"] += len(pairs)
            stream = [True] * sum(ev)  # the compacted event pairs
            counters["index"] += len(stream)
        else:
            stream = ev
        loads = [stream[i:i + self.P] for i in range(0, len(stream), self.P)]
        while len(loads) < MIN_CYCLES_PER_OUTPUT:
            loads.append([])  # the emit cycle: no pair, every lane rests
        self.work = loads

    def step(self, counters):
        """One clock cycle; returns False when idle (nothing left)."""
        if not self.work:
            if not self.queue:
                return False
            self.load(self.queue.pop(0), counters)
        lanes = self.work.pop(0)
        self.cycles += 1
        k = self.kind
        fired = 0
        for lane in range(self.P):
            has_pair = lane < len(lanes)
            if has_pair and k in ("gated_xnor", "event_mux") and not self.skipping:
                counters["gate_check"] += 1
            if has_pair and lanes[lane]:
                fired += 1
                if k in ("gated_xnor", "xnor"):
                    counters["xnor"] += 1
                elif k == "mac":
                    counters["mult"] += 1
                    counters["add"] += 1
                else:  # event_mux, mux
                    counters["mux"] += 1
                    counters["add"] += 1
            else:
                counters["rest"] += 1
        counters["fired"] += fired
        if fired and k in ("gated_xnor", "xnor"):
            counters["bitcount_add"] += 1
        if fired:
            counters["busy"] += 1
        return True


def _run(outs, kind, skipping, P, A, counters):
    """Deal outputs round-robin, step all arrays together until all are idle; returns (span, per-array)."""
    arrays = [_Array(kind, skipping, P) for _ in range(A)]
    for o, pairs in enumerate(outs):
        arrays[o % A].queue.append(pairs)
    clock = 0
    while True:
        busy = [arr.step(counters) for arr in arrays]
        if not any(busy):
            break
        clock += 1
    return clock, [arr.cycles for arr in arrays]


def reference_costs(kind, policy, lanes, arrays, x, w, layer, *, dy=None, product="forward",
                    tile_outputs=None) -> dict:
    """Step the model cycle by cycle; returns a dict with CostResult's field names."""
    P, A = int(lanes), int(arrays)
    skipping = policy == "skipping"
    x = np.asarray(x, dtype=float)
    w = None if w is None else np.asarray(w, dtype=float)
    dy = None if dy is None else np.asarray(dy, dtype=float)
    outs, default_tile = _pairs_and_outputs(x, w, layer, dy, product)
    T = default_tile if tile_outputs is None else int(tile_outputs)
    counters = {k: 0 for k in ("gate_check", "xnor", "bitcount_add", "mult", "add", "mux", "rest", "index",
                               "compact", "fired", "busy")}
    # the whole layer, arrays free-running
    compute, per_array = _run(outs, kind, skipping, P, A, counters)
    # tiles, one after another, all arrays starting each tile together; outputs keep their array o % A:
    # pad the tile's front with empty slots so that output o lands on array o % A
    tile_cycles = []
    for t0 in range(0, len(outs), T):
        lead = t0 % A
        chunk = outs[t0:t0 + T]
        arrs = [_Array(kind, skipping, P) for _ in range(A)]
        for i, pairs in enumerate(chunk):
            arrs[(lead + i) % A].queue.append(pairs)
        scratch = {k: 0 for k in counters}
        clock = 0
        while any([arr.step(scratch) for arr in arrs]):
            clock += 1
        tile_cycles.append(clock)
    keep = {
        "gated_xnor": ("gate_check", "xnor", "bitcount_add", "rest"),
        "event_mux": ("gate_check", "mux", "add", "rest"),
        "xnor": ("xnor", "bitcount_add", "rest"),
        "mac": ("mult", "add", "rest"),
        "mux": ("mux", "add", "rest"),
    }[kind]
    if skipping and kind in ("gated_xnor", "event_mux"):
        keep = keep + ("index", "compact")
    actions = {k: counters[k] for k in keep}
    pairs_total = sum(len(pp) for pp in outs)
    nonzero = sum(1 for pp in outs for a, b in pp if a != 0 and b != 0)
    fired = counters["fired"]
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
        "busy_cycles": counters["busy"],
        "output_cycles": sum(per_array),
        "utilization": fired / (compute * P * A) if compute else 0.0,
    }
