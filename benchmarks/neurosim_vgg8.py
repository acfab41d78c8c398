"""DNN+NeuroSim's VGG-8 (workloads/neurosim_vgg8.csv) on crossbar_neurosim and on gxnor with weights streamed from
DRAM: per-layer energy, latency and area, for the external check of the crossbar model (docs/crossbar_neurosim.md).

    python benchmarks/neurosim_vgg8.py --out reports/cost_model      (about 20 s)

Runs ``neurosim run`` for both architectures into ``OUT/neurosim_vgg8/<arch>/`` and writes what it prints to
``OUT/neurosim_vgg8/tables.txt`` and the per-layer numbers to ``OUT/neurosim_vgg8/layers.csv``. A crossbar layer's
area is that of the tiles it is mapped to with their per-tile periphery (cells, row drivers, ADCs, shift-adders,
write drivers, buffers, interconnect); the digital array is shared by every layer, so gxnor has chip area only.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from neurosim import cli
from neurosim.hw.arch import find_arch, load_arch
from neurosim.hw.footprint import chip_area_um2
from neurosim.hw.observer import HardwareObserver
from neurosim.importers import read_topology
from neurosim.pipeline.topology import crossbar_operand_widths, layer_infos

WORKLOAD = Path("workloads/neurosim_vgg8.csv")
PER_INSTANCE = ("instance",)  # footprint units not tied to one layer's tiles


def _run(args: list[str]) -> None:
    code = cli.main(args)
    if code != 0:
        sys.exit(f"failed ({code}): neurosim {' '.join(args)}")


def _rows(folder: Path) -> list[dict]:
    with open(folder / "layers.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["mode"] == "eval" and r["phase"] == "forward"]


def _dynamic(r: dict, leak_mw: dict[str, float]) -> dict[str, float]:
    """A row's energy by component without its share of the leakage (pJ): the row's leakage is shared out over
    the components by their leakage power (neurosim.hw.result)."""
    total = sum(leak_mw.values())
    share = float(r["leakage_pj"])
    return {c: float(r[f"energy_pj_{c}"]) - (share * mw / total if total else 0.0) for c, mw in leak_mw.items()}


def layer_tiles_and_area(arch_name: str, workload: Path = WORKLOAD) -> list[tuple[int, float]]:
    """Per product layer of ``workload`` on a crossbar architecture: (tiles of the normal crossbar, area in um2 of
    those tiles with their per-tile periphery), from the datapath's mapping of that layer alone."""
    arch = load_arch(find_arch(arch_name))
    N, x_bits = crossbar_operand_widths(arch)
    infos = layer_infos(read_topology(workload), N + 1, x_bits or 2)
    out = []
    for info in infos:
        obs = HardwareObserver(arch, [info], 1, weight_N=N)
        fp = {n: f for n, f in obs.footprints.items() if f.area_per not in PER_INSTANCE}
        out.append((int(obs.datapath.mapped()[arch.crossbar().name]["tile"]), chip_area_um2(fp)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="reports/cost_model", help="folder for neurosim_vgg8/ (default %(default)s)")
    a = ap.parse_args(argv)
    base = Path(a.out) / "neurosim_vgg8"
    lines: list[str] = []
    table: list[dict] = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    for arch in ("crossbar_neurosim", "gxnor"):
        _run(["run", str(WORKLOAD), "--arch", arch, "--out", str(base / arch), "--force"])

    # crossbar_neurosim
    folder = base / "crossbar_neurosim"
    s = json.loads((folder / "summary.json").read_text())
    clock = s["clock_hz"]
    geo = layer_tiles_and_area("crossbar_neurosim")
    say(f"== VGG-8 on crossbar_neurosim (1 image; {s['operands']['kind']}, density {s['operands']['density']})")
    say("energy = dynamic + leakage; the ADC, cells, shift-add, buffers and H-tree columns are dynamic energy; "
        "moved = bits through the buffers")
    say(f"{'layer':8} {'tiles':>6} {'energy uJ':>10} {'leak uJ':>8} {'latency us':>11} {'area mm2':>9} "
        f"{'ADC uJ':>8} {'cells uJ':>9} {'shift-add uJ':>12} {'buffers uJ':>10} {'H-tree uJ':>9} {'moved kB':>9}")
    leak_mw = s["leakage_mw_by_component"]
    for r, (tiles, area) in zip(_rows(folder), geo):
        dyn = _dynamic(r, leak_mw)
        moved = (int(r["onchip_read_bits"]) + int(r["onchip_write_bits"])) / 8e3
        row = {"arch": "crossbar_neurosim", "layer": r["name"], "tiles": tiles,
               "energy_uj": float(r["energy_pj"]) / 1e6,
               "leakage_uj": float(r["leakage_pj"]) / 1e6, "latency_us": int(r["cycles"]) / clock * 1e6,
               "area_mm2": area / 1e6, "adc_uj": dyn["adc"] / 1e6, "cells_uj": float(r["device_energy_pj"]) / 1e6,
               "shift_add_uj": dyn["shift_adder"] / 1e6,
               "buffers_uj": (dyn["input_buffer"] + dyn["output_buffer"]) / 1e6, "htree_uj": dyn["htree"] / 1e6,
               "moved_kb": moved}
        table.append(row)
        say(f"{row['layer']:8} {tiles:>6} {row['energy_uj']:>10.2f} {row['leakage_uj']:>8.2f} "
            f"{row['latency_us']:>11.2f} {row['area_mm2']:>9.3f} {row['adc_uj']:>8.2f} {row['cells_uj']:>9.2f} "
            f"{row['shift_add_uj']:>12.2f} {row['buffers_uj']:>10.2f} {row['htree_uj']:>9.3f} {moved:>9.1f}")
    i = s["inference"]
    say(f"total: {i['energy_pj'] / 1e6:.1f} uJ (leakage {i['leakage_pj'] / 1e6:.1f} uJ at {s['leakage_mw']:.1f} mW), "
        f"{i['latency_s'] * 1e6:.1f} us, chip area {s['area_mm2']:.2f} mm2 ({sum(t for t, _ in geo)} tiles), "
        f"{2 * s['macs_per_sample'] / i['energy_pj']:.2f} TOPS/W")

    # gxnor, weights that do not fit the state buffer streamed from DRAM
    folder = base / "gxnor"
    g = json.loads((folder / "summary.json").read_text())
    say()
    say("== VGG-8 on gxnor (ternary weights and activations; weights that do not fit the 2 MiB state buffer stream "
        "from DRAM)")
    say(f"{'layer':8} {'energy uJ':>10} {'leak uJ':>8} {'latency us':>11} {'DRAM dyn uJ':>11} {'off-chip kB':>11} "
        f"weights")
    for r in _rows(folder):
        streamed = "streamed" if "weights streamed" in r["note"] else "on chip"
        row = {"arch": "gxnor", "layer": r["name"], "energy_uj": float(r["energy_pj"]) / 1e6,
               "leakage_uj": float(r["leakage_pj"]) / 1e6, "latency_us": int(r["cycles"]) / g["clock_hz"] * 1e6,
               "dram_uj": _dynamic(r, g["leakage_mw_by_component"])["dram"] / 1e6,
               "offchip_kb": (int(r["offchip_read_bits"]) + int(r["offchip_write_bits"])) / 8e3, "weights": streamed}
        table.append(row)
        say(f"{row['layer']:8} {row['energy_uj']:>10.2f} {row['leakage_uj']:>8.2f} {row['latency_us']:>11.2f} "
            f"{row['dram_uj']:>11.2f} {row['offchip_kb']:>11.1f} {streamed}")
    gi = g["inference"]
    say(f"total: {gi['energy_pj'] / 1e6:.1f} uJ (leakage {gi['leakage_pj'] / 1e6:.1f} uJ at {g['leakage_mw']:.1f} mW), "
        f"{gi['latency_s'] * 1e6:.1f} us, chip area {g['area_mm2']:.2f} mm2 (shared by every layer)")

    (base / "tables.txt").write_text("\n".join(lines) + "\n")
    keys = list(dict.fromkeys(k for row in table for k in row))
    with open(base / "layers.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
