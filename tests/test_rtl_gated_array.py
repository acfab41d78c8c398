"""The cost kernels against an RTL design of the gated-XNOR compute array (neurosim.testing.rtl_gated_array).

The design (Amaranth HDL, run in Amaranth's simulator) computes each product itself; the testbench counts its
enable signals cycle by cycle. On randomized small dense and conv products (forward, dX, dW), both policies and
several lanes P and arrays A, the test holds:

1. the design's outputs equal numpy's ternary products (computed directly: matmuls, strided-slice einsums for
   conv forward and dW, a scatter for the transposed conv dX; not through the im2col the design is fed);
2. ``layer_costs``' ``compute_cycles``, ``per_array_cycles`` and every action count equal what the RTL counters
   measured (and ``fired`` / ``busy_cycles`` / ``output_cycles`` the matching counters);
3. the design's own timing: each array's beats are one unbroken run starting at the fill latency, the run's last
   output write is FILL + compute cycles + DRAIN - 1 cycles after the start, every output written once.

``NEUROSIM_RTL_CASES`` sets the number of random products (default 150; each runs under both policies, so 300
checks). Needs the test-only dependency ``amaranth`` (skipped without it).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("amaranth", reason="amaranth (test-only dependency, pip install 'amaranth>=0.5,<0.6') is "
                                       "not installed: the RTL check of the cost kernels is skipped")

from neurosim.hw.costs import layer_costs  # noqa: E402
from neurosim.testing.rtl_gated_array import (GatedXnorUnit, RtlArraySim, lower_product,  # noqa: E402
                                              pipeline_timing)

N_PRODUCTS = int(os.environ.get("NEUROSIM_RTL_CASES", "150"))
UNITS = ((1, 1), (2, 3), (3, 2), (4, 1), (5, 3), (7, 2), (8, 3), (13, 1), (16, 2), (48, 3))  # (P, A)
POLICIES = ("gating", "skipping")
FAMILIES = ("dense-forward", "dense-dx", "dense-dw", "conv-forward", "conv-dx", "conv-dw")
MAX_PAIRS, MAX_ROWS, MAX_COLS, MAX_OUTPUTS = 40, 24, 24, 24


def _ternary(rng, shape, p_zero):
    v = rng.choice(np.array([-1, 1]), size=shape)
    return np.where(rng.random(shape) < p_zero, 0, v).astype(np.int64)


def _random_product(rng):
    """(x, w, dy, layer, product, (R, M, N)) of a random small layer product that fits the design."""
    while True:
        fam = FAMILIES[rng.integers(len(FAMILIES))]
        p_zero = float(rng.choice([0.0, 0.2, 0.45, 0.7, 0.9, 1.0]))
        kind, product = fam.split("-")
        if kind == "dense":
            B, n_in, n_out = (int(v) for v in rng.integers(1, [5, 41, 9]))
            if product == "dw":
                B, n_in, n_out = int(rng.integers(1, 41)), int(rng.integers(1, 7)), int(rng.integers(1, 7))
            x, w = _ternary(rng, (B, n_in), p_zero), _ternary(rng, (n_in, n_out), p_zero)
            dy = _ternary(rng, (B, n_out), p_zero)
            layer = {"type": "dense"}
            R, M, N = {"forward": (B, n_in, n_out), "dx": (B, n_out, n_in), "dw": (n_in, B, n_out)}[product]
        else:
            k, s, p = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
            B, H, W, C, F = (int(v) for v in rng.integers(1, [3, 6, 6, 5, 5]))
            OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
            if OH < 1 or OW < 1:
                continue
            x, w = _ternary(rng, (B, H, W, C), p_zero), _ternary(rng, (k, k, C, F), p_zero)
            dy = _ternary(rng, (B, OH, OW, F), p_zero)
            layer = {"type": "conv", "kernel": k, "stride": s, "padding": p}
            R, M, N = {"forward": (B * OH * OW, k * k * C, F), "dx": (B * H * W, k * k * F, C),
                       "dw": (k * k * C, B * OH * OW, F)}[product]
        if R * N <= MAX_OUTPUTS and R <= MAX_ROWS and N <= MAX_COLS and 1 <= M <= MAX_PAIRS:
            return x, w, dy, layer, product, (R, M, N)


def _direct(x, w, dy, layer, product):
    """The product's outputs computed directly by numpy, flattened in the cost model's output order."""
    if layer["type"] == "dense":
        return {"forward": x @ w, "dx": dy @ w.T, "dw": x.T @ dy}[product].ravel()
    s, p = layer["stride"], layer["padding"]
    k = w.shape[0]
    B, H, W, C = x.shape
    OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))

    def window(arr, dh, dw):
        return arr[:, dh:dh + s * (OH - 1) + 1:s, dw:dw + s * (OW - 1) + 1:s, :]

    if product == "forward":
        return sum(np.einsum("bhwc,cf->bhwf", window(xp, dh, dw), w[dh, dw])
                   for dh in range(k) for dw in range(k)).ravel()
    if product == "dw":
        return np.stack([np.stack([np.einsum("bhwc,bhwf->cf", window(xp, dh, dw), dy) for dw in range(k)])
                         for dh in range(k)]).ravel()
    dxp = np.zeros_like(xp)  # transposed conv as a scatter of dy through w
    for dh in range(k):
        for dw in range(k):
            window(dxp, dh, dw)[...] += np.einsum("bhwf,cf->bhwc", dy, w[dh, dw])
    return dxp[:, p:p + H, p:p + W, :].ravel()


def _cases(P, A):
    """This unit's share of the random products (deterministic per unit)."""
    idx = UNITS.index((P, A))
    n = len(range(idx, N_PRODUCTS, len(UNITS)))
    rng = np.random.default_rng(1000 + 17 * P + A)
    return [_random_product(rng) for _ in range(n)]


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("P, A", UNITS, ids=[f"P{p}-A{a}" for p, a in UNITS])
def test_rtl_matches_numpy_and_the_kernels(P, A, policy):
    cases = _cases(P, A)
    if not cases:
        pytest.skip("no case for this unit at this NEUROSIM_RTL_CASES")
    sim = RtlArraySim(P, A, policy, max_pairs=MAX_PAIRS, max_rows=MAX_ROWS, max_cols=MAX_COLS, seed=P * 7 + A)
    lowered = [lower_product(x, w, layer, dy=dy, product=product) for x, w, dy, layer, product, _ in cases]
    results = sim.run(lowered)
    fill, drain = pipeline_timing(P)
    bad, bad_cases = [], 0
    for (x, w, dy, layer, product, (R, M, N)), (a, b), rtl in zip(cases, lowered, results):
        n_bad = len(bad)
        name = f"{layer['type']} {product} R={R} M={M} N={N} layer={layer} P={P} A={A} {policy}"
        assert a.shape == (R, M) and b.shape == (M, N), name
        want = _direct(x, w, dy, layer, product)
        if not np.array_equal(rtl.outputs, want):
            bad.append(f"{name}: outputs {rtl.outputs.tolist()} != numpy {want.tolist()}")
        # the design's own timing and output writes
        n_out = R * N
        for arr in range(A):
            has_work = arr < n_out
            if (rtl.first_beat[arr] is not None) != has_work or (has_work and rtl.first_beat[arr] != fill):
                bad.append(f"{name}: array {arr} first beat {rtl.first_beat[arr]} (fill {fill})")
            if not rtl.contiguous[arr]:
                bad.append(f"{name}: array {arr} beats not contiguous")
        if rtl.run_cycles != fill + rtl.compute_cycles + drain:
            bad.append(f"{name}: run {rtl.run_cycles} != fill {fill} + {rtl.compute_cycles} + drain {drain}")
        if rtl.writes != n_out or rtl.written != set(range(n_out)):
            bad.append(f"{name}: {rtl.writes} output writes for {n_out} outputs")
        # the kernels
        k = layer_costs("gated_xnor", policy, P, A, x, w, layer, dy=dy, product=product)
        got = {"compute_cycles": k.compute_cycles, "per_array_cycles": k.per_array_cycles.tolist(),
               "actions": k.actions, "fired": k.fired, "busy_cycles": k.busy_cycles,
               "output_cycles": k.output_cycles, "outputs": k.outputs, "operand_pairs": k.operand_pairs}
        seen = {"compute_cycles": rtl.compute_cycles, "per_array_cycles": rtl.per_array_cycles.tolist(),
                "actions": rtl.actions, "fired": rtl.actions["xnor"], "busy_cycles": rtl.actions["bitcount_add"] // P,
                "output_cycles": int(rtl.per_array_cycles.sum()), "outputs": n_out, "operand_pairs": n_out * M}
        if got != seen:
            diff = {key: (got[key], seen[key]) for key in got if got[key] != seen[key]}
            bad.append(f"{name}: kernels != RTL (kernel, rtl): {diff}")
        bad_cases += len(bad) > n_bad
    assert not bad, f"{bad_cases} of {len(cases)} cases disagree:\n" + "\n".join(bad[:20])


def test_a_product_without_events_takes_one_beat_per_output():
    """Skipping, all-zero operands: each output is one beat with every lane resting (the emit cycle); gating
    spends ceil(M / P) beats per output; the outputs are 0."""
    a = np.zeros((2, 7), np.int64)
    b = np.zeros((7, 3), np.int64)
    for policy, beats in (("skipping", 1), ("gating", 2)):
        rtl = RtlArraySim(4, 2, policy, max_pairs=8, max_rows=2, max_cols=3).run([(a, b)])[0]
        assert rtl.outputs.tolist() == [0] * 6
        assert rtl.per_array_cycles.tolist() == [3 * beats, 3 * beats]
        assert rtl.actions["xnor"] == 0 and rtl.actions["bitcount_add"] == 0
        assert rtl.actions["rest"] == 6 * beats * 4
        assert rtl.actions["gate_check"] == 42


def test_lanes_wider_than_the_pair_list_and_a_dense_output():
    """P = 9 > M = 5 with every pair firing: one beat per output, 4 resting lanes a beat; skipping compacts all
    5 pairs (index 5 per output)."""
    a = np.array([[1, -1, 1, 1, -1], [-1, -1, -1, 1, 1]])
    b = np.array([[1], [1], [-1], [1], [-1]])
    for policy in ("gating", "skipping"):
        rtl = RtlArraySim(9, 1, policy, max_pairs=5, max_rows=2, max_cols=1).run([(a, b)])[0]
        assert rtl.outputs.tolist() == (a @ b).ravel().tolist()
        assert rtl.per_array_cycles.tolist() == [2]
        assert rtl.actions["xnor"] == 10 and rtl.actions["rest"] == 8 and rtl.actions["bitcount_add"] == 2 * 9
        if policy == "skipping":
            assert rtl.actions["index"] == 10 and rtl.actions["compact"] == 10


def test_the_design_checks_its_arguments():
    with pytest.raises(ValueError, match="policy"):
        GatedXnorUnit(4, 1, "sparse")
    with pytest.raises(ValueError, match=">= 1"):
        GatedXnorUnit(0, 1, "gating")
    sim = RtlArraySim(2, 1, "gating", max_pairs=4, max_rows=2, max_cols=2)
    with pytest.raises(ValueError, match="fit"):
        sim.run([(np.ones((2, 5), int), np.ones((5, 2), int))])
    assert sim.run([]) == []  # nothing run, but the design elaborates
