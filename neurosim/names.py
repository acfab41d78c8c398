"""Names both sides share: the training methods (one enum instead of strings scattered over the code)."""
from __future__ import annotations

import re
from enum import Enum

__all__ = ["Method", "METHOD_NAMES", "DST_METHODS", "HIDDEN_FLOAT_METHODS", "is_plain_name", "PLAIN_NAME_HELP"]

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
PLAIN_NAME_HELP = "a plain name of letters, digits, '_', '-', '.' (no path separators, no '..', at most 100 characters)"


def is_plain_name(v: object) -> bool:
    """Whether ``v`` may name a report folder: letters, digits, ``_ - .``, no separators and no ``..``."""
    return isinstance(v, str) and bool(_PLAIN.fullmatch(v)) and ".." not in v


class Method(str, Enum):
    """A training method by name (a ``str``, so it compares equal to its value and prints as it)."""

    FP = "fp"  # full precision, ReLU
    BWN = "bwn"  # BinaryConnect: binary weights, float hidden weights
    TWN = "twn"  # ternary weight networks, float hidden weights
    BNN = "bnn"  # binary weights and sign activations
    GXNOR = "gxnor"  # ternary DST weights (N = 1) and ternary activations
    DST = "dst"  # DST weights in Z_N for any N, any activation

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, name: str) -> "Method":
        """The method called ``name``; a ValueError naming the allowed ones otherwise."""
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unknown method {name!r}; allowed: {', '.join(METHOD_NAMES)}") from None

    @property
    def discrete_states(self) -> bool:
        """Whether weights are DST state indices ((N+1)-bit, no float copy)."""
        return self in DST_METHODS


METHOD_NAMES = tuple(m.value for m in Method)
DST_METHODS = frozenset({Method.GXNOR, Method.DST})
HIDDEN_FLOAT_METHODS = frozenset({Method.BWN, Method.TWN, Method.BNN})  # deployed code derived from a float
