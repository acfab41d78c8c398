"""What a run prints on the terminal: the training summary and the hardware table (columns from the registry)."""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from . import units
from .columns import COLUMNS

__all__ = ["training_lines", "hardware_lines", "table", "si"]


def si(v: Any, unit: str = "") -> str:
    """A number with a k/M/G/T prefix (two decimals), '-' for NaN."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.2f}{prefix}{unit}"
    return f"{v:.0f}{unit}" if isinstance(v, int) or abs(v) >= 10 else f"{v:.3g}{unit}"


def _pct(v: Any) -> str:
    return "-" if not isinstance(v, float) or not math.isfinite(v) else f"{100 * v:.1f}%"


# how the printed table shows each of its columns: (width, formatter)
_SHOW = {"name": (10, lambda v: str(v)[:10]), "phase": (9, str), "cycles": (9, si), "stall_cycles": (8, si),
         "energy_pj": (9, lambda v: units.energy(v)), "offchip_bytes": (9, lambda v: si(v, "B")),
         "onchip_bytes": (9, lambda v: si(v, "B")), "algorithmic_ops": (9, si), "actual_ops": (9, si),
         "resting_probability": (8, _pct), "resting_probability_uniform": (8, _pct), "utilization": (6, _pct)}
_HEAD = {"energy_pj": "energy", "name": "layer", "offchip_bytes": "offchip", "onchip_bytes": "onchip"}


def table(rows: list[dict], mode: str) -> str:
    """A plain-text table of the rows of one mode: the registry's ``table`` columns."""
    cols = [c for c in COLUMNS if c.table]
    rows = [r for r in rows if r["mode"] == mode]
    cells = [[_SHOW[c.name][1](r[c.name]) for c in cols] for r in rows]
    widths = [_SHOW[c.name][0] for c in cols]
    heads = [_HEAD.get(c.name, c.heading) for c in cols]
    line = lambda vals: " ".join(v.ljust(w) if i < 2 else v.rjust(w)  # noqa: E731
                                 for i, (v, w) in enumerate(zip(vals, widths)))
    head = line(heads)
    return "\n".join([head, "-" * len(head)] + [line(c) for c in cells])


def training_lines(s: dict, out: Path) -> list[str]:
    """The summary of a training run."""
    acc = s["accuracy"]
    fmt = lambda v: "n/a" if v is None or v != v else f"{100 * v:.2f} %"  # noqa: E731
    return ["", f"{s['workload']}  method={s['method']}" + (f" N={s['N']}" if s.get("N") is not None else "")
            + f"  seed={s['seed']}  epochs={s['epochs_run']} (best {s['best_epoch']})",
            f"  accuracy  train {fmt(acc['train'])}  validation {fmt(acc['validation'])}  test {fmt(acc['test'])}",
            f"  resting probability {fmt(s['resting_probability'])}   {s['samples_per_second']:.0f} samples/s",
            f"  report: {out}"]


def _number(v: str):
    try:
        f = float(v)
    except ValueError:
        return v if v != "" else float("nan")
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f


def hardware_lines(s: dict, rows_csv: Path) -> list[str]:
    """The hardware part of a report: totals, the per-layer table (read back from layers.csv), energy shares."""
    with open(rows_csv, newline="") as fh:
        rows = [{k: _number(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    for r in rows:  # the display columns the CSV does not carry
        r["offchip_bytes"] = (r["offchip_read_bits"] + r["offchip_write_bits"]) / 8
        r["onchip_bytes"] = (r["onchip_read_bits"] + r["onchip_write_bits"]) / 8
    mode = "train" if s.get("simulated_mode") == "train" else "eval"
    lines = ["", f"{s['arch']} ({mode}): {s['cycles']:,} cycles = {s['latency_s'] * 1e3:.3f} ms at "
                 f"{s['clock_hz'] / 1e6:.0f} MHz, {units.energy(s['energy_pj'])}", table(rows, mode)]
    comp = s["energy_pj_by_component"]
    tot = sum(comp.values()) or 1.0
    lines.append("  energy by component: " + ", ".join(f"{c} {100 * e / tot:.1f}%" for c, e in comp.items() if e))
    if "area_um2" in s:
        missing = s.get("area_not_given") or []
        lines.append(f"  area {units.area(s['area_um2'])}, leakage {units.power(s['leakage_mw'])} "
                     f"({units.energy(s['leakage_pj'])} of the energy)"
                     + (f"; no area given for {', '.join(missing)}" if missing else ""))
    if "inference" in s:
        i = s["inference"]
        lines.append(f"  inference of {i['samples']} samples: {i['cycles']:,} cycles, {units.energy(i['energy_pj'])} "
                     f"({units.energy(i['energy_pj_per_sample'])} per sample)")
    sim = s["simulation"]
    ov = sim.get("overhead_vs_training")
    lines.append(f"  simulation: {sim['seconds']:.2f} s" + (f" (+{100 * ov:.1f} % over training)" if ov else "")
                 + f", {sim['events_represented']:,} engine events ({sim['events_simulated']:,} simulated)")
    return lines
