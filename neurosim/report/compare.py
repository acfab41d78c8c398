"""``neurosim report compare RUN...``: one self-contained page that sets several run folders side by side.

The page holds the key numbers of every run in one table (a row per metric, a column per run; rows whose values
differ are highlighted, the best and worst number of a metric marked, and each number's change against the first
run shown), the energy of each component per run (a table and a stacked-bar figure, the components in the colours of
the run reports) and a link to each run's own report. A folder that is not a neurosim run (no readable
summary.json) is refused with a message naming it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Callable, Sequence

from ..fileio import atomic_open
from . import units
from .html import Cell, cards, figure_html, page, table, title_of
from .plots import compare_energy_figure

__all__ = ["NotARunError", "RunInfo", "load_run", "write_compare_page", "METRICS"]


class NotARunError(ValueError):
    """A folder given to ``report compare`` that is not the folder of a neurosim run; the message names it."""


@dataclass(frozen=True)
class RunInfo:
    """One run folder: its path, a short label for the page and its summary."""

    folder: Path
    label: str
    summary: dict[str, Any]

    @property
    def report(self) -> Path | None:
        p = self.folder / "report.html"
        return p if p.exists() else None


def load_run(folder: Path) -> dict[str, Any]:
    """The summary of a run folder; NotARunError naming the folder when it is none."""
    folder = Path(folder)
    if not folder.exists():
        raise NotARunError(f"{folder}: no such folder (give the folders of neurosim runs, e.g. reports/<run-id>)")
    if not folder.is_dir():
        raise NotARunError(f"{folder}: is a file, not a run folder (give the folder that holds summary.json)")
    path = folder / "summary.json"
    if not path.exists():
        raise NotARunError(f"{folder}: not a neurosim run folder (no summary.json; a run writes summary.json, "
                           f"layers.csv and report.html into its --out folder)")
    try:
        s = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise NotARunError(f"{path}: not a readable neurosim summary ({e})") from None
    if not isinstance(s, dict) or "workload" not in s:
        raise NotARunError(f"{path}: not a neurosim run summary (it has no 'workload')")
    return s


def _labels(folders: Sequence[Path]) -> list[str]:
    """Short unique labels: the folder names, with their parents where two names are the same."""
    names = [f.resolve().name for f in folders]
    out = []
    for f, n in zip(folders, names):
        out.append(f"{f.resolve().parent.name}/{n}" if names.count(n) > 1 else n)
    seen: dict[str, int] = {}
    for i, label in enumerate(out):  # the same folder twice
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            out[i] = f"{label} ({seen[label]})"
    return out


def _get(s: dict, path: str) -> Any:
    cur: Any = s
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _per_sample(mode: str) -> Callable[[dict], Any]:
    def f(s: dict) -> Any:
        m = s.get(mode) or {}
        return m["energy_pj"] / m["samples"] if units.is_number(m.get("energy_pj")) and m.get("samples") else None
    return f


def _accuracy(s: dict) -> Any:
    acc = s.get("accuracy") or {}
    return next((acc[k] for k in ("test", "validation", "train") if units.is_number(acc.get(k))), None)


@dataclass(frozen=True)
class Metric:
    """One row of the comparison: a heading, how to read it from a summary, how to show it, which way is better."""

    section: str
    heading: str
    value: Callable[[dict], Any]
    show: Callable[[Any], str] = str
    better: str | None = None  # 'min', 'max' or None (a setting, not a score)


def _path(p: str) -> Callable[[dict], Any]:
    return lambda s: _get(s, p)


def _text(v: Any) -> str:
    return units.MISSING if v is None or v == "" else str(v)


METRICS: tuple[Metric, ...] = (
    Metric("run", "workload", _path("workload"), _text),
    Metric("run", "network", _path("network"), _text),
    Metric("run", "method", lambda s: (f"{s['method']}" + (f" (N = {s['N']})" if s.get("N") is not None else ""))
           if s.get("method") else s.get("format"), _text),
    Metric("run", "architecture", lambda s: s.get("arch") or "none (training only)", _text),
    Metric("run", "clock", _path("clock_hz"), units.hertz),
    Metric("run", "technology", _path("technology"), _text),
    Metric("run", "epochs", _path("epochs_run"), _text),
    Metric("run", "seed", _path("seed"), _text),
    Metric("run", "config hash", _path("config_hash"), _text),
    Metric("accuracy", "accuracy (test split)", _accuracy, lambda v: units.percent(v, 2), "max"),
    Metric("accuracy", "resting probability (training)", _path("resting_probability"), units.percent),
    Metric("inference", "energy / inference", _path("inference.energy_pj_per_sample"), units.energy, "min"),
    Metric("inference", "latency / inference", _path("inference.latency_s_per_sample"), units.seconds, "min"),
    Metric("inference", "inference cycles", _path("inference.cycles"), units.count, "min"),
    Metric("inference", "inference samples", _path("inference.samples"), units.count),
    Metric("inference", "resting probability (hardware)", _path("hw_resting_probability_eval"), units.percent, "max"),
    Metric("training", "training energy", _path("training.energy_pj"), units.energy, "min"),
    Metric("training", "training energy / sample", _per_sample("training"), units.energy, "min"),
    Metric("training", "training latency", _path("training.latency_s"), units.seconds, "min"),
    Metric("training", "training cycles", _path("training.cycles"), units.count, "min"),
    Metric("training", "write pulses", _path("training.write_pulses"), units.count, "min"),
    Metric("footprint", "area", _path("area_um2"), units.area, "min"),
    Metric("footprint", "leakage power", _path("leakage_mw"), units.power, "min"),
    Metric("simulation", "simulation time", _path("simulation.seconds"), units.seconds),
)


def _change(v: float, base: float, points: bool = False) -> str:
    """The change of ``v`` against ``base``: relative (' (+3.4 %)'), or in percentage points for fractions."""
    if not units.is_number(base) or v == base:
        return ""
    sign = "+" if v > base else "−"
    if points:
        return f" ({sign}{abs(100 * (v - base)):.2f} pp)"
    return "" if base == 0 else f" ({sign}{abs(100 * (v - base) / base):.1f} %)"


def metrics_table(runs: Sequence[RunInfo]) -> str:
    """A row per metric, a column per run: differing rows highlighted, best and worst marked, change vs the first."""
    heads = [("metric", "", ""), *[(r.label, "", str(r.folder)) for r in runs]]
    rows, classes = [], []
    for m in METRICS:
        vals = [m.value(r.summary) for r in runs]
        if all(v is None for v in vals):
            continue
        shown = [m.show(v) if v is not None else units.MISSING for v in vals]
        nums = [v for v in vals if units.is_number(v)]
        differ = len({t for t in shown if t != units.MISSING}) > 1  # a run without the metric is no difference
        best = worst = None
        if m.better and len(nums) > 1 and min(nums) != max(nums):
            best, worst = (min(nums), max(nums)) if m.better == "min" else (max(nums), min(nums))
        cells = [Cell(m.heading, m.heading, f"{m.section}" + (f"; {m.better}imum is better" if m.better else ""))]
        base = vals[0]
        for i, (v, text) in enumerate(zip(vals, shown)):
            cls = "best" if v is not None and v == best else ("worst" if v is not None and v == worst else "")
            change = (_change(v, base, points=m.show is units.percent or "accuracy" in m.heading)
                      if i and m.better and units.is_number(v) and units.is_number(base) else "")
            cells.append(Cell(text + change, v if units.is_number(v) else text, cls=cls))
        rows.append(cells)
        classes.append("diff" if differ else "")
    return table("metrics", heads, rows, text_columns=len(runs) + 1, row_classes=classes)


def _components(runs: Sequence[RunInfo], mode: str, per_sample: bool) -> list[tuple[str, dict[str, float]]]:
    out = []
    for r in runs:
        m = r.summary.get(mode) or {}
        comp = m.get("energy_pj_by_component") or {}
        n = max(m.get("samples") or 1, 1) if per_sample else 1
        out.append((r.label, {k: v / n for k, v in comp.items() if units.is_number(v)}))
    return out


def component_table(runs: Sequence[tuple[str, dict[str, float]]], tid: str) -> str:
    """A row per component (the union over the runs), a column per run: energy and share."""
    names: list[str] = []
    for _, comp in runs:
        names += [c for c in comp if c not in names]
    totals = [sum(c.values()) or 1.0 for _, c in runs]
    heads = [("component", "", ""), *[(label, "", "") for label, _ in runs]]
    rows = [[Cell(n, n)] + [Cell(f"{units.energy(c[n])} ({100 * c[n] / t:.1f} %)" if n in c else units.MISSING,
                                 c.get(n)) for (_, c), t in zip(runs, totals)] for n in names]
    rows.append([Cell("total", "~")] + [Cell(units.energy(sum(c.values())) if c else units.MISSING,
                                             sum(c.values())) for _, c in runs])
    return table(tid, heads, rows, text_columns=1)


def _highlights(runs: Sequence[RunInfo]) -> list[tuple[str, str, str]]:
    """The header's cards: how many runs, and which run is best at the main scores."""
    items = [("runs compared", str(len(runs)), ", ".join(sorted({str(r.summary.get("workload")) for r in runs})))]
    for heading in ("accuracy (test split)", "energy / inference", "latency / inference", "training energy", "area"):
        m = next(x for x in METRICS if x.heading == heading)
        vals = [(m.value(r.summary), r.label) for r in runs]
        vals = [(v, label) for v, label in vals if units.is_number(v)]
        if not vals:
            continue
        v, label = (min if m.better == "min" else max)(vals, key=lambda t: t[0])
        spread = ""
        if len(vals) > 1:
            lo, hi = min(x for x, _ in vals), max(x for x, _ in vals)
            spread = f"; range {m.show(lo)} – {m.show(hi)}" if lo != hi else "; the same in every run"
        items.append((f"best {heading}", m.show(v), f"{label}{spread}"))
    return items


def _link(run: RunInfo, out: Path) -> str:
    target = run.report or (run.folder / "summary.json")
    rel = os.path.relpath(target.resolve(), out.parent.resolve())
    return (f"<a href='{escape(rel, quote=True)}'>{escape(run.label)}</a> "
            f"<span class='muted'>({escape(str(run.folder))})</span>")


def write_compare_page(runs: list[Path], out: Path) -> Path:
    """Write one page comparing the run folders ``runs`` side by side into ``out`` (a file, or a folder: then
    out/compare.html); the per-component figures are written beside it (PNG and SVG). Returns the page's path."""
    folders = [Path(r) for r in runs]
    if not folders:
        raise NotARunError("report compare: give at least one run folder")
    summaries = [load_run(f) for f in folders]
    out = Path(out)
    if not out.suffix and not out.exists():  # a folder to make (a page is named *.html)
        out.mkdir(parents=True)
    if out.is_dir():
        out = out / "compare.html"
    if not out.parent.is_dir():
        raise ValueError(f"{out.parent}: no such folder for the comparison page; create it or choose another --out")
    infos = [RunInfo(f, label, s) for f, label, s in zip(folders, _labels(folders), summaries)]
    body = [cards(_highlights(infos))]
    body.append("<section id='metrics'><h2>Key numbers</h2><p class='muted'>Highlighted rows differ between the runs; "
                "the best value of a score is green, the worst red; (±x %) is the change against the first run "
                "(pp: percentage points).</p>"
                + metrics_table(infos) + "</section>")
    parts = ["<section id='energy'><h2>Energy by component</h2>"]
    for mode, per_sample, what, stem in (("inference", True, "Inference energy per sample", "inference_energy"),
                                         ("training", False, "Training energy (all samples)", "training_energy")):
        comp = _components(infos, mode, per_sample)
        if not any(c for _, c in comp):
            continue
        fig = compare_energy_figure(comp, out.parent / f"{out.stem}_{stem}", what)
        parts.append(f"<h3>{what}</h3>")
        if fig is not None:
            parts.append("<div class='figs'>" + figure_html(fig, scale=0.62) + "</div>")
        parts.append(component_table([c for c in comp if c[1]], f"{stem}_components"))
    no_hw = [r.label for r in infos if "arch" not in r.summary]
    if no_hw:
        parts.append(f"<p class='muted'>No hardware simulated in: {', '.join(no_hw)} (training only).</p>")
    parts.append("</section>")
    body.append("".join(parts))
    body.append("<section id='runs'><h2>Runs</h2><ul>"
                + "".join(f"<li>{_link(r, out)}: {escape(title_of(r.summary))}</li>" for r in infos)
                + "</ul></section>")
    nav = [("metrics", "key numbers"), ("energy", "energy by component"), ("runs", "run reports")]
    html = page("neurosim: comparison of " + ", ".join(r.label for r in infos),
                f"Comparison of {len(infos)} runs", " · ".join(r.label for r in infos), nav, body)
    with atomic_open(out, "w", encoding="utf-8") as fh:
        fh.write(html)
    return out
