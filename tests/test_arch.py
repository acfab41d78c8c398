"""Architecture configs: every shipped file loads; every bad file fails naming the file and the key path."""
import csv
import math

import pytest
import yaml

from neurosim.hw.arch import ArchError, find_arch, load_arch, shipped_archs
from neurosim.hw.energy import energy_table, leakage_pj, write_energy_csv
from neurosim.hw.footprint import chip_area_um2, footprints

SHIPPED = ("fp", "bwn", "twn", "bnn", "gxnor", "gxnor_skip", "dst_onchip", "bwn_offchip")
PE = 3  # index of the compute array in gxnor.yaml


def _base() -> dict:
    with open(find_arch("gxnor")) as f:
        return yaml.safe_load(f)


def _write(tmp_path, doc, name="bad_arch.yaml"):
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return p


def test_all_shipped_configs_load():
    names = {p.stem for p in shipped_archs()}
    assert set(SHIPPED) <= names
    for name in SHIPPED:
        a = load_arch(name)
        assert a.name == name and a.technology == "45nm" and 5e8 <= a.clock_hz <= 1e9
        assert a.compute_array().attributes.lanes >= 1
        for c in a.components.values():
            assert all(act.source and (act.source.startswith("derived:") or "Horowitz" in act.source)
                       for act in c.actions.values()), c.name


def test_gxnor_semantics_and_dst_pair():
    g, s = load_arch("gxnor"), load_arch("gxnor_skip")
    assert g.compute_array().attributes.policy == "gating" and s.compute_array().attributes.policy == "skipping"
    assert {"index", "compact"} <= set(s.compute_array().actions)
    assert g.energy("pe_array", "xnor") == pytest.approx(0.03 / 8) and g.latency("pe_array", "xnor") == 1
    dst, bwn = load_arch("dst_onchip"), load_arch("bwn_offchip")
    assert dst.component(dst.placement.weights).cls == "state_buffer" and dst.placement.hidden_weights is None
    assert dst.update_unit().kind == "dst_fixed_point"
    assert bwn.placement.weights == "dram" and bwn.placement.hidden_weights == "dram"
    assert bwn.update_unit().kind == "float_binarize" and bwn.dram().attributes.word_bits == 32
    assert bwn.energy("dram", "read_bit") == 20.0 and dst.energy("state_buffer", "read_bit") == pytest.approx(10 / 64)
    assert bwn.dram_bits_per_cycle() == pytest.approx(25.6 * 8) and bwn.dram_latency_cycles() == 50
    assert dst.buffer_bits_per_cycle("state_buffer") == 256 * 64
    assert [c.name for c in dst.by_class("state_buffer")] == ["state_buffer"]


def _set(path, value):
    def mutate(d):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value
    return mutate


def _delete(path):
    def mutate(d):
        *head, last = path
        for k in head:
            d = d[k]
        del d[last]
    return mutate


def _dup_name(d):
    d["components"][2]["name"] = d["components"][1]["name"]


BAD = [
    ("unknown_top", _set(("colour",), 1), "colour", "allowed: name"),
    ("unknown_class", _set(("components", 1, "class"), "tcam"), "components[1].class", "allowed: dram"),
    ("unknown_action", _set(("components", PE, "actions", "mult"), {"energy_pj": 1, "source": "x"}),
     "components[3].actions.mult", "allowed: gate_check, xnor, bitcount_add, rest"),
    ("missing_source", _delete(("components", PE, "actions", "xnor", "source")),
     "components[3].actions.xnor.source", "source"),
    ("empty_source", _set(("components", PE, "actions", "xnor", "source"), "  "),
     "components[3].actions.xnor.source", "non-empty"),
    ("negative_energy", _set(("components", PE, "actions", "xnor", "energy_pj"), -1.0),
     "components[3].actions.xnor.energy_pj", ">= 0"),
    ("nan_energy", _set(("components", PE, "actions", "xnor", "energy_pj"), float("nan")),
     "components[3].actions.xnor.energy_pj", "finite"),
    ("inf_energy", _set(("components", PE, "actions", "xnor", "energy_pj"), float("inf")),
     "components[3].actions.xnor.energy_pj", "finite"),
    ("text_energy", _set(("components", PE, "actions", "xnor", "energy_pj"), "cheap"),
     "components[3].actions.xnor.energy_pj", "number"),
    ("zero_lanes", _set(("components", PE, "attributes", "lanes"), 0), "components[3].attributes.lanes", ">= 1"),
    ("negative_lanes", _set(("components", 4, "attributes", "lanes"), -4), "components[4].attributes.lanes", ">= 1"),
    ("duplicate_name", _dup_name, "components[2].name", "duplicate component name"),
    ("placement_missing", _set(("placement", "weights"), "nowhere"), "placement.weights", "no component 'nowhere'"),
    ("placement_wrong_class", _set(("placement", "weights"), "pe_array"), "placement.weights",
     "state_buffer or dram"),
    ("missing_action", _delete(("components", PE, "actions", "bitcount_add")), "components[3].actions.bitcount_add",
     "missing required action"),
    ("skipping_needs_index", _set(("components", PE, "attributes", "policy"), "skipping"),
     "components[3].actions.index", "missing required action"),
    ("zero_clock", _set(("clock_mhz",), 0), "clock_mhz", "> 0"),
    ("negative_latency", _set(("components", PE, "actions", "xnor", "latency_cycles"), -1),
     "components[3].actions.xnor.latency_cycles", ">= 0"),
    ("unknown_kind", _set(("components", PE, "attributes", "kind"), "fpga"), "components[3].attributes.kind",
     "allowed: gated_xnor"),
]


@pytest.mark.parametrize("case,mutate,keypath,allowed", BAD, ids=[b[0] for b in BAD])
def test_bad_configs_name_file_and_key(tmp_path, case, mutate, keypath, allowed):
    doc = _base()
    mutate(doc)
    p = _write(tmp_path, doc, f"{case}.yaml")
    with pytest.raises(ArchError) as e:
        load_arch(p)
    msg = str(e.value)
    assert f"{case}.yaml" in msg and keypath in msg and allowed in msg, msg


@pytest.mark.parametrize("text,where", [
    ("- just\n- a list\n", "must be a mapping"),
    ("name: x\ncomponents: [\n", "YAML syntax error"),
    ("name: a\nname: b\n", "duplicate key 'name'"),
])
def test_bad_yaml_documents(tmp_path, text, where):
    p = _write(tmp_path, text, "broken.yaml")
    with pytest.raises(ArchError, match=where) as e:
        load_arch(p)
    assert "broken.yaml" in str(e.value)


def test_clock_hz_and_exponent_floats(tmp_path):
    doc = _base()
    del doc["clock_mhz"]
    text = yaml.safe_dump(doc, sort_keys=False) + "clock_hz: 5e8\n"
    a = load_arch(_write(tmp_path, text, "hz.yaml"))
    assert a.clock_hz == 5e8
    doc["clock_hz"], doc["clock_mhz"] = 5e8, 500
    with pytest.raises(ArchError, match="exactly one of clock_hz or clock_mhz"):
        load_arch(_write(tmp_path, doc, "both.yaml"))


def test_energy_table_lists_every_action_with_source(tmp_path):
    for name in SHIPPED:
        a = load_arch(name)
        rows = energy_table(a)
        expected = {(c.name, act) for c in a.components.values() for act in c.actions}
        assert {(r["component"], r["action"]) for r in rows} == expected
        assert all(r["source"] and math.isfinite(r["energy_pj"]) and r["energy_pj"] >= 0 for r in rows)
    out = write_energy_csv(load_arch("gxnor_skip"), tmp_path / "sub" / "energy.csv")
    with open(out, newline="") as f:
        got = list(csv.DictReader(f))
    assert len(got) == len(energy_table(load_arch("gxnor_skip")))
    assert {r["action"] for r in got if r["component"] == "pe_array"} >= {"index", "compact", "xnor"}
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["energy.csv"]  # no temp file left behind


def test_leakage_and_area_per_unit_by_hand(tmp_path):
    """Hand computation: per-unit figures x the units the attributes give (lanes x arrays, bits, banks)."""
    doc = _base()
    for c in doc["components"]:  # only the figures set here
        c.pop("area", None), c.pop("leakage", None)
    comps = {c["name"]: c for c in doc["components"]}
    pe, buf = comps["pe_array"], comps["state_buffer"]
    pe["area"] = {"um2": 10.0, "per": "lane", "source": "test value"}
    pe["leakage"] = {"mw": 0.001, "per": "array", "source": "test value"}
    buf["area"] = {"um2": 0.5, "per": "bit", "source": "test value"}
    buf["leakage"] = {"mw": 0.25, "per": "bank", "source": "test value"}
    a = load_arch(_write(tmp_path, doc, "fp.yaml"))
    lanes, arrays = pe["attributes"]["lanes"], pe["attributes"].get("arrays", 1)
    bits, banks = buf["attributes"]["capacity_bits"], buf["attributes"].get("banks", 1)
    fp = footprints(a)
    assert fp["pe_array"].area_um2 == pytest.approx(10.0 * lanes * arrays)
    assert fp["state_buffer"].area_um2 == pytest.approx(0.5 * bits)
    assert chip_area_um2(fp) == pytest.approx(10.0 * lanes * arrays + 0.5 * bits)
    mw = 0.001 * arrays + 0.25 * banks
    assert leakage_pj(a, 1e-3) == pytest.approx(mw * 1e-3 * 1e9)  # 1 mW for 1 s = 1e9 pJ


@pytest.mark.parametrize("name, block, where, says", [
    ("pe_array", {"leakage": {"mw": 2.0, "per": "lane"}}, "leakage.source", "missing"),
    ("pe_array", {"area": {"um2": 1.0, "per": "bit", "source": "x"}}, "area.per",
     "allowed for class compute_array: instance, array, lane"),
    ("pe_array", {"area": {"um2": -1.0, "source": "x"}}, "area.um2", ">= 0"),
    ("pe_array", {"leakage": {"mw": float("nan"), "source": "x"}}, "leakage.mw", "finite"),
    ("dram", {"area": {"um2": 1.0, "source": "x"}}, "area", "off chip"),
])
def test_bad_footprint_is_an_error_naming_the_key(tmp_path, name, block, where, says):
    doc = _base()
    i = [c["name"] for c in doc["components"]].index(name)
    doc["components"][i].update(block)
    with pytest.raises(ArchError, match=rf"components\[{i}\]\.{where}") as e:
        load_arch(_write(tmp_path, doc, "bad.yaml"))
    assert says in str(e.value), str(e.value)


def test_weights_fit(tmp_path):
    a = load_arch("gxnor")
    cap = a.capacity_bits("weights")
    assert a.fits(cap, "weights") and not a.fits(cap + 1, "state_buffer") and a.fits(10**12, "dram")
    assert a.check_weights_fit(1000, 2) == 2000
    doc = _base()
    doc["components"][1]["attributes"]["capacity_bits"] = 1024
    tiny = load_arch(_write(tmp_path, doc, "tiny.yaml"))
    with pytest.raises(ArchError, match="does not fit") as e:
        tiny.check_weights_fit(513, 2)
    assert "'state_buffer'" in str(e.value) and "1024" in str(e.value) and "1026" in str(e.value)
    bnn = load_arch("bnn")  # 1-bit cells cannot hold 2-bit states
    with pytest.raises(ArchError, match="1-bit cells"):
        bnn.check_weights_fit(10, 2)


def test_lookups_fail_clearly():
    a = load_arch("gxnor")
    with pytest.raises(ArchError, match="no component 'tpu'"):
        a.component("tpu")
    with pytest.raises(ArchError, match="has no action 'mult'; actions: gate_check"):
        a.energy("pe_array", "mult")
    with pytest.raises(ArchError, match="unknown class"):
        a.by_class("gpu")


def test_hw_does_not_import_core():
    import ast
    import pathlib

    import neurosim.hw as hw
    for f in pathlib.Path(hw.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "neurosim.core" or n.startswith("neurosim.core.") for n in names), f
