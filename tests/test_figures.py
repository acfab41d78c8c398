"""[DST] / [GXNOR] figures as sweeps (neurosim.explore.figures): a tiny figure through the real sweep engine, the
trend rules on hand-made numbers (each able to fail), the choice of an architecture per point, and the CLI's
refusals (exit 2)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from neurosim.cli import main
from neurosim.explore import figure_trends as ft
from neurosim.explore import figures as fg
from neurosim.explore.reproduce import FIGURE_NAMES, TABLES

DIGITS = {"name": "digits", "shuffle": True, "train": [0, 300], "validation": [300, 400], "test": [400, 600]}
TINY = {"workload.dataset": DIGITS, "workload.network": "64-16-10"}


def _rows(xs, accs, resting=None, energy=None) -> list[dict]:
    return [{"x": x, "test_accuracy": a, "resting_probability": (resting or [0.0] * len(xs))[i],
             "energy_pj_per_inference": (energy or [1.0] * len(xs))[i]} for i, (x, a) in enumerate(zip(xs, accs))]


@pytest.mark.slow
def test_tiny_figure_through_the_sweep_engine(tmp_path: Path) -> None:
    lines = fg.run_figure("gxnor-fig10", tmp_path, epochs=1, workers=0, points=(0, 6), extra=TINY,
                          log=lambda s: None)
    stem = fg.stem("gxnor-fig10")
    assert {p.name for p in tmp_path.iterdir()} == set(fg.figure_files("gxnor-fig10")) | {f"{stem}_sweep"}
    with open(tmp_path / f"{stem}.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["point", "x", "arch", "seeds", "test_accuracy", "resting_probability",
                             "energy_pj_per_inference", "cycles_per_inference", "test_samples", "note"]
    assert [r["x"] for r in rows] == ["0.0", "0.9"] and {r["arch"] for r in rows} == {"gxnor"}
    assert all(float(r["energy_pj_per_inference"]) > 0 and float(r["cycles_per_inference"]) > 0 for r in rows)
    assert int(rows[0]["test_samples"]) == DIGITS["test"][1] - DIGITS["test"][0]
    saved = json.loads((tmp_path / f"{stem}.json").read_text())
    assert saved["verdicts"] and all(v["follows"] in (True, False) for v in saved["verdicts"])
    assert any(line.startswith("ours follows:") for line in lines)
    assert "300 training and 200 test images of digits" in "\n".join(lines)


def test_rises_rule_can_fail() -> None:
    fig = fg.FIGURES["dst-fig6"]
    assert ft.rises(fig, _rows([0, 1, 2, 3], [0.90, 0.95, 0.97, 0.97]), n=2000)[0].follows
    assert not ft.rises(fig, _rows([0, 1, 2, 3], [0.97, 0.96, 0.95, 0.94]), n=2000)[0].follows
    assert not ft.rises(fig, _rows([0, 1, 2, 3], [0.950, 0.951, 0.952, 0.953]), n=2000)[0].follows  # within noise


def test_rises_then_flat_and_baseline() -> None:
    fig = fg.FIGURES["dst-fig7"]
    ok = ft.rises_then_flat(fig, _rows(["linear", 1, 2, 3, 5, 10], [0.95, 0.90, 0.95, 0.96, 0.96, 0.96]), n=2000)
    assert [v.follows for v in ok] == [True, True]
    still_rising = ft.rises_then_flat(fig, _rows([1, 2, 3, 5, 10], [0.80, 0.85, 0.88, 0.92, 0.97]), n=2000)
    assert not still_rising[0].follows


def test_interior_peak_and_sparsity_hardware() -> None:
    fig = fg.FIGURES["gxnor-fig10"]
    v = ft.interior_peak(fig, _rows([0.0, 0.4, 0.9], [0.95, 0.98, 0.90], [0.2, 0.5, 0.9], [3.0, 2.0, 1.0]), n=2000)
    assert [x.follows for x in v] == [True, True]
    v = ft.interior_peak(fig, _rows([0.0, 0.4, 0.9], [0.90, 0.95, 0.98], [0.9, 0.5, 0.2], [1.0, 2.0, 3.0]), n=2000)
    assert [x.follows for x in v] == [False, False]


def test_grid_rule() -> None:
    fig = fg.FIGURES["gxnor-fig13"]
    acc = {(a, b): 0.90 + 0.01 * a - 0.005 * abs(b - 1) for a in range(3) for b in range(3)}
    v = ft.grid_best(fig, _rows(list(acc), list(acc.values())), n=100000)
    assert v[0].follows and v[1].follows and "N1 = 2, N2 = 1" in v[2].detail and v[2].follows is None
    assert v[2].line().startswith("ours: (best cell")
    flat = {k: 0.9 for k in acc}
    v = ft.grid_best(fig, _rows(list(flat), list(flat.values())), n=100000)
    assert not v[0].follows and not v[1].follows


def test_spearman_and_tolerance() -> None:
    assert ft.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert ft.spearman([1, 2], [1, 2]) != ft.spearman([1, 2], [1, 2])  # NaN with fewer than 3 points
    assert ft.tolerance(0.9, 10000) == pytest.approx(2 * (0.9 * 0.1 / 10000) ** 0.5)


def test_names_and_files() -> None:
    assert set(FIGURE_NAMES) == set(fg.FIGURES) and set(FIGURE_NAMES) <= set(TABLES)
    assert fg.figure_files("gxnor-fig13")[0] == "gxnor_fig13.csv"
    assert len(fg.FIGURES["gxnor-fig13"].points) == 49


def test_arch_per_point() -> None:
    fig = fg.FIGURES["gxnor-fig13"]
    tiny = {**TINY, "workload.method": "dst"}
    narrow = {**tiny, "workload.N": 1, "workload.activation.kind": "ternary"}
    wide = {**tiny, "workload.N": 4, "workload.activation.kind": "multilevel", "workload.activation.N2": 4}
    assert fg.choose_arch(fig, narrow, None) == ("gxnor", "")
    assert fg.choose_arch(fig, wide, None) == ("dst_onchip", "")
    only_gxnor = fg.Figure(**{**fig.__dict__, "archs": ("gxnor",)})
    arch, note = fg.choose_arch(only_gxnor, wide, None)
    assert arch is None and note.startswith("train only")


@pytest.mark.parametrize("argv", [["reproduce", "gxnor-fig99"], ["reproduce", "gxnor-fig8", "--seed", "1"],
                                  ["reproduce", "gxnor-fig8", "--trained"], ["reproduce", "dst-tables", "--workers", "2"],
                                  ["reproduce", "gxnor-fig8", "--workers", "-1"],
                                  ["reproduce", "gxnor-fig8", "--epochs", "0"]])
def test_bad_name_or_flag_exits_2(argv: list[str], tmp_path: Path, capsys) -> None:
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    assert "error" in capsys.readouterr().err
