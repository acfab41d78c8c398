"""Hardware report of a run: summary fields, layers.csv (per layer, mode and phase), footprint.csv, the figures and
report.html.

Plain CSV like SCALE-Sim's reports, one JSON summary, the training and inference figures of :mod:`.plots` (PNG and
SVG) and the self-contained page of :mod:`.html`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import write_csv
from .html import RunPage, write_run_page
from .plots import run_figures


def hardware_summary(result, arch, sim_seconds: float, train_seconds: float | None) -> dict[str, Any]:
    """Summary fields: training totals at top level (inference totals under 'inference')."""
    train = result.mode_totals("train")
    infer = result.mode_totals("eval")
    main = train if train["batches"] else infer
    s: dict[str, Any] = {
        "arch": arch.name, "arch_file": arch.source_file, "clock_hz": arch.clock_hz, "technology": arch.technology,
        "cycles": main["cycles"], "latency_s": main["latency_s"], "energy_pj": main["energy_pj"],
        "energy_pj_by_component": main["energy_pj_by_component"], "leakage_pj": main["leakage_pj"],
        "simulated_mode": "train" if train["batches"] else "eval",
    }
    s.update(result.footprint())
    if train["batches"]:
        s["training"] = train
    if infer["batches"]:
        s["inference"] = dict(infer, energy_pj_per_sample=infer["energy_pj"] / max(infer["samples"], 1),
                              latency_s_per_sample=infer["latency_s"] / max(infer["samples"], 1))
    rows = [r for r in result.rows() if r["phase"] == "forward" and r["algorithmic_ops"]]
    for mode in ("train", "eval"):
        mr = [r for r in rows if r["mode"] == mode]
        pairs = sum(r["algorithmic_ops"] for r in mr)
        if pairs:
            nz = sum(r["nonzero_pairs"] for r in mr)
            s[f"hw_resting_probability_{mode}"] = 1.0 - nz / pairs
    s["simulation"] = {
        "seconds": sim_seconds, "train_seconds": train_seconds,
        "overhead_vs_training": sim_seconds / train_seconds if train_seconds else None,
        "engine_runs": result.engine_runs, "engine_replays": result.engine_hits,
        "events_simulated": result.events_simulated, "events_represented": result.events_represented,
        "events_per_second": result.events_represented / sim_seconds if sim_seconds > 0 else None,
    }
    return s


FOOTPRINT_COLUMNS = ("component", "class", "on_chip", "area_um2", "area_units", "area_per", "area_source",
                     "leakage_mw", "leakage_units", "leakage_per", "leakage_source")


def footprint_rows(result) -> list[dict]:
    """One row per component: its area and leakage as used, the units they were multiplied by, their sources."""
    classes = {c.name: c.cls for c in result.arch.components.values()}
    return [{"component": n, "class": classes[n], "on_chip": not f.offchip, "area_um2": f.area_um2,
             "area_units": f.area_units, "area_per": f.area_per, "area_source": f.area_source,
             "leakage_mw": f.leakage_mw, "leakage_units": f.leakage_units, "leakage_per": f.leakage_per,
             "leakage_source": f.leakage_source} for n, f in result.footprints.items()]


def write_hardware_report(result, out: Path, summary: dict[str, Any], plots: bool = True) -> None:
    """layers.csv, footprint.csv, the figures (PNG + SVG, unless ``plots`` is False: sweeps skip them) and the
    self-contained report.html."""
    rows = result.rows()
    fp = footprint_rows(result)
    write_csv(out / "layers.csv", rows, result.columns())
    write_csv(out / "footprint.csv", fp, list(FOOTPRINT_COLUMNS))
    title = f"{summary.get('workload', '')} on {summary.get('arch', '')}"
    figs = run_figures(rows, result.components, out, title=title,
                       clock_hz=summary.get("clock_hz")) if plots else []
    write_run_page(out / "report.html", RunPage(summary, rows, fp, figs))
