"""Names both sides share: the training methods (one enum instead of strings scattered over the code), and the
"did you mean" of an unknown name (:func:`unknown_name`)."""
from __future__ import annotations

import difflib
import re
from enum import Enum
from typing import Iterable

__all__ = ["Method", "METHOD_NAMES", "METHOD_DESCRIPTIONS", "DST_METHODS", "HIDDEN_FLOAT_METHODS", "is_plain_name",
           "PLAIN_NAME_HELP", "close_names", "unknown_name", "UnknownName"]

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

# one line per method, for `neurosim list methods` and the help of --method
METHOD_DESCRIPTIONS: dict[str, str] = {
    "fp": "full precision: float weights and ReLU activations (the baseline)",
    "bwn": "BinaryConnect: binary weights {-1, +1} from float hidden weights, float activations",
    "twn": "ternary weight networks: weights {-1, 0, +1} from float hidden weights",
    "bnn": "binarized networks: binary weights and sign activations, float hidden weights",
    "gxnor": "GXNOR: ternary DST weights (N = 1, no float copy) and ternary activations, gated XNOR",
    "dst": "discrete state transition: weights in Z_N (2^N + 1 states, --N), any activation",
}


class UnknownName(ValueError):
    """A name that is none of the known ones; the message suggests the closest (see :func:`unknown_name`)."""


def close_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names closest to ``name`` (difflib, case-insensitive), best first; [] if none is close."""
    known = list(dict.fromkeys(known))
    lower = {k.lower(): k for k in known}
    return [lower[m] for m in difflib.get_close_matches(str(name).lower(), list(lower), n=n, cutoff=0.6)]


def unknown_name(what: str, name: str, known: Iterable[str], listed: str = "known", hint: str = "") -> str:
    """``unknown architecture 'gxnr' (did you mean 'gxnor'?); known: bnn, gxnor, ...`` (+ ``hint``)."""
    known = list(dict.fromkeys(known))
    close = close_names(name, known)
    guess = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return f"unknown {what} {str(name)!r}{guess}; {listed}: {', '.join(known)}{hint}"
