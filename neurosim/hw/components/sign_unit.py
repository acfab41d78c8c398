"""Sign calculation unit ([TrainingItself]): the polarity of each error for the sign update."""
from __future__ import annotations

from .base import FixedActions


class SignUnit(FixedActions):
    name = "sign_unit"
    description = "sign unit: error polarity ([TrainingItself])"
    order = 18
    ACTIONS = {"sign": "error element (one sign)"}
