"""Architecture configs: a YAML file -> validated, typed, frozen components (Timeloop/Accelergy style).

An architecture names its components (class, class-specific attributes, and an action table giving the
energy, latency and source of every action) and a placement saying where each kind of data lives. Workloads
and action counts are kept elsewhere; this module only describes the machine, and never imports training code.

Units: ``energy_pj`` is per action: per bit for memories (``read_bit``/``write_bit``), per operand pair or
lane operation for compute units, per weight for update units. ``latency_cycles`` is the number of cycles one
action occupies its unit (issue latency); memory timing comes from the attributes instead (DRAM
``bandwidth_gbps`` per channel in gigabytes/s and ``latency_ns``; buffers ``banks`` x ``width_bits`` per
cycle). Example::

    name: gxnor
    technology: 45nm
    clock_mhz: 1000
    components:
      - name: pe
        class: compute_array
        attributes: {kind: gated_xnor, lanes: 256, policy: gating, accumulator_bits: 16}
        actions:
          xnor: {energy_pj: 0.00375, latency_cycles: 1, source: "derived: one full-adder bit, 0.03/8 pJ"}
          ...
    placement: {weights: state_buffer, activations: global_buffer, optimizer_state: dram, batchnorm: global_buffer}
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, NoReturn

import yaml

__all__ = [
    "ArchError", "Action", "Component", "Placement", "Architecture", "DramAttributes", "BufferAttributes",
    "ComputeAttributes", "UpdateAttributes", "AccumulatorAttributes", "CLASSES", "COMPUTE_KINDS",
    "UPDATE_KINDS", "PLACEMENT_CLASSES", "ARCH_DIR", "load_arch", "find_arch", "shipped_archs",
]

ARCH_DIR = Path(__file__).resolve().parents[2] / "arch_configs"


class ArchError(ValueError):
    """A bad architecture file or query; the message names the file, the key path and what is allowed."""


class _Bad(Exception):
    """Internal: a value check failed; the caller adds the file and key path."""


# ---------------------------------------------------------------- value checks (value -> parsed value)

def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"must be a number, got {v!r}")
    if not math.isfinite(v):
        raise _Bad(f"must be finite, got {v!r}")
    return float(v)


def _nonneg(v: Any) -> float:
    x = _number(v)
    if x < 0:
        raise _Bad(f"must be >= 0, got {v!r}")
    return x


def _positive(v: Any) -> float:
    x = _number(v)
    if x <= 0:
        raise _Bad(f"must be > 0, got {v!r}")
    return x


def _int_min(lo: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(f"must be an integer >= {lo}, got {v!r}")
        if v < lo:
            raise _Bad(f"must be an integer >= {lo}, got {v!r}")
        return v
    return check


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _Bad(f"must be a non-empty string, got {v!r}")
    return v.strip()


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in allowed:
            raise _Bad(f"got {v!r}; allowed: {', '.join(allowed)}")
        return v
    return check


def _int_or_auto(v: Any) -> int | str:
    return "auto" if v == "auto" else _int_min(1)(v)


# ---------------------------------------------------------------- typed attributes per class

@dataclass(frozen=True)
class DramAttributes:
    """Off-chip DRAM: word size, per-channel bandwidth in gigabytes/s, access latency, channel count."""

    bandwidth_gbps: float
    word_bits: int = 32
    latency_ns: float = 0.0
    channels: int = 1
    capacity_bits: int | None = None  # None: unbounded


@dataclass(frozen=True)
class BufferAttributes:
    """On-chip buffer: capacity, banks x width_bits per access; state buffers store cell_bits per weight."""

    capacity_bits: int
    width_bits: int
    banks: int = 1
    cell_bits: int | str | None = None  # state_buffer: int or "auto" (= N+1 of the method)


@dataclass(frozen=True)
class ComputeAttributes:
    """Compute array: datapath kind, lanes per array, arrays, zero policy (gating or skipping)."""

    kind: str
    lanes: int
    arrays: int = 1
    policy: str = "gating"
    accumulator_bits: int = 16


@dataclass(frozen=True)
class UpdateAttributes:
    """Weight-update unit: kind (dst_fixed_point, float_binarize, float) and weights updated per cycle."""

    kind: str
    lanes: int = 1


@dataclass(frozen=True)
class AccumulatorAttributes:
    """Accumulator/activation unit (batch-norm scale, threshold, pooling compare)."""

    lanes: int
    bits: int = 32


_REQ = object()
COMPUTE_KINDS = ("gated_xnor", "xnor", "mac", "mux", "event_mux")
UPDATE_KINDS = ("dst_fixed_point", "float_binarize", "float")
_COMPUTE_ACTIONS = {
    "gated_xnor": ("gate_check", "xnor", "bitcount_add", "rest"),
    "xnor": ("xnor", "bitcount_add"),
    "mac": ("mult", "add"),
    "mux": ("mux", "add"),
    "event_mux": ("gate_check", "mux", "add", "rest"),
}
_SKIP_ACTIONS = ("index", "compact")
_EVENT_KINDS = ("gated_xnor", "event_mux")
_UPDATE_ACTIONS = {
    "dst_fixed_point": ("state_add", "rng", "table_lookup"),
    "float_binarize": ("float_add", "space_switch"),
    "float": ("float_add",),
}
_MEMORY_ACTIONS = ("read_bit", "write_bit")
_BUFFER_ATTRS = {"capacity_bits": (_int_min(1), _REQ), "width_bits": (_int_min(1), _REQ), "banks": (_int_min(1), 1)}

# class -> (attribute dataclass, {attribute: (check, default)})
_CLASS_ATTRS: dict[str, tuple[type, dict[str, tuple[Callable[[Any], Any], Any]]]] = {
    "dram": (DramAttributes, {
        "bandwidth_gbps": (_positive, _REQ), "word_bits": (_int_min(1), 32), "latency_ns": (_nonneg, 0.0),
        "channels": (_int_min(1), 1), "capacity_bits": (_int_min(1), None)}),
    "state_buffer": (BufferAttributes, {**_BUFFER_ATTRS, "cell_bits": (_int_or_auto, "auto")}),
    "sram_buffer": (BufferAttributes, dict(_BUFFER_ATTRS)),
    "compute_array": (ComputeAttributes, {
        "kind": (_choice(*COMPUTE_KINDS), _REQ), "lanes": (_int_min(1), _REQ), "arrays": (_int_min(1), 1),
        "policy": (_choice("gating", "skipping"), "gating"), "accumulator_bits": (_int_min(1), 16)}),
    "update_unit": (UpdateAttributes, {"kind": (_choice(*UPDATE_KINDS), _REQ), "lanes": (_int_min(1), 1)}),
    "accumulator": (AccumulatorAttributes, {"lanes": (_int_min(1), _REQ), "bits": (_int_min(1), 32)}),
}
CLASSES = tuple(_CLASS_ATTRS)

# data -> classes it may be placed in; hidden_weights is optional (only methods with float hidden weights)
PLACEMENT_CLASSES: dict[str, tuple[str, ...]] = {
    "weights": ("state_buffer", "dram"),
    "hidden_weights": ("dram", "sram_buffer"),
    "optimizer_state": ("dram", "sram_buffer"),
    "activations": ("sram_buffer", "dram"),
    "batchnorm": ("sram_buffer", "dram"),
}
_OPTIONAL_PLACEMENT = ("hidden_weights",)


def _actions_for(cls: str, attrs: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) action names of a component of class ``cls`` with these attributes."""
    if cls in ("dram", "state_buffer", "sram_buffer"):
        return _MEMORY_ACTIONS, ()
    if cls == "compute_array":
        base = _COMPUTE_ACTIONS[attrs.kind]
        if attrs.kind not in _EVENT_KINDS:
            return base, ()
        return (base + _SKIP_ACTIONS, ()) if attrs.policy == "skipping" else (base, _SKIP_ACTIONS)
    if cls == "update_unit":
        return _UPDATE_ACTIONS[attrs.kind], ()
    return ("add", "compare", "mult"), ()


# ---------------------------------------------------------------- the typed architecture

@dataclass(frozen=True)
class Action:
    """One action of a component: energy per action (pJ), cycles it occupies the unit, and where from."""

    energy_pj: float
    latency_cycles: int
    source: str


@dataclass(frozen=True)
class Component:
    """One hardware component: class, typed attributes, action table, leakage power."""

    name: str
    cls: str
    attributes: Any  # one of the *Attributes dataclasses above
    actions: Mapping[str, Action]
    leakage_mw: float = 0.0
    leakage_source: str = ""
    description: str = ""

    @property
    def kind(self) -> str | None:
        """The datapath kind (compute_array, update_unit), else None."""
        return getattr(self.attributes, "kind", None)


@dataclass(frozen=True)
class Placement:
    """Which component holds each kind of data (a component name; hidden_weights may be None)."""

    weights: str
    activations: str
    optimizer_state: str
    batchnorm: str
    hidden_weights: str | None = None

    def where(self, data: str) -> str | None:
        """Component holding ``data`` (a key of PLACEMENT_CLASSES)."""
        if data not in PLACEMENT_CLASSES:
            raise ArchError(f"unknown data {data!r}; allowed: {', '.join(PLACEMENT_CLASSES)}")
        return getattr(self, data)


@dataclass(frozen=True)
class Architecture:
    """A validated architecture: components in file order, placement, clock, and the file it came from."""

    name: str
    clock_hz: float
    technology: str
    components: Mapping[str, Component]
    placement: Placement
    source_file: str
    description: str = ""
    double_buffering: bool = True  # two on-chip tile slots: the next tile loads while this one computes

    def _err(self, msg: str) -> NoReturn:
        raise ArchError(f"{self.source_file}: {msg}")

    def component(self, name: str) -> Component:
        """The component called ``name``."""
        if name not in self.components:
            self._err(f"no component {name!r}; components: {', '.join(self.components)}")
        return self.components[name]

    def by_class(self, cls: str) -> list[Component]:
        """Components of class ``cls``, in file order."""
        if cls not in CLASSES:
            self._err(f"unknown class {cls!r}; allowed: {', '.join(CLASSES)}")
        return [c for c in self.components.values() if c.cls == cls]

    def action(self, component: str, action: str) -> Action:
        """The action record of ``component``."""
        comp = self.component(component)
        if action not in comp.actions:
            self._err(f"component {component!r} has no action {action!r}; actions: {', '.join(comp.actions)}")
        return comp.actions[action]

    def energy(self, component: str, action: str) -> float:
        """Energy of one action in pJ."""
        return self.action(component, action).energy_pj

    def latency(self, component: str, action: str) -> int:
        """Cycles one action occupies its unit."""
        return self.action(component, action).latency_cycles

    def _single(self, cls: str) -> Component:
        found = self.by_class(cls)
        if len(found) != 1:
            self._err(f"expected exactly one {cls}, found {len(found)}: {[c.name for c in found]}")
        return found[0]

    def compute_array(self) -> Component:
        """The one compute array."""
        return self._single("compute_array")

    def update_unit(self) -> Component:
        """The one weight-update unit."""
        return self._single("update_unit")

    def dram(self) -> Component:
        """The one off-chip DRAM."""
        return self._single("dram")

    # ---- timing helpers (for the SimPy engine)
    def dram_bits_per_cycle(self) -> float:
        """DRAM bits per accelerator cycle and channel (bandwidth_gbps is gigabytes/s per channel)."""
        return self.dram().attributes.bandwidth_gbps * 8e9 / self.clock_hz

    def dram_latency_cycles(self) -> int:
        """DRAM access latency rounded up to accelerator cycles."""
        return math.ceil(self.dram().attributes.latency_ns * 1e-9 * self.clock_hz - 1e-9)

    def buffer_bits_per_cycle(self, name: str) -> int:
        """Bits an on-chip buffer delivers per cycle: banks x width_bits."""
        a = self.component(name).attributes
        if not isinstance(a, BufferAttributes):
            self._err(f"component {name!r} is not an on-chip buffer")
        return a.banks * a.width_bits

    # ---- capacity
    def _target(self, where: str) -> Component:
        if where in PLACEMENT_CLASSES:
            name = self.placement.where(where)
            if name is None:
                self._err(f"placement has no {where!r}")
            return self.component(name)
        return self.component(where)

    def capacity_bits(self, where: str) -> int | None:
        """Capacity of a component (or of the one holding placement data ``where``); None = unbounded."""
        return getattr(self._target(where).attributes, "capacity_bits", None)

    def fits(self, weight_bits_total: int, where: str = "weights") -> bool:
        """Whether ``weight_bits_total`` bits fit in component ``where`` (a name or a placement key)."""
        cap = self.capacity_bits(where)
        return cap is None or weight_bits_total <= cap

    def check_weights_fit(self, n_weights: int, bits_per_weight: int) -> int:
        """Raise ArchError if a layer's weights do not fit where ``weights`` are placed; return the bits used."""
        comp = self._target("weights")
        cell = getattr(comp.attributes, "cell_bits", None)
        if isinstance(cell, int) and bits_per_weight > cell:
            self._err(f"{comp.cls} {comp.name!r} has {cell}-bit cells; cannot hold {bits_per_weight}-bit weights")
        per = cell if isinstance(cell, int) else bits_per_weight
        demand = n_weights * per
        cap = self.capacity_bits(comp.name)
        if cap is not None and demand > cap:
            self._err(f"a layer that does not fit: {n_weights} weights x {per} bits = {demand} bits exceed "
                      f"{comp.cls} {comp.name!r} capacity of {cap} bits")
        return demand


# ---------------------------------------------------------------- loading

class _Loader(yaml.SafeLoader):
    """Safe YAML loader that rejects duplicate keys and reads 1e-3 as a float (YAML 1.2 style)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float)):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))

_TOP_KEYS = ("name", "description", "clock_hz", "clock_mhz", "technology", "double_buffering", "components",
             "placement")
_COMPONENT_KEYS = ("name", "class", "attributes", "actions", "leakage_mw", "leakage_source", "description")
_ACTION_KEYS = ("energy_pj", "latency_cycles", "source")


class _Ctx:
    """Carries the file name so every error names file and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, msg: str) -> NoReturn:
        raise ArchError(f"{self.file}: {path}: {msg}" if path else f"{self.file}: {msg}")

    def check(self, path: str, fn: Callable[[Any], Any], v: Any) -> Any:
        try:
            return fn(v)
        except _Bad as e:
            self.fail(path, str(e))

    def mapping(self, path: str, v: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(v, dict):
            self.fail(path, f"must be a mapping, got {type(v).__name__}")
        for k in v:
            if k not in allowed:
                self.fail(f"{path}.{k}" if path else str(k), f"unknown key; allowed: {', '.join(allowed)}")
        return v


def _parse_attributes(ctx: _Ctx, path: str, cls: str, raw: Any) -> Any:
    build, spec = _CLASS_ATTRS[cls]
    raw = ctx.mapping(path, {} if raw is None else raw, tuple(spec))
    values = {}
    for key, (fn, default) in spec.items():
        if key in raw:
            values[key] = ctx.check(f"{path}.{key}", fn, raw[key])
        elif default is _REQ:
            ctx.fail(f"{path}.{key}", f"missing required attribute of class {cls}")
        else:
            values[key] = default
    attrs = build(**values)
    if cls == "compute_array" and attrs.policy == "skipping" and attrs.kind not in _EVENT_KINDS:
        ctx.fail(f"{path}.policy", f"'skipping' needs an event-driven kind ({', '.join(_EVENT_KINDS)}), "
                                   f"got kind {attrs.kind!r}")
    return attrs


def _parse_actions(ctx: _Ctx, path: str, cls: str, attrs: Any, raw: Any) -> Mapping[str, Action]:
    required, optional = _actions_for(cls, attrs)
    allowed = required + optional
    what = f"class {cls}" + (f" kind {attrs.kind}" if hasattr(attrs, "kind") else "") + (
        f" policy {attrs.policy}" if hasattr(attrs, "policy") else "")
    if not isinstance(raw, dict):
        ctx.fail(path, f"must be a mapping of action -> {{energy_pj, latency_cycles, source}}; "
                       f"{what} needs: {', '.join(required)}")
    out = {}
    for name, body in raw.items():
        p = f"{path}.{name}"
        if name not in allowed:
            ctx.fail(p, f"unknown action for {what}; allowed: {', '.join(allowed)}")
        body = ctx.mapping(p, body, _ACTION_KEYS)
        if "energy_pj" not in body:
            ctx.fail(f"{p}.energy_pj", "missing (energy per action in pJ)")
        if "source" not in body:
            ctx.fail(f"{p}.source", "missing: every energy/latency constant must name its source")
        out[name] = Action(
            energy_pj=ctx.check(f"{p}.energy_pj", _nonneg, body["energy_pj"]),
            latency_cycles=ctx.check(f"{p}.latency_cycles", _int_min(0), body.get("latency_cycles", 1)),
            source=ctx.check(f"{p}.source", _text, body["source"]),
        )
    for name in required:
        if name not in out:
            ctx.fail(f"{path}.{name}", f"missing required action of {what}; required: {', '.join(required)}")
    return MappingProxyType(out)


def _parse_component(ctx: _Ctx, path: str, raw: Any) -> Component:
    raw = ctx.mapping(path, raw, _COMPONENT_KEYS)
    for key in ("name", "class", "actions"):
        if key not in raw:
            ctx.fail(f"{path}.{key}", "missing")
    name = ctx.check(f"{path}.name", _text, raw["name"])
    cls = raw["class"]
    if cls not in CLASSES:
        ctx.fail(f"{path}.class", f"unknown class {cls!r}; allowed: {', '.join(CLASSES)}")
    attrs = _parse_attributes(ctx, f"{path}.attributes", cls, raw.get("attributes"))
    actions = _parse_actions(ctx, f"{path}.actions", cls, attrs, raw["actions"])
    leak = ctx.check(f"{path}.leakage_mw", _nonneg, raw.get("leakage_mw", 0.0))
    leak_src = ""
    if "leakage_mw" in raw:
        if "leakage_source" not in raw:
            ctx.fail(f"{path}.leakage_source", "missing: leakage_mw must name its source")
        leak_src = ctx.check(f"{path}.leakage_source", _text, raw["leakage_source"])
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        ctx.fail(f"{path}.description", "must be a string")
    return Component(name, cls, attrs, actions, leak, leak_src, desc)


def _parse_placement(ctx: _Ctx, raw: Any, comps: Mapping[str, Component]) -> Placement:
    raw = ctx.mapping("placement", raw, tuple(PLACEMENT_CLASSES))
    values: dict[str, str | None] = {}
    for data, classes in PLACEMENT_CLASSES.items():
        p = f"placement.{data}"
        if data not in raw:
            if data in _OPTIONAL_PLACEMENT:
                values[data] = None
                continue
            ctx.fail(p, f"missing; name a component of class {' or '.join(classes)}")
        target = raw[data]
        if target not in comps:
            ctx.fail(p, f"no component {target!r}; components: {', '.join(comps)}")
        if comps[target].cls not in classes:
            ctx.fail(p, f"component {target!r} is a {comps[target].cls}; {data} must be in a "
                        f"{' or '.join(classes)}")
        values[data] = target
    return Placement(**values)


def read_yaml_mapping(path: Path, fail: Callable[[str, str], NoReturn], top_keys: tuple[str, ...]) -> dict:
    """The top-level mapping of a YAML file (safe loader, duplicate keys rejected); errors go to ``fail(key, msg)``
    so each loader raises its own error type naming the file."""
    try:
        text = path.read_text()
    except OSError as e:
        fail("", f"cannot read: {e.strerror or e}")
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        fail(where, f"YAML syntax error: {getattr(e, 'problem', None) or e}")
    if not isinstance(doc, dict):
        fail("<top>", f"must be a mapping with keys {', '.join(top_keys)}, got {type(doc).__name__}")
    return doc


def load_arch(path: str | Path) -> Architecture:
    """Load and validate an architecture YAML (a path, or a shipped name such as 'gxnor')."""
    path = find_arch(path)
    ctx = _Ctx(str(path))
    doc = read_yaml_mapping(path, ctx.fail, _TOP_KEYS)
    ctx.mapping("", doc, _TOP_KEYS)
    for key in ("name", "technology", "components", "placement"):
        if key not in doc:
            ctx.fail(key, "missing")
    name = ctx.check("name", _text, doc["name"])
    technology = ctx.check("technology", _text, doc["technology"])
    description = doc.get("description", "")
    if not isinstance(description, str):
        ctx.fail("description", "must be a string")
    if ("clock_hz" in doc) == ("clock_mhz" in doc):
        ctx.fail("clock_hz", "give exactly one of clock_hz or clock_mhz (a number > 0)")
    clock = (ctx.check("clock_hz", _positive, doc["clock_hz"]) if "clock_hz" in doc
             else ctx.check("clock_mhz", _positive, doc["clock_mhz"]) * 1e6)
    double_buffering = doc.get("double_buffering", True)
    if not isinstance(double_buffering, bool):
        ctx.fail("double_buffering", f"must be true or false, got {double_buffering!r}")
    raw_comps = doc["components"]
    if not isinstance(raw_comps, list) or not raw_comps:
        ctx.fail("components", "must be a non-empty list of components")
    comps: dict[str, Component] = {}
    first: dict[str, int] = {}
    for i, raw in enumerate(raw_comps):
        comp = _parse_component(ctx, f"components[{i}]", raw)
        if comp.name in comps:
            ctx.fail(f"components[{i}].name", f"duplicate component name {comp.name!r} "
                                              f"(also components[{first[comp.name]}])")
        comps[comp.name] = comp
        first[comp.name] = i
    placement = _parse_placement(ctx, doc["placement"], comps)
    return Architecture(name=name, clock_hz=clock, technology=technology, components=MappingProxyType(comps),
                        placement=placement, source_file=str(path), description=description,
                        double_buffering=double_buffering)


def find_arch(name_or_path: str | Path) -> Path:
    """A path as given if it exists or looks like a file, else the shipped ``arch_configs/<name>.yaml``."""
    p = Path(name_or_path)
    if p.exists() or p.suffix in (".yaml", ".yml") or len(p.parts) > 1:
        return p
    return ARCH_DIR / f"{p}.yaml"


def shipped_archs() -> list[Path]:
    """The architecture files shipped in arch_configs/."""
    return sorted(ARCH_DIR.glob("*.yaml"))
