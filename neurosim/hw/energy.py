"""Per-action energy and latency tables, and leakage, of an architecture; every row carries its source.

Energy of a run = sum over (component, action) of count x energy_pj, plus leakage power x time.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Mapping

from ..fileio import atomic_open
from .arch import Architecture
from .footprint import footprints

__all__ = ["TABLE_COLUMNS", "energy_table", "write_energy_csv", "leakage_mw", "leakage_pj", "actions_energy_pj"]

TABLE_COLUMNS = ("component", "class", "action", "energy_pj", "latency_cycles", "source")
_PJ_PER_MW_S = 1e9  # 1 mW for 1 s = 1e-3 J = 1e9 pJ


def energy_table(arch: Architecture) -> list[dict]:
    """One row per (component, action) in file order: energy, latency and the source of the number."""
    return [
        {"component": c.name, "class": c.cls, "action": a, "energy_pj": act.energy_pj,
         "latency_cycles": act.latency_cycles, "source": act.source}
        for c in arch.components.values() for a, act in c.actions.items()
    ]


def write_energy_csv(arch: Architecture, path: str | Path) -> Path:
    """Write the energy table as CSV atomically (temp file in the same folder, then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TABLE_COLUMNS)
        w.writeheader()
        w.writerows(energy_table(arch))
    return path


def leakage_mw(arch: Architecture, mapped: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, float]:
    """Leakage power per component in mW (0 where the file gives none); ``mapped``: the counts of mapping-decided
    units (crossbar tiles), see :func:`neurosim.hw.footprint.footprints`."""
    return {n: f.leakage_mw for n, f in footprints(arch, mapped).items()}


def leakage_pj(arch: Architecture, seconds: float, mapped: Mapping[str, Mapping[str, float]] | None = None) -> float:
    """Leakage energy in pJ of the whole architecture over ``seconds`` of run time."""
    if not seconds >= 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    return sum(leakage_mw(arch, mapped).values()) * seconds * _PJ_PER_MW_S


def actions_energy_pj(arch: Architecture, counts: Mapping[tuple[str, str], float]) -> float:
    """Dynamic energy in pJ of action counts keyed by (component, action)."""
    return sum(n * arch.energy(comp, act) for (comp, act), n in counts.items())
