"""Crossbar architecture configs: a YAML file -> validated device, crossbar and periphery cost model.

The memristor-crossbar counterpart of :mod:`neurosim.hw.arch` (same style: file/key-path errors, duplicate keys
rejected, every energy/latency/power number must name its ``source``). It describes one crossbar accelerator:

- ``device``: any :class:`~neurosim.hw.device.DeviceParams` field, plus a mandatory ``source`` (the electrical
  numbers and the read/pulse times are latencies and energies too); ``pulse_energy_pj`` needs its own
  ``pulse_energy_source``.
- ``crossbar``: the DST weight space (``N``, ``mapping``, ``L``) and any
  :class:`~neurosim.hw.crossbar.CrossbarParams` field (tile size, input driver, readout, ADC, write mode).
- ``copy_crossbar`` (optional): CrossbarParams fields that differ for the copy (backward) crossbars of a
  training pair, e.g. a smaller ADC full scale for the small error products; the rest comes from ``crossbar``.
- ``actions``: per-action energy and latency of the periphery, each ``{energy_pj, latency_ns | latency_cycles,
  source}``. ``energy_pj``/``latency_ns`` of ``array_read`` and ``write_pulse`` may be ``device``: the read
  time / pulse width and the pulse energy of the device (V_write^2 / R_on x width unless pulse_energy_pj).
- ``leakage``: ``{power_mw, source}``; ``clock_mhz`` (or ``clock_hz``) with ``clock_source``;
  ``cpu`` (optional): the CPU a crossbar run is compared with, ``{name, power_w, source}``.

Actions and the counter of :class:`~neurosim.hw.crossbar.ActionCounts` each one charges::

    array_read      array_reads            one input plane through one tile (drivers + sample/hold);
                                           the physical V^2 G t_read of the cells is added from read_energy_pj
    integration     integrations           integrator sample (comparator readout)
    comparator      comparator_decisions   one comparator decision (comparator readout)
    adc_conversion  conversions            one ADC conversion; latency per conversion slot (adc readout)
    partial_sum_add partial_sum_adds       digital shift-add of partial sums (adc readout)
    activation      (caller's count)       one neuron activation (e.g. an analog sigmoid circuit)
    subtractor      subtractor_ops         analog subtractor t - o (seed 004)
    filter          filter_ops             filter unit (seed 004)
    sign            sign_ops               sign calculation unit (seed 004)
    write_pulse     write_pulses           one programming pulse; latency per write-driver cycle
    control         (caller's count)       one digital control-unit operation (seed 004)

Required for every file: array_read, write_pulse, and the readout's actions (comparator: integration and
comparator; adc: adc_conversion and partial_sum_add). The others are optional in the file;
:meth:`CrossbarArch.require` lets a user (e.g. the self-training model) demand them with a clear error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, NoReturn

from neurosim.hw.arch import ARCH_DIR, ArchError, read_yaml_mapping
from neurosim.hw.crossbar import ActionCounts, CrossbarError, CrossbarParams
from neurosim.hw.device import MAPPINGS, MAX_N, DeviceError, DeviceParams

__all__ = ["CrossbarArchError", "CrossbarAction", "CrossbarArch", "Cpu", "ACTIONS", "REQUIRED_ACTIONS",
           "READOUT_ACTIONS", "load_crossbar_arch", "find_crossbar_arch"]

# action -> (ActionCounts field it charges, or None when the caller counts it; what one action is)
ACTIONS: dict[str, tuple[str | None, str]] = {
    "array_read": ("array_reads", "one input plane through one tile"),
    "integration": ("integrations", "one integrator sample"),
    "comparator": ("comparator_decisions", "one comparator decision"),
    "adc_conversion": ("conversions", "one ADC conversion"),
    "partial_sum_add": ("partial_sum_adds", "one digital partial-sum add"),
    "activation": (None, "one neuron activation"),
    "subtractor": ("subtractor_ops", "one analog subtraction"),
    "filter": ("filter_ops", "one filter-unit op"),
    "sign": ("sign_ops", "one sign-unit op"),
    "write_pulse": ("write_pulses", "one write pulse"),
    "control": (None, "one digital control op"),
}
REQUIRED_ACTIONS = ("array_read", "write_pulse")
READOUT_ACTIONS = {"comparator": ("integration", "comparator"), "adc": ("adc_conversion", "partial_sum_add")}
_DEVICE_VALUE = ("array_read", "write_pulse")  # actions whose numbers may be "device"

_TOP_KEYS = ("name", "description", "technology", "clock_hz", "clock_mhz", "clock_source", "device", "crossbar",
             "copy_crossbar", "actions", "leakage", "cpu")
_DEVICE_KEYS = tuple(f.name for f in fields(DeviceParams)) + ("source", "pulse_energy_source")
_XBAR_FIELDS = tuple(f.name for f in fields(CrossbarParams))
_XBAR_KEYS = ("N", "mapping", "L") + _XBAR_FIELDS
_ACTION_KEYS = ("energy_pj", "latency_ns", "latency_cycles", "source")


class CrossbarArchError(ArchError):
    """A bad crossbar architecture file or query; the message names the file, the key path and what is allowed."""


@dataclass(frozen=True)
class CrossbarAction:
    """One periphery action: energy per action (pJ), latency (s) and where the numbers come from."""

    energy_pj: float
    latency_s: float
    source: str


@dataclass(frozen=True)
class Cpu:
    """The CPU a crossbar run is compared with: its name and the power charged for its wall time."""

    name: str
    power_w: float
    source: str


@dataclass(frozen=True)
class CrossbarArch:
    """A validated crossbar architecture: device, crossbar geometry, DST space, action costs, leakage, clock."""

    name: str
    technology: str
    clock_hz: float
    clock_source: str
    device: DeviceParams
    device_source: str
    crossbar: CrossbarParams
    N: int
    mapping: str
    L: float
    actions: Mapping[str, CrossbarAction]
    leakage_mw: float
    leakage_source: str
    source_file: str
    description: str = ""
    cpu: Cpu | None = None
    copy_crossbar: CrossbarParams | None = None  # periphery of copy (backward) crossbars; None: as crossbar

    def _err(self, msg: str) -> NoReturn:
        raise CrossbarArchError(f"{self.source_file}: {msg}")

    def action(self, name: str) -> CrossbarAction:
        """The record of action ``name``."""
        if name not in ACTIONS:
            self._err(f"unknown action {name!r}; allowed: {', '.join(ACTIONS)}")
        if name not in self.actions:
            self._err(f"actions.{name}: missing ({ACTIONS[name][1]}); this file defines: {', '.join(self.actions)}")
        return self.actions[name]

    def has(self, name: str) -> bool:
        """Whether action ``name`` is defined."""
        return name in self.actions

    def energy(self, name: str) -> float:
        """Energy of one action in pJ."""
        return self.action(name).energy_pj

    def latency(self, name: str) -> float:
        """Latency of one action in seconds."""
        return self.action(name).latency_s

    def require(self, names: tuple[str, ...] | list[str], why: str) -> None:
        """Raise CrossbarArchError naming the file and every missing action that ``why`` needs."""
        missing = [n for n in names if n not in self.actions]
        if missing:
            self._err(f"actions: {why} needs {', '.join(f'actions.{m}' for m in missing)} "
                      f"(allowed actions: {', '.join(ACTIONS)})")

    def require_cpu(self, why: str) -> Cpu:
        """The cpu section, or an error naming the file."""
        if self.cpu is None:
            self._err(f"cpu: missing; {why} needs {{name, power_w, source}}")
        return self.cpu

    @property
    def cycle_s(self) -> float:
        """One clock cycle in seconds."""
        return 1.0 / self.clock_hz

    def energy_breakdown(self, counts: ActionCounts, activations: int = 0, control_ops: int = 0,
                         seconds: float = 0.0) -> dict[str, float]:
        """Energy in pJ per action from action counts (+ activations and control ops the caller counted).

        ``array_read`` is the periphery cost per tile activation; ``array_cells`` the physical cell energy
        (counts.read_energy_pj); ``leakage`` is leakage power x ``seconds``. Missing optional actions with
        nonzero counts raise an error (a count with no price would be silently free).
        """
        out: dict[str, float] = {}
        extra = {"activation": activations, "control": control_ops}
        for name, (counter, _) in ACTIONS.items():
            n = extra[name] if counter is None else getattr(counts, counter)
            if n == 0 and name not in self.actions:
                continue
            out[name] = float(n) * self.energy(name)
        out["array_cells"] = float(counts.read_energy_pj)
        out["leakage"] = self.leakage_mw * 1e-3 * seconds * 1e12
        out["total"] = float(sum(out.values()))
        return out


# ---------------------------------------------------------------- loading

class _Ctx:
    """Carries the file name so every error names file and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, path: str, msg: str) -> NoReturn:
        raise CrossbarArchError(f"{self.file}: {path}: {msg}" if path else f"{self.file}: {msg}")

    def mapping(self, path: str, v: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(v, dict):
            self.fail(path, f"must be a mapping with keys from: {', '.join(allowed)}; got {type(v).__name__}")
        for k in v:
            if k not in allowed:
                self.fail(f"{path}.{k}" if path else str(k), f"unknown key; allowed: {', '.join(allowed)}")
        return v

    def number(self, path: str, v: Any, lo: float = 0.0, strict: bool = False) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(path, f"must be a finite number, got {v!r}")
        if v < lo or (strict and v == lo):
            self.fail(path, f"must be {'>' if strict else '>='} {lo}, got {v!r}")
        return float(v)

    def text(self, path: str, v: Any) -> str:
        if not isinstance(v, str) or not v.strip():
            self.fail(path, f"must be a non-empty string, got {v!r}")
        return v.strip()

    def source(self, path: str, raw: Mapping[str, Any], key: str = "source", what: str = "") -> str:
        if key not in raw:
            self.fail(f"{path}.{key}", f"missing: every energy/latency/power number must name its source{what}")
        return self.text(f"{path}.{key}", raw[key])


def _param_error(ctx: _Ctx, section: str, err: Exception) -> NoReturn:
    """Turn a DeviceError/CrossbarError ('name: msg') into a file/key error."""
    msg = str(err)
    key, _, rest = msg.partition(": ")
    if rest and " " not in key:
        ctx.fail(f"{section}.{key}", rest)
    ctx.fail(section, msg)


def _parse_device(ctx: _Ctx, raw: Any) -> tuple[DeviceParams, str]:
    raw = ctx.mapping("device", raw, _DEVICE_KEYS)
    src = ctx.source("device", raw, what=" (the device's electrical numbers, read time and pulse width)")
    params = {k: v for k, v in raw.items() if k not in ("source", "pulse_energy_source")}
    if params.get("pulse_energy_pj") is not None:
        ctx.source("device", raw, "pulse_energy_source", " (pulse_energy_pj)")
    for k, v in params.items():
        if isinstance(v, bool):
            ctx.fail(f"device.{k}", f"must be a number, got {v!r}")
    try:
        return DeviceParams(**params), src
    except DeviceError as e:
        _param_error(ctx, "device", e)
    except TypeError as e:  # pragma: no cover - keys are checked above
        ctx.fail("device", str(e))


def _parse_crossbar(ctx: _Ctx, raw: Any) -> tuple[CrossbarParams, int, str, float]:
    raw = ctx.mapping("crossbar", raw, _XBAR_KEYS)
    if "N" not in raw:
        ctx.fail("crossbar.N", f"missing: the DST weight space (an integer in 0..{MAX_N})")
    N = raw["N"]
    if isinstance(N, bool) or not isinstance(N, int) or not 0 <= N <= MAX_N:
        ctx.fail("crossbar.N", f"must be an integer in 0..{MAX_N}, got {N!r}")
    mapping = raw.get("mapping", "differential")
    if mapping not in MAPPINGS:
        ctx.fail("crossbar.mapping", f"got {mapping!r}; allowed: {', '.join(MAPPINGS)}")
    L = ctx.number("crossbar.L", raw.get("L", 1.0), 0.0, strict=True)
    try:
        params = CrossbarParams(**{k: v for k, v in raw.items() if k in _XBAR_FIELDS})
    except CrossbarError as e:
        _param_error(ctx, "crossbar", e)
    return params, int(N), mapping, L


def _parse_actions(ctx: _Ctx, raw: Any, device: DeviceParams, clock_hz: float,
                   readout: str) -> Mapping[str, CrossbarAction]:
    if not isinstance(raw, dict):
        ctx.fail("actions", f"must be a mapping of action -> {{energy_pj, latency_ns | latency_cycles, source}}; "
                            f"allowed actions: {', '.join(ACTIONS)}")
    out: dict[str, CrossbarAction] = {}
    for name, body in raw.items():
        p = f"actions.{name}"
        if name not in ACTIONS:
            ctx.fail(p, f"unknown action; allowed: {', '.join(ACTIONS)}")
        body = ctx.mapping(p, body, _ACTION_KEYS)
        if "energy_pj" not in body:
            ctx.fail(f"{p}.energy_pj", f"missing (energy of {ACTIONS[name][1]} in pJ)")
        src = ctx.source(p, body)
        e = body["energy_pj"]
        if e == "device":
            if name != "write_pulse":
                ctx.fail(f"{p}.energy_pj", "'device' is allowed only for write_pulse; give a number >= 0")
            energy = device.energy_per_pulse_pj
        else:
            energy = ctx.number(f"{p}.energy_pj", e)
        if ("latency_ns" in body) == ("latency_cycles" in body):
            ctx.fail(f"{p}.latency_ns", "give exactly one of latency_ns (a number >= 0"
                                        + (", or 'device'" if name in _DEVICE_VALUE else "")
                                        + ") or latency_cycles (an integer >= 0)")
        if "latency_cycles" in body:
            c = body["latency_cycles"]
            if isinstance(c, bool) or not isinstance(c, int) or c < 0:
                ctx.fail(f"{p}.latency_cycles", f"must be an integer >= 0, got {c!r}")
            latency = c / clock_hz
        elif body["latency_ns"] == "device":
            if name not in _DEVICE_VALUE:
                ctx.fail(f"{p}.latency_ns", f"'device' is allowed only for {', '.join(_DEVICE_VALUE)}; "
                                            f"give a number >= 0")
            latency = device.t_read_s if name == "array_read" else device.pulse_width_s
        else:
            latency = ctx.number(f"{p}.latency_ns", body["latency_ns"]) * 1e-9
        out[name] = CrossbarAction(energy, latency, src)
    for name in REQUIRED_ACTIONS + READOUT_ACTIONS[readout]:
        if name not in out:
            why = "every crossbar" if name in REQUIRED_ACTIONS else f"readout {readout!r}"
            ctx.fail(f"actions.{name}", f"missing: {why} needs it ({ACTIONS[name][1]})")
    return MappingProxyType(out)


def _parse_cpu(ctx: _Ctx, raw: Any) -> Cpu:
    raw = ctx.mapping("cpu", raw, ("name", "power_w", "source"))
    if "power_w" not in raw:
        ctx.fail("cpu.power_w", "missing (the power charged for the CPU's wall time, in W)")
    return Cpu(ctx.text("cpu.name", raw.get("name")), ctx.number("cpu.power_w", raw["power_w"], 0.0, strict=True),
               ctx.source("cpu", raw))


def load_crossbar_arch(path: str | Path) -> CrossbarArch:
    """Load and validate a crossbar architecture YAML (a path, or a shipped name such as 'crossbar_binary')."""
    path = find_crossbar_arch(path)
    ctx = _Ctx(str(path))
    doc = read_yaml_mapping(path, ctx.fail, _TOP_KEYS)
    ctx.mapping("", doc, _TOP_KEYS)
    for key in ("name", "technology", "device", "crossbar", "actions", "leakage"):
        if key not in doc:
            ctx.fail(key, "missing")
    name = ctx.text("name", doc["name"])
    technology = ctx.text("technology", doc["technology"])
    description = doc.get("description", "")
    if not isinstance(description, str):
        ctx.fail("description", "must be a string")
    if ("clock_hz" in doc) == ("clock_mhz" in doc):
        ctx.fail("clock_hz", "give exactly one of clock_hz or clock_mhz (a number > 0)")
    clock = (ctx.number("clock_hz", doc["clock_hz"], 0.0, True) if "clock_hz" in doc
             else ctx.number("clock_mhz", doc["clock_mhz"], 0.0, True) * 1e6)
    clock_src = ctx.source("", doc, "clock_source", " (clock_hz / clock_mhz)")
    device, device_src = _parse_device(ctx, doc["device"])
    xbar, N, mapping, L = _parse_crossbar(ctx, doc["crossbar"])
    copy = None
    if "copy_crossbar" in doc:
        raw_copy = ctx.mapping("copy_crossbar", doc["copy_crossbar"], _XBAR_FIELDS)
        try:
            copy = CrossbarParams(**{**{f: getattr(xbar, f) for f in _XBAR_FIELDS}, **raw_copy})
        except CrossbarError as e:
            _param_error(ctx, "copy_crossbar", e)
        if copy.readout != xbar.readout:
            ctx.fail("copy_crossbar.readout", f"must equal crossbar.readout ({xbar.readout!r}): the action table "
                                              f"prices one readout")
    actions = _parse_actions(ctx, doc["actions"], device, clock, xbar.readout)
    leak = ctx.mapping("leakage", doc["leakage"], ("power_mw", "source"))
    if "power_mw" not in leak:
        ctx.fail("leakage.power_mw", "missing (static power of the periphery in mW; 0 if none)")
    leak_mw = ctx.number("leakage.power_mw", leak["power_mw"])
    leak_src = ctx.source("leakage", leak)
    cpu = _parse_cpu(ctx, doc["cpu"]) if "cpu" in doc else None
    return CrossbarArch(name=name, technology=technology, clock_hz=clock, clock_source=clock_src, device=device,
                        device_source=device_src, crossbar=xbar, N=N, mapping=mapping, L=L, actions=actions,
                        leakage_mw=leak_mw, leakage_source=leak_src, source_file=str(path),
                        description=description, cpu=cpu, copy_crossbar=copy)


def find_crossbar_arch(name_or_path: str | Path) -> Path:
    """A path as given if it exists or looks like a file, else the shipped ``arch_configs/<name>.yaml``."""
    p = Path(name_or_path)
    if p.exists() or p.suffix in (".yaml", ".yml") or len(p.parts) > 1:
        return p
    return ARCH_DIR / f"{p}.yaml"

