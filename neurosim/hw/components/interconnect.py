"""On-chip interconnect of the crossbar tiles: an H-tree or a bus between the periphery buffers and the tiles.

A crossbar tile names it (``interconnect``). Every bit written into or read out of a periphery buffer travels over
it once (inputs to the tiles' row drivers, sums from the ADCs and shift-adders, activations between layers), so
its one action ``transfer_bit`` is priced per bit moved: the wire energy of one bit over the stated mean path
(C_wire x length x V^2, plus repeaters where the source includes them). Area and leakage per tile used (the
wiring and repeaters that reach one tile) or per instance. ``kind`` is descriptive (htree or bus). Specified in
``docs/model.md``, section 5.8.
"""
from __future__ import annotations

from typing import Literal

from .base import MAPPED, ActionSpec, AttributeModel, ComponentClass


class InterconnectAttributes(AttributeModel):
    kind: Literal["htree", "bus"] = "htree"


class Interconnect(ComponentClass):
    name = "interconnect"
    description = "H-tree or bus between the periphery buffers and the crossbar tiles (energy per bit moved)"
    Attributes = InterconnectAttributes
    order = 22

    def actions(self, attrs):
        return {"transfer_bit": ActionSpec("bit moved over the interconnect (one buffer access)")}

    def footprint_units(self, attrs):
        return {"instance": 1.0, "tile": MAPPED}
