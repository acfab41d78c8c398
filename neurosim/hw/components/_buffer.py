"""What the on-chip buffer classes share: capacity and a port of banks x width bits per cycle."""
from __future__ import annotations

from ._fields import Count
from .base import ActionSpec, AttributeModel


class BufferAttributes(AttributeModel):
    """Capacity in bits, and one access of ``banks`` x ``width_bits`` bits per cycle."""

    capacity_bits: Count
    width_bits: Count
    banks: Count = 1


def buffer_actions() -> dict[str, ActionSpec]:
    return {"read_bit": ActionSpec("bit read"), "write_bit": ActionSpec("bit written")}


def buffer_units(attrs: BufferAttributes) -> dict[str, float | None]:
    """Footprint units of a buffer: the macro, its banks, its bits."""
    return {"instance": 1.0, "bank": float(attrs.banks), "bit": float(attrs.capacity_bits)}
