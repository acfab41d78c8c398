"""`neurosim reproduce dst-fig6 ...`: the papers' parameter figures as sweeps of the MNIST MLP, each point trained
and simulated on an architecture that serves it, with the paper's trend and a computed verdict on ours.

Each figure is a sweep mapping (:func:`figure_sweep`) run by :func:`neurosim.explore.sweep.run_sweep`; its points
are averaged over seeds and written as ``<name>.csv/.json/.txt`` and a plot ``<name>.png/.svg``."""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .figure_trends import RULES, WORKLOAD

__all__ = ["FIGURES", "Figure", "aggregate", "choose_arch", "default_workers", "figure_files", "figure_sweep",
           "plot_figure", "run_figure", "stem", "table_lines"]

ARCH_ORDER = ("gxnor", "dst_onchip")  # the narrowest array first: gated XNOR for ternary operands, else 32-bit MAC
METRICS = ["accuracy.test", "resting_probability", "inference.energy_pj_per_sample", "inference.cycles",
           "inference.samples"]


@dataclass(frozen=True)
class Figure:
    """One paper figure: its sweep axis (labels and workload --set values per point), the architectures that may
    serve a point, default epochs, the paper's trend in words and the rule that checks ours."""

    name: str
    paper: str
    title: str
    xlabel: str
    points: tuple[tuple[Any, dict[str, Any]], ...]  # (x label, {workload.key: value})
    archs: tuple[str, ...]
    epochs: int
    paper_settings: str
    trend: str
    rule: str
    base: tuple[tuple[str, Any], ...] = ()
    ylabel: str = ""  # a grid figure's second axis


def _grid13() -> tuple[tuple[Any, dict[str, Any]], ...]:
    """N1 (weights, Z_N1) x N2 (activations): N2 = 0 binary (sign), 1 ternary, >= 2 multi-level."""
    pts = []
    for n1 in range(7):
        for n2 in range(7):
            kind = "sign" if n2 == 0 else ("ternary" if n2 == 1 else "multilevel")
            pts.append(((n1, n2), {"workload.N": n1, "workload.activation.kind": kind,
                                   "workload.activation.N2": max(n2, 1)}))
    return tuple(pts)


_GX = "[GXNOR] Deng et al. 2018, MNIST 32C5-MP2-64C5-MP2-512FC-SVM, batch 100, Adam, m = 3, a = 0.5"
FIGURES: dict[str, Figure] = {f.name: f for f in (
    Figure("dst-fig6", "[DST] Fig. 6", "accuracy against the weight space Z_N (DST, MNIST MLP)", "N",
           tuple((n, {"workload.N": n}) for n in range(9)), ("dst_onchip",), 5,
           "[DST] Li et al. 2018: MNIST, networks 'similar to [43]', epochs not stated in the text read",
           "[DST] Fig. 6: accuracy rises with N (best near N = 7 on MNIST) and may degrade when N grows further",
           "rises", base=(("workload.method", "dst"), ("workload.activation.kind", "relu"))),
    Figure("dst-fig7", "[DST] Fig. 7", "accuracy against tanh(m x) in the transition probability, N = 3", "m",
           (("linear", {"workload.dst.tau": "linear", "workload.dst.m": 3.0}),
            *((m, {"workload.dst.tau": "tanh", "workload.dst.m": float(m)}) for m in (1, 2, 3, 5, 7, 10))),
           ("dst_onchip",), 5, "[DST] Li et al. 2018: MNIST, N = 3, a linear tau as the baseline",
           "[DST] Fig. 7: a slight increase of m above 1 improves accuracy (best at m = 5); a further increase does "
           "not improve it", "rises_then_flat",
           base=(("workload.method", "dst"), ("workload.N", 3), ("workload.activation.kind", "relu"))),
    Figure("gxnor-fig8", "[GXNOR] Fig. 8", "accuracy against the nonlinear factor m (GXNOR, MNIST MLP)", "m",
           tuple((m, {"workload.dst.m": float(m)}) for m in (0.5, 1, 2, 3, 5, 10)), ("gxnor",), 5, _GX,
           "[GXNOR] Fig. 8: a properly larger m clearly improves accuracy (best at m = 3); a too large m helps "
           "little", "rises_then_flat"),
    Figure("gxnor-fig9", "[GXNOR] Fig. 9", "accuracy against the rectangular window's half-width a", "a",
           tuple((a, {"workload.activation.a": float(a)}) for a in (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)), ("gxnor",), 5,
           _GX, "[GXNOR] Fig. 9: both too wide and too narrow a window hurt; a = 0.5 is best", "interior_peak"),
    Figure("gxnor-fig10", "[GXNOR] Fig. 10", "accuracy, resting probability and energy against the sparsity "
           "window r", "r", tuple((r, {"workload.activation.r": float(r)}) for r in (0.0, 0.2, 0.4, 0.5, 0.6, 0.8,
                                                                                     0.9)),
           ("gxnor",), 5, _GX, "[GXNOR] Fig. 10: accuracy improves as the sparsity properly increases, then "
           "degrades when the network becomes too sparse (a best sparse space); sparser is more hardware friendly",
           "interior_peak"),
    Figure("gxnor-fig13", "[GXNOR] Fig. 13", "accuracy over the weight space N1 x activation space N2", "N1",
           _grid13(), ARCH_ORDER, 5, _GX + ", N1 and N2 in 0..6 (read from the figure's axes)",
           "[GXNOR] Fig. 13: a best discrete space in each direction, at N1 = 6 (weights) and N2 = 4 (activations)",
           "grid_best", base=(("workload.method", "dst"),), ylabel="N2"),
)}


def stem(name: str) -> str:
    """A figure's file stem: its name with underscores, like the other tables' files (gxnor-fig13 -> gxnor_fig13)."""
    return name.replace("-", "_")


def figure_files(name: str) -> tuple[str, ...]:
    """The files a figure writes into --out (its sweep folder, ``<stem>_sweep/``, is reused: a finished point of
    the same configuration hash is not trained again)."""
    return tuple(f"{stem(name)}.{ext}" for ext in ("csv", "json", "txt", "png", "svg"))


def _ours(extra: dict[str, Any] | None) -> str:
    """Our settings in words, read from the workload file and the extra --set keys."""
    from ..schema.workload import load_workload

    w = load_workload(WORKLOAD)
    ex = {k.removeprefix("workload."): v for k, v in (extra or {}).items()}
    net = ex.get("network", w.network)
    data = {**w.dataset, **ex.get("dataset", {}),
            **{k.removeprefix("dataset."): v for k, v in ex.items() if k.startswith("dataset.")}}
    (lo, hi), (tlo, thi) = data["train"], data["test"]
    return (f"{WORKLOAD}.yaml: {net}, {hi - lo:,} training and {thi - tlo:,} test images of {data['name']}, "
            f"batch {ex.get('train.batch', w.train.get('batch'))}, {w.train.get('optimizer')}")


def default_workers() -> int:
    """Local worker processes by default: two where there are two cores (a figure's points are independent)."""
    return min(2, os.cpu_count() or 1)


# ---------------------------------------------------------------------------------------------- arch choice
def _serves(arch_name: str, sets: dict[str, Any], data_dir: str | None) -> str | None:
    """None if ``arch_name`` serves every product of the point's layers, else why not."""
    from ..events import MAC_KINDS
    from ..hw.arch import load_arch
    from ..hw.datapath_array import ArrayDatapath
    from ..pipeline.hardware import HardwareRun
    from ..pipeline.prepare import Overrides, prepare
    from ..schema.overrides import make_override

    p = prepare(WORKLOAD, Overrides(sets=tuple(make_override(k, v) for k, v in sets.items())), data_dir)
    arch = load_arch(arch_name)
    try:
        HardwareRun(arch, p)
    except ValueError as e:
        return str(e)
    for info in p.net.infos():
        if info.kind in MAC_KINDS:
            for product in ("forward", "dx", "dw"):
                sel, other = ArrayDatapath.operand_widths(info, product)
                if arch.array_for(product, sel, other) is None:
                    return f"{arch_name}: layer {info.name} {product}: no array serves {sel} x {other} bits"
    return None


def choose_arch(fig: Figure, sets: dict[str, Any], data_dir: str | None) -> tuple[str | None, str]:
    """The first of the figure's architectures that serves the point, and a note (why a point is train-only)."""
    why = []
    for name in fig.archs:
        reason = _serves(name, sets, data_dir)
        if reason is None:
            return name, ""
        why.append(reason)
    return None, "train only: no shipped array serves it (" + "; ".join(why) + ")"


# ---------------------------------------------------------------------------------------------- the sweep
def figure_sweep(fig: Figure, epochs: int, seeds: Sequence[int], data_dir: str | None,
                 points: Sequence[int] | None = None, extra: dict[str, Any] | None = None
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The figure as a sweep mapping (one zip axis: the point's keys and its architecture; a grid of seeds) and
    each point's label, architecture and note; ``extra``: more --set keys of the base (a smaller split in tests)."""
    chosen = [fig.points[i] for i in (points if points is not None else range(len(fig.points)))]
    keys = sorted({k for _, s in chosen for k in s})
    if any(set(s) != set(keys) for _, s in chosen):
        raise ValueError(f"{fig.name}: every point must set the same keys ({', '.join(keys)})")
    info, columns = [], {k: [] for k in (*keys, "arch")}
    for i, (x, sets) in enumerate(chosen):
        full = {**dict(fig.base), **(extra or {}), **sets}
        arch, note = choose_arch(fig, full, data_dir)
        info.append({"x": x, "arch": arch, "note": note, "name": f"{fig.name}-p{i}"})
        for k in keys:
            columns[k].append(sets[k])
        columns["arch"].append(arch)
    spec = {"name": fig.name, "description": f"{fig.paper}: {fig.title}",
            "base": {"workload": WORKLOAD, "set": {**dict(fig.base), **(extra or {}),
                                                  "workload.train.epochs": epochs}},
            "axes": [{"zip": columns}, {"grid": {"seed": list(seeds)}}], "metrics": METRICS}
    return spec, info


# ---------------------------------------------------------------------------------------------- the table
def _numbers(values: Any) -> list[float]:
    """The finite numbers among a column's values (None and NaN dropped)."""
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def _mean(values: Any) -> float:
    nums = _numbers(values)
    return sum(nums) / len(nums) if nums else math.nan


def aggregate(df, info: list[dict[str, Any]], n_points: int) -> list[dict[str, Any]]:
    """One row per figure point: means over seeds of accuracy, resting probability, energy and cycles per
    inference (cycles / samples), with the architecture and note (the sweep's rows: points outer, seeds inner)."""
    rows = []
    per_seed = len(df) // max(n_points, 1)
    for i, meta in enumerate(info):
        part = df.iloc[i * per_seed:(i + 1) * per_seed]
        done = part[part["status"] == "finished"]
        samples = _numbers(done["inference.samples"])
        cycles = [c / n for c, n in zip(_numbers(done["inference.cycles"]), samples) if n > 0]
        rows.append({"point": i, "x": meta["x"], "arch": meta["arch"] or "none (train only)",
                     "seeds": len(done), "test_accuracy": _mean(done["accuracy.test"]),
                     "resting_probability": _mean(done["resting_probability"]),
                     "energy_pj_per_inference": _mean(done["inference.energy_pj_per_sample"]),
                     "cycles_per_inference": _mean(cycles),
                     "test_samples": int(samples[0]) if samples else None, "note": meta["note"]})
    return rows


def table_lines(fig: Figure, rows: list[dict[str, Any]]) -> list[str]:
    """The figure's points as printed: x, arch, accuracy, resting probability, energy and cycles per inference."""
    from ..report import units

    head = f"{fig.xlabel + (' ' + fig.ylabel if fig.ylabel else ''):>8s} {'arch':12s} {'seeds':>5s} " \
           f"{'accuracy':>9s} {'resting':>8s} {'energy/inference':>17s} {'cycles/inference':>17s}"
    lines = [head]
    for r in rows:
        x = " ".join(str(v) for v in r["x"]) if isinstance(r["x"], tuple) else str(r["x"])
        lines.append(f"{x:>8s} {r['arch'][:12]:12s} {r['seeds']:5d} {units.percent(r['test_accuracy'], 2):>9s} "
                     f"{units.percent(r['resting_probability'], 1):>8s} "
                     f"{units.energy(r['energy_pj_per_inference']):>17s} "
                     f"{units.count(r['cycles_per_inference']):>17s}" + (f"  {r['note'][:60]}" if r["note"] else ""))
    return lines


# ---------------------------------------------------------------------------------------------- running
def run_figure(name: str, out: Path, data_dir: str | None = None, epochs: int | None = None,
               seeds: Sequence[int] = (0,), workers: int | None = None, points: Sequence[int] | None = None,
               log: Callable[[str], None] | None = None, extra: dict[str, Any] | None = None) -> list[str]:
    """Run figure ``name`` into ``out`` (its sweep in ``out/<name>-sweep``); the lines to print. ``points``: a
    subset of the figure's points; ``extra``: more --set keys of the base (both for tests)."""
    from ..fileio import atomic_open
    from ..report.files import write_csv, write_json
    from .sweep import run_sweep

    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; allowed: {', '.join(FIGURES)}")
    fig = FIGURES[name]
    n_epochs = epochs or fig.epochs
    w = default_workers() if workers is None else workers
    if log is None:
        from ..progress import current

        log = current().line  # nothing under --quiet
    t0 = time.perf_counter()
    spec, info = figure_sweep(fig, n_epochs, seeds, data_dir, points, extra)
    base, folder = out / stem(name), out / f"{stem(name)}_sweep"
    started = time.time()
    df = run_sweep(spec, out=folder, workers=w, data=data_dir, log=log, table=False)
    wall = time.perf_counter() - t0
    ran_now = _ran_since(folder, set(df["hash"]), started)
    rows = aggregate(df, info, len(info))
    measured = [r["test_samples"] for r in rows if r["test_samples"]]
    verdicts = RULES[fig.rule](fig, rows, max(measured) if measured else None)
    paths = plot_figure(fig, rows, base)
    head = (f"{fig.paper} ({fig.title}) on {WORKLOAD}, {n_epochs} epochs, seeds {','.join(map(str, seeds))}, "
            f"{len(info)} points -> {base}.csv")
    ours = (f"ours: {_ours(extra)}, {n_epochs} epochs, architecture per point: the first of "
            f"{', '.join(fig.archs)} whose arrays serve its operand widths")
    timing = (f"wall time: {wall:.0f} s ({w} workers); points trained now: {ran_now}, reused from an earlier run "
              f"of the same configuration: {df['hash'].nunique() - ran_now}")
    lines = [head, f"paper's settings: {fig.paper_settings}", ours, *table_lines(fig, rows), f"paper: {fig.trend}",
             *(v.line() for v in verdicts), f"plot: {paths[0]}", timing]
    failures = df.attrs.get("failures", {})
    if failures:
        lines.append(f"failed points: {len(failures)} (see {out / (stem(name) + '_sweep')})")
    cols = list(rows[0]) if rows else []
    write_csv(base.with_suffix(".csv"), [{**r, "x": _x_text(r["x"])} for r in rows], cols)
    write_json(base.with_suffix(".json"), {"figure": fig.name, "paper": fig.paper, "title": fig.title,
                                      "paper_settings": fig.paper_settings, "epochs": n_epochs, "seeds": list(seeds),
                                      "workload": WORKLOAD, "paper_trend": fig.trend,
                                      "verdicts": [v.__dict__ for v in verdicts], "wall_seconds": wall,
                                      "points_trained_now": ran_now,
                                      "workers": w, "rows": [{**r, "x": _x_text(r["x"])} for r in rows]})
    with atomic_open(base.with_suffix(".txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return lines


def _ran_since(folder: Path, hashes: set[str], since: float) -> int:
    """Points of ``hashes`` whose record was written after ``since`` (run now, not reused)."""
    from .sweep.store import STORE_FILE, Store

    with Store(folder / STORE_FILE) as st:
        return sum(1 for r in st.records() if r.hash in hashes and r.finished_at >= since)


def _x_text(x: Any) -> Any:
    return " x ".join(map(str, x)) if isinstance(x, tuple) else x


def plot_figure(fig: Figure, rows: list[dict[str, Any]], path: Path) -> tuple[Path, ...]:
    """A line figure: accuracy, resting probability and energy per inference against x; Fig. 13: a bubble grid
    (the larger circle, the higher accuracy, as in the paper)."""
    import numpy as np

    from ..report import units
    from ..report.plots import STYLE, headless, save_figure

    plt = headless()
    with plt.rc_context(STYLE):
        if fig.ylabel:
            fig_, ax = plt.subplots(figsize=(6.4, 5.6))
            acc = np.array([r["test_accuracy"] for r in rows], dtype=float)
            lo, hi = np.nanmin(acc), np.nanmax(acc)
            size = 60 + 540 * (acc - lo) / (hi - lo if hi > lo else 1.0)
            xs, ys = [r["x"][0] for r in rows], [r["x"][1] for r in rows]
            sc = ax.scatter(xs, ys, s=np.nan_to_num(size, nan=5.0), c=acc * 100, cmap="viridis")
            for x, y, a in zip(xs, ys, acc):
                ax.annotate(f"{100 * a:.1f}", (x, y - 0.33), ha="center", va="center", fontsize=7, color="0.15")
            fig_.colorbar(sc, ax=ax, label="test accuracy (%)")
            ax.set_xlabel(f"{fig.xlabel} (weights: 2^N1 + 1 states)")
            ax.set_ylabel(f"{fig.ylabel} (activations: 2^N2 + 1 states)")
            ax.set_ylim(min(ys) - 0.6, max(ys) + 0.5)
        else:
            fig_, axes = plt.subplots(3, 1, figsize=(6.4, 8.0), sharex=True)
            labels = [str(r["x"]) for r in rows]
            pos = np.arange(len(rows))
            e_scale, e_unit = units.axis_scale([r["energy_pj_per_inference"] for r in rows], "J", 1e-12)
            for ax, key, lab, scale in ((axes[0], "test_accuracy", "test accuracy (%)", 100.0),
                                        (axes[1], "resting_probability", "resting probability (%)", 100.0),
                                        (axes[2], "energy_pj_per_inference", f"energy per inference ({e_unit})",
                                         e_scale)):
                ax.plot(pos, [r[key] * scale for r in rows], "-o", color="tab:blue")
                ax.set_ylabel(lab)
                ax.grid(alpha=0.3)
            axes[2].set_xticks(pos, labels)
            axes[2].set_xlabel(fig.xlabel)
            ax = axes[0]
        ax.set_title(f"{fig.paper}: {fig.title}", fontsize=10)
        paths = save_figure(fig_, path)
    plt.close(fig_)
    return paths

