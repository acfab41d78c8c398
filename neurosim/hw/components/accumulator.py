"""Accumulator / activation unit: batch-norm scale and shift, activation thresholds, pooling compares."""
from __future__ import annotations

from ._fields import Count
from .base import ActionSpec, AttributeModel, ComponentClass


class AccumulatorAttributes(AttributeModel):
    """Lanes (elements per cycle) and datapath width."""

    lanes: Count
    bits: Count = 32


class Accumulator(ComponentClass):
    name = "accumulator"
    description = "digital unit fused behind the products: batch norm, activation thresholds, pooling"
    Attributes = AccumulatorAttributes
    order = 5

    def actions(self, attrs):
        return {"add": ActionSpec("element op (one add)"), "compare": ActionSpec("element op (one compare)"),
                "mult": ActionSpec("element op (one multiply)")}
