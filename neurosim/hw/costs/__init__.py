"""Exact cost kernels: the real operands of a dense or conv layer -> action counts and compute cycles.

The compute-array model (products as outputs and ordered operand pairs, the kinds' event rules, gating vs skipping,
busy cycles, resting lanes, tiles, statistics) is specified in ``docs/model.md``, sections 4.1-4.2;
:mod:`neurosim.testing.reference` steps the same model cycle by cycle and the tests hold the two equal.

Implementation. Only the zero/nonzero pattern of the operands matters. Every product is written as outputs
o = v*N + n: a *data vector* v (a row of ``a``, an im2col or transposed-conv patch, or one (dh, dw, c) column of
the im2col matrix for conv dW) against N *selectors* n, each an ordered list of M pairs, both packed into uint64
words (pair m at bit m % 64 of word m // 64). ``nonzero_pairs`` comes from nonzero counts, without a scan. Under
gating the cycles per output are the constant max(1, ceil(M / P)) (closed forms), and only the event rule ``both``
scans for its busy chunks: the *row scan* (a data vector against all selectors, word by word) or the *column scan*
(per selector over the position-sliced matrix), whichever is estimated cheaper or :class:`CostOptions` forces.
Under skipping the events of each output are popcounts, booked output by output onto arrays and tiles. The
original per-pair scan on uint8 masks lives on as a test oracle (:mod:`neurosim.testing.byte_kernels`); the
kernels are single-threaded. Modules: :mod:`.bits` (bit intrinsics, packing), :mod:`.conv_vectors` (conv data
vectors as bits), :mod:`.scans` (the scans and the booking onto arrays and tiles), :mod:`.nonzero` (nonzero pairs
from counts), :mod:`.tuning` (cost estimates, :class:`CostOptions`), :mod:`.geometry` (the checked layer product),
:mod:`.packed` (products as packed operands), :mod:`.result` (:class:`CostResult`), :mod:`.api` (the public
functions). numba caches each kernel per file and checks only that file: after editing a module that other
kernels inline or call (e.g. :mod:`.bits`), clear this package's ``__pycache__``.
"""
from __future__ import annotations

from .api import layer_costs, product_costs
from .geometry import PRODUCTS
from .result import MIN_CYCLES_PER_OUTPUT, POLICIES, CostResult
from .tuning import CostOptions

__all__ = ["CostOptions", "CostResult", "MIN_CYCLES_PER_OUTPUT", "POLICIES", "PRODUCTS", "layer_costs",
           "product_costs"]
