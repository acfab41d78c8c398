"""What a product costs: :class:`CostResult`, the kernels' statistics vector, and the step from those
statistics to action counts (each kind's own units, from :mod:`neurosim.hw.kinds`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kinds import ComputeKind, kind as compute_kind

__all__ = ["CostResult", "MIN_CYCLES_PER_OUTPUT", "POLICIES", "check_unit", "finish", "new_buffers"]

POLICIES = ("gating", "skipping")
MIN_CYCLES_PER_OUTPUT = 1  # an output always takes at least one cycle (to emit it)

# stats vector layout filled by the kernels
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


def check_unit(kind: str, policy: str, lanes: int, arrays: int) -> ComputeKind:
    """The compute kind called ``kind``, after checking the unit's arguments (ValueError naming what is allowed)."""
    k = compute_kind(kind)
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r} (expected one of {POLICIES})")
    if int(lanes) < 1 or int(arrays) < 1:
        raise ValueError(f"lanes and arrays must be >= 1 (got {lanes}, {arrays})")
    return k


def skips(k: ComputeKind, policy: str) -> bool:
    """Whether ``policy`` compacts zero pairs away on kind ``k`` (only event-driven kinds have any to skip)."""
    return policy == "skipping" and k.event_driven


def new_buffers(n_outputs: int, tile_outputs: int, A: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Zeroed (stats, per-array cycles, tile cycles) of a product of ``n_outputs`` outputs, and the checked
    tile size."""
    tile_outputs = int(tile_outputs)
    if tile_outputs < 1:
        raise ValueError(f"tile_outputs must be >= 1 (got {tile_outputs})")
    n_tiles = -(-n_outputs // tile_outputs)
    return np.zeros(6, np.int64), np.zeros(A, np.int64), np.zeros(n_tiles, np.int64), tile_outputs


def finish(k: ComputeKind, policy: str, P: int, A: int, stats: np.ndarray, per_array: np.ndarray,
           tile_cycles: np.ndarray, tile_outputs: int) -> CostResult:
    """The CostResult of a product from the kernels' statistics: the kind's action counts, plus ``index``
    (per event) and ``compact`` (per pair) when the policy skips."""
    pairs = int(stats[_S_PAIRS])
    events = int(stats[_S_EVENTS])
    busy = int(stats[_S_BUSY])
    cyc = int(stats[_S_CYCLES])
    actions = k.counts(pairs, events, busy, cyc * P - events, P)
    if skips(k, policy):
        actions["index"] = events
        actions["compact"] = pairs
    compute = int(per_array.max()) if per_array.size else 0
    util = events / (compute * P * A) if compute else 0.0
    return CostResult(kind=k.name, policy=policy, lanes=P, arrays=A, actions=actions, compute_cycles=compute,
                      per_array_cycles=per_array, tile_cycles=tile_cycles, tile_outputs=tile_outputs,
                      outputs=int(stats[_S_OUTPUTS]), operand_pairs=pairs, nonzero_pairs=int(stats[_S_ACTIVE]),
                      fired=events, busy_cycles=busy, output_cycles=cyc, utilization=util)
