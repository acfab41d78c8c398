"""Architectures that watch one training share the packing of each record's operands (hw/datapath_array.py): a
shared training must give every architecture exactly the numbers of its own run (checks the sharing, not the
model)."""
from __future__ import annotations

import json

import pytest

import neurosim


@pytest.mark.slow
def test_a_shared_training_gives_each_architecture_the_numbers_of_its_own_run(tmp_path) -> None:
    spec = {"base": {"workload": "digits_mlp", "arch": "gxnor", "set": {"workload.train.epochs": 1}},
            "axes": [{"grid": {"arch.pe_array.lanes": [32, 512]}}]}
    df = neurosim.sweep(spec, out=tmp_path / "s", workers=0)
    seen = set()
    for lanes, folder in zip(df["arch.pe_array.lanes"], df["folder"]):
        shared = json.loads((tmp_path / "s" / folder / "summary.json").read_text())
        alone = neurosim.run("digits_mlp", "gxnor", epochs=1, sets={"arch.pe_array.lanes": int(lanes)},
                             out=tmp_path / f"alone{lanes}").summary
        for key in ("energy_pj", "cycles"):
            assert shared[key] == alone[key]
            assert shared["inference"][key] == alone["inference"][key]
        seen.add((shared["cycles"], shared["energy_pj"]))
    assert len(seen) == 2  # the lanes differ, so must the numbers
