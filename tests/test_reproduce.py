"""GXNOR Table 2 reproduced by the cost kernels: resting probability 0 / 0 / 33.3 / 0 / 55.6 %."""
import csv

from neurosim.cli import main
from neurosim.explore.gxnor_table2 import table2


def test_table2_matches_the_paper():
    rows = {r["architecture"]: r for r in table2(M=512, neurons=128, samples=48, seed=1)}
    for arch, r in rows.items():
        assert abs(r["resting_probability"] - r["paper_resting_probability"]) < 0.005, arch
    assert rows["full precision"]["operations"] == rows["full precision"]["operand_pairs"]  # M mult per neuron
    assert rows["BNN"]["accumulations"] < rows["BNN"]["operations"] / 8  # one bitcount per cycle, not per pair
    assert rows["GXNOR"]["operations"] < rows["TWN"]["operations"] < rows["BWN"]["operations"]


def test_cli_writes_table(tmp_path, capsys):
    assert main(["reproduce", "gxnor-table2", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "gxnor_table2.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["architecture"] for r in rows] == ["full precision", "BWN", "TWN", "BNN", "GXNOR"]
    assert "55.6%" in capsys.readouterr().out
