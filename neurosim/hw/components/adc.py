"""Crossbar ADC readout: every used column of an activated tile is converted; ``share`` columns per ADC."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._fields import Count
from .base import MAPPED, ActionSpec, AttributeModel, ComponentClass


class AdcAttributes(AttributeModel):
    bits: Annotated[int, Field(ge=1, le=16)] = 8
    share: Count = 8  # columns sharing one ADC


class Adc(ComponentClass):
    name = "adc"
    description = "per-tile ADCs (digital readout; partial sums added by the shift_adder)"
    Attributes = AdcAttributes
    order = 12

    def actions(self, attrs):
        return {"convert": ActionSpec("conversion (one column of one activated tile); latency per conversion slot")}

    def footprint_units(self, attrs):
        return {"instance": 1.0, "converter": MAPPED, "tile": MAPPED}
