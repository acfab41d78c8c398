"""The report's numbers and figures: SI prefixes chosen by magnitude, one colour per component in every run, a log
axis or a second panel when one component dominates, training and inference figures apart, PNG and SVG."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurosim.cli import main
from neurosim.report import units
from neurosim.report.plots import (COMPONENT_COLORS, DOMINANCE, all_figure_names, component_color, dominant,
                                   mode_figures, run_figures)

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------ SI units
@pytest.mark.parametrize("pj, text", [
    (1234, "1.23 nJ"), (0, "0 pJ"), (0.812, "812 fJ"), (1, "1.00 pJ"), (999.7, "1.00 nJ"), (281120.6, "281 nJ"),
    (9.66e6, "9.66 µJ"), (12553133416.86, "12.6 mJ"), (1e12, "1.00 J"), (-2500, "-2.50 nJ"),
    (float("nan"), "–"), (None, "–")])
def test_energy_picks_the_prefix_by_magnitude(pj, text):
    assert units.energy(pj) == text


def test_other_quantities_scale_too():
    assert units.seconds(2.6198e-7) == "262 ns" and units.seconds(0.005812378) == "5.81 ms"
    assert units.power(1005.65) == "1.01 W" and units.power(0.0125508) == "12.6 µW"
    assert units.area(14252190.8) == "14.3 mm²" and units.area(715.008) == "715 µm²"
    assert units.count(5812378, "cycles") == "5.81 M cycles" and units.count(812) == "812"
    assert units.bits(13840) == "1.73 kB" and units.bits(0) == "0 B"
    assert units.percent(0.60220) == "60.2 %" and units.hertz(1e9) == "1.00 GHz"
    for v in (1e-3, 3.3e4, 7.7e9, 123456789.0):  # never an exponent or an offset
        assert "e" not in units.energy(v).split()[0]


def test_axis_scale_labels_the_unit_of_the_largest_value():
    factor, unit = units.axis_scale([3e6, 7.8e9], "J", 1e-12)  # pJ values up to 7.8 mJ
    assert unit == "mJ" and 7.8e9 * factor == pytest.approx(7.8)
    assert units.axis_scale([0.0], "J", 1e-12) == (1.0, "pJ")


# ------------------------------------------------------------------------------------------ colours
def test_a_component_keeps_its_colour_whatever_the_order():
    assert component_color("dram") == COMPONENT_COLORS["dram"]
    assert component_color("my_new_unit") == component_color("my_new_unit")  # stable hash, not an order
    assert len(set(COMPONENT_COLORS.values())) == len(COMPONENT_COLORS)  # no two shipped names share a colour


def test_dominance_needs_more_than_20x_the_next():
    assert dominant({"dram": 100.0, "sram": 4.0, "pe": 1.0}) == "dram"
    assert dominant({"dram": 100.0, "sram": 100 / DOMINANCE}) is None
    assert dominant({"dram": 100.0}) is None and dominant({}) is None


# ------------------------------------------------------------------------------------------ figures
def _rows(dram: float) -> list[dict]:
    """Layer rows of one inference: two layers, DRAM energy ``dram`` pJ per layer against 10 pJ of the rest."""
    rows = []
    for i, name in enumerate(("conv1", "fc1")):
        rows.append({"layer": i, "name": name, "mode": "eval", "phase": "forward", "compute_cycles": 100 + i,
                     "stall_dram_cycles": 5, "stall_queue_cycles": 0, "stall_bank_cycles": 0, "algorithmic_ops": 1000,
                     "resting_probability": 0.6, "resting_probability_uniform": 0.55, "energy_pj_dram": dram,
                     "energy_pj_state_buffer": 10.0, "energy_pj_pe_array": 1.0})
    return rows


@pytest.mark.slow
def test_a_dominant_component_gets_a_second_panel_and_a_log_axis(tmp_path):
    comps = ["dram", "state_buffer", "pe_array"]
    figs = {f.stem: f for f in mode_figures(_rows(1e4), comps, "eval", tmp_path, "eval", "test")}
    assert "leaves out dram" in figs["energy_per_layer"].caption
    assert "log scale" in figs["energy_by_component"].caption
    (tmp_path / "even").mkdir()
    even = {f.stem: f for f in mode_figures(_rows(12.0), comps, "eval", tmp_path / "even", "eval", "test")}
    assert "leaves out" not in even["energy_per_layer"].caption  # 12 vs 10 pJ: one panel
    assert "linear scale" in even["energy_by_component"].caption  # 12 vs 1 pJ: within 20x
    for f in figs.values():
        assert [p.suffix for p in f.files] == [".png", ".svg"] and all(p.stat().st_size > 1000 for p in f.files)


@pytest.mark.slow
def test_training_and_inference_figures_are_separate_files(tmp_path):
    rows = _rows(50.0) + [dict(r, mode="train") for r in _rows(60.0)]
    figs = run_figures(rows, ["dram", "state_buffer", "pe_array"], tmp_path, "t", clock_hz=1e9)
    names = {p.name for f in figs for p in f.files}
    assert {"energy_per_layer.png", "energy_per_layer.svg", "energy_per_layer_inference.png",
            "cycles_per_layer_inference.svg", "resting_per_layer.png"} <= names
    assert names <= set(all_figure_names())  # a report folder knows every name it may hold
    assert [f.mode for f in figs] == ["train"] * 4 + ["eval"] * 4
    svg = (tmp_path / "energy_per_layer.svg").read_text()
    assert "Training" in svg and "layer" in svg and "energy (" in svg  # title, x label, unit label (as text)


# ------------------------------------------------------------------------------------------ two real runs
@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The LeNet topology on two architectures that share components (dram, buffers): real reports."""
    tmp = tmp_path_factory.mktemp("runs")
    out = []
    for arch in ("gxnor", "gxnor_skip"):
        folder = tmp / arch
        assert main(["run", str(REPO / "workloads" / "scalesim_lenet.csv"), "--arch", arch, "--quiet",
                     "--out", str(folder)]) == 0
        out.append(folder)
    return out


def _fills(svg: str) -> set[str]:
    import re

    return set(re.findall(r"fill: ?(#[0-9a-fA-F]{6})", svg))


@pytest.mark.slow
def test_a_component_has_the_same_colour_in_two_runs(two_runs):
    colours = []
    for folder in two_runs:
        s = json.loads((folder / "summary.json").read_text())
        fills = _fills((folder / "energy_by_component.svg").read_text())
        shown = {c for c, e in s["energy_pj_by_component"].items() if e > 0}
        assert {component_color(c) for c in shown} <= fills  # every component drawn in its own colour
        colours.append(fills)
    shared = COMPONENT_COLORS["dram"], COMPONENT_COLORS["state_buffer"], COMPONENT_COLORS["global_buffer"]
    assert all(c in colours[0] and c in colours[1] for c in shared)


@pytest.mark.slow
def test_a_topology_run_has_inference_figures_only(two_runs):
    names = {p.name for p in two_runs[0].iterdir()}
    assert {"energy_per_layer.png", "energy_per_layer.svg", "energy_by_component.png"} <= names
    assert not any(n.endswith("_inference.png") for n in names)  # its main mode is inference: no suffix
