"""Off-chip DRAM: whole words per access, per-channel bandwidth and latency (the engine's DRAM channel)."""
from __future__ import annotations

from ._fields import Count, NonNeg, Positive
from .base import ActionSpec, AttributeModel, ComponentClass


class DramAttributes(AttributeModel):
    """Word size, per-channel bandwidth in gigabytes/s, access latency, channel count, capacity (None: unbounded)."""

    bandwidth_gbps: Positive
    word_bits: Count = 32
    latency_ns: NonNeg = 0.0
    channels: Count = 1
    capacity_bits: Count | None = None


class Dram(ComponentClass):
    name = "dram"
    description = "off-chip DRAM (moves whole words; timing from bandwidth_gbps and latency_ns)"
    Attributes = DramAttributes
    memory = True
    offchip = True
    order = 0

    def actions(self, attrs):
        return {"read_bit": ActionSpec("bit read (whole words per access)", timed=False),
                "write_bit": ActionSpec("bit written (whole words per access)", timed=False)}

    def footprint_units(self, attrs):
        return {"instance": 1.0, "channel": float(attrs.channels)}
