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


PRODUCTS = ("forward", "dx", "dw")


class ComputeAttributes(AttributeModel):
    """Datapath kind, lanes per array, arrays, zero policy, accumulator width, and which products at which operand
    widths it serves (``operand_bits``: [selector, other] maxima, at most the kind's; ``products``: of a layer's
    forward, dx = dY W^T and dw = X^T dY)."""

    kind: str
    lanes: Count
    arrays: Count = 1
    policy: Literal["gating", "skipping"] = "gating"
    accumulator_bits: Count = 16
    products: list[Literal["forward", "dx", "dw"]] = list(PRODUCTS)
    operand_bits: list[Count] | None = None

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

    def footprint_units(self, attrs):
        return {"instance": 1.0, "array": float(attrs.arrays), "lane": float(attrs.lanes * attrs.arrays)}

    def check(self, attrs, fail) -> None:
        if attrs.policy == "skipping" and not kind(attrs.kind).event_driven:
            event = ", ".join(n for n, k in kinds().items() if k.event_driven)
            fail("policy", f"'skipping' needs an event-driven kind ({event}), got kind {attrs.kind!r}")
        if not attrs.products or len(set(attrs.products)) != len(attrs.products):
            fail("products", f"a non-empty list of distinct products; allowed: {', '.join(PRODUCTS)}")
        if attrs.operand_bits is not None:
            top = kind(attrs.kind).operand_bits
            if len(attrs.operand_bits) != 2 or any(b > t for b, t in zip(attrs.operand_bits, top)):
                fail("operand_bits", f"[selector bits, other bits], each at most what kind {attrs.kind!r} consumes "
                                     f"({top[0]}, {top[1]}); got {attrs.operand_bits}")


def operand_limits(attrs: ComputeAttributes) -> tuple[int, int]:
    """(selector, other) operand bits an array serves: its ``operand_bits``, else its kind's."""
    bits = attrs.operand_bits or kind(attrs.kind).operand_bits
    return int(bits[0]), int(bits[1])


def serves(attrs: ComputeAttributes, product: str, selector_bits: int, other_bits: int) -> bool:
    """Whether an array takes ``product`` with a selector operand (the weights of forward and dx, dY of dw) of
    ``selector_bits`` and the other operand of ``other_bits``."""
    sel, other = operand_limits(attrs)
    return product in attrs.products and selector_bits <= sel and other_bits <= other
