"""Accumulator / activation unit: batch-norm scale and shift, activation thresholds, pooling compares."""
from __future__ import annotations

from typing import Literal

from ._fields import Count
from .base import ActionSpec, AttributeModel, ComponentClass


class AccumulatorAttributes(AttributeModel):
    """Lanes (elements per cycle), datapath width, and how a fused layer meets its product in the forward pass:
    ``streamed`` (it works on the product's output stream as outputs appear) or ``after`` (once the product's tile
    is done)."""

    lanes: Count
    bits: Count = 32
    fused: Literal["streamed", "after"] = "streamed"


class Accumulator(ComponentClass):
    name = "accumulator"
    description = "digital unit fused behind the products: batch norm, activation thresholds, pooling"
    Attributes = AccumulatorAttributes
    order = 5

    def actions(self, attrs):
        return {"add": ActionSpec("element op (one add)"), "compare": ActionSpec("element op (one compare)"),
                "mult": ActionSpec("element op (one multiply)")}

    def footprint_units(self, attrs):
        return {"instance": 1.0, "lane": float(attrs.lanes)}
