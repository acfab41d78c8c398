"""report.html and ``report compare``: self-contained pages (embedded images, inline script, no network), labelled
key numbers, the architecture summary, training and inference sections, a per-layer table with SI units and
humanized headings; rendered in headless Chromium (skipped where it is not installed), they fit 1400 px."""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from neurosim.cli import main
from neurosim.report import units
from neurosim.report.compare import NotARunError, write_compare_page

REPO = Path(__file__).resolve().parents[1]
SUBSET = ["--set", "workload.dataset.train=[0,300]", "--set", "workload.dataset.validation=[300,400]",
          "--set", "workload.dataset.test=[400,500]"]
WIDTH, HEIGHT = 1400, 1000


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three real run folders: training + inference on gxnor, a topology (inference only), training only."""
    tmp = tmp_path_factory.mktemp("report")
    folders = {"trained": tmp / "trained", "topology": tmp / "topology", "train_only": tmp / "train_only"}
    assert main(["run", "--epochs", "1", "--quiet", "--out", str(folders["trained"]), *SUBSET]) == 0
    assert main(["run", str(REPO / "workloads" / "scalesim_lenet.csv"), "--arch", "crossbar_dst", "--quiet",
                 "--out", str(folders["topology"])]) == 0
    assert main(["train", "--epochs", "1", "--quiet", "--out", str(folders["train_only"]), *SUBSET]) == 0
    return folders


class _Cells(HTMLParser):
    """The text of every table cell and heading of a page, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list[str]]] = {}
        self._table: str | None = None
        self._cell: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("id", "")
            self.tables[self._table] = {"th": [], "td": []}
        elif tag in ("th", "td") and self._table is not None:
            self._cell, self._text = tag, []

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell == tag and self._table is not None:
            self.tables[self._table][tag].append("".join(self._text).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell:
            self._text.append(data)


def _tables(html: str) -> dict[str, dict[str, list[str]]]:
    p = _Cells()
    p.feed(html)
    return p.tables


def _assert_self_contained(html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*['"]?\s*(https?:)?//""", html, re.I), "a link to the network"
    assert "<link" not in html and "<script src" not in html and "@import" not in html
    assert "data:image/png;base64," in html


@pytest.mark.slow
def test_run_page_is_self_contained_with_sections_and_key_numbers(runs):
    out = runs["trained"]
    html = (out / "report.html").read_text(encoding="utf-8")
    s = json.loads((out / "summary.json").read_text())
    _assert_self_contained(html)
    assert html.count("data:image/png;base64,") == 8  # four figures of training, four of inference
    assert "function sortBy" in html and "data-filter='layers'" in html  # the sort and filter script, wired
    for sid in ("configuration", "architecture", "training", "inference", "layers"):
        assert f"<section id='{sid}'>" in html, sid
    cards = dict(re.findall(r"<div class='label'>([^<]+)</div><div class='value'[^>]*>([^<]+)</div>", html))
    assert cards["accuracy"] == units.percent(s["accuracy"]["test"], 2)
    assert cards["energy / inference"] == units.energy(s["inference"]["energy_pj_per_sample"])
    assert cards["latency / inference"] == units.seconds(s["inference"]["latency_s_per_sample"])
    assert cards["area"] == units.area(s["area_um2"]) and cards["leakage power"] == units.power(s["leakage_mw"])
    assert "energy_per_layer.png" in html and "energy_per_layer_inference.svg" in html  # links to the files


@pytest.mark.slow
def test_architecture_summary_lists_every_component(runs):
    out = runs["trained"]
    s = json.loads((out / "summary.json").read_text())
    comp = _tables((out / "report.html").read_text(encoding="utf-8"))["components"]
    with open(out / "footprint.csv", newline="") as fh:
        footprint = list(csv.DictReader(fh))
    for f in footprint:
        assert f["component"] in comp["td"] and f["class"] in comp["td"]
    assert units.area(s["area_um2_by_component"]["state_buffer"]) in comp["td"]
    assert "2.10 MB (16.8 M bit)" in comp["td"]  # the state buffer's size, from its area units
    html = (out / "report.html").read_text(encoding="utf-8")
    assert units.hertz(s["clock_hz"]) in html and s["technology"] in html


@pytest.mark.slow
def test_per_layer_table_has_units_and_humanized_headings(runs):
    out = runs["trained"]
    layers = _tables((out / "report.html").read_text(encoding="utf-8"))["layers"]
    with open(out / "layers.csv", newline="") as fh:
        n_rows = sum(1 for _ in csv.DictReader(fh))
    heads = layers["th"]
    assert not any("_" in h for h in heads), heads  # no snake_case
    assert {"time (cycles on the critical path)", "energy", "traffic", "work"} <= set(heads)  # column groups
    assert any(h.startswith("resting probability") for h in heads)
    cells = layers["td"]
    n_cols = len(cells) // n_rows
    assert n_cols * n_rows == len(cells) and n_cols >= 15
    assert not [c for c in cells if re.search(r"\de[+-]?\d", c)], "a number in exponent form"
    assert any(c.endswith(" µJ") for c in cells) and any(c.endswith(" kB") for c in cells)
    assert {"training", "inference"} <= set(cells)


@pytest.mark.slow
def test_topology_page_has_inference_only(runs):
    html = (runs["topology"] / "report.html").read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert "<section id='inference'>" in html and "<section id='training'>" not in html
    assert "no accuracy: random operands" in html


@pytest.mark.slow
def test_compare_page_sets_runs_side_by_side(runs, tmp_path):
    folders = [runs["trained"], runs["topology"], runs["train_only"]]
    page = write_compare_page(folders, tmp_path)
    assert page == tmp_path / "compare.html"
    html = page.read_text(encoding="utf-8")
    _assert_self_contained(html)
    metrics = _tables(html)["metrics"]
    assert metrics["th"] == ["metric", "trained", "topology", "train_only"]
    s = [json.loads((f / "summary.json").read_text()) for f in folders]
    e0, e1 = s[0]["inference"]["energy_pj_per_sample"], s[1]["inference"]["energy_pj_per_sample"]
    assert units.energy(e0) in metrics["td"] and any(c.startswith(units.energy(e1) + " (") for c in metrics["td"])
    assert "<tr class='diff'>" in html and re.search(r"<td class='[^']*\bbest\b", html)  # differences marked
    assert "none (training only)" in metrics["td"]  # the training-only folder has no hardware
    for f in folders[:2]:  # links to each run's report, relative to the page
        assert f"href='../{f.parent.name}/{f.name}/report.html'" in html or f"{f.name}/report.html" in html
    assert (tmp_path / "compare_inference_energy.svg").exists() and "crossbar" in _tables(html)[
        "inference_energy_components"]["td"]


@pytest.mark.slow
def test_compare_refuses_a_folder_that_is_not_a_run(runs, tmp_path):
    stray = tmp_path / "notes"
    stray.mkdir()
    (stray / "readme.txt").write_text("not a run")
    with pytest.raises(NotARunError, match=re.escape(str(stray)) + ".*not a neurosim run folder"):
        write_compare_page([runs["trained"], stray], tmp_path / "c.html")
    with pytest.raises(NotARunError, match="no such folder"):
        write_compare_page([tmp_path / "missing"], tmp_path / "c.html")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "summary.json").write_text("{not json")
    with pytest.raises(NotARunError, match="summary.json: not a readable"):
        write_compare_page([bad], tmp_path / "c.html")
    assert not (tmp_path / "c.html").exists()


# ------------------------------------------------------------------------------------------ headless Chromium
def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed (Debian package chromium)")
    return exe


def _browser(page: Path, tmp: Path, *what: str) -> subprocess.CompletedProcess:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={tmp / 'profile'}", f"--window-size={WIDTH},{HEIGHT}",
           "--run-all-compositor-stages-before-draw", *what, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _check_rendered(page: Path, tmp: Path) -> None:
    """A screenshot of the page's first 1400 x 1000 px that shows content, and a layout no wider than 1400 px."""
    import matplotlib.image as mpimg
    import numpy as np

    shot = tmp / f"{page.stem}.png"
    r = _browser(page, tmp, f"--screenshot={shot}")
    assert shot.exists(), r.stderr[-2000:]
    img = mpimg.imread(shot)[:, :, :3]
    assert img.shape[:2] == (HEIGHT, WIDTH)
    flat = (img * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(flat, axis=0)) > 200  # text, cards, a dark header: not a blank page
    assert (flat.min(axis=1) < 200).mean() > 0.05
    assert (img[:60].mean() < 0.3)  # the dark header band is at the top
    dom = _browser(page, tmp, "--dump-dom").stdout
    width = re.search(r'data-layout-width="(\d+)"', dom)
    assert width, "the page's script did not run"
    assert int(width.group(1)) <= WIDTH


@pytest.mark.slow
def test_run_report_renders_in_chromium(runs, tmp_path):
    _check_rendered(runs["trained"] / "report.html", tmp_path)


@pytest.mark.slow
def test_compare_page_renders_in_chromium(runs, tmp_path):
    page = write_compare_page([runs["trained"], runs["topology"], runs["train_only"]], tmp_path / "cmp.html")
    _check_rendered(page, tmp_path)


@pytest.mark.slow
def test_report_compare_command(runs, tmp_path, capsys):
    page = tmp_path / "side_by_side.html"
    assert main(["report", "compare", str(runs["trained"]), str(runs["topology"]), "--out", str(page)]) == 0
    assert page.exists() and str(page) in capsys.readouterr().out
    stray = tmp_path / "stray"
    stray.mkdir()
    assert main(["report", "compare", str(runs["trained"]), str(stray), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert str(stray) in err and "not a neurosim run folder" in err and not (tmp_path / "x.html").exists()
