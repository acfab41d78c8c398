"""Neuron circuit: one activation function evaluation per output (e.g. [TrainingItself]'s sigmoid lookup)."""
from __future__ import annotations

from .base import FixedActions


class Neuron(FixedActions):
    name = "neuron"
    description = "activation circuit (one evaluation per element)"
    order = 15
    ACTIONS = {"activate": "element (one activation)"}
