"""Crossbar write driver: open-loop pulse trains, SET and RESET phases; ``row`` or ``column_parallel`` writes."""
from __future__ import annotations

from typing import Literal

from .base import MAPPED, ActionSpec, AttributeModel, ComponentClass


class WriteDriverAttributes(AttributeModel):
    mode: Literal["row", "column_parallel"] = "row"


class WriteDriver(ComponentClass):
    name = "write_driver"
    description = "write drivers of the crossbar tiles (one pulse slot per cycle of pulse_width)"
    Attributes = WriteDriverAttributes
    order = 19

    def actions(self, attrs):
        return {"pulse": ActionSpec("write pulse (one device, one pulse); latency per write-driver cycle",
                                    device=("energy", "latency"), device_energy=True)}

    def footprint_units(self, attrs):
        return {"instance": 1.0, "tile": MAPPED}
