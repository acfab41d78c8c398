"""The one registry of per-(mode, layer, phase) report columns: layers.csv, report.html and the printed table.

A column is a name (the CSV header), a heading and unit for people, and a function of one row's numbers
(:class:`RowNumbers`). ``csv`` columns are written to layers.csv in registry order, followed by one
``energy_pj_<component>`` column per component of the architecture; ``html`` and ``table`` say which columns the
HTML page and the printed table show. A new column is one entry here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["RowNumbers", "Column", "COLUMNS", "csv_columns", "row_dict", "component_column", "by_name"]

NAN = float("nan")


@dataclass(frozen=True)
class RowNumbers:
    """One row's accumulated numbers (``row``: an :class:`~neurosim.hw.observer.Row`) with its energy: dynamic +
    its share of the leakage, by component, and the part of it that is device physics (cells, pulses)."""

    mode: str
    row: Any
    energy_pj: float
    leakage_pj: float
    by_component: dict[str, float]
    device_energy_pj: float
    array_reads: int
    adc_conversions: int


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[RowNumbers], Any]
    heading: str
    unit: str = ""
    csv: bool = True
    html: bool = False
    table: bool = False
    description: str = ""
    group: str = ""  # the HTML table's column group (layer, time, energy, traffic, work)
    label: str = ""  # the HTML heading, where the printed table's short ``heading`` says too little

    @property
    def title(self) -> str:
        """The heading a page shows: ``label``, else ``heading``."""
        return self.label or self.heading


def _ratio(num: float, den: float) -> float:
    return num / den if den else NAN


def _cause(row: Any) -> str:
    stalls = {"dram": row.stall_dram_cycles, "queue": row.stall_queue_cycles, "bank": row.stall_bank_cycles}
    top = max(stalls, key=stalls.get)
    return top if stalls[top] > 0 else "none"


def _r(attr: str) -> Callable[[RowNumbers], Any]:
    return lambda n: getattr(n.row, attr)


COLUMNS: list[Column] = [
    Column("layer", _r("layer"), "layer index"),
    Column("name", _r("name"), "layer", html=True, table=True, group="layer"),
    Column("kind", _r("kind"), "kind"),
    Column("mode", lambda n: n.mode, "mode", html=True, group="layer"),
    Column("phase", _r("phase"), "phase", html=True, table=True, group="layer"),
    Column("unit", _r("unit"), "unit"),
    Column("batches", _r("batches"), "batches"),
    Column("cycles", _r("cycles"), "cycles", "cycles", html=True, table=True, group="time", label="total",
           description="its share of the run's critical path (compute + stall); the rows add up to the total"),
    Column("compute_cycles", _r("compute_cycles"), "compute", "cycles", html=True, group="time",
           description="computing on the critical path"),
    Column("stall_cycles", _r("stall_cycles"), "stall", "cycles", html=True, table=True, group="time",
           description="waiting on the critical path: stall_dram + stall_queue + stall_bank"),
    Column("stall_dram_cycles", _r("stall_dram_cycles"), "stall dram", "cycles",
           description="waiting on the path for its own DRAM transfer (load or write-back)"),
    Column("stall_queue_cycles", _r("stall_queue_cycles"), "stall queue", "cycles",
           description="waiting on the path for a tile slot or the DRAM channel held by other transfers"),
    Column("stall_bank_cycles", _r("stall_bank_cycles"), "stall bank", "cycles",
           description="waiting on the path for an on-chip buffer port"),
    Column("stall_cause", lambda n: _cause(n.row), "stall cause",
           description="the largest stall of the row: dram, queue or bank (none without stall)"),
    Column("busy_cycles", _r("busy_cycles"), "busy", "cycles",
           description="compute of all its transactions, on the critical path or not (the unit's busy time)"),
    Column("energy_pj", lambda n: n.energy_pj, "energy", "pJ", html=True, table=True, group="energy",
           label="total", description="dynamic energy plus the row's share of the leakage"),
    Column("leakage_pj", lambda n: n.leakage_pj, "leakage", "pJ", html=True, group="energy",
           description="the row's share of the leakage energy (included in the total)"),
    Column("offchip_read_bits", _r("offchip_read_bits"), "off-chip read", "bit", html=True, group="traffic"),
    Column("offchip_write_bits", _r("offchip_write_bits"), "off-chip write", "bit", html=True, group="traffic"),
    Column("onchip_read_bits", _r("onchip_read_bits"), "on-chip read", "bit", html=True, group="traffic"),
    Column("onchip_write_bits", _r("onchip_write_bits"), "on-chip write", "bit", html=True, group="traffic"),
    Column("offchip_bytes", lambda n: (n.row.offchip_read_bits + n.row.offchip_write_bits) / 8, "off-chip", "B",
           csv=False, table=True),
    Column("onchip_bytes", lambda n: (n.row.onchip_read_bits + n.row.onchip_write_bits) / 8, "on-chip", "B",
           csv=False, table=True),
    Column("operand_pairs", _r("operand_pairs"), "operand pairs"),
    Column("nonzero_pairs", _r("nonzero_pairs"), "nonzero pairs"),
    Column("algorithmic_ops", _r("operand_pairs"), "ops", html=True, table=True, group="work", label="algorithmic ops",
           description="operand pairs of the products (the work of the algorithm)"),
    Column("actual_ops", _r("fired"), "actual", html=True, table=True, group="work", label="actual ops",
           description="lane operations fired (compute arrays) or device pairs read on driven rows (crossbars)"),
    Column("resting_probability", lambda n: 1.0 - _ratio(n.row.nonzero_pairs, n.row.operand_pairs),
           "resting", "%", html=True, table=True, group="work", label="resting probability",
           description="share of the operand pairs with a zero operand, measured"),
    Column("resting_probability_uniform", lambda n: 1.0 - _ratio(n.row.uniform_nonzero_pairs, n.row.operand_pairs),
           "uniform", "%", html=True, table=True, group="work", label="resting, uniform operands",
           description="closed form for uniformly random operands"),
    Column("utilization", lambda n: _ratio(n.row.fired, n.row.lane_slots), "util", "%", html=True, table=True,
           group="work", label="utilization", description="lane operations fired / lane slots of its cycles"),
    Column("fj_per_algorithmic_op", lambda n: 1e3 * _ratio(n.energy_pj, n.row.operand_pairs), "per op", "fJ",
           html=True, group="energy", label="per algorithmic op", description="energy / algorithmic ops"),
    Column("fj_per_actual_op", lambda n: 1e3 * _ratio(n.energy_pj, n.row.fired), "per actual op", "fJ"),
    Column("weight_transitions", _r("weight_transitions"), "transitions"),
    Column("state_distance", _r("state_distance"), "states moved"),
    Column("write_pulses", lambda n: n.row.set_pulses + n.row.reset_pulses, "write pulses"),
    Column("set_pulses", _r("set_pulses"), "SET pulses"),
    Column("reset_pulses", _r("reset_pulses"), "RESET pulses"),
    Column("write_cycles", _r("write_cycles"), "write cycles"),
    Column("array_reads", lambda n: n.array_reads, "tile reads"),
    Column("adc_conversions", lambda n: n.adc_conversions, "ADC conversions"),
    Column("device_energy_pj", lambda n: n.device_energy_pj, "device energy", "pJ"),
    Column("peripheral_energy_pj", lambda n: n.energy_pj - n.device_energy_pj, "peripheral energy", "pJ"),
    Column("note", lambda n: "; ".join(n.row.notes), "note"),
]


def by_name(name: str) -> Column:
    return next(c for c in COLUMNS if c.name == name)


def component_column(component: str) -> str:
    return f"energy_pj_{component}"


def csv_columns(components: list[str]) -> list[str]:
    """The columns of layers.csv: the registry's csv columns, then energy by component."""
    return [c.name for c in COLUMNS if c.csv] + [component_column(c) for c in components]


def row_dict(n: RowNumbers, components: list[str]) -> dict[str, Any]:
    """Every column of one row (csv and display columns, and energy per component)."""
    d = {c.name: c.value(n) for c in COLUMNS}
    for comp in components:
        d[component_column(comp)] = n.by_component.get(comp, 0.0)
    return d


def finite(v: Any) -> bool:
    return not (isinstance(v, float) and not math.isfinite(v))
