"""Digital shift-add of ADC partial sums across row tiles and planes (and the digital dW accumulation)."""
from __future__ import annotations

from .base import FixedActions


class ShiftAdder(FixedActions):
    name = "shift_adder"
    description = "digital adds of partial sums (one per column per extra partial sum; one cycle per tree level)"
    order = 14
    ACTIONS = {"add": "digital add (one partial sum, fold or dW accumulation)"}
