"""Crossbar input driver: turns an input vector into row voltages, in one or more read planes.

Kinds: ``binary`` (+-V_read, [BinAct]), ``ternary`` (a zero input drives no row), ``bit_serial`` (sign-magnitude,
``input_bits`` planes) and ``analog`` (an ideal DAC, x V_read). Its energy is part of the tile's ``read``.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import MAPPED, AttributeModel, ComponentClass


class InputDriverAttributes(AttributeModel):
    kind: Literal["binary", "ternary", "bit_serial", "analog"]
    input_bits: Annotated[int, Field(ge=1, le=16)] = 8


class InputDriver(ComponentClass):
    name = "input_driver"
    description = "row drivers of the crossbar tiles (binary, ternary, bit-serial or analog)"
    Attributes = InputDriverAttributes
    order = 11

    def footprint_units(self, attrs):
        return {"instance": 1.0, "row": MAPPED, "tile": MAPPED}
