"""Crossbar architecture YAML: shipped files load; bad files fail naming the file, the key and what is allowed;
energies charge action counts as the table says."""
import pytest
import yaml

from neurosim.hw.crossbar import ActionCounts
from neurosim.hw.crossbar_arch import CrossbarArchError, find_crossbar_arch, load_crossbar_arch

SHIPPED = ("crossbar_training_itself", "crossbar_binary", "crossbar_dst")


def _base() -> dict:
    with open(find_crossbar_arch("crossbar_training_itself")) as f:
        return yaml.safe_load(f)


def _fails(tmp_path, doc, *needles):
    p = tmp_path / "bad_xbar.yaml"
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(CrossbarArchError) as e:
        load_crossbar_arch(p)
    msg = str(e.value)
    assert "bad_xbar.yaml" in msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_shipped_configs_load_with_sources():
    for name in SHIPPED:
        a = load_crossbar_arch(name)
        assert a.name == name and a.clock_hz > 0 and a.clock_source and a.device_source
        assert all(act.source for act in a.actions.values())
    a = load_crossbar_arch("crossbar_training_itself")
    assert a.crossbar.readout == "adc" and a.mapping == "differential" and a.cpu.power_w == 95
    assert a.energy("write_pulse") == pytest.approx(9.0)  # device: 3^2 / 10 kOhm x 10 ns
    assert a.latency("write_pulse") == pytest.approx(10e-9) and a.latency("array_read") == pytest.approx(3.16e-9)
    assert a.latency("control") == pytest.approx(1e-9)  # 1 cycle at 1 GHz
    assert a.copy_crossbar is not None and a.copy_crossbar.adc_full_scale < a.crossbar.adc_full_scale
    b = load_crossbar_arch("crossbar_binary")
    assert b.crossbar.readout == "comparator" and b.crossbar.input_driver == "binary" and b.cpu is None


@pytest.mark.parametrize("mutate,needles", [
    (lambda d: d["actions"]["sign"].pop("source"), ("actions.sign.source", "source")),
    (lambda d: d["actions"].pop("adc_conversion"), ("actions.adc_conversion", "readout 'adc'")),
    (lambda d: d["actions"].update(warp={"energy_pj": 1, "latency_ns": 1, "source": "x"}),
     ("actions.warp", "allowed:", "array_read")),
    (lambda d: d["crossbar"].update(readout="optical"), ("crossbar.readout", "comparator, adc")),
    (lambda d: d["crossbar"].update(mapping="triple"), ("crossbar.mapping", "differential, reference")),
    (lambda d: d["crossbar"].update(N=99), ("crossbar.N", "0..14")),
    (lambda d: d["device"].update(r_off_ohm=1.0), ("device.r_off_ohm", "> r_on_ohm")),
    (lambda d: d["device"].pop("source"), ("device.source",)),
    (lambda d: d["device"].update(pulse_energy_pj=3.0), ("device.pulse_energy_source",)),
    (lambda d: d["leakage"].pop("source"), ("leakage.source",)),
    (lambda d: d.pop("clock_source"), ("clock_source",)),
    (lambda d: d["cpu"].update(power_w=-1), ("cpu.power_w", ">")),
    (lambda d: d["actions"]["filter"].update(energy_pj="device"), ("actions.filter.energy_pj", "write_pulse")),
    (lambda d: d["actions"]["filter"].update(latency_cycles=1), ("actions.filter.latency_ns", "exactly one")),
    (lambda d: d["copy_crossbar"].update(readout="comparator"), ("copy_crossbar.readout",)),
    (lambda d: d["copy_crossbar"].update(adc_full_scale=2.0), ("copy_crossbar.adc_full_scale", "(0, 1]")),
    (lambda d: d.update(colour="red"), ("colour", "unknown key")),
])
def test_bad_values_name_file_key_and_allowed(tmp_path, mutate, needles):
    d = _base()
    mutate(d)
    _fails(tmp_path, d, *needles)


def test_yaml_errors_and_missing_file(tmp_path):
    _fails(tmp_path, "name: x\nname: y\n", "duplicate key")
    _fails(tmp_path, "a: [1,\n", "YAML syntax error")
    with pytest.raises(CrossbarArchError, match="cannot read"):
        load_crossbar_arch(tmp_path / "nope.yaml")


def test_require_and_energy_breakdown_by_hand():
    a = load_crossbar_arch("crossbar_binary")
    with pytest.raises(CrossbarArchError, match="actions.subtractor"):
        a.require(("subtractor", "control"), "seed-004 self-training")
    c = ActionCounts(array_reads=10, integrations=20, comparator_decisions=5, write_pulses=7, read_energy_pj=1.5)
    e = a.energy_breakdown(c, control_ops=3, seconds=1e-6)
    assert e["array_read"] == pytest.approx(10 * 0.48) and e["integration"] == pytest.approx(20 * 0.25)
    assert e["write_pulse"] == pytest.approx(7 * 9.0) and e["control"] == pytest.approx(0.3)
    assert e["total"] == pytest.approx(4.8 + 5.0 + 5 * 0.00506 + 63.0 + 0.3 + 1.5)
    with pytest.raises(CrossbarArchError, match="actions.subtractor"):
        a.energy_breakdown(ActionCounts(subtractor_ops=1))
