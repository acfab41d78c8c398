"""Cost kernels (numba, closed forms) against the brute-force per-cycle reference and the byte kernels (the
oracles of neurosim.testing), plus closed-form checks."""
import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest

from neurosim.hw import costs
from neurosim.hw.costs import POLICIES, PRODUCTS, CostOptions, layer_costs, product_costs
from neurosim.hw.costs.bits import _pack_cols, _pack_rows, _transpose_bits
from neurosim.hw.costs.conv_vectors import _dx_patches
from neurosim.hw.costs.geometry import ConvGeometry
from neurosim.hw.costs.packed import _ConvBits, _zero_row_after_each
from neurosim.hw.costs.scans import _segments
from neurosim.hw.kinds import ComputeKind, kind_names, kinds
from neurosim.shapes import conv_output_size
from neurosim.testing import reference
from neurosim.testing.byte_kernels import layer_costs_bytes
from neurosim.testing.reference import reference_costs

KINDS = kind_names()
METHODS = (layer_costs, layer_costs_bytes)  # the packed-word kernels and the per-pair byte scan

FIELDS = ("compute_cycles", "outputs", "operand_pairs", "nonzero_pairs", "fired", "busy_cycles", "output_cycles",
          "tile_outputs")


def _ternary(rng, shape, p_zero):
    v = rng.choice(np.array([-1.0, 1.0], np.float32), size=shape)
    v[rng.random(shape) < p_zero] = 0.0
    return v


def _assert_same(res, ref):
    assert res.actions == ref["actions"]
    for f in FIELDS:
        assert getattr(res, f) == ref[f], f
    np.testing.assert_array_equal(res.per_array_cycles, ref["per_array_cycles"])
    np.testing.assert_array_equal(res.tile_cycles, ref["tile_cycles"])
    assert res.utilization == pytest.approx(ref["utilization"], rel=1e-12)
    assert res.per_array_cycles.sum() == res.output_cycles
    assert res.actions[kinds()[res.kind].rest] + res.fired == res.output_cycles * res.lanes


def _random_case(seed):
    rng = np.random.default_rng(seed)
    p_x, p_w = rng.choice([0.0, 0.3, 0.6, 1.0], size=2)  # incl. no-zero and all-zero extremes
    kind = KINDS[seed % len(KINDS)]
    policy = POLICIES[(seed // len(KINDS)) % 2]
    lanes = int(rng.integers(1, 9))
    arrays = int(rng.integers(1, 4))
    tile = None if rng.random() < 0.5 else int(rng.integers(1, 8))
    which = seed % 4
    if which == 0 or which == 3:  # dense: forward, dx, dw
        B, n_in, n_out = int(rng.integers(1, 4)), int(rng.integers(1, 21)), int(rng.integers(1, 7))
        x = _ternary(rng, (B, n_in), p_x)
        w = _ternary(rng, (n_in, n_out), p_w)
        dy = _ternary(rng, (B, n_out), p_x)
        layer = {"type": "dense"}
        product = ("forward", "dx", "dw")[(seed // 4) % 3]
    else:  # conv: forward, dx, dw; strides 1 and 2, padding 0 and 1
        B, C, F = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
        H, W = int(rng.integers(3, 8)), int(rng.integers(3, 8))
        k, s, p = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
        x = _ternary(rng, (B, H, W, C), p_x)
        w = _ternary(rng, (k, k, C, F), p_w)
        OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        dy = _ternary(rng, (B, OH, OW, F), p_w)
        layer = {"type": "conv", "kernel": k, "stride": s, "padding": p}
        product = ("forward", "dx", "dw")[(seed // 4 + which) % 3]
    return kind, policy, lanes, arrays, x, w, layer, dy, product, tile


@pytest.mark.parametrize("seed", range(80))
def test_kernels_match_reference(seed):
    kind, policy, lanes, arrays, x, w, layer, dy, product, tile = _random_case(seed)
    ref = reference_costs(kind, policy, lanes, arrays, x, w, layer, dy=dy, product=product, tile_outputs=tile)
    for method in METHODS:
        res = method(kind, policy, lanes, arrays, x, w, layer, dy=dy, product=product, tile_outputs=tile)
        _assert_same(res, ref)


@pytest.mark.parametrize("paths", [("rows", "direct"), ("rows", "transpose"), ("cols", "direct"),
                                   ("cols", "transpose")])
@pytest.mark.parametrize("seed", range(12))
def test_conv_paths_match_reference(seed, paths):
    """Every conv path of the bit kernels (patch scan / position-sliced scan, columns built directly / by a
    bit transpose) against the reference, gated_xnor (the only kind whose busy chunks need a scan)."""
    opts = CostOptions(*paths)
    rng = np.random.default_rng(1000 + seed)
    B, C, F = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 5))
    H, W = int(rng.integers(3, 8)), int(rng.integers(3, 8))
    k, s, p = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
    x, w = _ternary(rng, (B, H, W, C), 0.5), _ternary(rng, (k, k, C, F), 0.4)
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dy = _ternary(rng, (B, OH, OW, F), 0.6)
    layer = {"type": "conv", "kernel": k, "stride": s, "padding": p}
    lanes, arrays = int(rng.integers(1, 9)), int(rng.integers(1, 4))
    for product in ("forward", "dx", "dw"):
        for policy in POLICIES:
            args = ("gated_xnor", policy, lanes, arrays, x, w, layer)
            _assert_same(layer_costs(*args, dy=dy, product=product, options=opts),
                         reference_costs(*args, dy=dy, product=product))


def _large_case(seed):
    """Shapes with M over several 64-bit words, lanes multiples of 64 and not, for bits vs bytes."""
    rng = np.random.default_rng(500 + seed)
    kind = KINDS[seed % len(KINDS)]
    policy = POLICIES[(seed // len(KINDS)) % 2]
    lanes = int(rng.choice([64, 128, 256, 100, 200, 37, 5]))
    arrays = int(rng.integers(1, 6))
    tile = None if seed % 3 else int(rng.integers(1, 400))
    p_x, p_w = rng.choice([0.3, 0.6, 0.9, 0.99], size=2)
    if seed % 2 == 0:
        B, n_in, n_out = int(rng.integers(1, 70)), int(rng.integers(60, 300)), int(rng.integers(1, 40))
        x, w = _ternary(rng, (B, n_in), p_x), _ternary(rng, (n_in, n_out), p_w)
        dy = _ternary(rng, (B, n_out), 0.75)
        return kind, policy, lanes, arrays, x, w, {"type": "dense"}, dy, tile
    B, C = int(rng.integers(1, 4)), int(rng.choice([1, 3, 20, 64]))
    F = int(rng.choice([8, 64, 70, 128]))
    H = W = int(rng.integers(5, 11))
    k, s, p = int(rng.integers(2, 5)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
    x, w = _ternary(rng, (B, H, W, C), p_x), _ternary(rng, (k, k, C, F), p_w)
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    dy = _ternary(rng, (B, OH, OW, F), 0.75)
    return kind, policy, lanes, arrays, x, w, {"type": "conv", "kernel": k, "stride": s, "padding": p}, dy, tile


@pytest.mark.parametrize("seed", range(20))
def test_bits_match_bytes_on_larger_shapes(seed):
    """The packed-word kernels against the per-pair byte scan (itself held to the reference above)."""
    kind, policy, lanes, arrays, x, w, layer, dy, tile = _large_case(seed)
    for product in PRODUCTS:
        a = layer_costs(kind, policy, lanes, arrays, x, w, layer, dy=dy, product=product, tile_outputs=tile)
        b = layer_costs_bytes(kind, policy, lanes, arrays, x, w, layer, dy=dy, product=product, tile_outputs=tile)
        assert a.actions == b.actions, product
        for f in FIELDS:
            assert getattr(a, f) == getattr(b, f), (product, f)
        np.testing.assert_array_equal(a.per_array_cycles, b.per_array_cycles)
        np.testing.assert_array_equal(a.tile_cycles, b.tile_cycles)


@pytest.mark.parametrize("paths", [("rows", "direct"), ("cols", "transpose"), ("cols", "direct")])
def test_conv_paths_on_larger_shapes(paths):
    """The forced conv paths on MNIST-like shapes (several words, lanes 256 and 100) against the byte scan."""
    rng = np.random.default_rng(3)
    x, w = _ternary(rng, (3, 12, 12, 32), 0.55), _ternary(rng, (5, 5, 32, 64), 0.55)
    dy = _ternary(rng, (3, 8, 8, 64), 0.75)
    x1, w1 = _ternary(rng, (4, 14, 14, 1), 0.55), _ternary(rng, (5, 5, 1, 32), 0.55)
    dy1 = _ternary(rng, (4, 10, 10, 32), 0.75)
    conv = {"type": "conv", "kernel": 5, "stride": 1, "padding": 0}
    expected = {}
    for lanes in (256, 100):
        for case, (xx, ww, dd) in enumerate(((x, w, dy), (x1, w1, dy1))):
            for product in ("forward", "dw"):
                expected[lanes, case, product] = layer_costs_bytes("gated_xnor", "gating", lanes, 4, xx, ww, conv,
                                                                   dy=dd, product=product)
    opts = CostOptions(*paths)
    for (lanes, case, product), b in expected.items():
        xx, ww, dd = ((x, w, dy), (x1, w1, dy1))[case]
        a = layer_costs("gated_xnor", "gating", lanes, 4, xx, ww, conv, dy=dd, product=product, options=opts)
        assert a.actions == b.actions and a.busy_cycles == b.busy_cycles, (lanes, case, product)


def test_bit_helpers():
    """Packing, chunk segments, bit transpose and the conv bit matrices against plain numpy."""
    rng = np.random.default_rng(4)
    for R, L in ((1, 1), (3, 64), (5, 65), (70, 130)):
        X = _ternary(rng, (R, L), 0.5)
        bits, cnt = _pack_rows(X.reshape(R, 1, L), 1, True)
        want = np.zeros((R, -(-L // 64) + 1), np.uint64)
        for r, m in zip(*np.nonzero(X)):
            want[r, m // 64] |= np.uint64(1) << np.uint64(m % 64)
        np.testing.assert_array_equal(bits, want)
        np.testing.assert_array_equal(cnt[0], (X != 0).sum(0))
        colbits, rowcnt = _pack_cols(np.ascontiguousarray(X.T))
        np.testing.assert_array_equal(colbits, want[:, :-1].T)
        np.testing.assert_array_equal(rowcnt, (X != 0).sum(0))
        np.testing.assert_array_equal(_transpose_bits(bits[:, :-1], L, -(-R // 64)), _pack_cols(X)[0].T)
    for M, P in ((1, 1), (64, 64), (200, 64), (200, 37), (130, 256), (512, 128)):
        seg_word, seg_mask, start = _segments(M, P)
        assert len(start) == -(-M // P) + 1
        for ch in range(len(start) - 1):
            covered = [64 * int(seg_word[s]) + i for s in range(start[ch], start[ch + 1]) for i in range(64)
                       if int(seg_mask[s]) >> i & 1]
            assert covered == list(range(ch * P, min(M, ch * P + P)))
    for shape in ((2, 7, 9, 3), (1, 4, 70, 2), (3, 5, 5, 30)):  # patch rows and columns over 64 bits too
        x = _ternary(rng, shape, 0.5)
        B, H, W, C = shape
        for k, s, p in ((3, 1, 0), (3, 1, 1), (2, 2, 1), (3, 2, 0)):
            geo = ConvGeometry(B, H, W, C, k, k, s, p, conv_output_size(H, k, s, p), conv_output_size(W, k, s, p))
            for build in ("direct", "transpose"):
                cb = _ConvBits(x, geo, True, build)
                assert cb.direct == (build == "direct" and s == 1)
                xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
                cols = np.stack([xp[:, dh:dh + s * cb.OH:s, dw:dw + s * cb.OW:s, :].reshape(-1, C)
                                 for dh in range(k) for dw in range(k)], 1).reshape(cb.V, cb.M)  # (pos, (dh, dw, c))
                patches, columns = cb.patches(), cb.columns()
                want = _pack_rows(cols.reshape(cb.V, 1, cb.M), 0, False)[0]
                np.testing.assert_array_equal(patches[:, :want.shape[1]], want)
                assert not patches[:, want.shape[1]:].any()
                want = _pack_cols(cols)[0].T
                np.testing.assert_array_equal(columns[:, :want.shape[1]], want)
                assert not columns[:, want.shape[1]:].any()
    # transposed-conv patches: block (dh, dw) of input position (b, ih, iw) is dy[b, oh, ow] or 0
    for F, s, p in ((64, 1, 0), (64, 2, 1), (70, 1, 1), (5, 2, 0)):
        B, H, W, k = 2, 6, 7, 3
        OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        dy = _ternary(rng, (B, OH, OW, F), 0.7)
        want = np.zeros((B, H, W, k, k, F), np.float32)
        for dh in range(k):
            for dw in range(k):
                for oh in range(OH):
                    for ow in range(OW):
                        ih, iw = oh * s - p + dh, ow * s - p + dw
                        if 0 <= ih < H and 0 <= iw < W:
                            want[:, ih, iw, dh, dw, :] = dy[:, oh, ow, :]
        dyr, _ = _pack_rows(dy.reshape(B, OH * OW, F), 1, False)
        got = _dx_patches(_zero_row_after_each(dyr, B, OH * OW), B, H, W, OH, OW, F, k, k, s, p)
        np.testing.assert_array_equal(got, _pack_rows(want.reshape(B * H * W, 1, -1), 0, False)[0])


def test_degenerate_shapes_agree():
    """Empty batches, channels or filters: both methods give the same (empty) costs."""
    cases = [(np.zeros((0, 5)), np.ones((5, 3)), {"type": "dense"}, np.zeros((0, 3))),
             (np.ones((2, 0)), np.ones((0, 3)), {"type": "dense"}, np.ones((2, 3))),
             (np.ones((0, 5, 5, 2)), np.ones((3, 3, 2, 4)), {"type": "conv", "kernel": 3}, np.ones((0, 3, 3, 4))),
             (np.ones((1, 5, 5, 0)), np.ones((3, 3, 0, 2)), {"type": "conv", "kernel": 3}, np.ones((1, 3, 3, 2)))]
    for x, w, layer, dy in cases:
        for product in PRODUCTS:
            for kind in ("gated_xnor", "event_mux", "mac"):
                for policy in POLICIES:
                    got = []
                    for method in METHODS:
                        try:
                            r = method(kind, policy, 4, 3, x, w, layer, dy=dy, product=product)
                            got.append((r.actions, r.compute_cycles, list(r.tile_cycles), list(r.per_array_cycles)))
                        except ValueError as e:  # e.g. no outputs per sample: the default tile is empty
                            got.append(str(e))
                    assert got[0] == got[1], (x.shape, product, kind, policy)


def test_every_kind_policy_on_one_conv_and_dense():
    rng = np.random.default_rng(7)
    x = _ternary(rng, (2, 5, 6, 2), 0.5)
    w = _ternary(rng, (3, 3, 2, 3), 0.4)
    xd = _ternary(rng, (3, 13), 0.5)
    wd = _ternary(rng, (13, 4), 0.4)
    conv = {"type": "conv", "kernel": 3, "stride": 2, "padding": 1}
    for kind in KINDS:
        for policy in POLICIES:
            for lanes, arrays in ((1, 1), (4, 3), (8, 2)):
                _assert_same(layer_costs(kind, policy, lanes, arrays, x, w, conv),
                             reference_costs(kind, policy, lanes, arrays, x, w, conv))
                _assert_same(layer_costs(kind, policy, lanes, arrays, xd, wd, {"type": "dense"}),
                             reference_costs(kind, policy, lanes, arrays, xd, wd, {"type": "dense"}))


def test_min_cycle_rule_is_shared():
    assert costs.MIN_CYCLES_PER_OUTPUT == reference.MIN_CYCLES_PER_OUTPUT == 1
    # all-zero operands, skipping: one (emit) cycle per output, all lanes resting
    x = np.zeros((2, 5))
    w = np.zeros((5, 3))
    r = layer_costs("gated_xnor", "skipping", 4, 2, x, w, {"type": "dense"})
    assert r.output_cycles == 6 and r.compute_cycles == 3 and r.fired == 0
    assert r.actions == {"gate_check": 30, "xnor": 0, "bitcount_add": 0, "rest": 24, "index": 0, "compact": 30}


def test_hand_computed_tiny_case():
    # one output, M = 5, P = 2, active pattern 1,0,1,1,0
    x = np.array([[1.0, 1.0, -1.0, 1.0, 0.0]])
    w = np.array([[1.0], [0.0], [1.0], [-1.0], [1.0]])
    g = layer_costs("gated_xnor", "gating", 2, 1, x, w, {"type": "dense"})
    # cycles: (1,0) (1,1) (0,-) -> 3 cycles, 2 busy; the popcount tree counts its 2 inputs per busy cycle
    assert g.compute_cycles == 3 and g.fired == 3 and g.nonzero_pairs == 3 and g.operand_pairs == 5
    assert g.actions == {"gate_check": 5, "xnor": 3, "bitcount_add": 2 * 2, "rest": 3}
    assert g.utilization == pytest.approx(3 / 6)
    s = layer_costs("gated_xnor", "skipping", 2, 1, x, w, {"type": "dense"})
    # compacted (1,1) (1,-) -> 2 cycles, both busy
    assert s.compute_cycles == 2
    assert s.actions == {"gate_check": 5, "xnor": 3, "bitcount_add": 2 * 2, "rest": 1, "index": 3, "compact": 5}
    # TWN unit keys on the weight alone: weights nonzero at 0,2,3,4 -> 4 events
    t = layer_costs("event_mux", "gating", 2, 1, x, w, {"type": "dense"})
    assert t.actions == {"gate_check": 5, "mux": 4, "add": 4, "rest": 2} and t.compute_cycles == 3
    b = layer_costs("xnor", "gating", 2, 1, x, w, {"type": "dense"})
    assert b.actions == {"xnor": 5, "bitcount_add": 3 * 2, "rest": 1} and b.compute_cycles == 3
    assert layer_costs("mac", "skipping", 2, 1, x, w, {"type": "dense"}).actions == {"mult": 5, "add": 5, "rest": 1}
    assert layer_costs("mux", "gating", 2, 1, x, w, {"type": "dense"}).actions == {"mux": 5, "add": 5, "rest": 1}


def test_resting_probability_closed_forms():
    rng = np.random.default_rng(0)
    t = lambda shape: rng.integers(-1, 2, size=shape).astype(np.float32)  # uniform ternary  # noqa: E731
    x, w = t((64, 512)), t((512, 64))  # 2.1 M pairs
    dense = {"type": "dense"}
    g = layer_costs("gated_xnor", "gating", 8, 2, x, w, dense)
    assert g.resting_probability == pytest.approx(5 / 9, abs=0.005)  # GXNOR Table 2: 55.6 %
    assert g.unit_resting_probability == g.resting_probability
    tw = layer_costs("event_mux", "gating", 8, 2, x, w, dense)
    assert tw.unit_resting_probability == pytest.approx(1 / 3, abs=0.005)  # TWN: 33.3 %
    xf = rng.standard_normal((64, 512)).astype(np.float32)  # TWN's real inputs are full precision
    assert layer_costs("event_mux", "gating", 8, 2, xf, w, dense).resting_probability == pytest.approx(1 / 3,
                                                                                                      abs=0.005)
    for kind in ("xnor", "mux", "mac"):
        assert layer_costs(kind, "gating", 8, 2, x, w, dense).unit_resting_probability == 0.0
    sign = lambda shape: rng.choice(np.array([-1.0, 1.0]), size=shape)  # noqa: E731
    assert layer_costs("xnor", "gating", 8, 2, sign((8, 64)), sign((64, 8)), dense).resting_probability == 0.0


def test_gating_cycles_closed_form():
    rng = np.random.default_rng(1)
    B, n_in, n_out, P, A = 4, 37, 6, 8, 3  # outputs 24, divisible by A
    x = _ternary(rng, (B, n_in), 0.5)
    w = _ternary(rng, (n_in, n_out), 0.5)
    for kind in KINDS:
        r = layer_costs(kind, "gating", P, A, x, w, {"type": "dense"})
        assert r.compute_cycles == B * n_out * math.ceil(n_in / P) // A
        assert list(r.tile_cycles) == [n_out * math.ceil(n_in / P) // A] * B
    # conv: outputs B*OH*OW*F, M = k*k*C
    x = _ternary(rng, (2, 6, 6, 3), 0.5)
    w = _ternary(rng, (3, 3, 3, 4), 0.5)
    r = layer_costs("gated_xnor", "gating", 5, 2, x, w, {"type": "conv", "kernel": 3, "stride": 1, "padding": 1})
    assert r.outputs == 2 * 36 * 4 and r.operand_pairs == r.outputs * 27
    assert r.compute_cycles == r.outputs * math.ceil(27 / 5) // 2
    # skipping never takes more cycles than gating, and its cycles follow the active counts
    s = layer_costs("gated_xnor", "skipping", 5, 2, x, w, {"type": "conv", "kernel": 3, "stride": 1, "padding": 1})
    assert s.compute_cycles <= r.compute_cycles and s.fired == r.fired == r.nonzero_pairs


def test_dense_backward_products():
    rng = np.random.default_rng(2)
    x, w, dy = _ternary(rng, (5, 7), 0.4), _ternary(rng, (7, 3), 0.4), _ternary(rng, (5, 3), 0.4)
    dx = layer_costs("gated_xnor", "gating", 2, 1, x, w, {"type": "dense"}, dy=dy, product="dx")
    assert dx.outputs == 5 * 7 and dx.operand_pairs == 5 * 7 * 3
    assert dx.nonzero_pairs == int(((dy != 0).astype(int) @ (w != 0).T.astype(int)).sum())
    dw = layer_costs("gated_xnor", "gating", 2, 1, x, w, {"type": "dense"}, dy=dy, product="dw")
    assert dw.outputs == 7 * 3 and dw.operand_pairs == 7 * 3 * 5
    assert dw.nonzero_pairs == int(((x != 0).T.astype(int) @ (dy != 0).astype(int)).sum())
    # the generic product is what the layer products are
    g = product_costs("gated_xnor", "gating", 2, 1, x.T, dy)
    assert g.actions == dw.actions and g.compute_cycles == dw.compute_cycles


def test_bad_arguments():
    x, w = np.ones((1, 2)), np.ones((2, 1))
    with pytest.raises(ValueError):
        layer_costs("nope", "gating", 1, 1, x, w, {"type": "dense"})
    with pytest.raises(ValueError):
        layer_costs("mac", "gating", 0, 1, x, w, {"type": "dense"})
    with pytest.raises(ValueError):
        layer_costs("mac", "gating", 1, 1, x, w, {"type": "pool"})
    with pytest.raises(ValueError):  # conv dx: dy must be (B, OH, OW, F)
        layer_costs("mac", "gating", 1, 1, np.ones((1, 3, 3, 1)), np.ones((1, 1, 1, 1)),
                    {"type": "conv", "kernel": 1}, dy=np.ones((1, 3, 3, 2)), product="dx")
    with pytest.raises(ValueError):
        layer_costs("mac", "gating", 1, 1, x, w, {"type": "dense"}, options=CostOptions(conv_path="nope"))


def test_a_new_kind_needs_no_cost_code(monkeypatch):
    """A kind the cost package has never seen (registered for this test only) is costed from its rule and
    units alone, the same by the kernels, the byte scan and the stepper."""
    toy = ComputeKind(name="toy", description="test kind", fires="selector", per_pair=("check",),
                      per_event=("act",), per_busy_lane=("sum",), rest="idle")
    monkeypatch.setitem(kinds(), "toy", toy)
    rng = np.random.default_rng(11)
    x, w = _ternary(rng, (2, 5, 6, 2), 0.5), _ternary(rng, (3, 3, 2, 3), 0.4)
    xd, wd = _ternary(rng, (3, 13), 0.5), _ternary(rng, (13, 4), 0.4)
    conv = {"type": "conv", "kernel": 3, "stride": 2, "padding": 1}
    for policy in POLICIES:
        for xx, ww, layer in ((x, w, conv), (xd, wd, {"type": "dense"})):
            ref = reference_costs("toy", policy, 4, 3, xx, ww, layer)
            for method in METHODS:
                _assert_same(method("toy", policy, 4, 3, xx, ww, layer), ref)
            extra = {"index", "compact"} if policy == "skipping" else set()
            assert set(ref["actions"]) == {"check", "act", "sum", "idle"} | extra


def test_cost_package_names_no_kind():
    """Kinds come from the registry: no module of the cost package spells a kind's name as a string."""
    for path in Path(costs.__file__).parent.glob("*.py"):
        strings = {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
                   and isinstance(n.value, str)}
        for name in KINDS:
            assert not any(re.search(rf"\b{name}\b", s) for s in strings), (path.name, name)


def test_library_never_imports_the_oracles():
    root = Path(costs.__file__).parents[2]
    for path in root.rglob("*.py"):
        if "testing" in path.relative_to(root).parts:
            continue
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.ImportFrom):
                names = [("." * n.level) + (n.module or "")]
            elif isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            else:
                continue
            assert not any(m == "neurosim.testing" or m.startswith("neurosim.testing.") or m.lstrip(".") == "testing"
                           or m.lstrip(".").startswith("testing.") for m in names), path


def test_byte_kernels_take_the_registry_rule_codes():
    """The byte kernels' rule constants are the codes ComputeKind.rule_code hands them; the generic product
    agrees between the two implementations."""
    from neurosim.testing import byte_kernels

    assert byte_kernels.EV_BOTH == ComputeKind("t", "t", "both").rule_code
    assert byte_kernels.EV_SELECTOR == ComputeKind("t", "t", "selector").rule_code
    rng = np.random.default_rng(5)
    a, b = _ternary(rng, (6, 70), 0.5), _ternary(rng, (70, 9), 0.5)
    for kind in KINDS:
        for policy in POLICIES:
            r = product_costs(kind, policy, 16, 3, a, b, 5)
            s = byte_kernels.product_costs_bytes(kind, policy, 16, 3, a, b, 5)
            assert r.actions == s.actions and r.compute_cycles == s.compute_cycles
            np.testing.assert_array_equal(r.tile_cycles, s.tile_cycles)
