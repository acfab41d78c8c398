"""Integrator + comparator readout ([BinAct]): analog sums over tiles and planes, one decision per column."""
from __future__ import annotations

from .base import MAPPED, FixedActions


class Comparator(FixedActions):
    name = "comparator"
    description = "integrators per column and tile, one comparator decision per sample and column (binary outputs)"
    order = 13
    ACTIONS = {"integrate": "integrator sample (one column of one activated tile)",
               "decide": "comparator decision (one per sample and column)"}

    def footprint_units(self, attrs):
        return {"instance": 1.0, "column": MAPPED, "tile": MAPPED}
