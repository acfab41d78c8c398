"""Analog subtractor ([TrainingItself]): the output error t - o, one per output element."""
from __future__ import annotations

from .base import FixedActions


class Subtractor(FixedActions):
    name = "subtractor"
    description = "analog subtractor t - o ([TrainingItself])"
    order = 16
    ACTIONS = {"subtract": "output element (one subtraction)"}
