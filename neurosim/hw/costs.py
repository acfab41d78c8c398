"""Exact cost kernels: the real operands of a dense or conv layer -> action counts and compute cycles.

Model (``hw/reference.py`` steps the same model cycle by cycle; the tests hold the two to exact equality)
---------------------------------------------------------------------------------------------------------
A **compute array** has ``lanes`` P (one operand pair per lane per cycle) and there are ``arrays`` A
identical arrays working on different outputs in parallel. Its ``kind`` says what a lane does, its
``policy`` what happens to a zero operand pair: ``gating`` (the lane rests, the cycle is still spent) or
``skipping`` (zero pairs are compacted away first, saving the cycle; costs index + compaction actions).

Products. Every layer product is a set of **outputs**, each the sum over an ordered list of M operand
pairs (a, b), ``a`` the data operand and ``b`` the *selector* operand (the weight, for the kinds that key on
the weight alone):
- dense forward ``y[b,j] = sum_i x[b,i] w[i,j]``: outputs (b, j), M = in, pairs (x[b,i], w[i,j]) by i;
- conv forward ``y[b,oh,ow,f]``: outputs (b, oh, ow, f), M = kh*kw*C, pairs in (dh, dw, c) order
  (the im2col column order); a padding position is a pair whose input is 0;
- dense backward ``dX = dY W^T``: outputs (b, i), M = out, pairs (dy[b,j], w[i,j]) by j;
- dense backward ``dW = X^T dY``: outputs (i, j), M = B, pairs (x[b,i], dy[b,j]) by b (selector = dy);
- conv backward ``dW[dh,dw,c,f] = sum_(b,oh,ow) x[b, oh*s-p+dh, ow*s-p+dw, c] dy[b,oh,ow,f]``: outputs
  (dh, dw, c, f), M = B*OH*OW, pairs by (b, oh, ow) (padding pairs have input 0; selector = dy);
- conv backward dX (a transposed convolution) is not modelled yet (``NotImplementedError``).
Outputs are taken in that order (row-major over the output index) and dealt round-robin to the arrays:
output o goes to array ``o % A``; each array processes its outputs one after another.

Per output, with ``active`` = pairs with both operands nonzero and ``events`` = the pairs the unit must
fire on (its *event rule*):

============  ==================================  =====================================================
kind          event rule (lanes that fire)        actions
============  ==================================  =====================================================
gated_xnor    a != 0 and b != 0  (= active)       gate_check = M, xnor = events, bitcount_add = busy
(GXNOR)                                           cycles, rest
event_mux     b != 0  (weight nonzero)            gate_check = M, mux = add = events, rest
(TWN)
xnor (BNN)    every pair                          xnor = M, bitcount_add = busy cycles, rest
mac (FP)      every pair                          mult = M, add = M, rest
mux (BWN)     every pair                          mux = M, add = M, rest
============  ==================================  =====================================================

- gating: cycles = max(1, ceil(M / P)); cycle k consumes pairs k*P .. k*P+P-1 in order; a lane whose pair is
  an event fires, the others (and the empty lanes of a last partial cycle) rest.
- skipping (event kinds only): the event pairs are compacted first, cycles = max(1, ceil(events / P));
  actions add ``index`` = events and ``compact`` = M. The kinds without an event rule (xnor, mac, mux)
  have nothing to skip: for them skipping is identical to gating, with no index/compact actions.
- **Minimum one cycle per output** (``MIN_CYCLES_PER_OUTPUT``): an output always takes at least one cycle, to
  emit it, even when skipping leaves it no event pair (that cycle has all P lanes resting).
- A **busy cycle** is a cycle with >= 1 firing lane; xnor kinds do one bitcount/accumulate per busy cycle
  (skipping: ceil(events / P) busy cycles; gating: the number of P-chunks holding >= 1 event).
- ``rest`` = cycles * P - events, summed over outputs (lane-slots that did not fire); ``fired`` = events.
- Layer: ``compute_cycles`` = max over arrays of the sum of its outputs' cycles (arrays run in parallel);
  ``utilization`` = fired / (compute_cycles * P * A).
- Tiles: a tile is a contiguous chunk of ``tile_outputs`` outputs (default: one sample's outputs for forward
  and dX, one row (i, or dh/dw/c) of dW); outputs keep their global array ``o % A``; a tile's cycles
  are its makespan when it runs alone on the A arrays (max over arrays of the cycles of its outputs there),
  so ``sum(tile_cycles) >= compute_cycles`` (tiles are barrier-synchronized, the whole layer is not).
- Statistics: ``operand_pairs`` = sum of M, ``nonzero_pairs`` = sum of active (algorithmic work, the same for
  every kind), so ``resting_probability`` = 1 - nonzero_pairs / operand_pairs (GXNOR Table 2: 5/9 for
  uniform ternary operands); ``unit_resting_probability`` = 1 - fired / operand_pairs is what the unit rests
  (TWN: 1/3 for uniform ternary weights whatever the inputs; BNN/BWN/FP: 0).

Only the zero/nonzero pattern of the operands matters; kernels run on uint8 nonzero masks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

KINDS = ("gated_xnor", "event_mux", "xnor", "mac", "mux")
POLICIES = ("gating", "skipping")
PRODUCTS = ("forward", "dx", "dw")
MIN_CYCLES_PER_OUTPUT = 1

# event rule codes used by the kernels
EV_BOTH = 0  # both operands nonzero
EV_SELECTOR = 1  # selector (weight) operand nonzero
EV_ALL = 2  # every pair
EVENT_RULE = {"gated_xnor": EV_BOTH, "event_mux": EV_SELECTOR, "xnor": EV_ALL, "mac": EV_ALL, "mux": EV_ALL}

# stats vector layout returned by the kernels
_S_PAIRS, _S_ACTIVE, _S_EVENTS, _S_BUSY, _S_CYCLES, _S_OUTPUTS = range(6)


@dataclass
class CostResult:
    """Actions and cycles of one product (layer, phase) on A arrays of P lanes."""

    kind: str
    policy: str
    lanes: int
    arrays: int
    actions: dict[str, int]
    compute_cycles: int
    per_array_cycles: np.ndarray  # (A,) int64: sum of cycles of the outputs dealt to each array
    tile_cycles: np.ndarray  # (tiles,) int64: makespan of each tile alone on the A arrays
    tile_outputs: int
    outputs: int
    operand_pairs: int  # sum of M over outputs
    nonzero_pairs: int  # pairs with both operands nonzero (algorithmic work)
    fired: int  # lane operations actually fired (the kind's event rule)
    busy_cycles: int  # output-cycles with >= 1 firing lane (summed over outputs)
    output_cycles: int  # sum of cycles over outputs (= sum of per_array_cycles)
    utilization: float  # fired / (compute_cycles * P * A)
    extra: dict = field(default_factory=dict)

    @property
    def lane_slots(self) -> int:
        """Lane-slots occupied by the outputs (fired + rest)."""
        return self.output_cycles * self.lanes

    @property
    def resting_probability(self) -> float:
        """1 - nonzero pairs / operand pairs (algorithmic, same for every kind)."""
        return 1.0 - self.nonzero_pairs / self.operand_pairs if self.operand_pairs else 0.0

    @property
    def unit_resting_probability(self) -> float:
        """1 - fired / operand pairs: the share of pairs on which the unit's lanes rest."""
        return 1.0 - self.fired / self.operand_pairs if self.operand_pairs else 0.0


# ----------------------------------------------------------------------------------------------- kernels
@njit(cache=True)
def _account(o, M, active, events, busy_gating, P, A, skipping, tile_outputs, stats, per_array, tile_arr,
             tile_cycles):
    """Book one output: its cycles onto its array and its tile, its counts into ``stats``."""
    if skipping:
        n = events
        busy = (events + P - 1) // P
    else:
        n = M
        busy = busy_gating
    cyc = (n + P - 1) // P
    if cyc < MIN_CYCLES_PER_OUTPUT:
        cyc = MIN_CYCLES_PER_OUTPUT
    stats[_S_PAIRS] += M
    stats[_S_ACTIVE] += active
    stats[_S_EVENTS] += events
    stats[_S_BUSY] += busy
    stats[_S_CYCLES] += cyc
    stats[_S_OUTPUTS] += 1
    a = o % A
    per_array[a] += cyc
    tile_arr[a] += cyc
    if (o + 1) % tile_outputs == 0:  # last output of its tile: close the tile
        t = o // tile_outputs
        mx = 0
        for k in range(A):
            if tile_arr[k] > mx:
                mx = tile_arr[k]
            tile_arr[k] = 0
        tile_cycles[t] = mx


@njit(cache=True)
def _close_last_tile(n_outputs, tile_outputs, A, tile_arr, tile_cycles):
    if n_outputs % tile_outputs != 0:
        mx = 0
        for k in range(A):
            if tile_arr[k] > mx:
                mx = tile_arr[k]
        tile_cycles[n_outputs // tile_outputs] = mx


@njit(cache=True)
def _scan(xr, wr, rule, P):
    """(active, events, busy P-chunks) of one output whose pairs are (xr[m], wr[m]), uint8 0/1 rows.

    Chunks of P consecutive pairs are the gating cycles; the inner loops are branch-free reductions.
    """
    M = xr.shape[0]
    active = 0
    events = 0
    busy = 0
    # unsigned indices: no negative-index wraparound code, so LLVM vectorizes the reductions
    uP = np.uint64(P)
    uM = np.uint64(M)
    c0 = np.uint64(0)
    while c0 < uM:
        c1 = min(c0 + uP, uM)
        act = np.uint64(0)
        for m in range(c0, c1):
            act += xr[m] & wr[m]
        if rule == EV_BOTH:
            ev = act
        elif rule == EV_SELECTOR:
            ev = np.uint64(0)
            for m in range(c0, c1):
                ev += wr[m]
        else:
            ev = c1 - c0
        active += np.int64(act)
        events += np.int64(ev)
        busy += 1 if ev > 0 else 0
        c0 = c1
    return active, events, busy


@njit(cache=True)
def _product_kernel(am, bmT, rule, P, A, skipping, tile_outputs, stats, per_array, tile_cycles):
    """Outputs (r, n) of ``am @ bmT.T`` with masks ``am`` (R, M) and ``bmT`` (N, M), uint8 0/1."""
    R, M = am.shape
    N = bmT.shape[0]
    tile_arr = np.zeros(A, np.int64)
    o = 0
    for r in range(R):
        for n in range(N):
            active, events, busy = _scan(am[r], bmT[n], rule, P)
            _account(o, M, active, events, busy, P, A, skipping, tile_outputs, stats, per_array, tile_arr,
                     tile_cycles)
            o += 1
    _close_last_tile(o, tile_outputs, A, tile_arr, tile_cycles)


@njit(cache=True)
def _conv_kernel(xm, wmT, stride, pad, kh, kw, OH, OW, rule, P, A, skipping, tile_outputs, stats, per_array,
                 tile_cycles):
    """Forward conv outputs (b, oh, ow, f): ``xm`` (B, H, W, C), ``wmT`` (F, kh*kw*C), uint8 0/1 masks.

    The input patch of (b, oh, ow) is gathered once (padding positions 0) in (dh, dw, c) order and scanned
    against every filter.
    """
    B, H, W, C = xm.shape
    F, M = wmT.shape
    patch = np.zeros(M, np.uint8)
    tile_arr = np.zeros(A, np.int64)
    o = 0
    for b in range(B):
        for oh in range(OH):
            for ow in range(OW):
                m = 0
                for dh in range(kh):
                    ih = oh * stride - pad + dh
                    for dw in range(kw):
                        iw = ow * stride - pad + dw
                        inside = 0 <= ih < H and 0 <= iw < W
                        for c in range(C):
                            patch[m] = xm[b, ih, iw, c] if inside else np.uint8(0)
                            m += 1
                for f in range(F):
                    active, events, busy = _scan(patch, wmT[f], rule, P)
                    _account(o, M, active, events, busy, P, A, skipping, tile_outputs, stats, per_array,
                             tile_arr, tile_cycles)
                    o += 1
    _close_last_tile(o, tile_outputs, A, tile_arr, tile_cycles)


@njit(cache=True)
def _conv_dw_kernel(xm, dymT, stride, pad, kh, kw, rule, P, A, skipping, tile_outputs, stats, per_array,
                    tile_cycles):
    """Conv weight-gradient outputs (dh, dw, c, f); pairs (x[b, ih, iw, c], dy[b, oh, ow, f]) by (b, oh, ow).

    ``xm`` (B, H, W, C), ``dymT`` (F, B*OH*OW) (dy transposed so the pair scan is contiguous), uint8 masks.
    """
    B, H, W, C = xm.shape
    F, M = dymT.shape
    OH = (H + 2 * pad - kh) // stride + 1
    OW = (W + 2 * pad - kw) // stride + 1
    col = np.zeros(M, np.uint8)
    tile_arr = np.zeros(A, np.int64)
    o = 0
    for dh in range(kh):
        for dw in range(kw):
            for c in range(C):
                m = 0
                for b in range(B):
                    for oh in range(OH):
                        ih = oh * stride - pad + dh
                        for ow in range(OW):
                            iw = ow * stride - pad + dw
                            col[m] = xm[b, ih, iw, c] if (0 <= ih < H and 0 <= iw < W) else np.uint8(0)
                            m += 1
                for f in range(F):
                    active, events, busy = _scan(col, dymT[f], rule, P)
                    _account(o, M, active, events, busy, P, A, skipping, tile_outputs, stats, per_array,
                             tile_arr, tile_cycles)
                    o += 1
    _close_last_tile(o, tile_outputs, A, tile_arr, tile_cycles)


# ------------------------------------------------------------------------------------------------ python
def _mask(v) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(v) != 0).view(np.uint8)


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _conv_geometry(layer: dict) -> tuple[int, int, int]:
    """(stride, padding, kernel) of a conv layer dict; square strides/paddings only."""
    sh, sw = _pair(layer.get("stride", 1))
    ph, pw = _pair(layer.get("padding", 0))
    if sh != sw or ph != pw:
        raise ValueError("costs: only equal strides/paddings along H and W are supported")
    if sh < 1 or ph < 0:
        raise ValueError(f"costs: bad stride {sh} / padding {ph}")
    return sh, ph, layer.get("kernel")


def _finish(kind, policy, P, A, stats, per_array, tile_cycles, tile_outputs) -> CostResult:
    pairs = int(stats[_S_PAIRS])
    events = int(stats[_S_EVENTS])
    busy = int(stats[_S_BUSY])
    cyc = int(stats[_S_CYCLES])
    outputs = int(stats[_S_OUTPUTS])
    rest = cyc * P - events
    skipping = policy == "skipping" and EVENT_RULE[kind] != EV_ALL
    if kind == "gated_xnor":
        actions = {"gate_check": pairs, "xnor": events, "bitcount_add": busy, "rest": rest}
    elif kind == "event_mux":
        actions = {"gate_check": pairs, "mux": events, "add": events, "rest": rest}
    elif kind == "xnor":
        actions = {"xnor": pairs, "bitcount_add": busy, "rest": rest}
    elif kind == "mac":
        actions = {"mult": pairs, "add": pairs, "rest": rest}
    else:  # mux
        actions = {"mux": pairs, "add": pairs, "rest": rest}
    if skipping:
        actions["index"] = events
        actions["compact"] = pairs
    compute = int(per_array.max()) if per_array.size else 0
    util = events / (compute * P * A) if compute else 0.0
    return CostResult(kind=kind, policy=policy, lanes=P, arrays=A, actions=actions, compute_cycles=compute,
                      per_array_cycles=per_array, tile_cycles=tile_cycles, tile_outputs=tile_outputs,
                      outputs=outputs, operand_pairs=pairs, nonzero_pairs=int(stats[_S_ACTIVE]), fired=events,
                      busy_cycles=busy, output_cycles=cyc, utilization=util)


def _check(kind, policy, lanes, arrays):
    if kind not in KINDS:
        raise ValueError(f"unknown compute kind {kind!r} (expected one of {KINDS})")
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r} (expected one of {POLICIES})")
    if int(lanes) < 1 or int(arrays) < 1:
        raise ValueError(f"lanes and arrays must be >= 1 (got {lanes}, {arrays})")


def _buffers(n_outputs, tile_outputs, A):
    tile_outputs = int(tile_outputs)
    if tile_outputs < 1:
        raise ValueError(f"tile_outputs must be >= 1 (got {tile_outputs})")
    n_tiles = -(-n_outputs // tile_outputs)
    return (np.zeros(6, np.int64), np.zeros(A, np.int64), np.zeros(n_tiles, np.int64), tile_outputs)


def product_costs(kind: str, policy: str, lanes: int, arrays: int, a: np.ndarray, b: np.ndarray,
                  tile_outputs: int | None = None) -> CostResult:
    """Costs of the generic product ``a @ b``: ``a`` (R, M) data operand, ``b`` (M, N) selector operand.

    Outputs (r, n) in row-major order, pairs (a[r, m], b[m, n]) by m. ``tile_outputs`` defaults to N.
    """
    _check(kind, policy, lanes, arrays)
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"product_costs: shapes {a.shape} @ {b.shape} do not chain")
    R, M = a.shape
    N = b.shape[1]
    P, A = int(lanes), int(arrays)
    stats, per_array, tiles, tile_outputs = _buffers(R * N, N if tile_outputs is None else tile_outputs, A)
    if R * N:
        _product_kernel(_mask(a), _mask(b.T), EVENT_RULE[kind], P, A, policy == "skipping", tile_outputs,
                        stats, per_array, tiles)
    return _finish(kind, policy, P, A, stats, per_array, tiles, tile_outputs)


def layer_costs(kind: str, policy: str, lanes: int, arrays: int, x: np.ndarray, w: np.ndarray | None,
                layer: dict, *, dy: np.ndarray | None = None, product: str = "forward",
                tile_outputs: int | None = None) -> CostResult:
    """Actions and cycles of one product of a dense or conv layer on ``arrays`` arrays of ``lanes`` lanes.

    ``layer``: ``{"type": "dense"}`` or ``{"type": "conv", "kernel": k, "stride": s, "padding": p}``
    (``kernel`` may be omitted: taken from ``w``). Layouts as in :mod:`neurosim.events`: dense ``x`` (B, in),
    ``w`` (in, out), ``dy`` (B, out); conv ``x`` (B, H, W, C), ``w`` (kh, kw, C, F), ``dy`` (B, OH, OW, F).
    ``product``: ``forward`` (y = x w), ``dx`` (dense: dX = dY W^T) or ``dw`` (dW = X^T dY, dense or conv).
    ``tile_outputs``: outputs per tile; default one sample's outputs (forward, dx) or one row of dW.
    """
    _check(kind, policy, lanes, arrays)
    if product not in PRODUCTS:
        raise ValueError(f"unknown product {product!r} (expected one of {PRODUCTS})")
    ltype = layer.get("type", layer.get("kind"))
    x = np.asarray(x)
    if ltype == "dense":
        if product == "forward":
            if w is None:
                raise ValueError("dense forward needs w")
            return product_costs(kind, policy, lanes, arrays, x, np.asarray(w), tile_outputs)
        if dy is None:
            raise ValueError(f"dense {product} needs dy")
        dy = np.asarray(dy)
        if product == "dx":
            if w is None:
                raise ValueError("dense dx needs w")
            return product_costs(kind, policy, lanes, arrays, dy, np.asarray(w).T, tile_outputs)
        return product_costs(kind, policy, lanes, arrays, x.T, dy, tile_outputs)
    if ltype != "conv":
        raise ValueError(f"costs: layer type {ltype!r} has no compute-array product (dense | conv)")
    if x.ndim != 4:
        raise ValueError(f"conv x must be (B, H, W, C), got {x.shape}")
    stride, pad, kernel = _conv_geometry(layer)
    B, H, W, C = x.shape
    P, A = int(lanes), int(arrays)
    if product == "dx":
        raise NotImplementedError("costs: conv dX (transposed convolution) is not modelled yet")
    if product == "forward":
        if w is None:
            raise ValueError("conv forward needs w")
        w = np.asarray(w)
        kh, kw, wc, F = w.shape
        if kernel is not None and _pair(kernel) != (kh, kw):
            raise ValueError(f"conv kernel {kernel} does not match w {w.shape}")
        if wc != C:
            raise ValueError(f"conv w {w.shape} does not match x channels {C}")
        OH, OW = _out_size(H, kh, stride, pad), _out_size(W, kw, stride, pad)
        if OH < 1 or OW < 1:
            raise ValueError(f"conv kernel {kh}x{kw} larger than padded input {H}x{W}")
        n_out = B * OH * OW * F
        stats, per_array, tiles, t_o = _buffers(n_out, OH * OW * F if tile_outputs is None else tile_outputs, A)
        if n_out:
            wmT = _mask(np.transpose(w, (3, 0, 1, 2))).reshape(F, kh * kw * C)
            _conv_kernel(_mask(x), wmT, stride, pad, kh, kw, OH, OW, EVENT_RULE[kind], P, A, policy == "skipping",
                         t_o, stats, per_array, tiles)
        return _finish(kind, policy, P, A, stats, per_array, tiles, t_o)
    # conv dW
    if dy is None:
        raise ValueError("conv dw needs dy")
    dy = np.asarray(dy)
    if kernel is None:
        if w is None:
            raise ValueError("conv dw needs layer['kernel'] or w")
        kh, kw = np.asarray(w).shape[:2]
    else:
        kh, kw = _pair(kernel)
    OH, OW = _out_size(H, kh, stride, pad), _out_size(W, kw, stride, pad)
    if dy.ndim != 4 or dy.shape[:3] != (B, OH, OW):
        raise ValueError(f"conv dy {dy.shape} does not match (B, OH, OW) = {(B, OH, OW)}")
    F = dy.shape[3]
    n_out = kh * kw * C * F
    stats, per_array, tiles, t_o = _buffers(n_out, F if tile_outputs is None else tile_outputs, A)
    dymT = _mask(np.transpose(dy, (3, 0, 1, 2))).reshape(F, B * OH * OW)
    _conv_dw_kernel(_mask(x), dymT, stride, pad, kh, kw, EVENT_RULE[kind], P, A, policy == "skipping", t_o, stats,
                    per_array, tiles)
    return _finish(kind, policy, P, A, stats, per_array, tiles, t_o)
