"""Crossbar architectures are ordinary architecture files: the shipped ones load; bad files fail naming the file,
the key path and what is allowed; the self-training energy charges action counts as the components price them."""
import pytest
import yaml

from neurosim.explore.self_training import SelfTrainer
from neurosim.hw.arch import ArchError, find_arch, load_arch

SHIPPED = ("crossbar_training_itself", "crossbar_binary", "crossbar_dst")


def _base() -> dict:
    return yaml.safe_load(find_arch("crossbar_training_itself").read_text())


def _comp(d: dict, name: str) -> dict:
    return next(c for c in d["components"] if c["name"] == name)


def _fails(tmp_path, doc, *needles):
    p = tmp_path / "bad_xbar.yaml"
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ArchError) as e:
        load_arch(p)
    msg = str(e.value)
    assert "bad_xbar.yaml" in msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_shipped_configs_load_with_sources():
    for name in SHIPPED:
        a = load_arch(name)
        assert a.name == name and a.clock_hz > 0 and a.clock_source and a.is_crossbar
        assert a.crossbar().device_source
        assert all(act.source and act.unit for c in a.components.values() for act in c.actions.values())
    a = load_arch("crossbar_training_itself")
    p, copy = a.crossbar_params(a.crossbar()), a.crossbar_params(a.crossbar("copy"))
    assert p.readout == "adc" and a.weight_space() == (8, "differential", 1.0) and a.cpu.power_w == 95
    assert a.energy("write_driver", "pulse") == pytest.approx(9.0)  # device: 3^2 / 10 kOhm x 10 ns
    assert a.action("write_driver", "pulse").latency_s == pytest.approx(10e-9)
    assert a.action("crossbar", "read").latency_s == pytest.approx(3.16e-9)
    assert a.action("control", "op").latency_s == pytest.approx(1e-9)  # 1 cycle at 1 GHz
    assert copy.adc_full_scale < p.adc_full_scale and a.crossbar("copy").device is a.crossbar().device
    # the cells are priced by the device physics: V_read^2 x t_read per siemens
    assert a.energy("crossbar", "cell_read") == pytest.approx(0.15 ** 2 * 3.16e-9 * 1e12)
    b = load_arch("crossbar_binary")
    pb = b.crossbar_params(b.crossbar())
    assert pb.readout == "comparator" and pb.input_driver == "binary" and b.cpu is None


def _set_attr(name, key, value):
    return lambda d: _comp(d, name).setdefault("attributes", {}).update({key: value})


@pytest.mark.parametrize("mutate,needles", [
    (lambda d: _comp(d, "sign_unit")["actions"]["sign"].pop("source"), ("components[8].actions.sign.source",
                                                                        "source")),
    (lambda d: _comp(d, "adc")["actions"].pop("convert"), ("components[3].actions.convert", "missing required")),
    (lambda d: _comp(d, "adc")["actions"].update(warp={"energy_pj": 1, "latency_ns": 1, "source": "x"}),
     ("components[3].actions.warp", "allowed: convert")),
    (_set_attr("adc", "bits", 99), ("components[3].attributes.bits", "<= 16")),
    (_set_attr("crossbar", "mapping", "triple"), ("components[0].attributes.mapping", "differential, reference")),
    (_set_attr("crossbar", "N", 99), ("components[0].attributes.N", "<= 14")),
    (_set_attr("crossbar", "readout", "row_driver"), ("components[0].attributes.readout", "adc or comparator")),
    (_set_attr("crossbar", "readout", "nowhere"), ("components[0].attributes.readout", "no component 'nowhere'")),
    (_set_attr("row_driver", "kind", "optical"), ("components[2].attributes.kind", "binary, ternary")),
    (lambda d: _comp(d, "crossbar")["device"].update(r_off_ohm=1.0), ("components[0].device.r_off_ohm",
                                                                      "> r_on_ohm")),
    (lambda d: _comp(d, "crossbar")["device"].pop("source"), ("components[0].device.source",)),
    (lambda d: _comp(d, "crossbar")["device"].update(pulse_energy_pj=3.0),
     ("components[0].device.pulse_energy_source",)),
    (lambda d: _comp(d, "crossbar").update(leakage={"mw": 1.0, "per": "cell"}), ("components[0].leakage.source",)),
    (lambda d: _comp(d, "crossbar").update(area={"um2": 1.0, "per": "lane", "source": "x"}),
     ("components[0].area.per", "allowed for class crossbar_tile: tile, cell")),
    (lambda d: d.pop("clock_source"), ("clock_source", "missing")),
    (lambda d: d["cpu"].update(power_w=-1), ("cpu.power_w", ">")),
    (lambda d: _comp(d, "filter")["actions"]["filter"].update(energy_pj="device"),
     ("components[7].actions.filter.energy_pj", "'device' is allowed only")),
    (lambda d: _comp(d, "filter")["actions"]["filter"].update(latency_cycles=1),
     ("components[7].actions.filter.latency_ns", "exactly one")),
    (_set_attr("copy_crossbar", "full_scale", 2.0), ("components[1].attributes.full_scale", "<= 1")),
    (_set_attr("copy_crossbar", "N", 3), ("components[1].attributes.N", "takes N from the tile it copies")),
    (lambda d: _comp(d, "copy_crossbar").update(device={"source": "x"}), ("components[1].device", "copy crossbar")),
    (_set_attr("adc", "share", 999), ("components[3].attributes.share", "1..128", "cols")),
    (lambda d: d["components"].remove(_comp(d, "shift_adder")), ("shift_adder",)),
    (lambda d: d.update(colour="red"), ("colour", "unknown key")),
])
def test_bad_values_name_file_key_and_allowed(tmp_path, mutate, needles):
    d = _base()
    mutate(d)
    _fails(tmp_path, d, *needles)


def test_yaml_errors_and_missing_file(tmp_path):
    _fails(tmp_path, "name: x\nname: y\n", "duplicate key")
    _fails(tmp_path, "a: [1,\n", "YAML syntax error")
    _fails(tmp_path, b"name: \xff\xfe\n".decode("latin-1").encode("latin-1").decode("latin-1"), "")
    bad = tmp_path / "bad_xbar.yaml"
    bad.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ArchError, match="bad_xbar.yaml.*UTF-8"):
        load_arch(bad)
    with pytest.raises(ArchError, match="cannot read"):
        load_arch(tmp_path / "nope.yaml")


def test_self_training_needs_its_periphery():
    """seed 004's trainer prices activations, subtractions, filters and signs: a file without them is refused."""
    with pytest.raises(ArchError, match="crossbar_binary.yaml.*neuron with action activate.*subtractor"):
        SelfTrainer("crossbar_binary")
