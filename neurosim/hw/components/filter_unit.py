"""Filter unit ([TrainingItself]): the window comparator that gates the backward error (and the output dead band)."""
from __future__ import annotations

from .base import FixedActions


class Filter(FixedActions):
    name = "filter"
    description = "filter unit: window comparator on the activations ([TrainingItself])"
    order = 17
    ACTIONS = {"filter": "element (one window comparison)"}
