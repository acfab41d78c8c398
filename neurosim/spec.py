"""Network spec strings, e.g. "32C5-MP2-64C5-MP2-512FC-SVM", "784-512-512-10", "2x(128C3p1)-MP2-1024FC-SVM".

Grammar (tokens joined by '-'):
- ``<n>`` a dense layer of n units; as the first token, the flattened input size; as the last, the output layer.
- ``<n>FC`` a dense layer of n units.
- ``<f>C<k>[p<pad>][s<stride>]`` a convolution of f filters of k x k (padding 0 and stride 1 by default).
- ``MP<k>`` k x k max pooling with stride k.
- ``SVM`` / ``SOFTMAX`` the output layer (classes from the dataset) with squared-hinge (L2-SVM) or
  softmax cross-entropy loss.
- ``<r>x(<tokens>)`` repeats the tokens r times.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class SpecError(ValueError):
    """A malformed network spec; the message names the token and what is allowed."""


@dataclass(frozen=True)
class LayerSpec:
    kind: str  # input | conv | pool | dense | output
    params: dict[str, Any] = field(default_factory=dict)


LOSSES = {"SVM": "squared_hinge", "SOFTMAX": "cross_entropy"}
_ALLOWED = ("<n>", "<n>FC", "<f>C<k>[p<pad>][s<stride>]", "MP<k>", "SVM", "SOFTMAX", "<r>x(<tokens>)")
_CONV = re.compile(r"^(\d+)C(\d+)(?:p(\d+))?(?:s(\d+))?$", re.IGNORECASE)
_POOL = re.compile(r"^MP(\d+)$", re.IGNORECASE)
_FC = re.compile(r"^(\d+)FC$", re.IGNORECASE)
_INT = re.compile(r"^\d+$")
_REPEAT = re.compile(r"^(\d+)x\((.*)\)$", re.IGNORECASE)


def _split_top(spec: str) -> list[str]:
    """Split on '-' outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in spec:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SpecError(f"network spec {spec!r}: unbalanced ')'")
        if ch == "-" and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise SpecError(f"network spec {spec!r}: unbalanced '('")
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _expand(spec: str, whole: str) -> list[str]:
    out: list[str] = []
    for tok in _split_top(spec):
        if not tok:
            raise SpecError(f"network spec {whole!r}: empty token (two '-' in a row, or a leading/trailing '-')")
        m = _REPEAT.match(tok)
        if m:
            times = int(m.group(1))
            if times < 1:
                raise SpecError(f"network spec {whole!r}: token {tok!r} repeats {times} times; must be >= 1")
            out.extend(_expand(m.group(2), whole) * times)
        else:
            out.append(tok)
    return out


def _positive(value: str, tok: str, whole: str, what: str) -> int:
    v = int(value)
    if v < 1:
        raise SpecError(f"network spec {whole!r}: token {tok!r} has {what} {v}; must be >= 1")
    return v


def parse_network(spec: str) -> list[LayerSpec]:
    """Parse a spec string into layer specs; raises SpecError naming the bad token."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"network spec must be a non-empty string like '784-512-10' (got {spec!r})")
    whole = spec.strip()
    tokens = _expand(whole, whole)
    layers: list[LayerSpec] = []
    for i, tok in enumerate(tokens):
        last = i == len(tokens) - 1
        if _INT.match(tok):
            n = _positive(tok, tok, whole, "size")
            if i == 0:
                layers.append(LayerSpec("input", {"size": n}))
            elif last:
                layers.append(LayerSpec("output", {"units": n, "loss": None}))
            else:
                layers.append(LayerSpec("dense", {"units": n}))
        elif m := _FC.match(tok):
            layers.append(LayerSpec("dense", {"units": _positive(m.group(1), tok, whole, "units")}))
        elif m := _CONV.match(tok):
            f = _positive(m.group(1), tok, whole, "filters")
            k = _positive(m.group(2), tok, whole, "kernel size")
            pad = int(m.group(3) or 0)
            stride = _positive(m.group(4) or "1", tok, whole, "stride")
            layers.append(LayerSpec("conv", {"filters": f, "kernel": k, "padding": pad, "stride": stride}))
        elif m := _POOL.match(tok):
            layers.append(LayerSpec("pool", {"pool": _positive(m.group(1), tok, whole, "pool size")}))
        elif tok.upper() in LOSSES:
            if not last:
                raise SpecError(f"network spec {whole!r}: {tok!r} is an output layer and must be the last token")
            layers.append(LayerSpec("output", {"units": None, "loss": LOSSES[tok.upper()]}))
        else:
            raise SpecError(f"network spec {whole!r}: cannot read token {tok!r}; allowed tokens: {', '.join(_ALLOWED)}")
    if layers[-1].kind != "output":
        raise SpecError(f"network spec {whole!r}: must end with an output layer (a number, SVM or SOFTMAX)")
    if not any(l.kind in ("dense", "conv", "output") for l in layers):
        raise SpecError(f"network spec {whole!r}: has no layer with weights")
    return layers
