"""Hardware report of a run: summary fields, layers.csv (per layer, mode and phase), PNG plots and report.html.

Plain CSV like SCALE-Sim's reports, one JSON summary, and three matplotlib plots: stacked energy per layer by
component, cycles per layer (compute and stall), and resting probability per layer (measured vs uniform).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..fileio import atomic_open
from .columns import COLUMNS
from .files import write_csv


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
    """layers.csv, footprint.csv, the PNG plots (unless ``plots`` is False: sweeps skip them) and report.html."""
    rows = result.rows()
    write_csv(out / "layers.csv", rows, result.columns())
    write_csv(out / "footprint.csv", footprint_rows(result), list(FOOTPRINT_COLUMNS))
    pngs = plot_report(rows, result.components, out,
                       title=f"{summary.get('workload', '')} on {summary.get('arch', '')}") if plots else []
    write_html(out / "report.html", summary, rows, [p.name for p in pngs])


def write_html(path: Path, summary: dict[str, Any], rows: list[dict], plots: list[str]) -> None:
    """One static page: the run's numbers, the plots and the per-layer table (no scripts, no network)."""
    from html import escape

    acc = summary.get("accuracy", {})
    facts = [("workload", summary.get("workload")), ("method", summary.get("method")),
             ("architecture", summary.get("arch")), ("accuracy", ", ".join(
                 f"{k} {100 * v:.2f} %" for k, v in acc.items() if isinstance(v, float) and math.isfinite(v))),
             ("cycles", f"{summary.get('cycles', 0):,}"), ("latency", f"{summary.get('latency_s', 0) * 1e3:.3f} ms"),
             ("energy", f"{summary.get('energy_pj', 0) * 1e-6:.4g} uJ"),
             ("resting probability", f"{100 * summary['resting_probability']:.2f} %"
              if isinstance(summary.get("resting_probability"), float) else None)]
    cols = [c.name for c in COLUMNS if c.html]

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if not math.isfinite(v) else f"{v:.4g}"
        return escape(str(v))

    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>neurosim: {escape(str(summary.get('workload')))} on {escape(str(summary.get('arch')))}</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
             "img{max-width:48%;margin:4px}</style></head><body>",
             f"<h1>{escape(str(summary.get('workload')))} on {escape(str(summary.get('arch')))}</h1><table>"]
    parts += [f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in facts if v is not None]
    comp = summary.get("energy_pj_by_component", {})
    parts.append("</table><h2>Energy by component</h2><table><tr>" + "".join(f"<th>{escape(c)}</th>" for c in comp)
                 + "</tr><tr>" + "".join(f"<td>{e * 1e-6:.4g} uJ</td>" for e in comp.values()) + "</tr></table>")
    parts.append("<h2>Plots</h2>" + "".join(f"<img src='{escape(p)}' alt='{escape(p)}'>" for p in plots))
    parts.append("<h2>Per layer and phase</h2><table><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>")
    parts += ["<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows]
    parts.append("</table><p>Full columns (energy per component, fJ per op, transitions): layers.csv; "
                 "run settings: summary.json.</p></body></html>")
    with atomic_open(path, "w") as fh:
        fh.write("\n".join(parts))


def _savefig(fig, path: Path) -> None:
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")


def plot_report(rows: list[dict], components: list[str], out: Path, title: str = "") -> list[Path]:
    """Stacked energy per layer, cycles per layer, resting probability per layer (PNG, Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mode = "train" if any(r["mode"] == "train" for r in rows) else "eval"
    rows = [r for r in rows if r["mode"] == mode]
    layers: dict[int, str] = {}
    for r in rows:
        layers.setdefault(r["layer"], r["name"])
    idx = sorted(layers)
    names = [layers[i] for i in idx]
    paths = []

    def per_layer(column: str, scale: float = 1.0) -> list[float]:
        return [sum(r[column] for r in rows if r["layer"] == i) * scale for i in idx]

    def stacked(series: dict[str, list[float]], ylabel: str, what: str, name: str) -> None:
        fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(idx) + 2), 4))
        bottom = [0.0] * len(idx)
        for label, vals in series.items():
            if any(vals):
                ax.bar(names, vals, bottom=bottom, label=label)
                bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel(ylabel)
        ax.set_title(f"{what} ({mode}) {title}", fontsize=9)
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", rotation=45)
        paths.append(out / name)
        _savefig(fig, paths[-1])
        plt.close(fig)

    stacked({c: per_layer(f"energy_pj_{c}", 1e-6) for c in components}, "energy (uJ)",
            "energy per layer by component", "energy_per_layer.png")
    stacked({"compute": per_layer("compute_cycles"), "stall": per_layer("stall_cycles")}, "cycles",
            "cycles per layer", "cycles_per_layer.png")

    fwd = [r for r in rows if r["phase"] == "forward" and r["algorithmic_ops"]]
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(fwd) + 2), 4))
    xs = list(range(len(fwd)))
    ax.bar([x - 0.2 for x in xs], [100 * r["resting_probability"] for r in fwd], width=0.4, label="measured")
    ax.bar([x + 0.2 for x in xs], [100 * r["resting_probability_uniform"] for r in fwd], width=0.4,
           label="uniform operands (closed form)")
    ax.set_xticks(xs, [r["name"] for r in fwd])
    ax.set_ylabel("resting probability (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"resting probability per layer, forward ({mode}) {title}", fontsize=9)
    ax.legend(fontsize=7)
    paths.append(out / "resting_per_layer.png")
    _savefig(fig, paths[-1])
    plt.close(fig)
    return paths
