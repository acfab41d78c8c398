"""Weight-update unit: applies one optimizer step to a layer's weights (``lanes`` weights per cycle).

Kinds: ``dst_fixed_point`` (DST: a fixed-point adder on the state indices, an LFSR draw and the tanh(m x) table
for the probabilistic projection), ``float_binarize`` (BWN/TWN/BNN: float add on the hidden weight, then the space
switch to the deployed code), ``float`` (full precision). The rules are in :mod:`neurosim.hw.weight_memory`.
"""
from __future__ import annotations

from typing import Literal

from ._fields import Count
from .base import ActionSpec, AttributeModel, ComponentClass

UPDATE_ACTIONS = {
    "dst_fixed_point": {"state_add": "weight (one fixed-point state add)", "rng": "weight (one random draw)",
                        "table_lookup": "weight (one tau(nu) table read)"},
    "float_binarize": {"float_add": "weight (one float add)", "space_switch": "weight (float -> deployed code)"},
    "float": {"float_add": "weight (one float add)"},
}


class UpdateAttributes(AttributeModel):
    """Update kind, weights updated per cycle, and which weights it writes back: only those whose state changed
    (``changed``, DST's saving) or every weight it read (``all``, a plain read-modify-write). Time and energy are
    both charged for that set; float kinds change every weight, so they write all."""

    kind: Literal["dst_fixed_point", "float_binarize", "float"]
    lanes: Count = 1
    write_back: Literal["changed", "all"] = "changed"


class UpdateUnit(ComponentClass):
    name = "update_unit"
    description = "weight-update unit (DST fixed point, float + binarize, or float)"
    Attributes = UpdateAttributes
    order = 4

    def actions(self, attrs):
        return {a: ActionSpec(u) for a, u in UPDATE_ACTIONS[attrs.kind].items()}

    def footprint_units(self, attrs):
        return {"instance": 1.0, "lane": float(attrs.lanes)}
