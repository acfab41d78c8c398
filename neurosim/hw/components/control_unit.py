"""Digital control unit of a crossbar accelerator: state adders, thresholds, compares, counters (one op each)."""
from __future__ import annotations

from .base import FixedActions


class ControlUnit(FixedActions):
    name = "control_unit"
    description = "digital control logic (DST state adds, periphery ops, [TrainingItself]'s control unit)"
    order = 20
    ACTIONS = {"op": "digital operation (one add, compare or count)"}
