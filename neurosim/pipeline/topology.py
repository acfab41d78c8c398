"""An imported topology as a source of operands: a SCALE-Sim topology CSV or a DNN+NeuroSim NetWork.csv run on
seeded random ternary operands of a given density (inference, forward only), through the same hardware observer,
engine and report as a training run (crossbars hold the ternary weights as N = 1 DST states, conv layers unrolled
onto the arrays)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..events import LayerInfo, OperandRecord
from ..hw.arch import Architecture, ArchError
from ..hw.kinds import kind
from ..hw.observer import HardwareObserver, OperandAlphabet
from ..hw.weight_memory import WeightBits
from ..importers import ImportedLayer, random_operands, read_topology, to_spec_string, total_macs
from ..report.files import write_json
from ..report.hardware import hardware_summary, write_hardware_report
from .guard import check_fits, estimate_topology
from .outputs import claim, publish

__all__ = ["layer_infos", "simulate_topology", "topology_report"]


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


def simulate_topology(path: Path, arch: Architecture, batch: int = 1, density: float = 0.5, seed: int = 0,
                      bits: WeightBits | None = None):
    """Run every layer of the topology once on random ternary operands; return (result, layers, seconds)."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"--density must be in [0, 1] (got {density})")
    layers = read_topology(path)
    check_fits(estimate_topology(layers, batch), f"topology {path.name} at batch {batch}", str(path))
    alphabet = OperandAlphabet(density, density)
    try:
        return _simulate(path, arch, layers, alphabet, batch, density, seed, bits)
    except ArchError as e:
        raise ArchError(f"{path}: on {e}") from None


def _simulate(path: Path, arch: Architecture, layers: list[ImportedLayer], alphabet: OperandAlphabet, batch: int,
              density: float, seed: int, bits: WeightBits | None):
    if arch.is_crossbar:  # ternary weights held as N = 1 DST states on the crossbar
        infos = layer_infos(layers, 2, 2)
        obs = HardwareObserver(arch, infos, batch, alphabet=alphabet, weight_N=1)
    else:  # the operand widths the array's kind consumes (the method it serves)
        w_bits, a_bits = kind(arch.compute_array().kind).operand_bits
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


def topology_report(path: Path, arch: Architecture, out: Path, batch: int = 1, density: float = 0.5,
                    seed: int = 0, force: bool = False) -> dict[str, Any]:
    """Simulate a topology and write summary.json, layers.csv, the plots and report.html into ``out`` (as a unit, into
    a folder that holds no other run's report unless ``force``)."""
    out = Path(out)
    claim(out, force=force, resumable=False)
    res, layers, seconds = simulate_topology(path, arch, batch, density, seed)
    summary = {"workload": path.stem, "workload_file": str(path), "format": "topology csv",
               "network": to_spec_string(layers), "layers": len(layers), "macs_per_sample": total_macs(layers),
               "batch": batch, "operands": {"kind": "random ternary", "density": density, "seed": seed},
               "neurosim_version": __version__}
    summary.update(hardware_summary(res, arch, seconds, None))

    def write(folder: Path) -> None:
        write_hardware_report(res, folder, summary)
        write_json(folder / "summary.json", summary)

    publish(out, write)
    return summary
