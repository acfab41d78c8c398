"""`--set KEY=VALUE`: dotted-path overrides of workload and architecture keys, applied to the raw mapping before
validation (so a value is checked as if the file said it), errors naming the --set, and the resolved configuration
(hash, default folder) reflecting them."""
from pathlib import Path

import pytest

from neurosim.hw.arch import ArchError, load_arch
from neurosim.pipeline import Overrides, prepare
from neurosim.pipeline.config import config_hash
from neurosim.pipeline.training import resolved_config
from neurosim.schema.overrides import OverrideError, parse_set, parse_sets
from neurosim.schema.workload import WorkloadError, load_workload

REPO = Path(__file__).resolve().parents[1]


def _w(*sets):
    return load_workload("digits_mlp", parse_sets(sets))


def _a(*sets, name="gxnor"):
    return load_arch(name, parse_sets(sets))


def test_values_are_strict_yaml():
    assert parse_set("workload.train.lr_start=1e-3").value == 1e-3
    assert parse_set("workload.batch_norm=false").value is False
    assert parse_set("workload.dataset.train=[0, 500]").value == [0, 500]
    assert parse_set("workload.network=64-32-10").value == "64-32-10"
    with pytest.raises(OverrideError, match=r"^--set workload.N: expected KEY=VALUE"):
        parse_set("workload.N")
    with pytest.raises(OverrideError, match=r"^--set workload.N=\[1: the value '\[1' is not YAML"):
        parse_set("workload.N=[1")
    with pytest.raises(OverrideError, match="given twice"):
        parse_sets(["seed=1", "workload.seed=2"])


def test_workload_keys_are_applied_and_validated():
    w = _w("workload.activation.r=0.7", "workload.train.lr_start=1e-3", "seed=4", "workload.method=dst",
           "workload.N=3", "workload.dst.m=2")
    assert w.activation["r"] == 0.7 and w.activation["kind"] == "ternary"  # the file's other keys stay
    assert w.train["lr_start"] == 1e-3 and w.train["epochs"] == 30
    assert (w.seed, w.method, w.N, w.dst["m"]) == (4, "dst", 3, 2.0)
    assert w.name == "digits_mlp" and "with --set workload.activation.r=0.7" in w.source
    with pytest.raises(WorkloadError, match=r"^--set workload.N=3: .*digits_mlp.yaml: N: method 'gxnor' is ternary"):
        _w("workload.N=3")
    with pytest.raises(WorkloadError, match=r"^--set workload.train.lr_start=abc: .*: train.lr_start: must be a "
                                            r"number, got 'abc'"):
        _w("workload.train.lr_start=abc")
    with pytest.raises(WorkloadError, match=r"^--set workload.activation.r=1.5: .*activation.r: must be < "):
        _w("workload.seed=1", "workload.activation.r=1.5")  # blamed on the key at fault, not on the others


def test_unknown_workload_keys_name_the_set_and_the_allowed_keys():
    with pytest.raises(OverrideError, match=r"^--set workload.train.lr: unknown key 'lr' of workload.train; allowed: "
                                            r"epochs, batch, eval_batch, lr_start, lr_fin, optimizer$"):
        _w("workload.train.lr=3")
    with pytest.raises(OverrideError, match=r"^--set workload.foo: unknown workload key 'foo'; allowed: name, "):
        _w("workload.foo=3")
    with pytest.raises(OverrideError, match=r"^--set workload.N.x: workload.N has no keys"):
        _w("workload.N.x=3")
    with pytest.raises(OverrideError, match=r"^--set lanes: must start with 'workload.' or 'arch.'"):
        parse_set("lanes=3")


def test_architecture_keys_by_component_name():
    a = _a("arch.pe_array.lanes=512", "arch.pe_array.actions.xnor.energy_pj=0.01", "arch.clock_mhz=500",
           "arch.dram.bandwidth_gbps=12.8")
    assert a.component("pe_array").attributes.lanes == 512
    assert a.energy("pe_array", "xnor") == 0.01
    assert a.clock_hz == 500e6 and a.dram().attributes.bandwidth_gbps == 12.8
    assert _a("arch.pe_array.attributes.lanes=64").component("pe_array").attributes.lanes == 64
    assert a.source_file.endswith("gxnor.yaml with --set arch.pe_array.lanes=512, --set arch.pe_array.actions.xnor."
                                  "energy_pj=0.01, --set arch.clock_mhz=500, --set arch.dram.bandwidth_gbps=12.8")
    xb = _a("arch.adc.bits=4", "arch.crossbar.device.read_noise=0.02", name="crossbar_dst")
    assert xb.component("adc").attributes.bits == 4 and xb.crossbar().device.read_noise == 0.02


def test_architecture_errors_name_the_set():
    with pytest.raises(ArchError, match=r"^--set arch.pe_array.lanes=0: .*gxnor.yaml: components\[3\].attributes."
                                        r"lanes: must be >= 1, got 0$"):
        _a("arch.pe_array.lanes=0")
    with pytest.raises(OverrideError, match=r"^--set arch.pe_array.lane: unknown key 'lane' of component 'pe_array' "
                                            r"\(class compute_array\); allowed: its attributes \(kind, lanes, "):
        _a("arch.pe_array.lane=4")
    with pytest.raises(OverrideError, match=r"^--set arch.pe_aray.lanes: unknown key 'pe_aray'; allowed: name, .*"
                                            r"or a component: dram, state_buffer, global_buffer, pe_array"):
        _a("arch.pe_aray.lanes=4")
    with pytest.raises(OverrideError, match=r"^--set arch.components: name a component instead of the list"):
        _a("arch.components=[]")
    with pytest.raises(ArchError, match=r"^--set arch.pe_array.policy=skipping: .*components\[3\].actions.index: "
                                        r"missing required action"):
        _a("arch.pe_array.policy=skipping")
    with pytest.raises(ArchError, match=r"^--set arch.placement.weights=global_buffer: .*placement.weights: "):
        _a("arch.placement.weights=global_buffer")


def test_the_resolved_configuration_reflects_overrides():
    base = prepare("digits_mlp")
    lanes = resolved_config(base, _a("arch.pe_array.lanes=512"))
    assert config_hash(lanes) != config_hash(resolved_config(base, load_arch("gxnor")))
    assert config_hash(lanes) == config_hash(resolved_config(base, _a("arch.pe_array.attributes.lanes=512")))
    r = prepare("digits_mlp", Overrides(sets=parse_sets(["workload.activation.r=0.7"])))
    assert r.method.activation.r == 0.7
    assert resolved_config(r, None)["workload"]["activation"]["r"] == 0.7
    assert config_hash(resolved_config(r, None)) != config_hash(resolved_config(base, None))
    with pytest.raises(ValueError, match=r"^--epochs and --set workload.train.epochs=2: both set train.epochs"):
        prepare("digits_mlp", Overrides(epochs=3, sets=parse_sets(["workload.train.epochs=2"])))


def _cli(capsys, *args) -> tuple[int, str, str]:
    """The CLI in this process (its import is paid once): exit status, stdout, stderr."""
    from neurosim.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_set_errors_are_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for args, want in [(("train", "--set", "arch.pe_array.lanes=8"), "--set arch.pe_array.lanes=8: train has no "
                                                                        "architecture"),
                       (("run", "--set", "arch.pe_array.lanes=0"), "--set arch.pe_array.lanes=0: "),
                       (("run", "--set", "workload.train.nope=1"), "--set workload.train.nope: unknown key"),
                       (("run", str(REPO / "workloads" / "scalesim_lenet.csv"), "--set", "workload.N=1"),
                        "--set workload.N=1: does not apply to a topology CSV")]:
        code, _, err = _cli(capsys, *args, "--quiet")
        assert code == 2, (args, err)
        assert err.startswith(f"neurosim: error: {want}") and err.count("\n") == 1, err
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_cli_run_with_set_gets_its_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(capsys, "run", "--epochs", "1", "--quiet", "--set", "workload.network=64-32-10",
                        "--set", "arch.pe_array.lanes=64", "--set", "workload.dataset.train=[0, 300]")
    assert code == 0, err
    (folder,) = (tmp_path / "reports").iterdir()
    s = (folder / "summary.json").read_text()
    assert '"network": "64-32-10"' in s and "with --set arch.pe_array.lanes=64" in s
    model = folder / "model.npz"
    code, _, err = _cli(capsys, "simulate", str(model), "--set", "workload.N=2")
    assert code == 2 and "does not apply to a saved model" in err
    code, out, err = _cli(capsys, "simulate", str(model), "--set", "arch.pe_array.lanes=128", "--set",
                          "workload.dataset.test=[1500, 1600]")
    assert code == 0, err
    assert "over 100 samples" in out


def test_an_error_of_the_file_itself_is_not_blamed_on_a_set(tmp_path):
    bad = tmp_path / "w.yaml"
    bad.write_text((REPO / "workloads" / "digits_mlp.yaml").read_text().replace("dst: {tau: tanh, m: 3}",
                                                                                 "dst: {tau: tanh, m: -1}"))
    with pytest.raises(WorkloadError, match=r"^\S*w.yaml: dst.m: must be > 0(.0)?, got -1"):
        load_workload(bad, parse_sets(["seed=2"]))
