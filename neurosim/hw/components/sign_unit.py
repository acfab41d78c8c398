"""Sign calculation unit (seed 004): the polarity of each error for the sign update."""
from __future__ import annotations

from .base import ActionSpec, ComponentClass


class SignUnit(ComponentClass):
    name = "sign_unit"
    description = "sign unit: error polarity (seed 004)"
    order = 18

    def actions(self, attrs):
        return {"sign": ActionSpec("error element (one sign)")}
