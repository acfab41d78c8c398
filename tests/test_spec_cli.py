"""Spec strings, workload files and the command line: good input works, bad input fails clearly."""
import json
import subprocess
import sys

import pytest

from neurosim.core.methods import make_method
from neurosim.spec import SpecError, parse_network


def test_parse_gxnor_nets():
    mnist = parse_network("32C5-MP2-64C5-MP2-512FC-SVM")
    assert [l.kind for l in mnist] == ["conv", "pool", "conv", "pool", "dense", "output"]
    assert mnist[0].params == {"filters": 32, "kernel": 5, "padding": 0, "stride": 1}
    assert mnist[-1].params["loss"] == "squared_hinge"
    cifar = parse_network("2x(128C3p1)-MP2-2x(256C3p1)-MP2-2x(512C3p1)-MP2-1024FC-SVM")
    assert [l.kind for l in cifar].count("conv") == 6 and cifar[0].params["padding"] == 1
    mlp = parse_network("784-512-512-10")
    assert [l.kind for l in mlp] == ["input", "dense", "dense", "output"] and mlp[-1].params["units"] == 10


@pytest.mark.parametrize("bad,msg", [
    ("", "non-empty"), ("784--10", "empty token"), ("32C5-XX-10", "cannot read token 'XX'"),
    ("32C0-10", "kernel size 0"), ("SVM-10", "must be the last token"), ("32C5-MP2", "must end with an output"),
    ("2x(32C5-10", "unbalanced"), ("0x(32C5)-10", "repeats 0"),
])
def test_malformed_specs(bad, msg):
    with pytest.raises(SpecError, match=msg.replace("(", r"\(")):
        parse_network(bad)


def test_unknown_method_and_negative_N():
    with pytest.raises(ValueError, match="unknown method 'xnor'; allowed: fp, bwn, twn, bnn, gxnor, dst"):
        make_method("xnor")
    with pytest.raises(ValueError, match="N must be an integer >= 0"):
        make_method("dst", N=-1)


def _cli(tmp_path, *args, env=None):
    r = subprocess.run([sys.executable, "-m", "neurosim.cli", *args], capture_output=True, text=True, cwd=tmp_path,
                       env=env)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.slow
def test_cli_errors_exit_2_and_leave_nothing(tmp_path):
    out = tmp_path / "out"
    code, _, err = _cli(tmp_path, "train", "--method", "nope", "--out", str(out))
    assert code == 2 and "--method: got 'nope'" in err and not out.exists()
    code, _, err = _cli(tmp_path, "train", "--method", "dst", "--N", "-2", "--out", str(out))
    assert code == 2 and "--N: must be an integer 0..14, got -2" in err and not out.exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndataset: {name: digits, train: [0, 100], test: [100, 200]}\nnetwork: 64-32C-10\n")
    code, _, err = _cli(tmp_path, "train", str(bad), "--out", str(out))
    assert code == 2 and "bad.yaml" in err and "network" in err and "'32C'" in err and not out.exists()
    bad.write_text("name: x\ndataset: {name: digits, train: [0, 100], test: [100, 200]}\nnetwork: 64-10\nepochs: 3\n")
    code, _, err = _cli(tmp_path, "train", str(bad), "--out", str(out))
    assert code == 2 and "bad.yaml: epochs: unknown key; allowed: name, description, dataset" in err \
        and not out.exists()
    code, _, err = _cli(tmp_path, "train", "mnist_mlp", "--data", str(tmp_path), "--out", str(out))
    assert code == 2 and "mnist" in err and not out.exists()


@pytest.mark.slow
def test_cli_train_writes_report(tmp_path):
    out = tmp_path / "r"
    code, stdout, err = _cli(tmp_path, "train", "--epochs", "2", "--quiet", "--out", str(out))
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text())
    for key in ("workload", "method", "seed", "epochs", "accuracy", "samples_per_second", "resting_probability"):
        assert key in s
    assert set(s["accuracy"]) == {"train", "validation", "test"} and s["method"] == "gxnor"
    assert "resting probability" in stdout
    # a resume continues the same run only: another epoch count is another LR schedule, refused naming the key
    before = (out / "summary.json").read_bytes()
    code, _, err = _cli(tmp_path, "train", "--epochs", "3", "--quiet", "--out", str(out), "--resume")
    assert code == 2 and "workload.train.epochs: 2 -> 3" in err, err
    # the same run, finished: nothing to do, nothing rewritten
    code, stdout, err = _cli(tmp_path, "train", "--epochs", "2", "--quiet", "--out", str(out), "--resume")
    assert code == 0 and "nothing to do" in stdout, err
    assert (out / "summary.json").read_bytes() == before
    # a new run into the folder of another is refused, unless --force
    code, _, err = _cli(tmp_path, "train", "--epochs", "1", "--quiet", "--out", str(out))
    assert code == 2 and "holds the report of another run" in err and "--force" in err
    assert (out / "summary.json").read_bytes() == before
    code, _, err = _cli(tmp_path, "train", "--epochs", "1", "--quiet", "--out", str(out), "--force")
    assert code == 0 and json.loads((out / "summary.json").read_text())["epochs_run"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no hidden leftovers beside the report
