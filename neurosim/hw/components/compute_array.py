"""Compute arrays: ``arrays`` x ``lanes`` lanes of one kind (:mod:`neurosim.hw.kinds`), gating or skipping zeros.

Gating (Sparseloop's term): a lane whose pair does not fire rests, the cycle is still spent. Skipping: the
firing pairs are compacted first, saving the cycles, at the price of ``index`` (per firing pair) and ``compact``
(per operand pair) actions; only event-driven kinds have anything to skip.
"""
from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ..kinds import kind, kind_names, kinds
from ._fields import Count
from .base import ActionSpec, AttributeModel, ComponentClass

SKIP_ACTIONS = {"index": "firing pair (its index into the compacted stream)",
                "compact": "operand pair (compaction of the stream)"}


class ComputeAttributes(AttributeModel):
    """Datapath kind, lanes per array, arrays, zero policy, accumulator width."""

    kind: str
    lanes: Count
    arrays: Count = 1
    policy: Literal["gating", "skipping"] = "gating"
    accumulator_bits: Count = 16

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in kinds():
            raise ValueError(f"got {v!r}; allowed: {', '.join(kind_names())}")
        return v


class ComputeArray(ComponentClass):
    name = "compute_array"
    description = "arrays of lanes, one operand pair per lane per cycle; the kind says what a lane does"
    Attributes = ComputeAttributes
    order = 3

    def actions(self, attrs):
        k = kind(attrs.kind)
        out = {a: ActionSpec(k.unit(a)) for a in k.required_actions()}
        out.update({a: ActionSpec(k.unit(a), required=False) for a in k.optional_actions()})
        if k.event_driven:
            skipping = attrs.policy == "skipping"
            out.update({a: ActionSpec(u, required=skipping) for a, u in SKIP_ACTIONS.items()})
        return out

    def check(self, attrs, fail) -> None:
        if attrs.policy == "skipping" and not kind(attrs.kind).event_driven:
            event = ", ".join(n for n, k in kinds().items() if k.event_driven)
            fail("policy", f"'skipping' needs an event-driven kind ({event}), got kind {attrs.kind!r}")
