"""On-chip SRAM buffer: activations, batch-norm parameters, hidden weights or optimizer state, as placed."""
from __future__ import annotations

from ._buffer import BufferAttributes, buffer_actions, buffer_units
from .base import ComponentClass


class SramBuffer(ComponentClass):
    name = "sram_buffer"
    description = "on-chip SRAM (activations, batch-norm parameters, or what the placement puts there)"
    Attributes = BufferAttributes
    memory = True
    order = 2

    def actions(self, attrs):
        return buffer_actions()

    def footprint_units(self, attrs):
        return buffer_units(attrs)
