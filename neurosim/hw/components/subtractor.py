"""Analog subtractor (seed 004): the output error t - o, one per output element."""
from __future__ import annotations

from .base import ActionSpec, ComponentClass


class Subtractor(ComponentClass):
    name = "subtractor"
    description = "analog subtractor t - o (seed 004)"
    order = 16

    def actions(self, attrs):
        return {"subtract": ActionSpec("output element (one subtraction)")}
