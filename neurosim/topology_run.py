"""Simulate an imported topology (SCALE-Sim topology CSV or DNN+NeuroSim NetWork.csv) on an architecture.

With no trained model the layers run on seeded random ternary operands of a given density (inference,
forward only), through the same hardware observer, engine and report as ``neurosim run``: the digital
simulator for a digital architecture, the crossbar simulator for a crossbar one (ternary weights as N = 1 DST
states, conv layers unrolled onto the arrays).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import __version__
from .events import LayerInfo, OperandRecord
from .hw.arch import Architecture
from .hw.crossbar_arch import CrossbarArch
from .hw.crossbar_sim import CrossbarObserver
from .hw.simulator import HardwareObserver, OperandAlphabet
from .hw.weight_memory import WeightBits
from .importers import ImportedLayer, random_operands, read_topology, to_spec_string, total_macs
from .report.files import write_json
from .report.hardware import hardware_summary, write_hardware_report

# bits per weight and per activation that each compute-array kind consumes (the method it serves)
KIND_BITS = {"gated_xnor": (2, 2), "event_mux": (2, 32), "mux": (1, 32), "xnor": (1, 1), "mac": (32, 32)}


def layer_infos(layers: list[ImportedLayer], weight_bits: int = 2, activation_bits: int = 2) -> list[LayerInfo]:
    """LayerInfos of the imported product layers (each keeps its own input shape, as the files say)."""
    infos = []
    for i, l in enumerate(layers):
        if l.kind == "dense":
            fan_in = l.in_shape[2]
            infos.append(LayerInfo(i, l.name, "dense", (fan_in,), (l.filters,), {"units": l.filters},
                                   weight_bits=weight_bits, weight_count=fan_in * l.filters,
                                   activation_bits=activation_bits))
        else:
            k, c = l.kernel, l.in_shape[2]
            infos.append(LayerInfo(i, l.name, "conv", tuple(l.in_shape), tuple(l.out_shape),
                                   {"kernel": k, "stride": l.stride, "padding": l.padding, "filters": l.filters},
                                   weight_bits=weight_bits, weight_count=k * k * c * l.filters,
                                   activation_bits=activation_bits))
    return infos


def simulate_topology(path: Path, arch: Architecture | CrossbarArch, batch: int = 1, density: float = 0.5,
                      seed: int = 0, bits: WeightBits | None = None):
    """Run every layer of the topology once on random ternary operands; return (result, layers, seconds)."""
    layers = read_topology(path)
    alphabet = OperandAlphabet(density, density)
    if isinstance(arch, CrossbarArch):  # ternary weights held as N = 1 DST states on the crossbar
        infos = layer_infos(layers, 2, 2)
        obs = CrossbarObserver(arch, infos, batch, weight_N=1, alphabet=alphabet)
    else:
        w_bits, a_bits = KIND_BITS[arch.compute_array().kind]
        infos = layer_infos(layers, w_bits, a_bits)
        obs = HardwareObserver(arch, infos, batch, bits or WeightBits(stored=w_bits), alphabet,
                               continuous_input=False)
    t0 = time.perf_counter()
    for i, (l, info) in enumerate(zip(layers, infos)):
        x, w = random_operands(l, batch, density, "ternary", seed=seed + i)
        obs.observe(OperandRecord(layer=info, phase="forward", mode="eval", batch=0, batch_size=batch, x=x, w=w,
                                  x_step=1.0, w_step=1.0, w_state=(w + 1).astype("int16")))
    res = obs.finish()
    return res, layers, time.perf_counter() - t0


def run_topology(args: argparse.Namespace, arch: Architecture | CrossbarArch) -> int:
    """`neurosim run --workload TOPOLOGY.csv`: simulate, write summary.json, layers.csv and plots, print."""
    from .cli import _print_hardware

    path = Path(args.workload)
    batch = args.batch or 1
    if not 0.0 <= args.density <= 1.0:
        raise ValueError(f"--density must be in [0, 1] (got {args.density})")
    res, layers, seconds = simulate_topology(path, arch, batch, args.density, args.seed or 0)
    out = Path(args.out) if args.out else Path("reports") / f"{path.stem}-{arch.name}-d{args.density:g}"
    summary = {"workload": path.stem, "workload_file": str(path), "format": "topology csv",
               "network": to_spec_string(layers), "layers": len(layers), "macs_per_sample": total_macs(layers),
               "batch": batch, "operands": {"kind": "random ternary", "density": args.density, "seed": args.seed or 0},
               "neurosim_version": __version__}
    summary.update(hardware_summary(res, arch, seconds, None))
    out.mkdir(parents=True, exist_ok=True)
    write_hardware_report(res, out, summary)
    write_json(out / "summary.json", summary)
    print(f"{path.name}: {len(layers)} layers, {total_macs(layers):,} MACs per sample, random ternary operands "
          f"(density {args.density:g}), batch {batch}")
    _print_hardware(summary, out / "layers.csv")
    print(f"  report: {out}")
    return 0
