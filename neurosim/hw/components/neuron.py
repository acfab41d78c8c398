"""Neuron circuit: one activation function evaluation per output (e.g. seed 004's sigmoid lookup)."""
from __future__ import annotations

from .base import ActionSpec, ComponentClass


class Neuron(ComponentClass):
    name = "neuron"
    description = "activation circuit (one evaluation per element)"
    order = 15

    def actions(self, attrs):
        return {"activate": ActionSpec("element (one activation)")}
