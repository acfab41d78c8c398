"""`neurosim reproduce TABLE`: one entry point for the seed tables; each writes its CSV/JSON and returns the text
table to print."""
from __future__ import annotations

from pathlib import Path

__all__ = ["TABLES", "parse_seeds", "reproduce"]

TABLES = ("gxnor-table2", "dst-tables", "crossbar-table1", "binary-crossbar")


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1,2' -> (0, 1, 2); a ValueError naming the flag for anything else (empty, negative, not an integer)."""
    parts = [v.strip() for v in str(text).split(",") if v.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"--seeds: give integers >= 0 separated by commas, e.g. 0,1,2 (got {text!r})")
    return tuple(int(p) for p in parts)


def reproduce(table: str, out: Path, data_dir: str | None = None, seeds: str = "0,1,2", epochs: int | None = None,
              trained: bool = False, workload: str = "mnist_mlp", seed: int = 0) -> list[str]:
    """Reproduce ``table`` into ``out``; the lines to print."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; allowed: {', '.join(TABLES)}")
    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs: must be an integer >= 1 (got {epochs})")
    out = Path(out)
    if table == "crossbar-table1":
        from .self_training import print_table, reproduce as reproduce_t1

        rows = reproduce_t1(out, data_dir=data_dir, seeds=parse_seeds(seeds))
        return [f"Seed 004 Table I (memristor self-training, MNIST 784-300-10) -> {out / 'crossbar_table1.csv'}",
                print_table(rows)]
    if table == "binary-crossbar":
        from .binary_crossbar import print_tables, reproduce as reproduce_bc

        res = reproduce_bc(out, data_dir, epochs=epochs or 30, seeds=parse_seeds(seeds))
        return [f"Seed 003 Tables 1-2 (binary activations on crossbars) -> {out / 'binary_crossbar_tables.csv'}",
                print_tables(res)]
    if table == "dst-tables":
        from .dst_tables import print_table, reproduce as reproduce_dst

        rows = reproduce_dst(out)
        return [f"DST paper Tables 1-2 from the weight-memory model -> {out / 'dst_tables.csv'}", print_table(rows)]
    from .gxnor_table2 import reproduce as reproduce_t2, trained_rows

    rows = reproduce_t2(out, seed=seed)
    lines = [f"GXNOR Table 2 on uniform random operands (seed {seed}) -> {out / 'gxnor_table2.csv'}",
             f"{'architecture':16s} {'unit':11s} {'operations':>12s} {'accumulations':>14s} {'resting':>8s} "
             f"{'paper':>7s}"]
    lines += [f"{r['architecture']:16s} {r['unit']:11s} {r['operations']:12d} {r['accumulations']:14d} "
              f"{100 * r['resting_probability']:7.1f}% {100 * r['paper_resting_probability']:6.1f}%" for r in rows]
    if trained:
        n = epochs or 5
        tr = trained_rows(out, workload, n, data_dir, seed)
        lines += [f"\nOn trained {workload} ({n} epochs), test-set inference -> {out / 'gxnor_table2_trained.csv'}",
                  f"{'architecture':16s} {'accuracy':>9s} {'ops/sample':>12s} {'resting':>8s} {'unit rests':>10s} "
                  f"{'paper':>7s} {'uJ/sample':>10s}"]
        lines += [f"{r['architecture']:16s} {100 * r['test_accuracy']:8.2f}% {r['operations_per_sample']:12.0f} "
                  f"{100 * r['resting_probability']:7.1f}% {100 * r['unit_resting_probability']:9.1f}% "
                  f"{100 * r['paper_resting_probability']:6.1f}% {r['energy_pj_per_sample'] * 1e-6:10.4g}"
                  for r in tr]
    return lines
