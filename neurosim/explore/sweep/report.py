"""A sweep's outputs: the table of its points (a pandas DataFrame, ``sweep.csv``), the Pareto front of its
objectives (``pareto.csv``) and, per pair of objectives, that pair's front as CSV and a matplotlib plot (PNG + SVG),
and the table printed on the terminal. Every file is written atomically."""
from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...fileio import atomic_open
from ...schema.sweep import Objective
from .pareto import pareto_mask
from .plan import Point
from .store import Record

__all__ = ["metric_value", "frame", "write_outputs", "table_lines", "missing_metrics"]

FIXED = ("point", "hash", "status", "folder")


def metric_value(summary: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a summary (None where it has none, or where it is not a plain value)."""
    cur: Any = summary
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur if cur is None or isinstance(cur, (int, float, str, bool)) else None


def _cell(v: Any) -> Any:
    """An axis value as one CSV cell (lists and mappings as JSON)."""
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def frame(rows: Sequence[Point], records: dict[str, Record], metrics: Sequence[str], failed: dict[str, str]):
    """One row per expanded point: the point index, the axes' values, the metrics, hash, status, report folder."""
    import pandas as pd

    axes: list[str] = []
    for pt in rows:
        axes += [k for k in pt.values if k not in axes]
    out = []
    for pt in rows:
        rec = records.get(pt.hash)
        row: dict[str, Any] = {"point": pt.index}
        row.update({k: _cell(pt.values.get(k)) for k in axes})
        row.update({m: metric_value(rec.summary, m) if rec else None for m in metrics})
        row.update(hash=pt.hash, status="finished" if rec else ("failed" if pt.hash in failed else "missing"),
                   folder=rec.folder if rec else pt.folder)
        out.append(row)
    return pd.DataFrame(out, columns=["point", *axes, *metrics, "hash", "status", "folder"])


def missing_metrics(df, metrics: Sequence[str]) -> list[str]:
    """Metrics that no finished point's summary has (a misspelt path, or a metric of another kind of run)."""
    done = df[df["status"] == "finished"]
    return [m for m in metrics if len(done) and done[m].isna().all()]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)


def _write_csv(df, path: Path) -> None:
    with atomic_open(path, "w", newline="") as fh:
        df.to_csv(fh, index=False)


def write_outputs(df, out: Path, objectives: Sequence[Objective], title: str = "") -> list[Path]:
    """sweep.csv, and with objectives pareto.csv plus per pair of objectives its front (CSV, PNG, SVG)."""
    written = [out / "sweep.csv"]
    _write_csv(df, written[0])
    if not objectives:
        return written
    done = df[df["status"] == "finished"]
    front = _front(done, objectives)
    written.append(out / "pareto.csv")
    _write_csv(front, written[-1])
    for a, b in itertools.combinations(objectives, 2):
        stem = f"pareto_{_slug(a.metric)}__{_slug(b.metric)}"
        pair = _front(done, (a, b))
        written.append(out / f"{stem}.csv")
        _write_csv(pair, written[-1])
        written += _plot(done, pair, a, b, out / stem, title)
    return written


def _numbers(df, metric: str) -> np.ndarray:
    import pandas as pd

    return pd.to_numeric(df[metric], errors="coerce").to_numpy(dtype=np.float64)


def _front(df, objectives: Sequence[Objective]):
    """The rows of ``df`` on the Pareto front of ``objectives``, sorted by the first objective."""
    if len(df) == 0:
        return df
    values = np.stack([_numbers(df, o.metric) for o in objectives], axis=1)
    front = df[pareto_mask(values, [o.goal for o in objectives])]
    return front.sort_values(objectives[0].metric, ascending=objectives[0].goal == "min", kind="stable")


def _plot(done, front, a: Objective, b: Objective, stem: Path, title: str) -> list[Path]:
    """Every point and the front of one pair of objectives, as PNG and SVG."""
    from ...report.plots import STYLE, headless

    plt = headless()

    with plt.rc_context(STYLE):
        return _draw(plt, done, front, a, b, stem, title)


def _si_ticks(ax, axis: str, metric: str) -> None:
    """Ticks of an energy (pJ), time (s) or cycle count read with SI prefixes ('12.6 mJ', '262 ns', '500 k')."""
    from matplotlib.ticker import EngFormatter, FuncFormatter

    from ...report import units

    leaf = metric.rsplit(".", 1)[-1]
    fmt = units.energy if "energy_pj" in leaf else units.seconds if leaf.startswith("latency_s") else None
    target = getattr(ax, f"{axis}axis")
    if fmt is not None:
        target.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, 2) if v > 0 else "0"))
    elif "cycles" in leaf:
        target.set_major_formatter(EngFormatter(sep=" "))


def _draw(plt, done, front, a: Objective, b: Objective, stem: Path, title: str) -> list[Path]:
    """The scatter of the points and the line of the front, in the report's figure style."""
    from ...report.plots import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.scatter(_numbers(done, a.metric), _numbers(done, b.metric), s=22, color="0.65", label="points")
    fx, fy = _numbers(front, a.metric), _numbers(front, b.metric)
    order = np.argsort(fx, kind="stable")
    ax.plot(fx[order], fy[order], "-o", color="tab:red", ms=5, lw=1.2, label="Pareto front")
    ax.set_xlabel(f"{a.metric} ({'lower' if a.goal == 'min' else 'higher'} is better)")
    ax.set_ylabel(f"{b.metric} ({'lower' if b.goal == 'min' else 'higher'} is better)")
    for axis, v in (("x", _numbers(done, a.metric)), ("y", _numbers(done, b.metric))):
        v = v[np.isfinite(v)]
        if len(v) and v.min() > 0 and v.max() / v.min() > 50:  # values over decades (energies, cycles)
            getattr(ax, f"set_{axis}scale")("log")
    _si_ticks(ax, "x", a.metric)
    _si_ticks(ax, "y", b.metric)
    ax.set_title(title or "sweep")
    ax.grid(alpha=0.3)
    ax.legend()
    paths = list(save_figure(fig, stem))
    plt.close(fig)
    return paths


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return f"{v:,}" if abs(v) >= 10000 else str(v)
    return f"{v:.4g}"


def table_lines(df, max_rows: int = 40) -> list[str]:
    """The points as a plain-text table (at most ``max_rows`` rows; the rest are in sweep.csv)."""
    cols = [c for c in df.columns if c != "folder"]
    shown = df.head(max_rows)
    cells = [[_fmt(None if (isinstance(v, float) and math.isnan(v)) else v) for v in row]
             for row in shown[cols].itertuples(index=False)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    if len(df) > max_rows:
        lines.append(f"... {len(df) - max_rows} more points in sweep.csv")
    return lines
