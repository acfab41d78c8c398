"""Sweeps in this process (``workers=0``): shared trainings (one training for an architecture-only axis), the results
store (a rerun skips finished points, a point whose report is gone or half-written runs again, a published report
without its record is adopted), and the outputs (sweep.csv, the Pareto fronts and their plots, the DataFrame)."""
import json
import sqlite3

import pandas as pd
import pytest

import neurosim
from neurosim.explore.sweep.plan import plan_sweep
from neurosim.schema.sweep import sweep_from_dict

FAST = {"workload.train.epochs": 1, "workload.network": "64-32-10"}
LANES = {"name": "lanes", "base": {"workload": "digits_mlp", "arch": "gxnor", "set": FAST},
         "axes": [{"grid": {"arch.pe_array.lanes": [32, 128, 512]}}],
         "objectives": [{"metric": "inference.energy_pj_per_sample", "goal": "min"},
                        {"metric": "inference.cycles", "goal": "min"}]}


@pytest.fixture(scope="module")
def lanes(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "lanes"
    lines: list[str] = []
    df = neurosim.sweep(LANES, out=out, workers=0, log=lines.append)
    return out, df, lines


def _summaries(out, df):
    return [json.loads((out / f / "summary.json").read_text()) for f in df["folder"]]


@pytest.mark.slow
def test_an_architecture_axis_trains_once(lanes):
    out, df, lines = lanes
    plan = plan_sweep(sweep_from_dict(LANES))
    assert len(plan.tasks) == 1 and plan.tasks[0].kind == "train" and len(plan.tasks[0].points) == 3
    assert "to run: 1 trainings, 3 points" in lines[0]
    s = _summaries(out, df)
    # one training: the three reports carry the very same training history, wall times included
    assert s[0]["history"] == s[1]["history"] == s[2]["history"]
    assert s[0]["train_seconds"] == s[1]["train_seconds"] == s[2]["train_seconds"]
    assert [x["config"]["arch"]["name"] for x in s] == ["gxnor"] * 3
    assert len({x["config_hash"] for x in s}) == 3 and list(df["hash"]) == [x["config_hash"] for x in s]
    lanes_seen = [x["arch_file"].rsplit("=", 1)[1] for x in s]
    assert lanes_seen == ["32", "128", "512"]
    assert len(set(zip(df["cycles"], df["energy_pj"]))) == 3  # each architecture its own numbers


@pytest.mark.slow
def test_outputs(lanes):
    out, df, _ = lanes
    assert list(df.columns[:2]) == ["point", "arch.pe_array.lanes"]
    assert (df["status"] == "finished").all() and df["accuracy.test"].nunique() == 1
    csv = pd.read_csv(out / "sweep.csv")
    assert list(csv["hash"]) == list(df["hash"]) and list(csv["arch.pe_array.lanes"]) == [32, 128, 512]
    front = pd.read_csv(out / "pareto.csv")
    assert 1 <= len(front) <= 3 and set(front["hash"]) <= set(df["hash"])
    stem = "pareto_inference-energy_pj_per_sample__inference-cycles"
    for ext in ("csv", "png", "svg"):
        assert (out / f"{stem}.{ext}").stat().st_size > 0
    for f in df["folder"]:
        assert {"summary.json", "layers.csv", "counts.csv", "model.npz", "report.html"} <= \
            {p.name for p in (out / f).iterdir()}
    assert json.loads((out / "plan.json").read_text())[0]["hash"] == df["hash"][0]


@pytest.mark.slow
def test_a_rerun_skips_finished_points_and_reruns_broken_ones(lanes, tmp_path):
    out, df, _ = lanes
    db = sqlite3.connect(out / "results.sqlite")
    before = dict(db.execute("SELECT hash, finished_at FROM points"))
    lines: list[str] = []
    again = neurosim.sweep(LANES, out=out, workers=0, log=lines.append)
    assert "3 finished earlier; to run: 0 trainings, 0 points" in lines[0]
    assert dict(db.execute("SELECT hash, finished_at FROM points")) == before
    pd.testing.assert_frame_equal(again, df)
    # an interrupted point: its report half-written (no summary), its record never committed
    h = df["hash"][1]
    folder = out / "points" / h
    (folder / "summary.json").unlink()
    incoming = out / "points" / f".{h}.incoming"
    incoming.mkdir()
    (incoming / "layers.csv").write_text("half")
    db.execute("DELETE FROM points WHERE hash = ?", (h,))
    db.commit()
    # a report published by a run killed before its commit: adopted, not run again
    h2 = df["hash"][2]
    db.execute("DELETE FROM points WHERE hash = ?", (h2,))
    db.commit()
    lines.clear()
    third = neurosim.sweep(LANES, out=out, workers=0, log=lines.append)
    assert "2 finished earlier; to run: 1 trainings, 1 points" in lines[0]
    rows = dict(db.execute("SELECT hash, session FROM points"))
    assert rows[h2] == "adopted" and set(rows) == set(df["hash"])
    assert not incoming.exists()
    cols = ["accuracy.test", "cycles", "energy_pj", "inference.energy_pj_per_sample", "resting_probability"]
    pd.testing.assert_frame_equal(third[cols], df[cols])  # the rerun point gives the same numbers


def test_a_folder_that_is_not_a_sweep_is_never_written(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds files that are not a sweep's \(notes.txt\)"):
        neurosim.sweep(LANES, out=tmp_path, workers=0, log=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_a_sweep_over_a_saved_model_runs_inference_only(lanes, tmp_path):
    out, df, _ = lanes
    model = out / df["folder"][0] / "model.npz"
    spec = {"base": {"model": str(model), "arch": "gxnor"},
            "axes": [{"zip": {"arch": ["gxnor", "gxnor_skip"]}}, {"grid": {"arch.pe_array.lanes": [64, 256]}}]}
    got = neurosim.sweep(spec, out=tmp_path / "inf", workers=0, log=None)
    assert len(got) == 4 and (got["status"] == "finished").all()
    assert got["accuracy.test"].nunique() == 1 and got["accuracy.test"][0] == df["accuracy.test"][0]
    s = json.loads((tmp_path / "inf" / got["folder"][0] / "summary.json").read_text())
    assert s["mode"] == "inference" and "training" not in s and s["config_hash"] == got["hash"][0]
    with pytest.raises(ValueError, match=r"point 0 \(workload.N=2\): --set workload.N=2: does not apply to a saved"):
        neurosim.sweep({"base": {"model": str(model), "arch": "gxnor"}, "axes": [{"grid": {"workload.N": [2]}}]},
                       out=tmp_path / "bad", workers=0, log=None)
