"""The cost model's bars (issue 11) in one script: MNIST CNN inference on gxnor with its breakdown (dynamic energy
by component, leakage, conv1 with its input fetch), gxnor_skip against gxnor on the same trained model, a lanes
sweep (area and leakage against cycles), VGG-8 on gxnor with weights streamed from DRAM.

    python benchmarks/cost_model_bars.py --data ../shared/datasets --out reports/cost_model   (about 3 minutes)

Writes ``OUT/bars.txt`` (what it prints) next to the runs' report folders.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from neurosim import cli
from neurosim.explore.sweep import run_sweep


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _rows(folder: Path) -> list[dict]:
    with open(folder / "layers.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _dynamic_by_component(s: dict, mode: dict) -> dict[str, float]:
    """Energy by component minus its leakage over the mode's time (pJ)."""
    leak = {k: v * mode["latency_s"] * 1e9 for k, v in s["leakage_mw_by_component"].items()}
    return {k: v - leak.get(k, 0.0) for k, v in mode["energy_pj_by_component"].items()}


def _run(args: list[str]) -> None:
    code = cli.main(args)
    if code != 0:
        sys.exit(f"failed ({code}): neurosim {' '.join(args)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder holding mnist/ (the MNIST test split)")
    ap.add_argument("--out", default="reports/cost_model")
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args(argv)
    out = Path(a.out)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    cnn = out / "mnist_cnn_gxnor"
    _run(["run", "workloads/mnist_cnn.yaml", "--epochs", str(a.epochs), "--data", a.data, "--out", str(cnn),
          "--quiet", "--force"])
    for arch in ("gxnor", "gxnor_skip"):
        _run(["simulate", str(cnn / "model.npz"), "--arch", arch, "--data", a.data, "--out", str(out / f"sim_{arch}"),
              "--force"])

    say("== MNIST CNN inference on gxnor, per test image (trained model: " + str(cnn / "model.npz") + ")")
    s = _summary(out / "sim_gxnor")
    i = s["inference"]
    n = i["samples"]
    dyn = _dynamic_by_component(s, i)
    say(f"energy {i['energy_pj_per_sample'] / 1e3:,.1f} nJ = dynamic {sum(dyn.values()) / n / 1e3:,.1f} nJ "
        f"+ leakage {i['leakage_pj'] / n / 1e3:,.1f} nJ ({s['leakage_mw']:.0f} mW x {i['latency_s'] / n * 1e6:.2f} us)")
    say("dynamic by component (nJ): " + ", ".join(f"{k} {v / n / 1e3:.2f}" for k, v in dyn.items() if v > 0))
    conv1 = next(r for r in _rows(out / "sim_gxnor") if r["mode"] == "eval" and r["name"] == "conv1")
    bits = int(conv1["offchip_read_bits"]) / n
    say(f"conv1: input fetch {bits:,.0f} bits per image from DRAM (784 pixels x 8 bits); conv1 products on "
        f"input_array (ternary weights x 8-bit pixels)")

    say()
    say("== gxnor_skip against gxnor, same model, per test image")
    g, k = _summary(out / "sim_gxnor"), _summary(out / "sim_gxnor_skip")
    gi, ki = g["inference"], k["inference"]
    dg, dk = _dynamic_by_component(g, gi), _dynamic_by_component(k, ki)
    say(f"gxnor      {gi['energy_pj_per_sample'] / 1e3:10,.1f} nJ  {gi['cycles'] / n:9,.0f} cycles  area {g['area_mm2']:.3f} mm2")
    say(f"gxnor_skip {ki['energy_pj_per_sample'] / 1e3:10,.1f} nJ  {ki['cycles'] / n:9,.0f} cycles  area {k['area_mm2']:.3f} mm2")
    say(f"difference (skip - gate): pe_array dynamic {(dk['pe_array'] - dg['pe_array']) / n / 1e3:+,.1f} nJ "
        f"(compaction per presented pair + index per kept pair), leakage {(ki['leakage_pj'] - gi['leakage_pj']) / n / 1e3:+,.1f} nJ "
        f"(from {(ki['cycles'] - gi['cycles']) / n:+,.0f} cycles), other dynamic "
        f"{(sum(dk.values()) - dk['pe_array'] - sum(dg.values()) + dg['pe_array']) / n / 1e3:+,.2f} nJ")

    say()
    say("== lanes sweep of gxnor's pe_array on the MNIST CNN (x 4 arrays), one shared training")
    df = run_sweep("workloads/sweep_lanes_cnn.yaml", out=out / "sweep_lanes", data=a.data, workers=0, table=False,
                   sets=[f"workload.train.epochs={a.epochs}"])
    say(f"{'lanes':>6} {'area mm2':>9} {'leakage mW':>11} {'inference cycles':>17} {'nJ per image':>13}")
    for _, r in df.sort_values("arch.pe_array.lanes").iterrows():
        say(f"{int(r['arch.pe_array.lanes']):>6} {r['area_mm2']:>9.3f} {r['leakage_mw']:>11.1f} "
            f"{int(r['inference.cycles']):>17,} {r['inference.energy_pj_per_sample'] / 1e3:>13,.1f}")

    say()
    say("== VGG-8 (workloads/neurosim_vgg8.csv) on gxnor: weights that do not fit the 2 MiB state buffer stream "
        "from DRAM")
    vgg = out / "vgg8_gxnor"
    _run(["run", "workloads/neurosim_vgg8.csv", "--arch", "gxnor", "--out", str(vgg), "--force"])
    for r in _rows(vgg):
        streamed = "streamed" if "weights streamed" in r["note"] else "on chip"
        say(f"  {r['name']:8} {int(r['cycles']):>9,} cycles {float(r['energy_pj']) / 1e6:9.2f} uJ  "
            f"off-chip {int(r['offchip_read_bits']) / 8e3:9.1f} kB  weights {streamed}")
    (out / "bars.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
