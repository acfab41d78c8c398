"""A run's report.html: one self-contained page (images embedded, inline CSS and script, nothing fetched).

Sections: a header of labelled key numbers (accuracy, energy and latency per inference, training energy, area,
leakage), the configuration, an architecture summary (components, class, size, area, leakage, energy shares), the
training and inference totals with their figures, and the per-layer table (numbers with SI units, humanized
headings from :mod:`.columns`, sortable by a click on a heading and filtered by mode, phase and text). The page fits
1400 px; the wide table scrolls inside its own box (the script records the laid-out width on the root element,
``data-layout-width``, so a headless browser can check it). :func:`page` and the table helpers are shared with the
comparison page (:mod:`.compare`).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..fileio import atomic_open
from . import units
from .columns import COLUMNS, Column
from .plots import MODE_TITLE, Figure

__all__ = ["Cell", "page", "table", "cards", "figure_html", "facts", "render_run_page", "write_run_page",
           "format_value", "STYLE", "SCRIPT"]

FIGURE_SCALE = 0.48  # page pixels per figure pixel (150 dpi PNGs: 11 pt text reads as about 11 px)
GROUPS = ("layer", "time", "energy", "traffic", "work")
GROUP_TITLE = {"layer": "layer", "time": "time (cycles on the critical path)", "energy": "energy",
               "traffic": "traffic", "work": "work"}

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2430;
 background:#f4f6f9;margin:0}
main{max-width:1360px;margin:0 auto;padding:18px 20px 40px}
header.top{background:#1d2a3a;color:#fff;padding:18px 20px 16px}
header.top .inner{max-width:1320px;margin:0 auto}
header.top h1{font-size:24px;margin:0 0 2px;font-weight:600}
header.top .sub{color:#c4cfdc;font-size:14px}
nav{margin-top:8px;font-size:13px}
nav a{color:#9fd0ff;margin-right:14px;text-decoration:none}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(158px,1fr));gap:12px;margin:16px 0 6px}
.card{background:#fff;border:1px solid #d9dee6;border-radius:8px;padding:10px 14px;min-width:0}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#5b6778}
.card .value{font-size:24px;font-weight:600;margin:2px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.card .note{font-size:12px;color:#6b7788}
section{background:#fff;border:1px solid #d9dee6;border-radius:8px;padding:14px 18px;margin:16px 0}
h2{font-size:19px;margin:0 0 10px}
h3{font-size:15px;margin:14px 0 6px}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:2px 24px;margin:0}
.facts div{display:flex;gap:10px;border-bottom:1px solid #eef1f5;padding:3px 0;min-width:0}
.facts dt{color:#5b6778;flex:0 0 38%}
.facts dd{margin:0;font-weight:500;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%;border:1px solid #e3e7ed;border-radius:6px}
table.data{border-collapse:collapse;font-size:12.5px;width:100%}
table.data th,table.data td{padding:4px 7px;border-bottom:1px solid #eef1f5;text-align:right;white-space:nowrap}
table.data th{background:#eef2f7;font-weight:600;vertical-align:bottom;white-space:normal;position:sticky;top:0}
table.data thead tr.groups th{background:#dde4ee;text-align:center;border-left:2px solid #fff;font-size:12px}
table.data th.sortable{cursor:pointer;user-select:none}
table.data th.sortable:hover{background:#dfe8f3}
table.data th .unit{display:block;font-weight:400;color:#6b7788;font-size:11px}
table.data th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px}
table.data th[aria-sort=descending]::after{content:" \\25BC";font-size:10px}
table.data td.text,table.data th.text{text-align:left}
table.data td.g0,table.data th.g0{border-left:2px solid #dde4ee}
table.data tbody tr:hover{background:#f5f9ff}
table.data tr.diff td{background:#fff8e1}
table.data td.best{color:#0a7a32;font-weight:600}
table.data td.worst{color:#b3261e}
.controls{display:flex;gap:12px;align-items:center;margin:6px 0 8px;font-size:13px;flex-wrap:wrap}
.controls input,.controls select{font:inherit;padding:3px 6px;border:1px solid #c5ccd6;border-radius:4px}
.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;max-width:100%;border:1px solid #e3e7ed;border-radius:6px;padding:8px;background:#fff}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{font-size:12.5px;color:#4a5565;margin-top:4px}
.muted{color:#6b7788}
details{margin-top:8px}
pre{background:#f6f8fa;padding:10px;border-radius:6px;overflow:auto;max-height:420px;font-size:12px}
a{color:#0b5cad}
"""

SCRIPT = """
(function(){
function key(td){var v=td?td.getAttribute('data-v'):null;if(v===null||v===''){return [2,''];}
 var n=Number(v);return isNaN(n)?[1,v.toLowerCase()]:[0,n];}
function sortBy(t,i,th){var asc=th.getAttribute('aria-sort')!=='ascending';
 t.querySelectorAll('th[aria-sort]').forEach(function(h){h.removeAttribute('aria-sort');});
 th.setAttribute('aria-sort',asc?'ascending':'descending');var b=t.tBodies[0];
 var rows=Array.prototype.slice.call(b.rows);rows.sort(function(r,s){var x=key(r.cells[i]),y=key(s.cells[i]);
  if(x[0]!==y[0]){return x[0]-y[0];}var c=x[1]<y[1]?-1:(x[1]>y[1]?1:0);return asc?c:-c;});
 rows.forEach(function(r){b.appendChild(r);});}
function filter(t){var box=document.querySelectorAll('[data-filter="'+t.id+'"]');var n=0;
 Array.prototype.forEach.call(t.tBodies[0].rows,function(r){var ok=true;
  box.forEach(function(el){var v=el.value.trim().toLowerCase();if(!v){return;}var col=el.getAttribute('data-col');
   var text=col===null?r.textContent.toLowerCase():(r.cells[+col].getAttribute('data-v')||'').toLowerCase();
   if(col===null?text.indexOf(v)<0:text!==v){ok=false;}});
  r.style.display=ok?'':'none';if(ok){n++;}});
 var c=document.querySelector('[data-count="'+t.id+'"]');
 if(c){c.textContent=n+' of '+t.tBodies[0].rows.length+' rows';}}
document.querySelectorAll('table.sortable').forEach(function(t){
 var heads=t.tHead.rows[t.tHead.rows.length-1].cells;
 Array.prototype.forEach.call(heads,function(th,i){th.classList.add('sortable');th.title=(th.title?th.title+' ':'')+
  '(click to sort)';th.addEventListener('click',function(){sortBy(t,i,th);});});
 if(t.id){document.querySelectorAll('[data-filter="'+t.id+'"]').forEach(function(el){
  el.addEventListener('input',function(){filter(t);});el.addEventListener('change',function(){filter(t);});});
  filter(t);}});
function width(){document.documentElement.setAttribute('data-layout-width',
 String(document.documentElement.scrollWidth));}
width();window.addEventListener('resize',width);
})();
"""


@dataclass(frozen=True)
class Cell:
    """One table cell: the text shown, the value it sorts by, a tooltip and extra CSS classes."""

    text: str
    sort: Any = None
    title: str = ""
    cls: str = ""


@dataclass
class RunPage:
    """What a run's page is made of: the summary, the rows of layers.csv, footprint rows and the figures."""

    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    footprint: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def plural(n: Any, word: str) -> str:
    """'1 batch', '26 batches', '1,300 samples'."""
    n = n or 0
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}{'es' if word.endswith(('ch', 'sh', 's', 'x')) else 's'}"


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def page(title: str, heading: str, subtitle: str, nav: Sequence[tuple[str, str]], body: Iterable[str]) -> str:
    """A whole self-contained page: the inline style, a dark header, the body and the inline script."""
    links = "".join(f"<a href='#{_e(a)}'>{_e(t)}</a>" for a, t in nav)
    return "\n".join(["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
                      "<meta name='viewport' content='width=device-width, initial-scale=1'>",
                      f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
                      f"<header class='top'><div class='inner'><h1>{_e(heading)}</h1>"
                      f"<div class='sub'>{_e(subtitle)}</div><nav>{links}</nav></div></header><main>",
                      *body, f"</main><script>{SCRIPT}</script></body></html>"])


def cards(items: Sequence[tuple[str, str, str]]) -> str:
    """The header's key numbers, each with a label above and a note below: (label, value, note)."""
    return "<div class='cards'>" + "".join(
        f"<div class='card'><div class='label'>{_e(k)}</div><div class='value' title='{_e(v)}'>{_e(v)}</div>"
        f"<div class='note'>{_e(n)}</div></div>" for k, v, n in items) + "</div>"


def facts(items: Sequence[tuple[str, Any]]) -> str:
    """Key-value pairs as a definition list in columns (None values left out)."""
    return "<dl class='facts'>" + "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>"
                                          for k, v in items if v is not None and v != "") + "</dl>"


def table(tid: str, heads: Sequence[tuple[str, str, str]], rows: Sequence[Sequence[Cell]],
          groups: Sequence[tuple[str, int]] = (), text_columns: int = 1, row_classes: Sequence[str] = ()) -> str:
    """A sortable table: heads are (heading, unit, tooltip); groups (title, span) a header row above them; the
    first ``text_columns`` columns are left-aligned."""
    out = [f"<div class='scroll'><table class='data sortable' id='{_e(tid)}'><thead>"]
    starts: set[int] = set()
    if groups:
        out.append("<tr class='groups'>" + "".join(f"<th colspan='{n}'>{_e(g)}</th>" for g, n in groups) + "</tr>")
        at = 0
        for _, n in groups:
            starts.add(at)
            at += n

    def cls(i: int) -> str:
        return " ".join(c for c in ("text" if i < text_columns else "", "g0" if i in starts and i else "") if c)

    out.append("<tr>" + "".join(
        f"<th class='{cls(i)}' title='{_e(tip)}'>{_e(h)}" + (f"<span class='unit'>{_e(u)}</span>" if u else "")
        + "</th>" for i, (h, u, tip) in enumerate(heads)) + "</tr></thead><tbody>")
    for r, row in enumerate(rows):
        rc = row_classes[r] if r < len(row_classes) else ""
        out.append(f"<tr class='{rc}'>" if rc else "<tr>")
        for i, c in enumerate(row):
            sort = "" if c.sort is None else c.sort
            classes = " ".join(x for x in (cls(i), c.cls) if x)
            out.append(f"<td class='{classes}' data-v='{_e(sort)}'" + (f" title='{_e(c.title)}'" if c.title else "")
                       + f">{_e(c.text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def figure_html(fig: Figure, link_files: bool = True, scale: float = FIGURE_SCALE) -> str:
    """A figure with its PNG embedded (base64) and links to the PNG and SVG files beside the page. Every figure is
    shown at the same ``scale`` of its pixels, so text reads at one size in all of them (at most the page width)."""
    raw = fig.png.read_bytes()
    w, h = png_size(raw)
    data = base64.b64encode(raw).decode("ascii")
    links = " ".join(f"<a href='{_e(p.name)}'>{p.suffix[1:].upper()}</a>" for p in fig.files) if link_files else ""
    width = round(w * scale)
    return (f"<figure style='width:{width + 18}px'><img src='data:image/png;base64,{data}' alt='{_e(fig.title)}' "
            f"width='{width}' height='{round(h * scale)}'>"
            f"<figcaption><b>{_e(fig.title)}.</b> {_e(fig.caption)} {links}</figcaption></figure>")


# ------------------------------------------------------------------------------------------ formatting
_FORMATS: dict[str, Callable[[Any], str]] = {
    "pJ": units.energy, "fJ": lambda v: units.energy(v * 1e-3) if units.is_number(v) else units.MISSING,
    "cycles": units.count, "bit": units.bits, "B": lambda v: units.count(v, "B"), "%": units.percent,
}


def format_value(column: Column, v: Any) -> str:
    """A value of a registry column as people read it: SI prefixes, bytes for bits, percentages."""
    if column.unit in _FORMATS:
        return _FORMATS[column.unit](v)
    if column.name == "mode":
        return MODE_TITLE.get(str(v), str(v))
    if units.is_number(v):
        return units.count(v)
    return "" if v is None else str(v)


def _sort_value(v: Any) -> Any:
    return v if units.is_number(v) else ("" if v is None or (isinstance(v, float)) else str(v))


def layer_columns() -> list[Column]:
    """The registry's HTML columns, in the order of their groups."""
    cols = [c for c in COLUMNS if c.html]
    return sorted(cols, key=lambda c: GROUPS.index(c.group) if c.group in GROUPS else len(GROUPS))


_HEAD_UNIT = {"pJ": "", "fJ": "", "bit": "bytes", "cycles": "", "%": "%"}


def layer_table(rows: Sequence[dict], tid: str = "layers") -> str:
    """The per-layer table with its filters: mode, phase, free text."""
    cols = layer_columns()
    heads = [(c.title, _HEAD_UNIT.get(c.unit, c.unit), c.description or c.name) for c in cols]
    groups: list[tuple[str, int]] = []
    for c in cols:
        g = GROUP_TITLE.get(c.group, c.group)
        if groups and groups[-1][0] == g:
            groups[-1] = (g, groups[-1][1] + 1)
        else:
            groups.append((g, 1))
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c.name)
            sort = MODE_TITLE.get(v, v) if c.name == "mode" else _sort_value(v)
            exact = f"{v:,}" if isinstance(v, int) else (f"{v:,.7g} {c.unit}" if units.is_number(v) else "")
            cells.append(Cell(format_value(c, v), sort, exact))
        body.append(cells)
    texts = sum(1 for c in cols if c.group == "layer")
    modes = sorted({MODE_TITLE.get(r.get("mode"), r.get("mode")) for r in rows})
    phases = [p for p in ("forward", "backward", "update") if any(r.get("phase") == p for r in rows)]
    mi = [c.name for c in cols].index("mode")
    pi = [c.name for c in cols].index("phase")
    sel = lambda col, label, opts: (f"<label>{label} <select data-filter='{tid}' data-col='{col}'>"  # noqa: E731
                                    f"<option value=''>all</option>" + "".join(
                                        f"<option>{_e(o)}</option>" for o in opts) + "</select></label>")
    controls = (f"<div class='controls'>{sel(mi, 'mode', modes)}{sel(pi, 'phase', phases)}"
                f"<label>filter <input type='search' data-filter='{tid}' placeholder='layer name, kind…'></label>"
                f"<span class='muted' data-count='{tid}'>{len(rows)} rows</span>"
                f"<span class='muted'>click a heading to sort; hover a number for its exact value</span></div>")
    return controls + table(tid, heads, body, groups, text_columns=texts)


# ------------------------------------------------------------------------------------------ the run page
def _acc(s: dict) -> tuple[str, str]:
    acc = s.get("accuracy") or {}
    for split in ("test", "validation", "train"):
        if units.is_number(acc.get(split)):
            return units.percent(acc[split], 2), f"{split} split" + (
                f", {s['dataset'][split]:,} samples" if isinstance((s.get("dataset") or {}).get(split), int) else "")
    return "n/a", "no accuracy: random operands (topology)" if s.get("format") == "topology csv" else "not measured"


def key_numbers(s: dict) -> list[tuple[str, str, str]]:
    """The header's labelled numbers of a run (what the compare page lines up too)."""
    inf, tr = s.get("inference") or {}, s.get("training") or {}
    acc, acc_note = _acc(s)
    out = [("accuracy", acc, acc_note)]
    if inf:
        out.append(("energy / inference", units.energy(inf.get("energy_pj_per_sample")),
                    f"per sample: {plural(inf.get('samples', 0), 'sample')} in "
                    f"{plural(inf.get('batches', 0), 'batch')}"))
        out.append(("latency / inference", units.seconds(inf.get("latency_s_per_sample")),
                    f"per sample: {units.seconds(inf.get('latency_s'))} for {plural(inf.get('samples', 0), 'sample')}"))
    if tr:
        out.append(("training energy", units.energy(tr.get("energy_pj")),
                    f"{tr.get('samples', 0):,} samples, "
                    f"{units.energy(tr['energy_pj'] / max(tr.get('samples') or 1, 1))} per sample"))
        out.append(("training latency", units.seconds(tr.get("latency_s")), f"{units.count(tr.get('cycles'))} cycles"))
    if "area_um2" in s:
        n_on = len(s.get("area_um2_by_component") or {})
        out.append(("area", units.area(s["area_um2"]), f"{n_on} on-chip components, {s.get('technology', '')}"))
        out.append(("leakage power", units.power(s.get("leakage_mw")),
                    f"{units.energy(s.get('leakage_pj'))} of the "
                    f"{MODE_TITLE.get(s.get('simulated_mode'), 'run')} energy"))
    if not inf and not tr:
        out.append(("hardware", "not simulated", "a training run without --arch"))
    return out


def _config_facts(s: dict) -> list[tuple[str, Any]]:
    act = s.get("activation") or {}
    ds = s.get("dataset") or {}
    split_sizes = ", ".join(f"{k} {v:,}" for k, v in ds.items() if isinstance(v, int))
    ops = s.get("operands") or {}
    return [("workload", s.get("workload")), ("workload file", s.get("workload_file")),
            ("format", s.get("format")), ("network", s.get("network")),
            ("method", (f"{s.get('method')}" + (f" (N = {s['N']})" if s.get("N") is not None else ""))
             if s.get("method") else None),
            ("activation", f"{act.get('kind', '')} ("
             + ", ".join(f"{k} {v}" for k, v in act.items() if k != "kind") + ")" if act else None),
            ("dataset", f"{ds.get('name')}: {split_sizes}" if ds else None),
            ("epochs", f"{s['epochs_run']} run of {s.get('epochs')} (best {s.get('best_epoch')})"
             if s.get("epochs_run") is not None else None),
            ("batch", s.get("batch")),
            ("learning rate", f"{s['lr_start']:g} → {s['lr_fin']:g}" if units.is_number(s.get("lr_start")) else None),
            ("optimizer", s.get("optimizer")), ("seed", s.get("seed")),
            ("layers", s.get("layers")), ("MACs per sample", units.count(s["macs_per_sample"])
                                          if units.is_number(s.get("macs_per_sample")) else None),
            ("operands", ", ".join(f"{k} {v}" for k, v in ops.items()) if ops else None),
            ("mode", s.get("mode")), ("split", s.get("split")),
            ("architecture", s.get("arch")), ("architecture file", s.get("arch_file")),
            ("config hash", s.get("config_hash")),
            ("wall time", units.seconds(s["wall_seconds"]) if units.is_number(s.get("wall_seconds")) else None),
            ("neurosim", s.get("neurosim_version")), ("python", s.get("python"))]


def _size(fp: dict) -> str:
    n, per = fp.get("area_units"), fp.get("area_per") or ""
    if not units.is_number(n) or not n:
        n, per = fp.get("leakage_units"), fp.get("leakage_per") or ""
    if not units.is_number(n) or not per:
        return units.MISSING
    if per == "bit":
        return f"{units.count(n / 8, 'B')} ({units.count(n, 'bit')})"
    word = per if n == 1 else per + "s"
    return f"{int(n):,} {word}" if float(n).is_integer() else f"{n:g} {word}"


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


def architecture_section(s: dict, footprint: Sequence[dict]) -> str:
    """Clock, technology, totals and one row per component: class, size, area, leakage, energy shares."""
    if "arch" not in s:
        return ""
    modes = [(m, (s.get(key) or {}).get("energy_pj_by_component") or {}) for m, key in
             (("training", "training"), ("inference", "inference")) if s.get(key)]
    totals = {m: sum(c.values()) or 1.0 for m, c in modes}
    area_tot, leak_tot = s.get("area_um2") or 0.0, s.get("leakage_mw") or 0.0
    heads = [("component", "", ""), ("class", "", ""), ("place", "", "on-chip or off-chip"),
             ("size", "", "the units the area and leakage are counted in"), ("area", "", ""),
             ("area share", "%", ""), ("leakage", "", "static power"), ("leakage share", "%", "")]
    heads += [(f"{m} energy", "", f"dynamic + leakage share, {m}") for m, _ in modes]
    heads += [(f"{m} share", "%", "") for m, _ in modes]
    rows = []
    names = [f["component"] for f in footprint] or list(s.get("energy_pj_by_component") or {})
    by_name = {f["component"]: f for f in footprint}
    for n in names:
        f = by_name.get(n, {})
        a, lk = f.get("area_um2"), f.get("leakage_mw")
        on = _truthy(f.get("on_chip", True))
        row = [Cell(n, n), Cell(str(f.get("class", "")), str(f.get("class", ""))),
               Cell("on-chip" if on else "off-chip", "on" if on else "off"), Cell(_size(f), _size(f)),
               Cell(units.area(a) if on else "off-chip", a, str(f.get("area_source", ""))[:400]),
               Cell(units.percent(a / area_tot) if units.is_number(a) and area_tot and on else units.MISSING,
                    a / area_tot if units.is_number(a) and area_tot else None),
               Cell(units.power(lk), lk, str(f.get("leakage_source", ""))[:400]),
               Cell(units.percent(lk / leak_tot) if units.is_number(lk) and leak_tot else units.MISSING,
                    lk / leak_tot if units.is_number(lk) and leak_tot else None)]
        row += [Cell(units.energy(c.get(n)), c.get(n)) for _, c in modes]
        row += [Cell(units.percent((c.get(n) or 0) / totals[m]), (c.get(n) or 0) / totals[m]) for m, c in modes]
        rows.append(row)
    head = facts([("architecture", s.get("arch")), ("file", s.get("arch_file")),
                  ("clock", units.hertz(s.get("clock_hz"))), ("technology", s.get("technology")),
                  ("area", f"{units.area(area_tot)} on chip"), ("leakage power", units.power(leak_tot)),
                  ("components", f"{len(names)}"),
                  ("no area given for", ", ".join(s.get("area_not_given") or []) or None),
                  ("no leakage given for", ", ".join(s.get("leakage_not_given") or []) or None)])
    return (f"<section id='architecture'><h2>Architecture</h2>{head}<h3>Components</h3>"
            + table("components", heads, rows, text_columns=4)
            + "<p class='muted'>Hover an area or leakage for its source. All numbers: footprint.csv.</p></section>")


def _mode_facts(s: dict, m: dict, mode: str) -> list[tuple[str, Any]]:
    samples = max(m.get("samples") or 1, 1)
    hw_rest = s.get(f"hw_resting_probability_{'train' if mode == 'training' else 'eval'}")
    return [("samples", f"{plural(m.get('samples', 0), 'sample')} in {plural(m.get('batches', 0), 'batch')}"),
            ("cycles", f"{m.get('cycles', 0):,} ({units.count(m.get('cycles'))})"),
            ("latency", units.seconds(m.get("latency_s"))), ("energy", units.energy(m.get("energy_pj"))),
            ("energy per sample",
             units.energy(m["energy_pj"] / samples) if units.is_number(m.get("energy_pj")) else None),
            ("of it leakage", units.energy(m.get("leakage_pj"))),
            ("device energy (cells, pulses)",
             units.energy(m["device_energy_pj"]) if m.get("device_energy_pj") else None),
            ("write pulses", f"{m['write_pulses']:,}" if m.get("write_pulses") else None),
            ("tile reads", f"{m['array_reads']:,}" if m.get("array_reads") else None),
            ("ADC conversions", f"{m['adc_conversions']:,}" if m.get("adc_conversions") else None),
            ("resting probability (hardware)", units.percent(hw_rest) if units.is_number(hw_rest) else None)]


def _history(s: dict) -> str:
    hist = s.get("history") or []
    if not hist:
        return ""
    heads = [("epoch", "", ""), ("learning rate", "", ""), ("loss", "", ""), ("train accuracy", "%", "running"),
             ("validation accuracy", "%", ""), ("time", "", ""), ("throughput", "samples/s", "")]
    rows = [[Cell(str(h.get("epoch")), h.get("epoch")), Cell(f"{h.get('lr', 0):.3g}", h.get("lr")),
             Cell(f"{h.get('loss', 0):.4f}", h.get("loss")),
             Cell(units.percent(h.get("train_accuracy_running"), 2), h.get("train_accuracy_running")),
             Cell(units.percent(h.get("validation_accuracy"), 2), h.get("validation_accuracy")),
             Cell(units.seconds(h.get("seconds")), h.get("seconds")),
             Cell(f"{h.get('samples_per_second', 0):,.0f}", h.get("samples_per_second"))] for h in hist]
    return "<h3>Epochs</h3>" + table("history", heads, rows)


def mode_section(s: dict, figures: Sequence[Figure], mode: str) -> str:
    """The training or the inference section: totals, (training) the epochs, and the mode's figures."""
    key = "training" if mode == "train" else "inference"
    title = MODE_TITLE[mode].capitalize()
    m = s.get(key)
    parts = [f"<section id='{key}'><h2>{title}</h2>"]
    if mode == "train" and s.get("accuracy"):
        acc = s["accuracy"]
        parts.append(facts([(f"{k} accuracy", units.percent(v, 2)) for k, v in acc.items() if units.is_number(v)]
                           + [("resting probability (training)", units.percent(s.get("resting_probability")))
                              if units.is_number(s.get("resting_probability")) else ("", None),
                              ("throughput", f"{s['samples_per_second']:,.0f} samples/s")
                              if units.is_number(s.get("samples_per_second")) else ("", None)]))
    if m:
        parts.append(f"<h3>Hardware, {MODE_TITLE[mode]}</h3>" + facts(_mode_facts(s, m, key)))
    elif "arch" in s:
        parts.append(f"<p class='muted'>This run simulated no {MODE_TITLE[mode]}.</p>")
    else:
        parts.append("<p class='muted'>No hardware simulated (a training run without an architecture).</p>")
    if mode == "train":
        parts.append(_history(s))
    figs = [f for f in figures if f.mode == mode]
    if figs:
        parts.append("<h3>Figures</h3><div class='figs'>" + "".join(figure_html(f) for f in figs) + "</div>")
    parts.append("</section>")
    return "".join(parts)


def title_of(s: dict) -> str:
    return f"{s.get('workload', 'run')} on {s['arch']}" if s.get("arch") else str(s.get("workload", "run"))


def subtitle_of(s: dict) -> str:
    bits = [f"method {s['method']}" + (f" (N = {s['N']})" if s.get("N") is not None else "") if s.get("method")
            else s.get("format"), f"seed {s['seed']}" if s.get("seed") is not None else None,
            plural(s["epochs_run"], "epoch") if s.get("epochs_run") else None,
            f"{units.hertz(s['clock_hz'])}, {s.get('technology')}" if s.get("clock_hz") else None,
            f"config {s['config_hash']}" if s.get("config_hash") else None]
    return " · ".join(b for b in bits if b)


def render_run_page(run: RunPage) -> str:
    """The report page of one run as HTML text."""
    s = run.summary
    body = [cards(key_numbers(s))]
    conf = s.get("config")
    body.append("<section id='configuration'><h2>Configuration</h2>" + facts(_config_facts(s))
                + (f"<details><summary>full configuration (as hashed)</summary><pre>{_e(json.dumps(conf, indent=2))}"
                   f"</pre></details>" if conf else "") + "</section>")
    body.append(architecture_section(s, run.footprint))
    modes = [m for m in ("train", "eval") if any(r.get("mode") == m for r in run.rows) or
             s.get("training" if m == "train" else "inference")]
    if not modes and s.get("accuracy"):
        modes = ["train"]
    body += [mode_section(s, run.figures, m) for m in modes]
    if run.rows:
        body.append("<section id='layers'><h2>Per layer and phase</h2>" + layer_table(run.rows)
                    + "<p class='muted'>All columns (energy per component, fJ per op, transitions, stall causes): "
                      "layers.csv; run settings: summary.json.</p></section>")
    nav = [("configuration", "configuration")] + ([("architecture", "architecture")] if "arch" in s else [])
    nav += [("training" if m == "train" else "inference", MODE_TITLE[m]) for m in modes]
    nav += [("layers", "per layer")] if run.rows else []
    return page(f"neurosim: {title_of(s)}", title_of(s), subtitle_of(s), nav, body)


def write_run_page(path: Path, run: RunPage) -> Path:
    """Write a run's report.html (atomically)."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(render_run_page(run))
    return path
