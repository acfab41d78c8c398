"""Exact cost kernels: the real operands of a dense or conv layer -> action counts and compute cycles.

Model (:mod:`neurosim.testing.reference` steps the same model cycle by cycle; the tests hold the two equal)
----------------------------------------------------------------------------------------------------------
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
- conv backward dX (a transposed convolution) ``dX[b,ih,iw,c] = sum_(dh,dw,f) dy[b,oh,ow,f] w[dh,dw,c,f]``:
  outputs (b, ih, iw, c) over x's shape (B, H, W, C), M = kh*kw*F, pairs (dy[b,oh,ow,f], w[dh,dw,c,f]) in
  (dh, dw, f) order with oh = (ih + p - dh) / s and ow = (iw + p - dw) / s; where that is not an integer or
  falls outside [0, OH) / [0, OW) the dy operand is 0 (a padding pair); selector = w.
Outputs are taken in that order (row-major over the output index) and dealt round-robin to the arrays:
output o goes to array ``o % A``; each array processes its outputs one after another.

Per output, with ``active`` = pairs with both operands nonzero and ``events`` = the pairs the unit must
fire on. The **kind** (:mod:`neurosim.hw.kinds`, one module per kind) gives the event rule (``both``: a != 0
and b != 0, i.e. events = active; ``selector``: b != 0; ``every``: every pair) and counts its actions in
four units: ``per_pair`` (= M), ``per_event`` (= events), ``per_busy_cycle`` (= busy cycles) and ``rest``
(:meth:`~neurosim.hw.kinds.ComputeKind.counts`). Kinds whose rule is not ``every`` are *event-driven*.

- gating: cycles = max(1, ceil(M / P)); cycle k consumes pairs k*P .. k*P+P-1 in order; a lane whose pair is
  an event fires, the others (and the empty lanes of a last partial cycle) rest.
- skipping (event-driven kinds only): the event pairs are compacted first, cycles = max(1, ceil(events / P));
  actions add ``index`` = events and ``compact`` = M. The kinds whose rule is ``every`` have nothing to
  skip: for them skipping is identical to gating, with no index/compact actions.
- **Minimum one cycle per output** (``MIN_CYCLES_PER_OUTPUT``): an output always takes at least one cycle, to
  emit it, even when skipping leaves it no event pair (that cycle has all P lanes resting).
- A **busy cycle** is a cycle with >= 1 firing lane; a kind's ``per_busy_cycle`` actions (e.g. one
  bitcount/accumulate) count these (skipping: ceil(events / P) busy cycles; gating: the number of P-chunks
  holding >= 1 event).
- ``rest`` = cycles * P - events, summed over outputs (lane-slots that did not fire); ``fired`` = events.
- Layer: ``compute_cycles`` = max over arrays of the sum of its outputs' cycles (arrays run in parallel);
  ``utilization`` = fired / (compute_cycles * P * A).
- Tiles: a tile is a contiguous chunk of ``tile_outputs`` outputs (default: one sample's outputs for forward
  and dX, one row (i, or dh/dw/c) of dW); outputs keep their global array ``o % A``; a tile's cycles
  are its makespan when it runs alone on the A arrays (max over arrays of the cycles of its outputs there),
  so ``sum(tile_cycles) >= compute_cycles`` (tiles are barrier-synchronized, the whole layer is not).
- Statistics: ``operand_pairs`` = sum of M, ``nonzero_pairs`` = sum of active (algorithmic work, the same for
  every kind), so ``resting_probability`` = 1 - nonzero_pairs / operand_pairs (5/9 for uniform ternary
  operands); ``unit_resting_probability`` = 1 - fired / operand_pairs is what the unit rests (rule
  ``selector``: 1/3 for uniform ternary weights whatever the inputs; rule ``every``: 0).

Implementation. Only the zero/nonzero pattern of the operands matters. Every product is written as outputs
o = v*N + n: a *data vector* v (a row of ``a``, the im2col patch of (b, oh, ow), the transposed-conv patch of
(b, ih, iw), or one (dh, dw, c) column of the im2col matrix for conv dW) against N *selectors* n (columns of
``b``, filters, input channels, dy channels), each an ordered list of M pairs. The kernels pack both into
uint64 words, pair m at bit m % 64 of word m // 64 (the nonzero tests fused into the packing), and compute
per output only what the policy needs:

- ``nonzero_pairs`` never needs a scan: it is sum_m (data vectors with pair m nonzero) x (selectors with
  pair m nonzero), from nonzero counts of the operands (conv dW: sum over positions of patch nonzeros x dy
  nonzeros, popcounts of one of the bit matrices);
- gating: cycles per output are the constant max(1, ceil(M / P)), so ``per_array_cycles``/``tile_cycles`` are
  closed forms; under the rule ``selector`` events and busy chunks depend on the selector alone, under
  ``every`` they are M and ceil(M / P); only the rule ``both`` needs the operands for its busy chunks, counted
  by one of two exact scans: the *row scan* ANDs a data vector's chunk against all N selectors at once, word
  by word, and stops at the first word that leaves no selector without an event (usually the first); the
  *column scan* works on the position-sliced matrix (pair m -> bits over the data vectors): for (selector,
  chunk), the OR of the rows of the chunk's pairs where the selector is nonzero, popcounted (stopping once it
  holds every data vector). Conv products take the one with the lower estimated cost (conv1-like forward:
  columns; dW: the patch matrix is its position-sliced side), or the one :class:`CostOptions` forces. Chunks
  are P consecutive pairs of an output's list, i.e. (word, mask) segments, so any P is exact (whole words when
  P % 64 == 0);
- skipping: per-output events (rule ``both``: popcount of the AND; ``selector``: popcount of the selector),
  then booked output by output onto arrays and tiles (strided sums over runs of consecutive outputs).

The original per-pair scan on uint8 masks lives on as a test oracle (:mod:`neurosim.testing.byte_kernels`).
The kernels are single-threaded: deterministic, and no thread hand-off on a shared machine.

Modules: :mod:`.bits` (bit intrinsics, packing, word helpers), :mod:`.conv_vectors` (conv data vectors as
bits), :mod:`.scans` (the scans and the booking onto arrays and tiles), :mod:`.nonzero` (nonzero pairs from
counts), :mod:`.tuning` (cost estimates, :class:`CostOptions`), :mod:`.geometry` (the checked layer product),
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
