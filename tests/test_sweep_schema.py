"""Sweep files: strict validation (errors name the file and the key), and the expansion of grid, zip, random and
latin-hypercube axes into points (seeded: the same file gives the same points)."""
from pathlib import Path

import numpy as np
import pytest

from neurosim.explore.sweep.plan import expand, plan_sweep
from neurosim.schema.sweep import SweepError, load_sweep, sweep_from_dict

REPO = Path(__file__).resolve().parents[1]


def _s(**raw):
    return sweep_from_dict(raw, "s.yaml")


@pytest.mark.parametrize("raw, want", [
    ({"axis": []}, r"^s.yaml: axis: unknown key; allowed: name, description, base, axes, metrics, objectives$"),
    ({"base": {"arch": "gxnor", "sett": {}}}, r"^s.yaml: base.sett: unknown key; allowed: workload, arch, model, "),
    ({"axes": [{"grid": {"arch.pe_array.lanes": 256}}]}, r"^s.yaml: axes\[0\].grid.arch.pe_array.lanes: must be a "
                                                           r"non-empty list of values, got 256$"),
    ({"axes": [{"cartesian": {}}]}, r"^s.yaml: axes\[0\]: must be a mapping with exactly one key of: grid, zip, "),
    ({"axes": [{"grid": {"lanes": [1]}}]}, r"^s.yaml: axes\[0\].grid.lanes\[0\]: must start with 'workload.' or "),
    ({"axes": [{"zip": {"seed": [0, 1], "workload.method": ["gxnor"]}}]},
     r"^s.yaml: axes\[0\].zip: the lists of a zip axis go in lockstep and must have one length; got seed: 2, "),
    ({"axes": [{"grid": {"seed": [0]}}, {"zip": {"workload.seed": [1]}}]},
     r"^s.yaml: axes\[1\].zip.workload.seed: already an axis key in axes\[0\].grid"),
    ({"base": {"set": {"seed": 1}}, "axes": [{"grid": {"seed": [0]}}]},
     r"^s.yaml: axes\[0\].grid.seed: is also given in base.set"),
    ({"axes": [{"random": {"count": 0, "keys": {"seed": {"low": 0, "high": 3}}}}]},
     r"^s.yaml: axes\[0\].random.count: must be >= 1, got 0$"),
    ({"axes": [{"random": {"count": 2, "keys": {"workload.train.lr_start": {"low": 0, "high": 1, "log": True}}}}]},
     r"^s.yaml: axes\[0\].random.keys.workload.train.lr_start.low: log: true needs low > 0, got 0"),
    ({"axes": [{"latin_hypercube": {"count": 2, "keys": {"arch": {"low": 0, "high": 1}}}}]},
     r"^s.yaml: axes\[0\].latin_hypercube.keys.arch: arch names a file: give choices"),
    ({"axes": [{"random": {"count": 2, "keys": {"seed": {"low": 3, "high": 1}}}}]},
     r"low must be <= high, got 3.0 > 1.0"),
    ({"objectives": [{"metric": "cycles", "goal": "lowest"}]},
     r"^s.yaml: objectives\[0\].goal: got 'lowest'; allowed: min, max$"),
    ({"metrics": ["accuracy..test"]}, r"^s.yaml: metrics\[0\]: got 'accuracy..test'; allowed: a dotted path"),
    ({"axes": [{"grid": {"arch": [3]}}]}, r"^s.yaml: axes\[0\].grid.arch\[0\]: must be a file name or path, got 3"),
])
def test_bad_sweep_files_name_the_key(raw, want):
    with pytest.raises(SweepError, match=want):
        _s(**raw)


def test_a_sweep_file_is_read_strictly(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("axes:\n  - grid: {seed: [0, 1]}\n  - grid: {seed: [2]}\n")
    with pytest.raises(SweepError, match=r"s.yaml: axes\[1\].grid.seed: already an axis key"):
        load_sweep(f)
    f.write_text("base: {arch: gxnor}\nbase: {arch: twn}\n")
    with pytest.raises(SweepError, match="duplicate key 'base'"):
        load_sweep(f)
    with pytest.raises(SweepError, match="no such sweep file"):
        load_sweep(tmp_path / "none.yaml")


def test_grid_and_zip_expand_into_the_cartesian_product_of_the_axes():
    s = _s(axes=[{"zip": {"workload.method": ["gxnor", "twn"], "arch": ["gxnor", "twn"]}},
                 {"grid": {"seed": [0, 1], "arch.pe_array.lanes": [64, 128, 256]}}])
    pts = expand(s)
    assert len(pts) == 2 * 2 * 3
    assert pts[0] == {"workload.method": "gxnor", "arch": "gxnor", "seed": 0, "arch.pe_array.lanes": 64}
    assert pts[-1] == {"workload.method": "twn", "arch": "twn", "seed": 1, "arch.pe_array.lanes": 256}
    assert {(p["workload.method"], p["arch"]) for p in pts} == {("gxnor", "gxnor"), ("twn", "twn")}
    assert expand(_s()) == [{}]


def test_random_and_latin_hypercube_samples_are_seeded_and_in_range():
    keys = {"workload.train.lr_start": {"low": 1e-4, "high": 1e-1, "log": True},
            "workload.activation.r": {"low": 0.2, "high": 0.8}, "seed": {"low": 0, "high": 9, "integer": True},
            "workload.dst.m": {"choices": [1, 3, 5]}}
    for kind in ("random", "latin_hypercube"):
        a = expand(_s(axes=[{kind: {"count": 12, "seed": 7, "keys": keys}}]))
        assert a == expand(_s(axes=[{kind: {"count": 12, "seed": 7, "keys": keys}}]))  # seeded
        assert a != expand(_s(axes=[{kind: {"count": 12, "seed": 8, "keys": keys}}]))
        assert len(a) == 12
        lr = np.array([p["workload.train.lr_start"] for p in a])
        assert ((1e-4 <= lr) & (lr <= 1e-1)).all()
        assert all(0.2 <= p["workload.activation.r"] <= 0.8 for p in a)
        assert all(isinstance(p["seed"], int) and 0 <= p["seed"] <= 9 for p in a)
        assert {p["workload.dst.m"] for p in a} <= {1, 3, 5}
    lhs = expand(_s(axes=[{"latin_hypercube": {"count": 10, "seed": 0, "keys": keys}}]))
    r = sorted(p["workload.activation.r"] for p in lhs)  # one sample per stratum of width 0.06
    assert [int((v - 0.2) / 0.06) for v in r] == list(range(10))
    assert sorted(int(np.log10(p["workload.train.lr_start"] / 1e-4) * 10 / 3) for p in lhs) == list(range(10))


def test_a_point_that_does_not_validate_is_named_before_anything_runs(tmp_path):
    s = _s(base={"arch": "gxnor"}, axes=[{"grid": {"arch.pe_array.lanes": [64, 0]}}])
    with pytest.raises(SweepError, match=r"^s.yaml: point 1 \(arch.pe_array.lanes=0\): --set arch.pe_array.lanes=0: "
                                         r".*gxnor.yaml: components\[3\].attributes.lanes: must be >= 1, got 0$"):
        plan_sweep(s)
    s = _s(axes=[{"grid": {"workload.train.lr": [1]}}])
    with pytest.raises(SweepError, match=r"point 0 \(workload.train.lr=1\): --set workload.train.lr: unknown key"):
        plan_sweep(s)


@pytest.mark.slow
def test_the_shipped_sweep_examples_plan():
    lanes = plan_sweep(load_sweep(REPO / "workloads" / "sweep_lanes.yaml"))
    assert len(lanes.rows) == 12 and len(lanes.tasks) == 1  # one training, twelve architectures
    methods = plan_sweep(load_sweep(REPO / "workloads" / "sweep_methods.yaml"))
    assert len(methods.rows) == 12 and len(methods.tasks) == 9  # gxnor and gxnor_skip share each seed's training
