"""Architecture files: one YAML schema for every accelerator, digital or crossbar -> a validated, frozen model.

An architecture names its clock and technology, a list of components (class, class-specific attributes, an
action table giving the energy, latency and source of every action; see :mod:`neurosim.hw.components`), and a
placement saying which component holds each kind of data. Workloads and action counts are kept elsewhere; this
module only describes the machine, and never imports training code. Example::

    name: gxnor
    technology: 45nm
    clock_mhz: 1000
    clock_source: "assumed: 1 GHz, the upper end of a 45 nm accelerator clock"
    components:
      - name: pe
        class: compute_array
        attributes: {kind: gated_xnor, lanes: 256, policy: gating, accumulator_bits: 16}
        actions:
          xnor: {energy_pj: 0.00375, latency_cycles: 1, source: "derived: one full-adder bit, 0.03/8 pJ"}
          ...
    placement: {weights: state_buffer, activations: global_buffer, optimizer_state: dram, batchnorm: global_buffer}

Units: ``energy_pj`` per action, counted in the unit the class gives each action (per bit for memories, per
operand pair or firing lane for compute arrays, per weight for update units, per conversion, per pulse ...).
Latency: ``latency_cycles`` (an integer, cycles of the clock one action occupies its unit; default 1) or
``latency_ns``; crossbar actions may say ``device`` for the device's read time or pulse (width, energy).
Memory timing comes from attributes (DRAM ``bandwidth_gbps`` per channel and ``latency_ns``; buffers
``banks`` x ``width_bits`` per cycle). Every number names its ``source``. Errors name the file, the key path
and what is allowed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Mapping, NoReturn, Sequence

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..names import PLAIN_NAME_HELP, is_plain_name
from ..schema.errors import describe
from ..schema.yaml_io import read_yaml_mapping
from .components import Action, Component, class_names, component_class, component_classes
from .components.base import PerUnit
from .crossbar import CrossbarError, CrossbarParams
from ..devices import DeviceError, DeviceParams

__all__ = ["ArchError", "Action", "Component", "Placement", "Architecture", "Cpu", "PLACEMENT_CLASSES", "ARCH_DIR",
           "load_arch", "find_arch", "shipped_archs"]


def _shipped_dir(package: str, folder: str) -> Path:
    """The folder of the shipped data files: the package ``package`` (the repo-root ``folder``, mapped into the
    package by pyproject.toml: a wheel installs it inside neurosim/, an editable install points at the repo), else
    (the source tree imported without an install) the source tree's ``folder``."""
    try:
        found = resources.files(package)
    except ModuleNotFoundError:
        found = None
    return found if isinstance(found, Path) else Path(__file__).resolve().parents[2] / folder


ARCH_DIR = _shipped_dir("neurosim.arch_configs", "arch_configs")  # the shipped architecture files

# data -> classes it may be placed in (in this order in messages); hidden_weights is optional
PLACEMENT_CLASSES: dict[str, tuple[str, ...]] = {
    "weights": ("state_buffer", "dram"),
    "hidden_weights": ("dram", "sram_buffer"),
    "optimizer_state": ("dram", "sram_buffer"),
    "activations": ("sram_buffer", "dram"),
    "batchnorm": ("sram_buffer", "dram"),
}
_OPTIONAL_PLACEMENT = ("hidden_weights",)


class ArchError(ValueError):
    """A bad architecture file or query; the message names the file, the key path and what is allowed."""


# ---------------------------------------------------------------------------------------------- file schema
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
_NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _plain(v: str) -> str:
    """The name becomes part of report folder names: no path tricks."""
    if not is_plain_name(v):
        raise ValueError(f"got {v!r}; allowed: {PLAIN_NAME_HELP}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class CpuFile(_Strict):
    """The CPU a run is compared with ([TrainingItself] Table I): its name and the power charged for its wall time."""

    name: Text
    power_w: _Positive
    source: Text


class ArchitectureFile(_Strict):
    """The top level of an architecture YAML."""

    name: Annotated[str, AfterValidator(_plain)]
    description: str = ""
    technology: Text
    clock_hz: _Positive | None = None
    clock_mhz: _Positive | None = None
    clock_source: Text
    double_buffering: bool = True
    components: Annotated[list[Any], Field(min_length=1)]
    placement: dict[str, Any] | None = None
    cpu: CpuFile | None = None


MAX_AREA_UM2 = 1e12  # 1 m^2: far above any die, rejects unit slips
MAX_LEAKAGE_MW = 1e9


class AreaFile(_Strict):
    """Area of one ``per`` unit of the component (um^2), and its source."""

    um2: Annotated[float, Field(ge=0, le=MAX_AREA_UM2, allow_inf_nan=False)]
    per: Text = "instance"
    source: Text


class LeakageFile(_Strict):
    """Leakage (static) power of one ``per`` unit of the component (mW), and its source."""

    mw: Annotated[float, Field(ge=0, le=MAX_LEAKAGE_MW, allow_inf_nan=False)]
    per: Text = "instance"
    source: Text


class ComponentFile(_Strict):
    """One entry of ``components``; attributes, actions and device are checked against its class."""

    name: Text
    cls: Text = Field(alias="class")
    description: str = ""
    attributes: dict[str, Any] | None = None
    actions: dict[str, Any] | None = None
    area: AreaFile | None = None
    leakage: LeakageFile | None = None
    device: dict[str, Any] | None = None


class ActionFile(_Strict):
    """One action: energy (pJ, or ``device``), latency (cycles or ns, or ``device``), and its source."""

    energy_pj: Any = None
    latency_cycles: Annotated[int, Field(ge=0, le=10 ** 12)] | None = None  # at most MAX_LATENCY_CYCLES
    latency_ns: Any = None
    source: Text | None = None


# ---------------------------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class Cpu:
    name: str
    power_w: float
    source: str


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
    placement: Placement | None
    source_file: str
    description: str = ""
    double_buffering: bool = True  # two on-chip tile slots: the next tile loads while this one computes
    clock_source: str = ""
    cpu: Cpu | None = None

    def __deepcopy__(self, memo: dict) -> "Architecture":
        return self  # immutable: copies of a run (checkpoints, resumable trainers) share it

    def _err(self, msg: str) -> NoReturn:
        raise ArchError(f"{self.source_file}: {msg}")

    # ---- components and actions
    def component(self, name: str) -> Component:
        """The component called ``name``."""
        if name not in self.components:
            self._err(f"no component {name!r}; components: {', '.join(self.components)}")
        return self.components[name]

    def by_class(self, cls: str) -> list[Component]:
        """Components of class ``cls``, in file order."""
        if cls not in component_classes():
            self._err(f"unknown class {cls!r}; allowed: {', '.join(class_names())}")
        return [c for c in self.components.values() if c.cls == cls]

    def has_class(self, cls: str) -> bool:
        return bool(self.by_class(cls))

    def first(self, cls: str) -> Component | None:
        """The first component of class ``cls``, or None."""
        found = self.by_class(cls)
        return found[0] if found else None

    def action(self, component: str, action: str) -> Action:
        """The action record of ``component``."""
        comp = self.component(component)
        if action not in comp.actions:
            self._err(f"component {component!r} has no action {action!r}; actions: {', '.join(comp.actions)}")
        return comp.actions[action]

    def energy(self, component: str, action: str) -> float:
        """Energy of one action in pJ."""
        return self.action(component, action).energy_pj

    def latency(self, component: str, action: str) -> float:
        """Cycles one action occupies its unit."""
        return self.action(component, action).latency_cycles

    def step_cycles(self, component: str, actions: tuple[str, ...] | None = None) -> int:
        """Cycles one step of a unit takes: the longest ``latency_cycles`` of its actions (of ``actions`` if given),
        rounded up; a lane, accumulator lane or buffer bank issues one step at a time."""
        comp = self.component(component)
        names = [a for a in (actions if actions is not None else comp.actions) if a in comp.actions]
        return int(math.ceil(max((comp.actions[a].latency_cycles for a in names), default=1) - 1e-9))

    def _single(self, cls: str) -> Component:
        found = self.by_class(cls)
        if len(found) != 1:
            self._err(f"expected exactly one {cls}, found {len(found)}: {[c.name for c in found]}")
        return found[0]

    def compute_array(self) -> Component:
        """The primary compute array: the first in file order that serves forward products."""
        arrays = self.by_class("compute_array")
        if not arrays:
            return self._single("compute_array")  # the error naming what is missing
        return next((a for a in arrays if "forward" in a.attributes.products), arrays[0])

    def array_for(self, product: str, selector_bits: int, other_bits: int) -> Component | None:
        """The first compute array in file order that serves ``product`` at these operand widths, or None."""
        from .components.compute_array import serves

        return next((a for a in self.by_class("compute_array")
                     if serves(a.attributes, product, selector_bits, other_bits)), None)

    def update_unit(self) -> Component:
        """The one weight-update unit."""
        return self._single("update_unit")

    def dram(self) -> Component:
        """The one off-chip DRAM."""
        return self._single("dram")

    @property
    def is_crossbar(self) -> bool:
        """Whether the weights live on crossbar tiles (else on a digital compute array's memories)."""
        return self.has_class("crossbar_tile")

    def crossbar(self, role: str = "normal") -> Component | None:
        """The crossbar tile of ``role`` (normal: the forward tiles; copy: [TrainingItself]'s W^T tiles), or None."""
        return next((c for c in self.by_class("crossbar_tile") if c.attributes.role == role), None)

    def crossbar_params(self, tile: Component) -> CrossbarParams:
        """The crossbar model's parameters of a tile: its geometry, driver, readout and writer."""
        a = tile.attributes
        drv = self.component(a.driver).attributes
        readout = self.component(a.readout)
        adc = readout.attributes if readout.cls == "adc" else None
        kw = dict(rows=a.rows, cols=a.cols, input_driver=drv.kind, input_bits=drv.input_bits,
                  readout="adc" if adc is not None else "comparator", adc_full_scale=a.full_scale,
                  write_mode=self.component(a.writer).attributes.mode)
        if adc is not None:
            kw.update(adc_bits=adc.bits, adc_share=adc.share)
        return CrossbarParams(**kw)

    def weight_space(self, tile: Component | None = None) -> tuple[int, str, float]:
        """(N, mapping, L) of a crossbar tile (a copy tile: of the tile it copies)."""
        tile = tile or self.crossbar()
        if tile is None:
            self._err("has no crossbar_tile")
        a = tile.attributes
        if a.role == "copy":
            a = self.component(a.copy_of).attributes
        return a.N, a.mapping or "differential", 1.0 if a.L is None else a.L  # the defaults of a normal tile

    # ---- timing helpers (for the SimPy engine)
    def dram_bits_per_cycle(self) -> float:
        """DRAM bits per accelerator cycle and channel (bandwidth_gbps is gigabytes/s per channel)."""
        return self.dram().attributes.bandwidth_gbps * 8e9 / self.clock_hz

    def dram_latency_cycles(self) -> int:
        """DRAM access latency rounded up to accelerator cycles."""
        return math.ceil(self.dram().attributes.latency_ns * 1e-9 * self.clock_hz - 1e-9)

    def buffer_bits_per_cycle(self, name: str) -> int:
        """Bits an on-chip buffer delivers per cycle: banks x width_bits."""
        comp = self.component(name)
        if not component_class(comp.cls).memory or component_class(comp.cls).offchip:
            self._err(f"component {name!r} is not an on-chip buffer")
        return comp.attributes.banks * comp.attributes.width_bits

    def is_offchip(self, name: str) -> bool:
        return component_class(self.component(name).cls).offchip

    def is_buffer(self, name: str) -> bool:
        """Whether ``name`` is an on-chip memory (a port of banks x width bits)."""
        spec = component_class(self.component(name).cls)
        return spec.memory and not spec.offchip

    # ---- capacity
    def _placement(self) -> Placement:
        if self.placement is None:
            self._err("has no placement (it has no memories)")
        return self.placement

    def _target(self, where: str) -> Component:
        if where in PLACEMENT_CLASSES:
            name = self._placement().where(where)
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


# ---------------------------------------------------------------------------------------------- loading
class _Ctx:
    """Carries the file name so every error names file and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, msg: str) -> NoReturn:
        raise ArchError(f"{self.file}: {path}: {msg}" if path else f"{self.file}: {msg}")

    def model(self, model: type[BaseModel], raw: Any, path: str) -> Any:
        if not isinstance(raw, dict):
            allowed = ", ".join(f.alias or n for n, f in model.model_fields.items())
            self.fail(path, f"must be a mapping with keys from: {allowed}; got {type(raw).__name__}")
        try:
            return model.model_validate(raw)
        except ValidationError as e:
            raise ArchError(f"{self.file}: {describe(e, path, model)}") from None


# upper bounds that keep run totals finite: no action costs more than 1 mJ or takes longer than 1 s
MAX_ENERGY_PJ = 1e9
MAX_LATENCY_NS = 1e9
MAX_LATENCY_CYCLES = 10 ** 12  # (the bound of ActionFile.latency_cycles)


def _number(ctx: _Ctx, path: str, v: Any, hi: float = math.inf, what: str = "") -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        ctx.fail(path, f"must be a number, got {v!r}")
    if not math.isfinite(v):
        ctx.fail(path, f"must be finite, got {v!r}")
    if v < 0:
        ctx.fail(path, f"must be >= 0, got {v!r}")
    if v > hi:
        ctx.fail(path, f"must be <= {hi:g}{what}, got {v!r}")
    return float(v)


_DEVICE_ACTIONS = "the device-priced actions (crossbar_tile read latency, write_driver pulse)"


def _parse_action(ctx: _Ctx, path: str, name: str, raw: Any, spec, device: DeviceParams | None,
                  clock_hz: float) -> Action:
    body = ctx.model(ActionFile, raw, path)
    if body.energy_pj is None:
        ctx.fail(f"{path}.energy_pj", f"missing (energy of one action in pJ, per {spec.unit})")
    if body.source is None:
        ctx.fail(f"{path}.source", "missing: every energy/latency constant must name its source")
    if body.energy_pj == "device":
        if "energy" not in spec.device or device is None:
            ctx.fail(f"{path}.energy_pj", f"'device' is allowed only for {_DEVICE_ACTIONS}; give a number >= 0")
        energy = device.energy_per_pulse_pj
    else:
        energy = _number(ctx, f"{path}.energy_pj", body.energy_pj, MAX_ENERGY_PJ, " pJ (1 mJ per action)")
    if body.latency_cycles is not None and body.latency_ns is not None:
        ctx.fail(f"{path}.latency_ns", "give exactly one of latency_ns (a number >= 0"
                 + (", or 'device'" if "latency" in spec.device else "") + ") or latency_cycles (an integer >= 0)")
    if not spec.timed:
        for key in ("latency_cycles", "latency_ns"):
            if getattr(body, key) not in (None, 0):
                ctx.fail(f"{path}.{key}", f"must be 0 or absent: the engine times this action from the component's "
                         f"attributes (DRAM: bandwidth_gbps, latency_ns, channels), got {getattr(body, key)!r}")
        return Action(energy_pj=energy, latency_cycles=0, latency_s=0.0, unit=spec.unit, source=body.source)
    if body.latency_ns is None:
        cycles = 1 if body.latency_cycles is None else body.latency_cycles
        seconds = cycles / clock_hz
    else:
        if body.latency_ns == "device":
            if "latency" not in spec.device or device is None:
                ctx.fail(f"{path}.latency_ns", f"'device' is allowed only for {_DEVICE_ACTIONS}; give a number >= 0")
            seconds = device.t_read_s if "energy" not in spec.device else device.pulse_width_s
        else:
            seconds = _number(ctx, f"{path}.latency_ns", body.latency_ns, MAX_LATENCY_NS, " ns (1 s per action)") * 1e-9
        cycles = seconds * clock_hz
    return Action(energy_pj=energy, latency_cycles=cycles, latency_s=seconds, unit=spec.unit, source=body.source)


def _parse_device(ctx: _Ctx, path: str, raw: dict) -> tuple[DeviceParams, str]:
    keys = [f for f in DeviceParams.__dataclass_fields__] + ["source", "pulse_energy_source"]
    for k in raw:
        if k not in keys:
            ctx.fail(f"{path}.{k}", f"unknown key; allowed: {', '.join(keys)}")
    if "source" not in raw:
        ctx.fail(f"{path}.source", "missing: every energy/latency/power number must name its source (the "
                                   "device's electrical numbers, read time and pulse width)")
    src = raw["source"]
    if not isinstance(src, str) or not src.strip():
        ctx.fail(f"{path}.source", f"must be a non-empty string, got {src!r}")
    params = {k: v for k, v in raw.items() if k not in ("source", "pulse_energy_source")}
    if params.get("pulse_energy_pj") is not None and not str(raw.get("pulse_energy_source", "")).strip():
        ctx.fail(f"{path}.pulse_energy_source", "missing: pulse_energy_pj must name its source")
    for k, v in params.items():
        if isinstance(v, bool):
            ctx.fail(f"{path}.{k}", f"must be a number, got {v!r}")
    try:
        return DeviceParams(**params), src.strip()
    except DeviceError as e:
        key, _, rest = str(e).partition(": ")
        if rest and " " not in key:
            ctx.fail(f"{path}.{key}", rest)
        ctx.fail(path, str(e))


def _parse_attributes(ctx: _Ctx, path: str, spec, raw: Any) -> Any:
    attrs = ctx.model(spec.Attributes, {} if raw is None else raw, path)
    spec.check(attrs, lambda key, msg: ctx.fail(f"{path}.{key}", msg))
    return attrs


class _Draft:
    """A component between parsing and resolution (copy tiles and device-priced actions need the others)."""

    def __init__(self, index: int, file: ComponentFile, spec, attrs: Any) -> None:
        self.index, self.file, self.spec, self.attrs = index, file, spec, attrs
        self.path = f"components[{index}]"
        self.device: DeviceParams | None = None
        self.device_source = ""


def _parse_component(ctx: _Ctx, i: int, raw: Any) -> _Draft:
    path = f"components[{i}]"
    f = ctx.model(ComponentFile, raw, path)
    if f.cls not in component_classes():
        ctx.fail(f"{path}.class", f"unknown class {f.cls!r}; allowed: {', '.join(class_names())}")
    spec = component_class(f.cls)
    d = _Draft(i, f, spec, _parse_attributes(ctx, f"{path}.attributes", spec, f.attributes))
    units = spec.footprint_units(d.attrs)
    for key, block in (("area", f.area), ("leakage", f.leakage)):
        if block is not None and block.per not in units:
            ctx.fail(f"{path}.{key}.per", f"got {block.per!r}; allowed for class {f.cls}: {', '.join(units)}")
    if f.area is not None and spec.offchip:
        ctx.fail(f"{path}.area", f"not allowed: a {f.cls} is off chip, not part of the die's area")
    copy = getattr(d.attrs, "role", "normal") == "copy"
    if f.device is not None and (not spec.takes_device or copy):
        why = "a copy crossbar uses the device of the tile it copies" if copy else \
            f"only {', '.join(n for n, c in component_classes().items() if c.takes_device)} components have a device"
        ctx.fail(f"{path}.device", f"not allowed: {why}")
    if spec.takes_device and not copy:
        if f.device is None:
            ctx.fail(f"{path}.device", "missing: the device the tile's weights live on (with its source)")
        d.device, d.device_source = _parse_device(ctx, f"{path}.device", f.device)
    return d


def _check_references(ctx: _Ctx, drafts: dict[str, _Draft]) -> None:
    for d in drafts.values():
        for key, classes in d.spec.references(d.attrs).items():
            target = getattr(d.attrs, key)
            p = f"{d.path}.attributes.{key}"
            if target not in drafts:
                ctx.fail(p, f"no component {target!r}; components: {', '.join(drafts)}")
            if drafts[target].file.cls not in classes:
                ctx.fail(p, f"component {target!r} is a {drafts[target].file.cls}; {key} must name a "
                            f"{' or '.join(classes)}")
            if key == "copy_of" and getattr(drafts[target].attrs, "role", "normal") != "normal":
                ctx.fail(p, f"component {target!r} is itself a copy; name a crossbar_tile with role: normal")


def _device_for(d: _Draft, drafts: dict[str, _Draft], ctx: _Ctx) -> DeviceParams | None:
    """The device a component's ``device`` values refer to: its own, that of the tile it copies, or (write drivers)
    that of the tiles it writes (which must agree)."""
    if d.device is not None:
        return d.device
    if getattr(d.attrs, "role", None) == "copy":
        return drafts[d.attrs.copy_of].device
    served = [t.device for t in drafts.values()
              if t.device is not None and getattr(t.attrs, "writer", None) == d.file.name]
    if not served:
        return None
    if any(s.energy_per_pulse_pj != served[0].energy_per_pulse_pj or s.pulse_width_s != served[0].pulse_width_s
           for s in served):
        ctx.fail(f"{d.path}.actions", "the tiles this driver writes have devices with different pulses; give "
                                      "numbers instead of 'device'")
    return served[0]


def _resolve(ctx: _Ctx, d: _Draft, drafts: dict[str, _Draft], clock_hz: float) -> Component:
    f, spec = d.file, d.spec
    copy_of = drafts[d.attrs.copy_of] if getattr(d.attrs, "role", None) == "copy" else None
    raw_actions = f.actions or {}
    if copy_of is not None:
        if raw_actions:
            ctx.fail(f"{d.path}.actions", f"a copy crossbar is priced as the tile it copies ({copy_of.file.name!r}); "
                                          f"remove its actions")
        raw_actions = copy_of.file.actions or {}
    offered = {a: s for a, s in spec.actions(d.attrs).items() if not s.from_device}
    what = f"class {f.cls}" + (f" kind {d.attrs.kind}" if hasattr(d.attrs, "kind") and f.cls == "compute_array"
                               else "") + (f" policy {d.attrs.policy}" if hasattr(d.attrs, "policy") else "")
    required = [a for a, s in offered.items() if s.required]
    if not isinstance(raw_actions, dict):
        ctx.fail(f"{d.path}.actions", f"must be a mapping of action -> {{energy_pj, latency_cycles, source}}; "
                                      f"{what} needs: {', '.join(required)}")
    device = _device_for(d, drafts, ctx)
    actions: dict[str, Action] = {}
    for name, body in raw_actions.items():
        p = f"{d.path}.actions.{name}"
        if name not in offered:
            allowed = ", ".join(offered) or "none (this class has no actions)"
            ctx.fail(p, f"unknown action for {what}; allowed: {allowed}")
        actions[name] = _parse_action(ctx, p, name, body, offered[name], device, clock_hz)
    for name in required:
        if name not in actions:
            ctx.fail(f"{d.path}.actions.{name}", f"missing required action of {what} ({offered[name].unit}); "
                                                 f"required: {', '.join(required)}")
    for name, s in spec.actions(d.attrs).items():
        if s.from_device:  # priced by the device physics: V_read^2 x t_read per siemens of driven cells
            dev = device
            src = d.device_source or (copy_of.device_source if copy_of is not None else "")
            actions[name] = Action(energy_pj=dev.v_read ** 2 * dev.t_read_s * 1e12, latency_cycles=0, latency_s=0.0,
                                   unit=s.unit, source=f"device physics: V_read^2 x t_read per siemens ({src})")
    return Component(name=f.name, cls=f.cls, attributes=d.attrs, actions=MappingProxyType(actions),
                     area=_per_unit(f.area, "um2"), leakage=_per_unit(f.leakage, "mw"), description=f.description,
                     device=d.device if copy_of is None else copy_of.device,
                     device_source=d.device_source if copy_of is None else copy_of.device_source)


def _per_unit(block: AreaFile | LeakageFile | None, key: str) -> PerUnit | None:
    return None if block is None else PerUnit(float(getattr(block, key)), block.per, block.source)


def _parse_placement(ctx: _Ctx, raw: Any, comps: Mapping[str, Component]) -> Placement | None:
    memories = [c for c in comps.values() if component_class(c.cls).memory]
    if raw is None:
        if memories:
            ctx.fail("placement", f"missing: name where each kind of data lives ({', '.join(PLACEMENT_CLASSES)}); "
                                  f"memories: {', '.join(c.name for c in memories)}")
        return None
    for k in raw:
        if k not in PLACEMENT_CLASSES:
            ctx.fail(f"placement.{k}", f"unknown key; allowed: {', '.join(PLACEMENT_CLASSES)}")
    values: dict[str, str | None] = {}
    for data, classes in PLACEMENT_CLASSES.items():
        p = f"placement.{data}"
        if data not in raw:
            if data in _OPTIONAL_PLACEMENT:
                values[data] = None
                continue
            ctx.fail(p, f"missing; name a component of class {' or '.join(classes)}")
        target = raw[data]
        if not isinstance(target, str) or target not in comps:
            ctx.fail(p, f"no component {target!r}; components: {', '.join(comps)}")
        if comps[target].cls not in classes:
            ctx.fail(p, f"component {target!r} is a {comps[target].cls}; {data} must be in a {' or '.join(classes)}")
        values[data] = target
    return Placement(**values)


def _check_crossbar_params(ctx: _Ctx, arch: Architecture) -> None:
    """Every tile's assembled crossbar parameters are consistent (e.g. ADCs shared by at most cols columns)."""
    index = {name: i for i, name in enumerate(arch.components)}
    for c in arch.components.values():
        if c.cls != "crossbar_tile":
            continue
        try:
            arch.crossbar_params(c)
        except CrossbarError as e:
            key, _, rest = str(e).partition(": ")
            owner, attr = (c.attributes.readout, "share") if key == "adc_share" else (c.name, key)
            ctx.fail(f"components[{index[owner]}].attributes.{attr}",
                     f"{rest or e} (with the {c.attributes.cols} cols of crossbar_tile {c.name!r})")
    if arch.crossbar("copy") is not None and arch.crossbar() is None:
        ctx.fail("components", "a copy crossbar needs a crossbar_tile with role: normal")
    tiles = arch.by_class("crossbar_tile")
    if tiles and any(arch.component(t.attributes.readout).cls == "adc" for t in tiles) and \
            not arch.has_class("shift_adder"):
        ctx.fail("components", "an adc readout needs a shift_adder component (the partial sums of the row tiles are "
                               "added digitally)")


def load_arch(path: str | Path, overrides: Sequence[Any] = ()) -> Architecture:
    """Load and validate an architecture YAML (a path, or a shipped name such as 'gxnor' or 'crossbar_dst').

    ``overrides``: ``--set arch.KEY=VALUE`` edits (:mod:`neurosim.schema.overrides`) of the parsed file, validated
    as if the file said them; the architecture's ``source_file`` then names the file and its overrides."""
    given = path
    path = find_arch(path)
    ctx = _Ctx(str(path))
    if not path.exists() and Path(given).suffix not in (".yaml", ".yml") and len(Path(given).parts) == 1:
        raise ArchError(f"unknown architecture {str(given)!r}; shipped: {', '.join(p.stem for p in shipped_archs())} "
                        f"(or give the path of a YAML file)")
    doc = read_yaml_mapping(path, ctx.fail, tuple(ArchitectureFile.model_fields))
    if overrides:
        from ..schema.overrides import ArchKeys, edit_arch

        keys = ArchKeys(top=_keys(ArchitectureFile), component=_keys(ComponentFile), action=_keys(ActionFile),
                        nested={"placement": tuple(PLACEMENT_CLASSES), "cpu": _keys(CpuFile)})
        return edit_arch(doc, overrides, str(path), lambda d, label: _from_doc(ctx, d, label), keys)
    return _from_doc(ctx, doc, str(path))


def _keys(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(f.alias or n for n, f in model.model_fields.items())


def _from_doc(ctx: _Ctx, doc: Any, source: str) -> Architecture:
    """Validate a parsed architecture mapping (errors name ``ctx.file``) into an Architecture from ``source``."""
    top = ctx.model(ArchitectureFile, doc, "")
    if (top.clock_hz is None) == (top.clock_mhz is None):
        ctx.fail("clock_hz", "give exactly one of clock_hz or clock_mhz (a number > 0)")
    clock = top.clock_hz if top.clock_hz is not None else top.clock_mhz * 1e6
    drafts: dict[str, _Draft] = {}
    for i, raw in enumerate(top.components):
        d = _parse_component(ctx, i, raw)
        if d.file.name in drafts:
            ctx.fail(f"components[{i}].name", f"duplicate component name {d.file.name!r} "
                                              f"(also components[{drafts[d.file.name].index}])")
        drafts[d.file.name] = d
    _check_references(ctx, drafts)
    comps = {name: _resolve(ctx, d, drafts, clock) for name, d in drafts.items()}
    placement = _parse_placement(ctx, top.placement, comps)
    cpu = Cpu(top.cpu.name, top.cpu.power_w, top.cpu.source) if top.cpu is not None else None
    arch = Architecture(name=top.name, clock_hz=float(clock), technology=top.technology,
                        components=MappingProxyType(comps), placement=placement, source_file=source,
                        description=top.description, double_buffering=top.double_buffering,
                        clock_source=top.clock_source, cpu=cpu)
    _check_crossbar_params(ctx, arch)
    return arch


def find_arch(name_or_path: str | Path) -> Path:
    """A path as given if it exists or looks like a file, else the shipped ``arch_configs/<name>.yaml`` (in
    :data:`ARCH_DIR`: the installed package's ``neurosim/arch_configs``, or the repo's ``arch_configs/``)."""
    p = Path(name_or_path)
    if p.exists() or p.suffix in (".yaml", ".yml") or len(p.parts) > 1:
        return p
    return ARCH_DIR / f"{p}.yaml"


def shipped_archs() -> list[Path]:
    """The architecture files shipped in arch_configs/."""
    return sorted(ARCH_DIR.glob("*.yaml"))
