"""On-chip weight-state buffer: holds the (N+1)-bit DST state indices (or the deployed codes) of the weights."""
from __future__ import annotations

from typing import Literal

from ._buffer import BufferAttributes, buffer_actions, buffer_units
from ._fields import Count
from .base import ComponentClass


class StateBufferAttributes(BufferAttributes):
    """Buffer attributes plus the bits per cell: an integer, or ``auto`` (= the N+1 bits of the method)."""

    cell_bits: Literal["auto"] | Count = "auto"


class StateBuffer(ComponentClass):
    name = "state_buffer"
    description = "on-chip weight-state cells ((N+1)-bit DST state indices, or the deployed binary/ternary codes)"
    Attributes = StateBufferAttributes
    memory = True
    order = 1

    def actions(self, attrs):
        return buffer_actions()

    def footprint_units(self, attrs):
        return buffer_units(attrs)
