"""Integrator + comparator readout (seed 003): analog sums over tiles and planes, one decision per column."""
from __future__ import annotations

from .base import ActionSpec, ComponentClass


class Comparator(ComponentClass):
    name = "comparator"
    description = "integrators per column and tile, one comparator decision per sample and column (binary outputs)"
    order = 13

    def actions(self, attrs):
        return {"integrate": ActionSpec("integrator sample (one column of one activated tile)"),
                "decide": ActionSpec("comparator decision (one per sample and column)")}
