"""Area and leakage of an architecture as it is used: each component's figure per unit times how many units it has.

A file gives a component's area (um^2) and leakage power (mW) per one unit of its class (``instance``, ``lane``,
``bank``, ``bit``, ``tile``, ``converter`` ...; :meth:`ComponentClass.footprint_units`). The attributes give most
counts (lanes x arrays, banks, capacity bits); a crossbar's tiles, cells, converters and row drivers are counted
from the workload's mapping by the datapath (``mapped``). Off-chip components have leakage but no die area. The
rules are specified in ``docs/model.md``, section 8.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .arch import Architecture
from .components import component_class

__all__ = ["Footprint", "footprints", "chip_area_um2", "leakage_mw_total"]


@dataclass(frozen=True)
class Footprint:
    """One component's area and leakage as used: per-unit figure x units, and where the figures come from."""

    component: str
    area_um2: float
    leakage_mw: float
    area_units: float  # how many ``area_per`` units
    area_per: str
    leakage_units: float
    leakage_per: str
    offchip: bool
    area_source: str = ""
    leakage_source: str = ""

    @property
    def given(self) -> bool:
        """Whether the file gives an area (on chip) or a leakage (off chip) for this component."""
        return bool(self.area_source) if not self.offchip else bool(self.leakage_source)


def footprints(arch: Architecture, mapped: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Footprint]:
    """Area and leakage of every component; ``mapped``: per component, the counts of its mapping-decided units."""
    mapped = mapped or {}
    out: dict[str, Footprint] = {}
    for c in arch.components.values():
        spec = component_class(c.cls)
        units = dict(spec.footprint_units(c.attributes))
        units.update({k: float(v) for k, v in mapped.get(c.name, {}).items() if k in units})

        def count(per: str) -> float:
            n = units.get(per)
            if n is None:
                raise RuntimeError(f"{arch.source_file}: component {c.name!r}: the datapath did not count its "
                                   f"{per!r} units")
            return float(n)

        a_n = count(c.area.per) if c.area is not None else 0.0
        l_n = count(c.leakage.per) if c.leakage is not None else 0.0
        out[c.name] = Footprint(
            component=c.name, area_um2=c.area.value * a_n if c.area is not None else 0.0,
            leakage_mw=c.leakage.value * l_n if c.leakage is not None else 0.0,
            area_units=a_n, area_per=c.area.per if c.area is not None else "",
            leakage_units=l_n, leakage_per=c.leakage.per if c.leakage is not None else "",
            offchip=spec.offchip, area_source=c.area.source if c.area is not None else "",
            leakage_source=c.leakage.source if c.leakage is not None else "")
    return out


def chip_area_um2(fp: Mapping[str, Footprint]) -> float:
    """Die area: the on-chip components' areas (um^2)."""
    return sum(f.area_um2 for f in fp.values() if not f.offchip)


def leakage_mw_total(fp: Mapping[str, Footprint]) -> float:
    """Leakage power of every component, DRAM background power included (mW)."""
    return sum(f.leakage_mw for f in fp.values())
