"""Input and output buffers (SRAM or register file) at the crossbar periphery.

A crossbar tile names them (``input_buffer``, ``output_buffer``; the same component may serve both): the input
vectors are written into the input buffer as they arrive (from the previous layer's periphery, or from the host
for the first layer) and read out to the row drivers once per crossbar read; the sums that leave the ADCs and
shift-adders are written into the output buffer and read out toward the periphery and the next layer. Unlike a
``sram_buffer`` it is not a memory the placement names: it holds nothing between layers of a batch but the
vectors in flight. Energy per bit read or written; area and leakage per bit of capacity, per bank, per tile used or
per instance. The counts are specified in ``docs/model.md``, section 5.8.
"""
from __future__ import annotations

from ._buffer import BufferAttributes, buffer_actions, buffer_units
from .base import MAPPED, ComponentClass


class PeripheryBuffer(ComponentClass):
    name = "periphery_buffer"
    description = ("crossbar input/output buffer (input vectors to the row drivers, ADC/shift-adder sums out; not "
                   "placed)")
    Attributes = BufferAttributes
    order = 21

    def actions(self, attrs):
        return buffer_actions()

    def footprint_units(self, attrs):
        return {**buffer_units(attrs), "tile": MAPPED}
