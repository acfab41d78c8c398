"""Area cross-check of the RTL gated-XNOR array (neurosim.testing.rtl_gated_array): Yosys cell counts.

Synthesizes, with Amaranth's RTLIL backend and Yosys's generic ``synth`` (gates and flip-flops, no technology
library; hierarchy flattened), the blocks of the design that the cost model charges per action:

- ``pe``: one lane of the gating design (the gate, the XNOR with its clock-enabled output register, the fired
  flag), ``pe_skipping``: the same lane without its gate (skipping moves the gates into the compactor);
- ``popcount_P``: the pipelined P-lane popcount tree for each ``--lanes`` P (signed adder tree, a register
  after each level);
- ``compactor_W``: skipping's one-cycle compaction stage over a window of W pairs (``--window``; zero-test
  gates, prefix counter, log-shifter network).

    python benchmarks/rtl_area.py [--lanes 4 8] [--window 8] [--yosys yosys]

Needs ``amaranth`` (the test extra) and a ``yosys`` binary (Debian: ``apt-get install yosys``). Prints a table
and, as its last line, one JSON object: per block the total cell count, the flip-flop count and the cells by
type, plus the Yosys version. Without Yosys the JSON line says so (``"yosys": null``) and nothing is
synthesized.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _blocks(lanes: list[int], window: int):
    """(name, elaboratable, ports) of each block to synthesize."""
    from amaranth.hdl import Signal

    from neurosim.testing.rtl_gated_array import Compactor, Lane, PopcountTree

    out = []
    for gated, name in ((True, "pe"), (False, "pe_skipping")):
        ln = Lane(gated=gated)
        out.append((name, ln, [ln.present, ln.a, ln.b, ln.fire, ln.value]))
    for P in lanes:
        t = PopcountTree(P)
        out.append((f"popcount_{P}", t, [*t.vals, t.en, t.sum]))
    qa, qb = Signal(2 * window, name="qa"), Signal(2 * window, name="qb")
    pairs = Signal(max(1, window.bit_length()), name="pairs")
    c = Compactor(window, qa, qb, pairs)
    out.append((f"compactor_{window}", c, [qa, qb, pairs, c.out_a, c.out_b, c.kept, c.keep]))
    return out


def _stat(yosys: str, il: str, top: str) -> dict:
    """Yosys ``synth -flatten -top top; stat`` of an RTLIL text: total cells, flip-flops, cells by type."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{top}.il"
        path.write_text(il)
        script = f"read_rtlil {path}; synth -flatten -top {top}; tee -o {tmp}/stat.txt stat"
        subprocess.run([yosys, "-q", "-p", script], check=True, capture_output=True, text=True)
        text = (Path(tmp) / "stat.txt").read_text()
    cells = int(re.search(r"Number of cells:\s+(\d+)", text).group(1))
    by_type = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\$\S+)\s+(\d+)\s*$", text, re.M)}
    ffs = sum(n for t, n in by_type.items() if "DFF" in t.upper())
    return {"cells": cells, "flip_flops": ffs, "by_type": by_type}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lanes", type=int, nargs="+", default=[4, 8], help="P of the popcount trees")
    ap.add_argument("--window", type=int, default=8, help="pairs of the compactor's window")
    ap.add_argument("--yosys", default="yosys", help="the Yosys binary")
    args = ap.parse_args()
    yosys = shutil.which(args.yosys)
    result: dict = {"script": "rtl_area", "yosys": None, "blocks": {}}
    if yosys is None:
        result["note"] = f"{args.yosys!r} not found: nothing synthesized"
        print(json.dumps(result))
        return
    result["yosys"] = subprocess.run([yosys, "-V"], check=True, capture_output=True, text=True).stdout.strip()
    from amaranth.back import rtlil

    for name, elab, ports in _blocks(args.lanes, args.window):
        il = rtlil.convert(elab, name=name, ports=ports)
        st = _stat(yosys, il, name)
        result["blocks"][name] = st
        print(f"{name:>14}: {st['cells']:5d} cells, {st['flip_flops']:4d} flip-flops   {st['by_type']}")
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
