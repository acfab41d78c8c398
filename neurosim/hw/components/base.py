"""What every component class shares: its attribute schema, its actions and the unit each is counted in.

An architecture is a list of components (Accelergy style). Each has a *class* (one module in this package:
``dram``, ``sram_buffer``, ``compute_array``, ``crossbar_tile``, ``adc`` ...), class-specific attributes (a
pydantic model: extra keys forbidden, exact types, bounds), and an action table: per action an energy (pJ per
action), a latency (cycles, or ns) and the source of the numbers. The class decides which actions exist and
in what unit each is counted (per bit, per operand pair, per conversion, per pulse ...); the simulators count
exactly that unit, so ``energy = sum(count x energy_pj)`` is the whole dynamic-energy model. A component may also
give its area and its leakage power per one of the units its class scales in (instance, lane, bank, bit, tile,
converter ...): :mod:`neurosim.hw.footprint` multiplies them out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from pydantic import BaseModel, ConfigDict

__all__ = ["Action", "Component", "ComponentClass", "FixedActions", "AttributeModel", "ActionSpec", "NoAttributes",
           "PerUnit", "MAPPED"]

MAPPED = None  # a footprint unit whose count the workload's mapping decides (crossbar tiles used), not the attributes


class AttributeModel(BaseModel):
    """Base of every class's attributes: frozen, strict types, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoAttributes(AttributeModel):
    """A class without attributes."""


@dataclass(frozen=True)
class ActionSpec:
    """An action a class offers: what one action is (its count unit), whether a file must price it, which of its
    numbers may be the word ``device`` (taken from the component's device: read time, pulse energy), whether its
    energy is device physics (cells, pulses) in the reports, and whether the device prices it outright (then it
    is not in the file: e.g. the cells' V_read^2 G t_read), and whether the engine times it by its latency (False:
the class times it from attributes, e.g. DRAM bandwidth and latency_ns, so a latency in the file is an error)."""

    unit: str
    required: bool = True
    device: tuple[str, ...] = ()  # subset of ("energy", "latency")
    device_energy: bool = False
    from_device: bool = False
    timed: bool = True


@dataclass(frozen=True)
class Action:
    """One priced action of a component: energy per action (pJ), latency (cycles of the clock and seconds), the
    unit it is counted in, and where the numbers come from."""

    energy_pj: float
    latency_cycles: float  # an int when the file gives latency_cycles; cycles of the clock when it gives ns
    latency_s: float
    unit: str
    source: str


@dataclass(frozen=True)
class PerUnit:
    """An area (um^2) or leakage power (mW) of one ``per`` unit of a component, with its source."""

    value: float
    per: str
    source: str


@dataclass(frozen=True)
class Component:
    """One component of an architecture: class, typed attributes, priced actions, area and leakage per unit,
    device (crossbars)."""

    name: str
    cls: str
    attributes: Any  # the class's AttributeModel instance
    actions: Mapping[str, Action]
    area: PerUnit | None = None  # um^2 per unit
    leakage: PerUnit | None = None  # mW per unit
    description: str = ""
    device: Any = None  # DeviceParams of a crossbar tile
    device_source: str = ""

    def __deepcopy__(self, memo: dict) -> "Component":
        return self  # immutable: copies of a run share it

    @property
    def kind(self) -> str | None:
        """The datapath kind (compute arrays, update units), else None."""
        return getattr(self.attributes, "kind", None)

    def has(self, action: str) -> bool:
        return action in self.actions


class ComponentClass:
    """One component class: subclass it in a module of this package (the registry finds it by ``name``)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Attributes: ClassVar[type[AttributeModel]] = NoAttributes
    memory: ClassVar[bool] = False  # holds data the placement can name
    offchip: ClassVar[bool] = False
    takes_device: ClassVar[bool] = False  # has a ``device`` block (crossbar tiles)
    order: ClassVar[int] = 100  # listing order in messages and docs

    def actions(self, attrs: Any) -> dict[str, ActionSpec]:
        """The actions a component of this class with these attributes offers (name -> spec)."""
        return {}

    def check(self, attrs: Any, fail) -> None:
        """Cross-field checks of the attributes; ``fail(key, message)`` names the attribute key."""

    def references(self, attrs: Any) -> dict[str, tuple[str, ...]]:
        """Attributes that name other components: attribute -> the classes the named component may have."""
        return {}

    def footprint_units(self, attrs: Any) -> dict[str, float | None]:
        """Units an area or leakage may be given per, with how many of them the component has (``MAPPED``: the
        workload's mapping decides, e.g. crossbar tiles used)."""
        return {"instance": 1.0}


class FixedActions(ComponentClass):
    """A class without attributes whose actions never change (the periphery units): ``ACTIONS`` = action -> unit.
    Crossbar periphery scales with the tiles used and with its lanes (one per tile column)."""

    ACTIONS: ClassVar[dict[str, str]] = {}

    def footprint_units(self, attrs: Any) -> dict[str, float | None]:
        return {"instance": 1.0, "lane": MAPPED, "tile": MAPPED}

    def actions(self, attrs: Any) -> dict[str, ActionSpec]:
        return {a: ActionSpec(unit) for a, unit in self.ACTIONS.items()}
