"""The component table of ``docs/model.md``, rendered from the registries (component classes and compute kinds).

:func:`component_table` returns Markdown: the component classes, their attributes (type and default, from each
class's pydantic ``Attributes`` model), the compute kinds, and every action with the unit it is counted in. The
actions of a class may depend on its attributes (a compute array's on its ``kind`` and ``policy``, an update
unit's on its ``kind``): the table tries every value of the attributes that take a fixed set of values (a
``Literal`` field, and the compute kinds), keeps the combinations the class accepts, and shows one block per
value of the attributes that change the actions. ``tests/test_docs_model.py`` fails when ``docs/model.md`` shows
another table than this one renders.

``python -m neurosim.hw.catalog`` prints the table; ``python -m neurosim.hw.catalog --update docs/model.md``
rewrites the block between the markers ``<!-- component-table:begin -->`` and ``<!-- component-table:end -->``.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from .arch import PLACEMENT_CLASSES
from .components import ActionSpec, ComponentClass, component_classes
from .kinds import kind_names, kinds

__all__ = ["BEGIN", "END", "component_table", "document_table", "main", "update_document"]

BEGIN = "<!-- component-table:begin -->"
END = "<!-- component-table:end -->"

# attributes whose allowed values come from a registry rather than a Literal: (class, attribute) -> values
_OPEN_CHOICES = {("compute_array", "kind"): kind_names}


class _Rejected(Exception):
    """A combination of attribute values the class's own checks reject."""


def _reject(key: str, msg: str) -> None:
    raise _Rejected(f"{key}: {msg}")


# ------------------------------------------------------------------ attribute types in words
def _bounds(metadata: list) -> str:
    """Bounds in words: ``>= 1``, ``> 0``, ``in 0..14`` (both ends inclusive), ``in (0, 1]``."""
    low = high = None
    for m in metadata:
        for c in (m.metadata if isinstance(m, FieldInfo) else [m]):
            if isinstance(c, annotated_types.Ge):
                low = ("[", c.ge)
            elif isinstance(c, annotated_types.Gt):
                low = ("(", c.gt)
            elif isinstance(c, annotated_types.Le):
                high = ("]", c.le)
            elif isinstance(c, annotated_types.Lt):
                high = (")", c.lt)
    if low and high:
        if low[0] == "[" and high[0] == "]":
            return f"in {low[1]}..{high[1]}"
        return f"in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f"{'<=' if high[0] == ']' else '<'} {high[1]}"
    return ""


def _type_words(tp: Any, metadata: list = ()) -> str:
    """A field type in words: ``int >= 1``, ``gating or skipping``, ``float > 0 or None``."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *meta = get_args(tp)
        return _type_words(base, list(metadata) + meta)
    if origin is Literal:
        return " or ".join(str(v) for v in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_words(a) for a in get_args(tp))
    if tp is type(None):
        return "None"
    name = getattr(tp, "__name__", str(tp))
    return f"{name} {_bounds(list(metadata))}".strip()


def _default_words(field: FieldInfo) -> str:
    return "required" if field.is_required() else f"`{field.default}`"


# ------------------------------------------------------------------ attribute values to try
def _literal_values(tp: Any) -> tuple:
    """The values of a Literal field (also inside Optional / Annotated), else ()."""
    origin = get_origin(tp)
    if origin is Literal:
        return get_args(tp)
    if origin in (Union, types.UnionType, Annotated):
        found: tuple = ()
        for a in get_args(tp):
            found += _literal_values(a)
        return found
    return ()


def _choices(cls: ComponentClass) -> dict[str, tuple]:
    """Attributes that take a fixed set of values (Literal fields, registry names), in field order."""
    out: dict[str, tuple] = {}
    for name, field in cls.Attributes.model_fields.items():
        values = _OPEN_CHOICES[(cls.name, name)]() if (cls.name, name) in _OPEN_CHOICES else \
            _literal_values(field.annotation)
        if values:
            out[name] = tuple(values)
    return out


def _sample(field_name: str, field: FieldInfo) -> Any:
    """A valid value for a required attribute that is not a choice: the lower bound of a number, a name."""
    tp = field.annotation
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if tp is int or tp is float:
        low = 1
        for m in field.metadata:
            if isinstance(m, annotated_types.Ge):
                low = max(low, m.ge)
        return tp(low)
    return field_name  # a string: e.g. the name of the component a tile refers to


def _combinations(cls: ComponentClass) -> list[tuple[dict, Any]]:
    """(choice values, attribute model) for every combination of choice values the class accepts; if its checks
    reject every combination (they want values a table does not need), the ones its schema accepts."""
    fields = cls.Attributes.model_fields
    choices = _choices(cls)
    base = {n: _sample(n, f) for n, f in fields.items() if f.is_required() and n not in choices}
    parsed: list[tuple[dict, Any]] = []
    accepted: list[tuple[dict, Any]] = []
    for values in itertools.product(*choices.values()):
        chosen = dict(zip(choices, values))
        try:
            attrs = cls.Attributes.model_validate({**base, **chosen})
        except ValidationError:
            continue
        parsed.append((chosen, attrs))
        try:
            cls.check(attrs, _reject)
        except _Rejected:
            continue
        accepted.append((chosen, attrs))
    return accepted or parsed


# ------------------------------------------------------------------ action blocks
def _signature(actions: dict[str, ActionSpec]) -> tuple:
    return tuple(actions.items())


def _shape(actions: dict[str, ActionSpec]) -> tuple:
    """What an action table is apart from which actions are required."""
    return tuple((a, s.unit, s.device, s.device_energy, s.from_device) for a, s in actions.items())


def _blocks(cls: ComponentClass) -> list[tuple[str, dict[str, ActionSpec], dict[str, str]]]:
    """(label, actions, required-in-words) per block of the action table of a class.

    One block per value of the attributes that change the actions; blocks that differ only in which actions are
    required, over every value of one attribute, are merged (the required column then names the condition).
    """
    combos = _combinations(cls)
    if not combos:
        return [("", cls.actions(None), {})]
    acts = [cls.actions(attrs) for _, attrs in combos]
    names = list(combos[0][0])
    matter = []
    for f in names:
        others = [g for g in names if g != f]
        seen: dict[tuple, tuple] = {}
        for (chosen, _), a in zip(combos, acts):
            key = tuple(chosen[g] for g in others)
            sig = _signature(a)
            if seen.setdefault(key, sig) != sig:
                matter.append(f)
                break
    # one variant per value of the attributes that matter (first combination of each)
    variants: dict[tuple, tuple[dict, dict[str, ActionSpec]]] = {}
    for (chosen, _), a in zip(combos, acts):
        variants.setdefault(tuple(chosen[f] for f in matter), ({f: chosen[f] for f in matter}, a))
    # blocks as (position, label, actions, required in words); position keeps the order of the combinations
    out: list[tuple[int, dict, dict[str, ActionSpec], dict[str, str]]] = [
        (i, lab, a, {}) for i, (lab, a) in enumerate(variants.values())]
    choices = _choices(cls)
    for f in reversed(matter):  # merge over f where only the required flags differ
        groups: dict[tuple, list] = {}
        for block in out:
            groups.setdefault(tuple((g, v) for g, v in block[1].items() if g != f), []).append(block)
        merged = []
        for key, members in groups.items():
            values = [m[1].get(f) for m in members]
            mergeable = (f in members[0][1] and len(members) > 1 and set(values) == set(choices[f])
                         and len({_shape(m[2]) for m in members}) == 1 and not any(m[3] for m in members))
            if not mergeable:
                merged.extend(members)
                continue
            first = members[0][2]
            req: dict[str, str] = {}
            for action in first:
                where = [v for v, m in zip(values, members) if m[2][action].required]
                if 0 < len(where) < len(values):
                    req[action] = "if " + " or ".join(f"{f}: {v}" for v in where)
            merged.append((members[0][0], dict(key), first, req))
        out = sorted(merged, key=lambda b: b[0])
    return [(", ".join(f"{f}: {v}" for f, v in lab.items()), a, req) for _, lab, a, req in out]


# ------------------------------------------------------------------ Markdown
def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return lines


def _references(cls: ComponentClass) -> dict[str, tuple[str, ...]]:
    """Attributes that name other components, with every optional name filled in (e.g. a copy tile's copy_of)."""
    out: dict[str, tuple[str, ...]] = {}
    for _, attrs in _combinations(cls):
        names = {n: n for n, f in cls.Attributes.model_fields.items()
                 if getattr(attrs, n) is None and str in get_args(f.annotation)}
        for k, v in cls.references(attrs.model_copy(update=names)).items():
            out.setdefault(k, v)
    return out


def _class_rows() -> list[list[Any]]:
    rows = []
    for name, cls in component_classes().items():
        flags = (("memory", cls.memory), ("off chip", cls.offchip), ("has a `device`", cls.takes_device))
        traits = [t for t, on in flags if on]
        holds = [d for d, classes in PLACEMENT_CLASSES.items() if name in classes]
        refs = [f"`{a}`: {' or '.join(c)}" for a, c in _references(cls).items()]
        rows.append([f"`{name}`", cls.description, ", ".join(traits) or "-", ", ".join(holds) or "-",
                     "; ".join(refs) or "-"])
    return rows


def _attribute_rows() -> list[list[Any]]:
    rows = []
    for name, cls in component_classes().items():
        fields = cls.Attributes.model_fields
        if not fields:
            rows.append([f"`{name}`", "-", "-", "-"])
        for f, info in fields.items():
            words = (f"one of: {', '.join(_OPEN_CHOICES[(name, f)]())}" if (name, f) in _OPEN_CHOICES
                     else _type_words(info.annotation, info.metadata))
            rows.append([f"`{name}`", f"`{f}`", words, _default_words(info)])
    return rows


def _kind_rows() -> list[list[Any]]:
    rows = []
    for name, k in kinds().items():
        def names(t: tuple[str, ...]) -> str:
            return ", ".join(f"`{a}`" for a in t) or "-"

        rows.append([f"`{name}`", k.fires, names(k.per_pair), names(k.per_event), names(k.per_busy_lane),
                     f"`{k.rest}`" + (" (required)" if k.rest_required else " (optional)"),
                     f"{k.operand_bits[0]}, {k.operand_bits[1]}",
                     "yes: adds `index`, `compact`" if k.event_driven else "no (nothing to skip)", k.description])
    return rows


def _notes(spec: ActionSpec) -> str:
    out = []
    if spec.from_device:
        out.append("priced by the device physics, not given in the file")
    if spec.device:
        out.append(" and ".join({"energy": "energy_pj", "latency": "latency_ns"}[d] for d in spec.device)
                   + " may be `device`")
    if spec.device_energy:
        out.append("counted as device energy")
    return "; ".join(out) or "-"


def _action_rows() -> list[list[Any]]:
    rows = []
    for name, cls in component_classes().items():
        for label, actions, req in _blocks(cls):
            if not actions:
                rows.append([f"`{name}`", label or "-", "-", "no actions of its own", "-", "-"])
            for a, spec in actions.items():
                required = "-" if spec.from_device else req.get(a, "yes" if spec.required else "no")
                rows.append([f"`{name}`", label or "-", f"`{a}`", spec.unit, required, _notes(spec)])
    return rows


_INTRO = ("Generated by `python -m neurosim.hw.catalog` from the component and kind registries; do not edit by "
          "hand.")
_CLASSES = ("**Component classes.** *Traits*: a memory can be named by the placement (*holds*); off chip is DRAM; a "
            "class with a `device` block carries device physics. *Names*: attributes that name another component, "
            "and the classes it may have.")
_ATTRIBUTES = ("**Attributes** (the `attributes:` mapping of a component; unknown keys are errors, numbers are "
               "strict: an integer field does not take 1.0).")
_KINDS = ("**Compute kinds** (`compute_array` attribute `kind`): the event rule and the action lists by count unit. "
          "Operand bits are (weight, activation), used for inputs without a method.")
_ACTIONS = ("**Actions.** One block per value of the attributes that change a class's actions. *Counted per*: the "
            "unit the simulators count, so `energy_pj` in the file is per one of these. *Required*: whether the file "
            "must price it (`rest` left out is counted apart with zero energy and a note; `index` and `compact` are "
            "not counted under gating).")


def component_table() -> str:
    """The generated block of ``docs/model.md``: classes, attributes, compute kinds and actions, as Markdown."""
    lines = [_INTRO, "", _CLASSES, ""]
    lines += _table(["class", "what it is", "traits", "holds", "names"], _class_rows())
    lines += ["", _ATTRIBUTES, ""]
    lines += _table(["class", "attribute", "type", "default"], _attribute_rows())
    lines += ["", _KINDS, ""]
    lines += _table(["kind", "event rule", "per operand pair", "per firing lane", "per lane of a busy cycle",
                     "per resting lane-slot", "operand bits", "skipping", "description"], _kind_rows())
    lines += ["", _ACTIONS, ""]
    lines += _table(["class", "when", "action", "counted per", "required", "notes"], _action_rows())
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the document
def document_table(text: str) -> str:
    """The block between the markers of a document's text (ValueError if the markers are missing)."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"the document must hold one {BEGIN} ... {END} block")
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip("\n") + "\n"


def update_document(path: str | Path) -> bool:
    """Rewrite the block between the markers of ``path`` with :func:`component_table`; True if it changed."""
    path = Path(path)
    text = path.read_text()
    document_table(text)
    new = text[:text.index(BEGIN) + len(BEGIN)] + "\n" + component_table() + text[text.index(END):]
    if new != text:
        path.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neurosim.hw.catalog", description=__doc__.splitlines()[0])
    ap.add_argument("--update", metavar="DOC", help="rewrite the component-table block of this Markdown file")
    args = ap.parse_args(argv)
    if args.update:
        print(f"{args.update}: {'updated' if update_document(args.update) else 'up to date'}")
    else:
        sys.stdout.write(component_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
