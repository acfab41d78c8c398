"""The numbers of one simulated run: totals per mode and one report row per (mode, layer, phase).

Leakage power x simulated time is shared out over a mode's rows in proportion to their cycles (so rows add up
to the total), and over components by their leakage power. The row columns come from the one column registry
(:mod:`neurosim.report.columns`).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from .components import component_class
from .footprint import chip_area_um2, leakage_mw_total

__all__ = ["HardwareResult", "PJ_PER_MW_S"]

PJ_PER_MW_S = 1e9  # 1 mW for 1 s = 1e9 pJ


class HardwareResult:
    """Totals and per-row numbers of a run."""

    def __init__(self, obs: Any):
        arch = obs.arch
        self.arch = arch
        self.clock_hz = arch.clock_hz
        self.rows_raw = obs.ordered_rows()
        self.total_cycles = dict(obs.total_cycles)
        self.samples, self.batches = dict(obs.samples), dict(obs.batches)
        eng = obs.engine
        self.engine_runs, self.engine_hits = eng.runs, eng.hits
        self.events_simulated, self.events_represented = eng.events_simulated, eng.events_represented
        self.components = list(arch.components)
        self.footprints = obs.footprints
        self.leakage_mw = {name: f.leakage_mw for name, f in self.footprints.items()}
        self._device_actions = {(c.name, a) for c in arch.components.values()
                                for a, spec in component_class(c.cls).actions(c.attributes).items()
                                if spec.device_energy}
        self._classes = {c.name: c.cls for c in arch.components.values()}

    # ---- per-row helpers
    def _leakage_pj(self, mode: str) -> dict[str, float]:
        seconds = self.total_cycles.get(mode, 0) / self.clock_hz
        return {c: mw * seconds * PJ_PER_MW_S for c, mw in self.leakage_mw.items()}

    def _count(self, row: Any, cls: str, action: str) -> float:
        return sum(n for (c, a), n in row.actions.items() if a == action and self._classes.get(c) == cls)

    def _device_pj(self, energy: dict[tuple[str, str], float]) -> float:
        return sum(e for k, e in energy.items() if k in self._device_actions)

    # ---- totals
    def footprint(self) -> dict:
        """Die area (on-chip components) and leakage power, in total and by component, with the units and the
        sources they were multiplied from; ``area_not_given``: on-chip components the file gives no area."""
        fp = self.footprints
        return {"area_um2": chip_area_um2(fp), "area_mm2": chip_area_um2(fp) / 1e6,
                "area_um2_by_component": {n: f.area_um2 for n, f in fp.items() if not f.offchip},
                "leakage_mw": leakage_mw_total(fp),
                "leakage_mw_by_component": {n: f.leakage_mw for n, f in fp.items()},
                "area_not_given": [n for n, f in fp.items() if not f.offchip and not f.area_source],
                "leakage_not_given": [n for n, f in fp.items() if not f.leakage_source],
                "footprint_units": {n: {"area": [f.area_units, f.area_per], "leakage": [f.leakage_units, f.leakage_per]}
                                    for n, f in fp.items()}}

    def mode_totals(self, mode: str) -> dict:
        """cycles, latency, energy (dynamic + leakage) and energy by component of one mode, plus crossbar counts."""
        rows = [r for r in self.rows_raw if r.mode == mode]
        cycles = self.total_cycles.get(mode, 0)
        by_comp = {c: 0.0 for c in self.components}
        device = 0.0
        for r in rows:
            for c, e in r.energy_by_component().items():
                by_comp[c] += e
            device += self._device_pj(r.energy)
        leak = self._leakage_pj(mode)
        for c, e in leak.items():
            by_comp[c] += e
        total = sum(by_comp.values())
        return {"cycles": cycles, "latency_s": cycles / self.clock_hz, "energy_pj": total,
                "energy_pj_by_component": by_comp, "leakage_pj": sum(leak.values()),
                "samples": self.samples.get(mode, 0), "batches": self.batches.get(mode, 0),
                "write_pulses": sum(r.set_pulses + r.reset_pulses for r in rows),
                "array_reads": sum(self._count(r, "crossbar_tile", "read") for r in rows),
                "adc_conversions": sum(self._count(r, "adc", "convert") for r in rows),
                "device_energy_pj": device, "peripheral_energy_pj": total - device}

    def rows(self) -> list[dict]:
        """One dict per (mode, layer, phase) with every report column."""
        from ..report.columns import RowNumbers, row_dict

        out = []
        total_mw = sum(self.leakage_mw.values())
        for mode in ("train", "eval"):
            rows = [r for r in self.rows_raw if r.mode == mode]
            if not rows:
                continue
            leak_total = sum(self._leakage_pj(mode).values())
            span = sum(r.cycles for r in rows)
            for r in rows:
                share = leak_total * r.cycles / span if span else 0.0
                by_comp: dict[str, float] = defaultdict(float, r.energy_by_component())
                for c, mw in self.leakage_mw.items():
                    by_comp[c] += share * (mw / total_mw if total_mw else 0.0)
                energy = sum(r.energy_by_component().values()) + share
                n = RowNumbers(mode=mode, row=r, energy_pj=energy, leakage_pj=share, by_component=dict(by_comp),
                               device_energy_pj=self._device_pj(r.energy),
                               array_reads=int(self._count(r, "crossbar_tile", "read")),
                               adc_conversions=int(self._count(r, "adc", "convert")))
                out.append(row_dict(n, self.components))
        return out

    def columns(self) -> list[str]:
        from ..report.columns import csv_columns

        return csv_columns(self.components)
