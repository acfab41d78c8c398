"""``--set KEY=VALUE``: dotted-path overrides of a workload or an architecture, applied to the file's raw mapping
before it is validated, so an overridden value is checked exactly as if the file said it.

Keys: ``workload.<key>[.<sub>]`` (``workload.N``, ``workload.activation.r``, ``workload.train.lr_start``,
``workload.dataset.train``; ``seed`` is short for ``workload.seed``) and ``arch.<key>``: a top-level key
(``arch.clock_mhz``, ``arch.placement.weights``, ``arch.cpu.power_w``) or a component by name, then an attribute
(``arch.pe_array.lanes``, the same as ``arch.pe_array.attributes.lanes``), an action field
(``arch.pe_array.actions.xnor.energy_pj``), a device parameter (``arch.crossbar.device.read_noise``) or another
component key, a value or one level into a mapping (``arch.pe_array.description``, ``arch.pe_array.leakage.mw``).
List items are named, never indexed. Setting one of a pair that
excludes the other (``clock_mhz`` / ``clock_hz``, ``latency_cycles`` / ``latency_ns``) drops the other.

The VALUE is YAML read with the project's strict loader (``1e-3`` is a number, ``true`` a boolean, ``[0, 500]`` a
list). An unknown key is an error naming ``--set KEY`` and the keys allowed at that level; a bad value is the
loader's own message (file: key: what is allowed) prefixed with the ``--set`` it came from.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Callable, Iterable, Mapping, NoReturn, Sequence, TypeVar

from .yaml_io import load_yaml_text

__all__ = ["Override", "OverrideError", "parse_set", "parse_sets", "make_override", "split_targets", "edit_workload",
           "edit_arch", "ArchKeys", "WorkloadKeys", "override_label", "is_override_label", "content_digest",
           "WORKLOAD", "ARCH"]

WORKLOAD, ARCH = "workload", "arch"
_LABEL_MARK = " with --set "
T = TypeVar("T")


class OverrideError(ValueError):
    """A ``--set`` that names no key of the file; the message names the flag and the keys allowed."""


@dataclass(frozen=True)
class Override:
    """One ``--set KEY=VALUE``: the dotted key as given, the parsed value, and how to name it in messages."""

    key: str
    value: Any
    text: str  # the VALUE as written (for messages and labels)

    @property
    def flag(self) -> str:
        return f"--set {self.key}={self.text}"

    @property
    def target(self) -> str:
        """``workload`` or ``arch``."""
        return self.parts[0]

    @property
    def parts(self) -> tuple[str, ...]:
        """The key split at dots, ``seed`` expanded to ``workload.seed``."""
        parts = tuple(self.key.split("."))
        return (WORKLOAD, "seed") if parts == ("seed",) else parts


def parse_set(text: str) -> Override:
    """``KEY=VALUE`` -> an Override (VALUE parsed as strict YAML); a malformed one names the flag."""
    key, eq, raw = str(text).partition("=")
    key = key.strip()
    if not eq or not key:
        raise OverrideError(f"--set {text}: expected KEY=VALUE, e.g. --set workload.train.lr_start=1e-3 or "
                            f"--set arch.pe_array.lanes=512")

    def fail(where: str, msg: str) -> NoReturn:
        raise OverrideError(f"--set {text}: the value {raw!r} is not YAML: {msg}")

    return make_override(key, load_yaml_text(raw, fail) if raw.strip() else None, raw)


def make_override(key: str, value: Any, text: str | None = None) -> Override:
    """An Override of an already-parsed value (sweep files, the Python API); the key's form is checked."""
    if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
        raise OverrideError(f"--set {key}: a key is dotted names, e.g. workload.train.lr_start or arch.pe_array.lanes")
    ov = Override(key, value, _text(value) if text is None else text)
    if ov.parts[0] not in (WORKLOAD, ARCH) or len(ov.parts) < 2:
        raise OverrideError(f"--set {key}: must start with 'workload.' or 'arch.' (or be 'seed'); allowed: "
                            f"workload.<key> (e.g. workload.N, workload.activation.r), arch.<key> (e.g. "
                            f"arch.clock_mhz, arch.<component>.<attribute>)")
    return ov


def _text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def parse_sets(texts: Iterable[str] | None) -> tuple[Override, ...]:
    """Every ``--set``; a key given twice is an error (the later would silently win)."""
    out: list[Override] = []
    for t in texts or ():
        ov = parse_set(t)
        if any(o.parts == ov.parts for o in out):
            raise OverrideError(f"--set {ov.key}: given twice; give each key once")
        out.append(ov)
    return tuple(out)


def split_targets(overrides: Sequence[Override]) -> tuple[tuple[Override, ...], tuple[Override, ...]]:
    """(workload overrides, architecture overrides)."""
    return (tuple(o for o in overrides if o.target == WORKLOAD), tuple(o for o in overrides if o.target == ARCH))


def override_label(src: str, overrides: Sequence[Override]) -> str:
    """How an overridden file is named from then on (in later messages and summaries)."""
    return src + _LABEL_MARK + ", --set ".join(f"{o.key}={o.text}" for o in overrides) if overrides else src


def is_override_label(label: str) -> bool:
    return _LABEL_MARK in str(label)


def _fail(ov: Override, msg: str) -> NoReturn:
    raise OverrideError(f"--set {ov.key}: {msg}")


# ---------------------------------------------------------------------------------------------- workloads
@dataclass(frozen=True)
class WorkloadKeys:
    """The keys a workload file allows: its top level, and the keys of its nested mappings (handed over by the
    workload loader)."""

    top: tuple[str, ...]
    nested: Mapping[str, tuple[str, ...]]


def apply_workload(raw: dict[str, Any], overrides: Sequence[Override],
                   keys_of: WorkloadKeys) -> tuple[dict[str, Any], dict[int, str]]:
    """A copy of a workload mapping with the overrides applied; and each override's key path in the file."""
    top, nested = keys_of.top, keys_of.nested
    doc = copy.deepcopy(raw)
    paths: dict[int, str] = {}
    for i, ov in enumerate(overrides):
        keys = ov.parts[1:]
        if keys[0] not in top:
            _fail(ov, f"unknown workload key {keys[0]!r}; allowed: {', '.join(top)}")
        if len(keys) == 1:
            doc[keys[0]] = copy.deepcopy(ov.value)
        elif keys[0] in nested and len(keys) == 2:
            if keys[1] not in nested[keys[0]]:
                _fail(ov, f"unknown key {keys[1]!r} of workload.{keys[0]}; allowed: {', '.join(nested[keys[0]])}")
            sub = doc.get(keys[0])
            if isinstance(sub, str) and keys[0] == "activation":
                sub = {"kind": sub}  # activation: sign is short for {kind: sign}
            sub = dict(sub) if isinstance(sub, dict) else {}
            sub[keys[1]] = copy.deepcopy(ov.value)
            doc[keys[0]] = sub
        else:
            where = f"workload.{keys[0]}"
            allowed = f"keys {', '.join(nested[keys[0]])}" if keys[0] in nested else "no keys (it is a value)"
            _fail(ov, f"{where} has {allowed}; {'.'.join(keys)} is too deep")
        paths[i] = ".".join(keys)
    return doc, paths


def edit_workload(raw: dict[str, Any], overrides: Sequence[Override], src: str,
                  build: Callable[[dict[str, Any], str], T], keys: WorkloadKeys) -> T:
    """``build(raw with overrides, src)``; its error is prefixed with the override it came from."""
    doc, paths = apply_workload(raw, overrides, keys)
    return _built(build, doc, raw, src, overrides, paths)


# ---------------------------------------------------------------------------------------------- architectures
_EXCLUSIVE = {"clock_mhz": "clock_hz", "clock_hz": "clock_mhz", "latency_cycles": "latency_ns",
              "latency_ns": "latency_cycles"}


@dataclass(frozen=True)
class ArchKeys:
    """The keys an architecture file allows at each level, handed over by its loader (schema never imports it)."""

    top: tuple[str, ...]
    component: tuple[str, ...]
    action: tuple[str, ...]
    nested: Mapping[str, tuple[str, ...]]  # the top-level mappings (placement, cpu)


def _device_keys() -> tuple[str, ...]:
    from ..devices import DeviceParams

    return tuple(f.name for f in fields(DeviceParams)) + ("source", "pulse_energy_source")


def _attribute_names(cls: Any) -> tuple[str, ...] | None:
    """The attributes of a component class (None for an unknown class: the loader names it)."""
    from ..hw.components import component_class

    try:
        return tuple(component_class(str(cls)).Attributes.model_fields)
    except ValueError:
        return None


def _set(mapping: dict[str, Any], key: str, value: Any) -> None:
    mapping[key] = copy.deepcopy(value)
    if key in _EXCLUSIVE:
        mapping.pop(_EXCLUSIVE[key], None)


def _sub(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    """``mapping[key]`` as a fresh dict (created when absent or not a mapping)."""
    sub = mapping.get(key)
    sub = dict(sub) if isinstance(sub, dict) else {}
    mapping[key] = sub
    return sub


def apply_arch(raw: dict[str, Any], overrides: Sequence[Override],
               keys_of: ArchKeys) -> tuple[dict[str, Any], dict[int, str]]:
    """A copy of an architecture mapping with the overrides applied; and each override's key path in the file."""
    top, comp_keys, action_keys, nested = keys_of.top, keys_of.component, keys_of.action, keys_of.nested
    doc = copy.deepcopy(raw)
    comps = doc.get("components") if isinstance(doc.get("components"), list) else []
    index = {c.get("name"): i for i, c in enumerate(comps) if isinstance(c, dict)}
    paths: dict[int, str] = {}
    for i, ov in enumerate(overrides):
        keys = ov.parts[1:]
        head = keys[0]
        if head == "components":
            _fail(ov, f"name a component instead of the list: arch.<component>.<key>; components: "
                      f"{', '.join(map(str, index))}")
        if head in top:
            if len(keys) == 1:
                _set(doc, head, ov.value)
            elif len(keys) == 2 and (head in nested or isinstance(doc.get(head), dict)):
                if head in nested and keys[1] not in nested[head]:
                    _fail(ov, f"unknown key {keys[1]!r} of arch.{head}; allowed: {', '.join(nested[head])}")
                _set(_sub(doc, head), keys[1], ov.value)
            else:
                _fail(ov, f"arch.{head} has " + (f"keys {', '.join(nested[head])}" if head in nested else
                                                 "no keys (it is a value)") + f"; {'.'.join(keys)} is too deep")
            paths[i] = ".".join(keys)
            continue
        if head not in index:
            _fail(ov, f"unknown key {head!r}; allowed: {', '.join(k for k in top if k != 'components')}, or a "
                      f"component: {', '.join(map(str, index))}")
        c = comps[index[head]] = dict(comps[index[head]])
        paths[i] = f"components[{index[head]}]" + _apply_component(ov, c, keys[1:], comp_keys, action_keys,
                                                                   _device_keys())
    return doc, paths


def _apply_component(ov: Override, c: dict[str, Any], keys: tuple[str, ...], comp_keys: tuple[str, ...],
                     action_keys: tuple[str, ...], device_keys: tuple[str, ...]) -> str:
    """Apply one override inside component mapping ``c``; returns its key path below the component."""
    name = c.get("name")
    attrs = _attribute_names(c.get("class"))
    others = ", ".join(k for k in comp_keys if k != "name")
    allowed = f"its attributes ({', '.join(attrs) if attrs else 'none'}), or {others}"
    if not keys:
        _fail(ov, f"component {name!r}: name what to set: {allowed}")
    if keys[0] not in comp_keys:  # arch.pe_array.lanes: an attribute
        keys = ("attributes", *keys)
    head = keys[0]
    if head == "attributes":
        if len(keys) == 1:
            _set(c, head, ov.value)
        elif len(keys) == 2:
            if attrs is not None and keys[1] not in attrs:
                _fail(ov, f"unknown key {keys[1]!r} of component {name!r} (class {c.get('class')}); allowed: "
                          f"{allowed}")
            _set(_sub(c, "attributes"), keys[1], ov.value)
        else:
            _fail(ov, f"attribute {keys[1]!r} of component {name!r} is a value; {'.'.join(keys)} is too deep")
    elif head == "actions":
        if len(keys) == 1:
            _set(c, head, ov.value)
        elif len(keys) == 2:
            _set(_sub(c, "actions"), keys[1], ov.value)
        elif len(keys) == 3:
            if keys[2] not in action_keys:
                _fail(ov, f"unknown key {keys[2]!r} of action {keys[1]!r}; allowed: {', '.join(action_keys)}")
            actions = _sub(c, "actions")
            if keys[1] not in actions:
                have = ", ".join(map(str, actions)) or "none"
                _fail(ov, f"component {name!r} has no action {keys[1]!r} to change; its actions: {have} (set "
                          f"arch.{name}.actions.{keys[1]} to a whole mapping to add one)")
            _set(_sub(actions, keys[1]), keys[2], ov.value)
        else:
            _fail(ov, f"an action has keys {', '.join(action_keys)}; {'.'.join(keys)} is too deep")
    elif head == "device":
        if len(keys) == 1:
            _set(c, head, ov.value)
        elif len(keys) == 2:
            if keys[1] not in device_keys:
                _fail(ov, f"unknown key {keys[1]!r} of the device of {name!r}; allowed: {', '.join(device_keys)}")
            _set(_sub(c, "device"), keys[1], ov.value)
        else:
            _fail(ov, f"a device parameter is a value; {'.'.join(keys)} is too deep")
    else:  # another key of the component: a value, or a mapping one level deep (its keys checked by the loader)
        if head == "name":
            _fail(ov, "a component's name cannot be set (other components and the placement refer to it)")
        if len(keys) == 1:
            _set(c, head, ov.value)
        elif len(keys) == 2:
            _set(_sub(c, head), keys[1], ov.value)
        else:
            _fail(ov, f"{head!r} of component {name!r} is at most a mapping of values; {'.'.join(keys)} is too deep")
    return "." + ".".join(keys)


def edit_arch(raw: dict[str, Any], overrides: Sequence[Override], src: str,
              build: Callable[[dict[str, Any], str], T], keys: ArchKeys) -> T:
    """``build(raw with overrides, label)``; its error is prefixed with the override it came from."""
    doc, paths = apply_arch(raw, overrides, keys)
    return _built(build, doc, raw, src, overrides, paths, override_label(src, overrides))


# ---------------------------------------------------------------------------------------------- blame
def _built(build: Callable[[dict[str, Any], str], T], doc: dict[str, Any], raw: dict[str, Any], src: str,
           overrides: Sequence[Override], paths: Mapping[int, str], label: str | None = None) -> T:
    """``build(doc)``; an error the file alone does not give is prefixed with the overrides it came from."""
    try:
        return build(doc, label or src)
    except ValueError as e:
        if _error_of(build, raw, src) == str(e):
            raise  # the file itself is at fault, whatever the overrides say
        culprits = _blame(str(e), src, overrides, paths)
        raise type(e)(f"{', '.join(o.flag for o in culprits)}: {e}") from None


def _error_of(build: Callable[[dict[str, Any], str], Any], raw: dict[str, Any], src: str) -> str | None:
    """The message of the error the file gives without overrides (None: it validates)."""
    try:
        build(raw, src)
    except ValueError as e:
        return str(e)
    return None


def _segments(path: str) -> list[str]:
    return path.replace("[", ".[").split(".")


def _blame(msg: str, src: str, overrides: Sequence[Override], paths: Mapping[int, str]) -> list[Override]:
    """The overrides that share the longest key path with the error (all of them when none shares any)."""
    rest = msg[len(src) + 2:] if msg.startswith(src + ": ") else msg
    where = _segments(rest.split(": ", 1)[0].strip())
    best, score = list(overrides), 0
    for i, ov in enumerate(overrides):
        mine = _segments(paths.get(i, ""))
        n = 0
        while n < min(len(mine), len(where)) and mine[n] == where[n]:
            n += 1
        if n > score:
            best, score = [ov], n
        elif n == score and n > 0:
            best.append(ov)
    return best


# ---------------------------------------------------------------------------------------------- identity
def _plain(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj) if f.name != "source_file"}
    if hasattr(obj, "model_dump"):
        return _plain(obj.model_dump())
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def content_digest(obj: Any) -> str:
    """A stable digest of a validated object's content (an overridden architecture has no file that says it)."""
    return hashlib.sha256(json.dumps(_plain(obj), sort_keys=True, default=repr).encode()).hexdigest()[:16]
