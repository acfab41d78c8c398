"""[BinAct] Figs. 6-7 (binact_figures): tiny runs through the real code on the embedded digits, the trend rules on
hand-made numbers, the CLI's refusals, and the co-design sweep file."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from neurosim.cli import main
from neurosim.explore import binact_figures as bf
from neurosim.testing.datasets import dataset_root

REPO = Path(__file__).resolve().parents[1]
DIGITS = {"name": "digits", "shuffle": True, "train": [0, 1300], "validation": [1300, 1500], "test": [1500, 1797]}
DATA = dataset_root()


@pytest.mark.slow
@pytest.mark.parametrize("name, points", [("binact-fig6", (1, 4)), ("binact-fig7", (1.0, 3.0))])
def test_tiny_run_writes_every_column(tmp_path: Path, name: str, points: tuple) -> None:
    res = bf.reproduce(name, tmp_path, None, epochs=1, seeds=(0,), points=points, hw_images=20, dataset=DIGITS)
    stem = bf.NAMES[name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(bf.files(name))
    with open(tmp_path / f"{stem}.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == bf.COLUMNS[name]
    assert len(rows) == len(points) + (name == "binact-fig7")  # fig7 adds the unclipped net
    assert all(float(r["energy_pj_per_image"]) > 0 for r in rows)
    saved = json.loads((tmp_path / f"{stem}.json").read_text())
    assert saved["trend"]["follows"] in (True, False) and "ours follows:" in (tmp_path / f"{stem}.txt").read_text()
    if name == "binact-fig6":  # energy and latency per image grow with the samples
        e = [r["energy_pj_per_image"] for r in res["summary"]]
        assert e[1] > 3 * e[0] and res["summary"][1]["latency_s_per_image"] == 4 * res["summary"][0]["latency_s_per_image"]


def test_fig6_rule() -> None:
    n = 2000
    assert bf.fig6_trend([1, 8, 64], [90.0, 96.0, 97.2], 97.4, n)["follows"]
    dip = bf.fig6_trend([1, 8, 64], [90.0, 97.0, 92.0], 97.4, n)  # falls by 5 points: not monotone, not converged
    assert not dip["follows"] and not dip["checks"]["non_decreasing_within_noise"]
    short = bf.fig6_trend([1, 8, 64], [80.0, 85.0, 90.0], 97.4, n)  # rises but stays 7 points short
    assert not short["follows"] and short["checks"]["non_decreasing_within_noise"]
    assert not short["checks"]["converged_at_most_samples"]
    order = bf.fig6_trend([64, 1, 8], [97.2, 90.0, 96.0], 97.4, n)  # the points are sorted by samples
    assert order["follows"]


def test_fig7_rule() -> None:
    n = 2000
    assert bf.fig7_trend([0.3, 0.04, 0.001], [60.0, 97.0, 97.3], 97.4, n)["follows"]  # 30 % clipped is not checked
    loss = bf.fig7_trend([0.3, 0.04, 0.001], [60.0, 93.0, 97.3], 97.4, n)  # 4.4 points lost at 4 % clipped
    assert not loss["follows"] and loss["largest_loss_checked"] == pytest.approx(4.4)
    assert not bf.fig7_trend([0.3], [60.0], 97.4, n)["checks"]["thresholds_checked"]  # nothing to check: no


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for argv in (["reproduce", "binact-fig9", "--out", str(tmp_path)],
                 ["reproduce", "binact-fig6", "--trained", "--out", str(tmp_path)],
                 ["reproduce", "binact-fig7", "--seeds", "0,0", "--out", str(tmp_path)],
                 ["reproduce", "binact-fig6", "--epochs", "0", "--out", str(tmp_path)]):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own errors exit; the flag rules return the status
            code = e.code
        assert code == 2, argv
    err = capsys.readouterr().err
    assert "binact-fig6" in err and "--trained: applies to gxnor-table2 only" in err
    with pytest.raises(ValueError, match="unknown figure 'fig6'; allowed: binact-fig6, binact-fig7"):
        bf.reproduce("fig6", tmp_path, None)


def test_codesign_sweep_file_validates() -> None:
    from neurosim.explore.sweep.plan import expand
    from neurosim.schema.sweep import load_sweep

    s = load_sweep(REPO / "workloads" / "sweep_codesign.yaml")
    pts = expand(s)
    assert len(pts) == 12 and {p["arch"] for p in pts} == {"gxnor", "gxnor_skip"}
    assert [o.metric for o in s.objectives] == ["accuracy.test", "inference.energy_pj_per_sample"]


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason=f"no MNIST folder {DATA}")
def test_codesign_sweep_plans_three_trainings() -> None:
    from neurosim.explore.sweep.plan import plan_sweep
    from neurosim.schema.sweep import load_sweep

    plan = plan_sweep(load_sweep(REPO / "workloads" / "sweep_codesign.yaml"), str(DATA))
    assert len(plan.rows) == 12 and len(plan.tasks) == 3  # lanes and policy share each r's training
