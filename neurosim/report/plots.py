"""The figures of a run's report, for a paper: training and inference apart, PNG and SVG, SI units on the axes.

Per mode (training, inference) four figures: energy by component (horizontal bars, log axis when the components
span more than :data:`DOMINANCE` x), energy per layer stacked by component (a second panel without the largest
component when it is more than :data:`DOMINANCE` x the next, so the rest stay visible), cycles per layer (compute and
the three stall causes) and resting probability per layer (measured vs uniform operands). A component has one colour
in every figure of every run (:func:`component_color`). Files: ``<figure>.png`` / ``.svg`` for the run's main mode
(training when it trained, else inference) and ``<figure>_inference.png`` / ``.svg`` for a training run's inference.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..fileio import atomic_open
from . import units

__all__ = ["Figure", "STYLE", "save_figure", "COMPONENT_COLORS", "component_color", "FIGURE_STEMS", "figure_files",
           "all_figure_names", "mode_figures", "run_figures", "compare_energy_figure", "dominant", "DOMINANCE"]

DOMINANCE = 20.0  # the largest component is "dominant" above this many times the next
MODE_TITLE = {"train": "training", "eval": "inference"}
FIGURE_STEMS = ("energy_by_component", "energy_per_layer", "cycles_per_layer", "resting_per_layer")

# one colour per component name, whatever the run or the order of its components (unknown names: by a hash)
COMPONENT_COLORS: dict[str, str] = {
    "dram": "#4d4d4d", "state_buffer": "#1f77b4", "global_buffer": "#6baed6", "periphery_buffer": "#9ecae1",
    "pe_array": "#2ca02c", "input_array": "#98df8a", "grad_array": "#ff7f0e", "update_unit": "#d62728",
    "accumulator": "#9467bd", "crossbar": "#17becf", "copy_crossbar": "#9edae5", "row_driver": "#bcbd22",
    "adc": "#e377c2", "comparator": "#f7b6d2", "shift_adder": "#8c564b", "write_driver": "#ff9896",
    "control": "#c5b0d5", "interconnect": "#dbdb8d", "neuron": "#c49c94", "subtractor": "#7f7f7f",
    "sign_unit": "#393b79", "filter": "#637939",
}
_FALLBACK = ("#843c39", "#7b4173", "#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#6b6ecf", "#b5cf6b",
             "#e7ba52", "#d6616b", "#ce6dbd", "#9c9ede", "#cedb9c", "#e7cb94", "#e7969c")
CYCLE_COLORS = {"compute": "#2ca02c", "stall: DRAM": COMPONENT_COLORS["dram"], "stall: queue": "#ff7f0e",
                "stall: buffer bank": COMPONENT_COLORS["state_buffer"]}
STYLE = {"font.size": 11, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 10.5,
          "ytick.labelsize": 10.5, "legend.fontsize": 10, "axes.spines.top": False, "axes.spines.right": False,
          "svg.fonttype": "none", "axes.formatter.useoffset": False}


@dataclass(frozen=True)
class Figure:
    """One saved figure: its mode ('train' or 'eval'), title, caption and files (PNG first, then SVG)."""

    mode: str
    stem: str
    title: str
    caption: str
    files: tuple[Path, ...]

    @property
    def png(self) -> Path:
        return self.files[0]


def component_color(name: str) -> str:
    """The colour of a component: fixed for the shipped names, else picked by a stable hash of the name."""
    return COMPONENT_COLORS.get(name) or _FALLBACK[zlib.crc32(name.encode()) % len(_FALLBACK)]


def dominant(totals: dict[str, float]) -> str | None:
    """The component whose total is more than DOMINANCE x the next largest (None when there is none)."""
    ranked = sorted(((v, k) for k, v in totals.items() if v > 0), reverse=True)
    if len(ranked) >= 2 and ranked[0][0] > DOMINANCE * ranked[1][0]:
        return ranked[0][1]
    return None


def figure_files(stem: str, mode: str, main_mode: str) -> tuple[str, str]:
    """The PNG and SVG names of a figure: the main mode's unsuffixed, a training run's inference with a suffix."""
    base = stem if mode == main_mode else f"{stem}_inference"
    return f"{base}.png", f"{base}.svg"


def all_figure_names() -> tuple[str, ...]:
    """Every file name a run's figures may have (a report folder's known files)."""
    return tuple(n for s in FIGURE_STEMS for m in ("train", "eval") for n in figure_files(s, m, "train"))


class _Headless:
    """The three pyplot calls the figures use (subplots, close, rc_context), drawn on Agg canvases of their own:
    the process's backend is never switched, so a notebook's inline figures keep working after a run."""

    @staticmethod
    def subplots(*args: Any, figsize: tuple[float, float] | None = None, **kwargs: Any):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        fig = _Figure(figsize=figsize)
        FigureCanvasAgg(fig)
        return fig, fig.subplots(*args, **kwargs)

    @staticmethod
    def close(fig: Any) -> None:
        """Nothing to release: the figure is not registered with pyplot."""

    @staticmethod
    def rc_context(rc: dict):
        import matplotlib

        return matplotlib.rc_context(rc)


def headless() -> _Headless:
    """A pyplot stand-in that draws off-screen without touching the process's matplotlib backend."""
    return _Headless()


def save_figure(fig, stem: Path) -> tuple[Path, ...]:
    """The figure as ``<stem>.png`` (150 dpi) and ``<stem>.svg`` (text as text), cropped to its content (the crop
    measured once), each written atomically."""
    paths = (stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.svg")
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    for path, fmt in zip(paths, ("png", "svg")):
        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, format=fmt, dpi=150, bbox_inches=box, metadata={"Date": None} if fmt == "svg" else {})
    return paths


def _energy_axis(ax, values: Iterable[float], axis: str = "y") -> float:
    """Put an energy label with an SI-scaled unit on a linear axis; returns the factor to multiply pJ by."""
    factor, unit = units.axis_scale(list(values), "J", 1e-12, highest=1.0)
    getattr(ax, f"set_{axis}label")(f"energy ({unit})")
    return factor


def _log_energy_axis(ax, axis: str = "x") -> None:
    """A log axis of energies in pJ whose ticks read as energies ('10 nJ', '1 µJ')."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10))
    target.set_major_formatter(FuncFormatter(lambda v, _: units.energy(v, digits=1) if v > 0 else ""))
    getattr(ax, f"set_{axis}label")("energy (log scale)")


def _layer_order(rows: Sequence[dict]) -> tuple[list[int], list[str]]:
    layers: dict[int, str] = {}
    for r in rows:
        layers.setdefault(int(r["layer"]), str(r["name"]))
    idx = sorted(layers)
    return idx, [layers[i] for i in idx]


def _per_layer(rows: Sequence[dict], idx: list[int], column: str) -> list[float]:
    sums = {i: 0.0 for i in idx}
    for r in rows:
        v = r.get(column)
        if units.is_number(v):
            sums[int(r["layer"])] += float(v)
    return [sums[i] for i in idx]


def _xticks(ax, names: list[str]) -> None:
    rotate = len(names) > 10 or sum(len(n) + 2 for n in names) > 60  # labels that would touch
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=40 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlabel("layer")


def _width(n_layers: int) -> float:
    return min(max(7.0, 0.55 * n_layers + 3.5), 14.0)


def _energy_by_component(plt, totals: dict[str, float], mode: str, title: str, stem: Path) -> Figure:
    """Horizontal bars of each component's energy, largest first, labelled with its energy and share."""
    items = sorted(((v, k) for k, v in totals.items() if v > 0), reverse=True)
    total = sum(v for v, _ in items) or 1.0
    fig, ax = plt.subplots(figsize=(7.5, max(2.6, 0.42 * len(items) + 1.4)))
    names, vals = [k for _, k in items], [v for v, _ in items]
    log = bool(items) and items[0][0] > DOMINANCE * items[-1][0]
    if log:
        ax.barh(names, vals, color=[component_color(n) for n in names])
        _log_energy_axis(ax, "x")
        ax.set_xlim(min(vals) / 3, max(vals) * 30)
        labels_at = vals
    else:
        factor = _energy_axis(ax, vals, "x")
        ax.barh(names, [v * factor for v in vals], color=[component_color(n) for n in names])
        ax.set_xlim(0, max(vals, default=1) * factor * 1.35)
        labels_at = [v * factor for v in vals]
    for y, (v, at) in enumerate(zip(vals, labels_at)):
        ax.text(at, y, f"  {units.energy(v)} ({100 * v / total:.1f} %)", va="center", fontsize=10)
    ax.invert_yaxis()
    ax.set_ylabel("component")
    ax.set_title(f"{MODE_TITLE[mode].capitalize()}: energy by component, total {units.energy(total)}\n{title}")
    ax.grid(axis="x", alpha=0.3)
    files = save_figure(fig, stem)
    plt.close(fig)
    scale = "log scale, since the components span more than 20x" if log else "linear scale"
    return Figure(mode, "energy_by_component", f"{MODE_TITLE[mode].capitalize()}: energy by component",
                  f"Energy of each component ({scale}), dynamic plus its share of the leakage.", files)


def _stack(ax, names: list[str], series: dict[str, list[float]], colors: dict[str, str], factor: float = 1.0) -> None:
    bottom = [0.0] * len(names)
    for label, vals in series.items():
        if any(vals):
            scaled = [v * factor for v in vals]
            ax.bar(range(len(names)), scaled, bottom=bottom, label=label, color=colors[label], width=0.7)
            bottom = [b + v for b, v in zip(bottom, scaled)]


def _energy_per_layer(plt, rows: Sequence[dict], components: Sequence[str], mode: str, title: str,
                      stem: Path) -> Figure:
    """Energy per layer stacked by component; a second panel without a dominant component."""
    idx, names = _layer_order(rows)
    series = {c: _per_layer(rows, idx, f"energy_pj_{c}") for c in components}
    series = {c: v for c, v in series.items() if any(v)}
    colors = {c: component_color(c) for c in series}
    big = dominant({c: sum(v) for c, v in series.items()})
    panels = [series] + ([{c: v for c, v in series.items() if c != big}] if big else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(_width(len(idx)) * (1.6 if big else 1), 4.6), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        factor = _energy_axis(ax, [sum(col) for col in zip(*panel.values())] or [0.0])
        _stack(ax, names, panel, colors, factor)
        ax.set_ylim(bottom=0)
        _xticks(ax, names)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_title("all components" if big else "")
    if big:
        share = sum(series[big]) / sum(map(sum, series.values()))
        axes[0][1].set_title(f"without {big} ({units.percent(share)} of the energy)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.0, 0.9), title="component",
               frameon=False)
    fig.suptitle(f"{MODE_TITLE[mode].capitalize()}: energy per layer by component\n{title}", fontsize=13)
    fig.tight_layout()
    files = save_figure(fig, stem)
    plt.close(fig)
    extra = f" The right panel leaves out {big}, which is more than {DOMINANCE:.0f}x the next component." if big else ""
    return Figure(mode, "energy_per_layer", f"{MODE_TITLE[mode].capitalize()}: energy per layer",
                  "Energy of each layer (all phases), stacked by component." + extra, files)


def _cycles_per_layer(plt, rows: Sequence[dict], mode: str, title: str, clock_hz: float | None,
                      stem: Path) -> Figure:
    """Critical-path cycles per layer: compute and the stalls by cause."""
    from matplotlib.ticker import EngFormatter

    idx, names = _layer_order(rows)
    series = {"compute": _per_layer(rows, idx, "compute_cycles"),
              "stall: DRAM": _per_layer(rows, idx, "stall_dram_cycles"),
              "stall: queue": _per_layer(rows, idx, "stall_queue_cycles"),
              "stall: buffer bank": _per_layer(rows, idx, "stall_bank_cycles")}
    fig, ax = plt.subplots(figsize=(_width(len(idx)), 4.4))
    _stack(ax, names, series, CYCLE_COLORS)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(EngFormatter(sep=" "))
    ax.set_ylabel("cycles")
    _xticks(ax, names)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    total = sum(map(sum, series.values()))
    at = f" = {units.seconds(total / clock_hz)} at {units.hertz(clock_hz)}" if clock_hz else ""
    ax.set_title(f"{MODE_TITLE[mode].capitalize()}: cycles per layer, total {units.count(total)}{at}\n{title}")
    files = save_figure(fig, stem)
    plt.close(fig)
    return Figure(mode, "cycles_per_layer", f"{MODE_TITLE[mode].capitalize()}: cycles per layer",
                  "Each layer's share of the critical path: computing, and waiting on DRAM, on a tile slot or the "
                  "DRAM channel (queue), or on a buffer port (bank).", files)


def _resting_per_layer(plt, rows: Sequence[dict], mode: str, title: str, stem: Path) -> Figure:
    """Measured resting probability of each layer's forward products vs the closed form for uniform operands."""
    fwd = [r for r in rows if r.get("phase") == "forward" and units.is_number(r.get("algorithmic_ops"))
           and r["algorithmic_ops"]]
    names = [str(r["name"]) for r in fwd]
    fig, ax = plt.subplots(figsize=(_width(len(fwd)), 4.2))
    xs = list(range(len(fwd)))
    ax.bar([x - 0.2 for x in xs], [100 * float(r["resting_probability"]) for r in fwd], width=0.4,
           label="measured", color="#1f77b4")
    ax.bar([x + 0.2 for x in xs], [100 * float(r["resting_probability_uniform"]) for r in fwd], width=0.4,
           label="uniform operands\n(closed form)", color="#aec7e8")
    _xticks(ax, names)
    ax.set_ylabel("resting probability (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(f"{MODE_TITLE[mode].capitalize()}: resting probability per layer (forward)\n{title}")
    files = save_figure(fig, stem)
    plt.close(fig)
    return Figure(mode, "resting_per_layer", f"{MODE_TITLE[mode].capitalize()}: resting probability",
                  "Share of operand pairs with a zero operand (no work), measured and for uniformly random operands.",
                  files)


def mode_figures(rows: Sequence[dict], components: Sequence[str], mode: str, out: Path, main_mode: str,
                 title: str = "", clock_hz: float | None = None) -> list[Figure]:
    """The four figures of one mode ('train' or 'eval') of a run, saved into ``out`` (PNG and SVG)."""
    rows = [r for r in rows if r.get("mode") == mode]
    if not rows:
        return []
    plt = headless()
    stem = lambda s: out / Path(figure_files(s, mode, main_mode)[0]).stem  # noqa: E731
    totals = {c: sum(float(r.get(f"energy_pj_{c}") or 0.0) for r in rows) for c in components}
    with plt.rc_context(STYLE):
        figs = [_energy_per_layer(plt, rows, components, mode, title, stem("energy_per_layer")),
                _energy_by_component(plt, totals, mode, title, stem("energy_by_component")),
                _cycles_per_layer(plt, rows, mode, title, clock_hz, stem("cycles_per_layer"))]
        if any(r.get("phase") == "forward" and r.get("algorithmic_ops") for r in rows):
            figs.append(_resting_per_layer(plt, rows, mode, title, stem("resting_per_layer")))
    return figs


def run_figures(rows: Sequence[dict], components: Sequence[str], out: Path, title: str = "",
                clock_hz: float | None = None) -> list[Figure]:
    """Training figures (when the run trained), then inference figures (when it ran inference)."""
    modes = [m for m in ("train", "eval") if any(r.get("mode") == m for r in rows)]
    main = modes[0] if modes else "train"
    return [f for m in modes for f in mode_figures(rows, components, m, out, main, title, clock_hz)]


def compare_energy_figure(runs: Sequence[tuple[str, dict[str, float]]], stem: Path, what: str) -> Figure | None:
    """Per-component energy of several runs: stacked bars per run, absolute (left) and as shares (right)."""
    runs = [(label, comp) for label, comp in runs if comp and sum(comp.values()) > 0]
    if not runs:
        return None
    plt = headless()
    names: list[str] = []
    for _, comp in runs:
        names += [c for c in comp if c not in names]
    labels = [label for label, _ in runs]
    totals = [sum(c.values()) for _, c in runs]
    log = max(totals) > DOMINANCE * min(totals)  # a stack of the smallest run would not show: totals on a log axis
    with plt.rc_context(STYLE):
        fig, (ax, share) = plt.subplots(1, 2, figsize=(13, max(3.0, 0.55 * len(runs) + 1.8)), sharey=True)
        if log:
            ax.barh(labels, totals, color="#8a94a6", height=0.6)
            _log_energy_axis(ax, "x")
            ax.set_xlim(min(totals) / 3, max(totals) * 40)
            ax.set_xlabel("total energy (log scale: the runs span more than 20x)")
            factor, ends = 1.0, totals
        else:
            factor = _energy_axis(ax, totals, "x")
            ends = [t * factor for t in totals]
            ax.set_xlim(0, max(ends) * 1.25)
        for y, (t, at) in enumerate(zip(totals, ends)):
            ax.text(at, y, f"  {units.energy(t)}", va="center", fontsize=10)
        left = [0.0] * len(runs)
        lshare = [0.0] * len(runs)
        for n in names:
            vals = [comp.get(n, 0.0) for _, comp in runs]
            if not any(vals):
                continue
            pct = [100 * v / t for v, t in zip(vals, totals)]
            if not log:
                ax.barh(labels, [v * factor for v in vals], left=left, color=component_color(n), height=0.6)
                left = [a + v * factor for a, v in zip(left, vals)]
            share.barh(labels, pct, left=lshare, color=component_color(n), label=n, height=0.6)
            lshare = [a + p for a, p in zip(lshare, pct)]
        ax.invert_yaxis()
        share.set_xlim(0, 100)
        share.set_xlabel("share of the energy (%)")
        for a in (ax, share):
            a.grid(axis="x", alpha=0.3)
        ax.set_title(f"{what}: total" if log else f"{what}, by component")
        share.set_title("share of each component")
        fig.legend(loc="upper left", bbox_to_anchor=(1.0, 0.92), title="component", frameon=False)
        fig.tight_layout()
        files = save_figure(fig, stem)
        plt.close(fig)
    left_text = ("each run's total on a log axis (the runs span more than 20x)" if log
                 else "each run's energy stacked by component")
    return Figure("compare", stem.name, what, f"Left: {left_text}; right: the share of each component (the colours "
                  f"of the run reports).", files)


def figure_summary(figs: Sequence[Figure]) -> list[dict[str, Any]]:
    """The figures as plain data (mode, title, files) for a summary or a test."""
    return [{"mode": f.mode, "title": f.title, "files": [p.name for p in f.files]} for f in figs]
