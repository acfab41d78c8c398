"""`neurosim reproduce TABLE`: one entry point for the seed tables; each writes its CSV/JSON and returns the text
table to print."""
from __future__ import annotations

from pathlib import Path

__all__ = ["TABLES", "FIGURE_NAMES", "parse_seeds", "reproduce"]

# [DST] / [GXNOR] parameter figures as sweeps (neurosim.explore.figures; names listed here so the CLI's check of a
# name imports nothing heavy)
FIGURE_SEEDS = "0"  # a figure's default: one run per point, as the papers' figures show
FIGURE_NAMES = ("dst-fig6", "dst-fig7", "gxnor-fig8", "gxnor-fig9", "gxnor-fig10", "gxnor-fig13")

TABLES = ("gxnor-table2", "dst-tables", "crossbar-table1", "binary-crossbar", "binact-fig6", "binact-fig7",
          *FIGURE_NAMES)


# the files each table writes into --out
FILES = {"gxnor-table2": ("gxnor_table2.csv", "gxnor_table2.json"), "dst-tables": ("dst_tables.csv", "dst_tables.json"),
         "crossbar-table1": ("crossbar_table1.csv", "crossbar_table1.json"),
         "binary-crossbar": ("binary_crossbar_tables.csv", "binary_crossbar_tables.json"),
         **{f"binact-fig{i}": tuple(f"binact_fig{i}.{e}" for e in ("csv", "json", "txt", "png", "svg"))
            for i in (6, 7)},
         **{n: tuple(f"{n.replace('-', '_')}.{e}" for e in ("csv", "json", "txt", "png", "svg")) for n in FIGURE_NAMES}}
TRAINED_FILES = ("gxnor_table2_trained.csv", "gxnor_table2_trained.json")


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1,2' -> (0, 1, 2); a ValueError naming the flag for anything else (empty, negative, not an integer,
    a seed twice)."""
    parts = [v.strip() for v in str(text).split(",") if v.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"--seeds: give integers >= 0 separated by commas, e.g. 0,1,2 (got {text!r})")
    seeds = tuple(int(p) for p in parts)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds: each seed once (got {text!r}): a seed twice would count one run twice")
    return seeds


def _claim(out: Path, files: tuple[str, ...], force: bool) -> None:
    """``out`` may take a reproduction: not a file, not a run's report folder, and no earlier copy of the files it
    writes unless ``force``."""
    from ..pipeline.outputs import holds_report

    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: is a file, not a folder; choose another --out")
    if holds_report(out):
        raise ValueError(f"{out}: holds the report of a run (summary.json ...); choose another --out for the tables")
    existing = [f for f in files if (out / f).exists()]
    if existing and not force:
        raise ValueError(f"{out}: holds {', '.join(existing)} from an earlier reproduction; pass --force to replace "
                         f"them, or choose another --out")


def reproduce(table: str, out: Path, data_dir: str | None = None, seeds: str | None = None, epochs: int | None = None,
              trained: bool = False, workload: str = "mnist_mlp", seed: int = 0, force: bool = False,
              workers: int | None = None) -> list[str]:
    """Reproduce ``table`` into ``out``; the lines to print (``seeds``: default 0,1,2 for the tables, 0 for the
    figures; ``workers``: a figure's local sweep workers). A folder this call created is removed again if the
    reproduction fails before writing anything."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; allowed: {', '.join(TABLES)}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs: must be an integer >= 1 (got {epochs})")
    if seed < 0:
        raise ValueError(f"--seed: must be an integer >= 0 (got {seed})")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"--workers: must be an integer >= 0 (got {workers!r})")
    out = Path(out)
    _claim(out, FILES[table] + (TRAINED_FILES if trained else ()), force)
    fresh = not out.exists()
    try:
        if table in FIGURE_NAMES:
            from .figures import run_figure

            return run_figure(table, out, data_dir, epochs, parse_seeds(seeds or FIGURE_SEEDS), workers)
        return _reproduce(table, out, data_dir, seeds or "0,1,2", epochs, trained, workload, seed, force)
    except BaseException:
        if fresh and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def _reproduce(table: str, out: Path, data_dir: str | None, seeds: str, epochs: int | None, trained: bool,
               workload: str, seed: int, force: bool) -> list[str]:
    if table == "crossbar-table1":
        from .self_training import print_table, reproduce as reproduce_t1

        rows = reproduce_t1(out, data_dir=data_dir, seeds=parse_seeds(seeds))
        return [f"[TrainingItself] Table I (Li et al., ASP-DAC 2014: memristor self-training, MNIST 784-300-10) "
                f"-> {out / 'crossbar_table1.csv'}",
                print_table(rows)]
    if table == "binary-crossbar":
        from .binary_crossbar import print_tables, reproduce as reproduce_bc

        res = reproduce_bc(out, data_dir, epochs=epochs or 30, seeds=parse_seeds(seeds))
        return [f"[BinAct] Tables 1-2 (Wan & Li: binary activations on crossbars) "
                f"-> {out / 'binary_crossbar_tables.csv'}",
                print_tables(res)]
    if table in ("binact-fig6", "binact-fig7"):
        from .binact_figures import EPOCHS, print_figure, reproduce as reproduce_fig

        res = reproduce_fig(table, out, data_dir, epochs=epochs or EPOCHS, seeds=parse_seeds(seeds))
        return [f"{res['title']} -> {out / (table.replace('-', '_') + '.csv')} (plot: .png/.svg beside)",
                print_figure(res)]
    if table == "dst-tables":
        from .dst_tables import print_table, reproduce as reproduce_dst

        rows = reproduce_dst(out)
        return [f"[DST] Tables 1-2 (Li et al., Neurocomputing 2018) from the weight-memory model "
                f"-> {out / 'dst_tables.csv'}", print_table(rows)]
    from .gxnor_table2 import reproduce as reproduce_t2, trained_rows

    rows = reproduce_t2(out, seed=seed)
    lines = [f"[GXNOR] Table 2 (Deng et al., Neural Networks 2018) on uniform random operands (seed {seed}) "
             f"-> {out / 'gxnor_table2.csv'}",
             f"{'architecture':16s} {'unit':11s} {'operations':>12s} {'accumulations':>14s} {'resting':>8s} "
             f"{'paper':>7s}"]
    lines += [f"{r['architecture']:16s} {r['unit']:11s} {r['operations']:12d} {r['accumulations']:14d} "
              f"{100 * r['resting_probability']:7.1f}% {100 * r['paper_resting_probability']:6.1f}%" for r in rows]
    if trained:
        n = epochs or 5
        tr = trained_rows(out, workload, n, data_dir, seed, force=force)
        lines += [f"\nOn trained {workload} ({n} epochs), test-set inference -> {out / 'gxnor_table2_trained.csv'}",
                  f"{'architecture':16s} {'accuracy':>9s} {'ops/sample':>12s} {'resting':>8s} {'unit rests':>10s} "
                  f"{'paper':>7s} {'uJ/sample':>10s}"]
        lines += [f"{r['architecture']:16s} {100 * r['test_accuracy']:8.2f}% {r['operations_per_sample']:12.0f} "
                  f"{100 * r['resting_probability']:7.1f}% {100 * r['unit_resting_probability']:9.1f}% "
                  f"{100 * r['paper_resting_probability']:6.1f}% {r['energy_pj_per_sample'] * 1e-6:10.4g}"
                  for r in tr]
    return lines
