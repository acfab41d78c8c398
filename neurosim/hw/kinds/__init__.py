"""Compute-array kinds: what one lane of an array does with an operand pair, and which actions that costs.

A kind is one module in this package that defines ``KIND = ComputeKind(...)``; the registry below finds every
module here, so adding a kind touches no other file (its architecture YAML names it as ``attributes.kind``).
A kind says:

- ``fires``: its event rule, the pairs on which a lane does work: ``both`` (both operands nonzero, the gated
  XNOR of GXNOR), ``selector`` (the weight / selector operand nonzero, TWN's gated multiplexer) or ``every``
  (every pair: XNOR, MAC, multiplexer). The cost kernels count with this rule (:attr:`ComputeKind.rule_code`)
  and the brute-force stepper (:mod:`neurosim.testing.reference`) with :meth:`ComputeKind.fires_on`;
- which actions it counts, and in what unit: ``per_pair`` (once per operand pair, e.g. the zero test of a
  gate), ``per_event`` (once per firing lane), ``per_busy_lane`` (once per lane of each output cycle with at least
  one firing lane: the inputs of a popcount adder tree that is clock-enabled for that cycle, all P of them, the
  resting lanes feeding zeros) and ``rest`` (once per lane-slot that does not fire);
- the operand widths it consumes (bits per weight, per activation) for inputs without a method (topology CSVs).

Kinds with an event rule can also run under the ``skipping`` policy, which adds the compute array's ``index``
and ``compact`` actions (see :mod:`neurosim.hw.components.compute_array`).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ComputeKind", "FIRES", "kind", "kinds", "kind_names"]

FIRES = ("both", "selector", "every")
_RULE_CODE = {"both": 0, "selector": 1, "every": 2}  # the event-rule codes of the numba cost kernels


@dataclass(frozen=True)
class ComputeKind:
    """One compute-array kind: event rule, actions by count unit, operand widths."""

    name: str
    description: str
    fires: Literal["both", "selector", "every"]
    per_pair: tuple[str, ...] = ()
    per_event: tuple[str, ...] = ()
    per_busy_lane: tuple[str, ...] = ()
    rest: str = "rest"
    rest_required: bool = False  # event kinds price the resting lane explicitly (its energy is usually 0)
    operand_bits: tuple[int, int] = (32, 32)  # (bits per weight, bits per activation) the lanes consume
    units: dict[str, str] = field(default_factory=dict)  # action -> what one action is (docs, reports)
    order: int = 100  # position in listings and error messages

    def __post_init__(self) -> None:
        if self.fires not in FIRES:
            raise ValueError(f"kind {self.name!r}: fires must be one of {FIRES}, got {self.fires!r}")
        names = self.per_pair + self.per_event + self.per_busy_lane
        if len(set(names)) != len(names) or self.rest in names:
            raise ValueError(f"kind {self.name!r}: an action may be counted in one unit only")

    @property
    def rule_code(self) -> int:
        """The event-rule code the cost kernels take."""
        return _RULE_CODE[self.fires]

    @property
    def event_driven(self) -> bool:
        """Whether some pairs do not fire (so there is something to gate or skip)."""
        return self.fires != "every"

    def fires_on(self, a: float, b: float) -> bool:
        """Does a lane fire on the pair (a, b)? ``b`` is the selector (weight) operand. For the reference stepper."""
        if self.fires == "both":
            return a != 0 and b != 0
        if self.fires == "selector":
            return b != 0
        return True

    def required_actions(self) -> tuple[str, ...]:
        """Actions an architecture file must price for this kind (the skipping actions come on top)."""
        return self.per_pair + self.per_event + self.per_busy_lane + ((self.rest,) if self.rest_required else ())

    def optional_actions(self) -> tuple[str, ...]:
        return () if self.rest_required else (self.rest,)

    def counts(self, pairs: int, events: int, busy_cycles: int, rest: int, lanes: int) -> dict[str, int]:
        """Action counts from the kernels' statistics of a product (every pair, fired lanes, busy cycles, rests) on
        ``lanes`` lanes."""
        out: dict[str, int] = {}
        for names, n in ((self.per_pair, pairs), (self.per_event, events), (self.per_busy_lane, busy_cycles * lanes)):
            for a in names:
                out[a] = int(n)
        out[self.rest] = int(rest)
        return out

    def unit(self, action: str) -> str:
        """What one ``action`` is counted per."""
        if action in self.units:
            return self.units[action]
        if action in self.per_pair:
            return "operand pair"
        if action in self.per_event:
            return "firing lane (pair the lane computes)"
        if action in self.per_busy_lane:
            return "lane of a busy output cycle (an input of the enabled adder tree)"
        if action == self.rest:
            return "resting lane-slot"
        raise KeyError(action)


_REGISTRY: dict[str, ComputeKind] | None = None


def kinds() -> dict[str, ComputeKind]:
    """Every kind defined in this package (a module's ``KIND``), by name, in listing order."""
    global _REGISTRY
    if _REGISTRY is None:
        from ..registry import discover

        _REGISTRY = discover(sys.modules[__name__], lambda m: [k for k in [getattr(m, "KIND", None)]
                                                               if isinstance(k, ComputeKind)], "compute kind")
    return _REGISTRY


def kind_names() -> tuple[str, ...]:
    return tuple(kinds())


def kind(name: str) -> ComputeKind:
    """The kind called ``name``; a ValueError naming the known kinds otherwise."""
    ks = kinds()
    if name not in ks:
        raise ValueError(f"unknown compute kind {name!r}; allowed: {', '.join(ks)}")
    return ks[name]
