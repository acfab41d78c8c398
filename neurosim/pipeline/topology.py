"""An imported topology as a source of operands: a SCALE-Sim topology CSV or a DNN+NeuroSim NetWork.csv run on
seeded random ternary operands of a given density (inference, forward only), through the same hardware observer,
engine and report as a training run (crossbars hold the ternary weights as N = 1 DST states, conv layers unrolled
onto the arrays). Two crossbar cases draw wider operands, as the macro consumes them: a tile that slices its
weights over columns (``cell_bits``) holds random states of its whole weight space Z_N (N + 1 bits, e.g. 8-bit
weights on DNN+NeuroSim's macro), and a ``bit_serial`` input driver gets unsigned integer codes of its
``input_bits`` (e.g. 8-bit activations over 8 read pulses); the zero pattern is the ternary draw's in both."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

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


def crossbar_operand_widths(arch: Architecture) -> tuple[int, int | None]:
    """(weight space N of the operands, input code bits or None for ternary inputs) a topology run draws for a
    crossbar: the tile's whole Z_N when it slices weights (cell_bits), else ternary (N = 1); unsigned codes of the
    driver's input_bits for a bit_serial driver."""
    tile = arch.crossbar()
    N = arch.weight_space(tile)[0] if tile.attributes.cell_bits is not None else 1
    drv = arch.component(tile.attributes.driver).attributes
    return N, (drv.input_bits if drv.kind == "bit_serial" else None)


def _widen(x: np.ndarray, w: np.ndarray, N: int, x_bits: int | None, seed: int):
    """(x, w, w_step, states) of a crossbar topology layer: ternary draws, widened as the crossbar consumes them
    (same zero patterns): x as unsigned codes 1..2^x_bits - 1 where nonzero, w as states of Z_N (nonzero weights
    uniform over the other 2^N states)."""
    rng = np.random.default_rng([seed, 0x5eed])
    if x_bits is not None:
        x = (np.abs(x) * rng.integers(1, 2 ** x_bits, size=x.shape)).astype(np.float32)
    half = 2 ** (N - 1) if N >= 1 else 0
    if N <= 1:
        return x, w, 1.0, (w + 1).astype("int16") if N == 1 else (w > 0).astype("int16")
    steps = rng.integers(1, half + 1, size=w.shape)
    states = (half + np.sign(w) * steps).astype("int16")
    return x, ((states - half) / half).astype(np.float32), 1.0 / half, states


def _simulate(path: Path, arch: Architecture, layers: list[ImportedLayer], alphabet: OperandAlphabet, batch: int,
              density: float, seed: int, bits: WeightBits | None):
    widths = None
    if arch.is_crossbar:  # ternary weights held as N = 1 DST states on the crossbar, unless it consumes wider ones
        widths = crossbar_operand_widths(arch)
        N, x_bits = widths
        infos = layer_infos(layers, N + 1, x_bits or 2)
        obs = HardwareObserver(arch, infos, batch, alphabet=alphabet, weight_N=N)
    else:  # the operand widths the array's kind consumes (the method it serves)
        w_bits, a_bits = kind(arch.compute_array().kind).operand_bits
        infos = layer_infos(layers, w_bits, a_bits)
        obs = HardwareObserver(arch, infos, batch, bits or WeightBits(stored=w_bits), alphabet,
                               continuous_input=False)
    t0 = time.perf_counter()
    for i, (l, info) in enumerate(zip(layers, infos)):
        x, w = random_operands(l, batch, density, "ternary", seed=seed + i)
        w_step, states = 1.0, (w + 1).astype("int16")
        if widths is not None and widths != (1, None):
            x, w, w_step, states = _widen(x, w, widths[0], widths[1], seed + i)
        obs.observe(OperandRecord(layer=info, phase="forward", mode="eval", batch=0, batch_size=batch, x=x, w=w,
                                  x_step=1.0, w_step=w_step, w_state=states))
    res = obs.finish()
    return res, layers, time.perf_counter() - t0


def _operand_kind(arch: Architecture) -> str:
    if not arch.is_crossbar or crossbar_operand_widths(arch) == (1, None):
        return "random ternary"
    N, x_bits = crossbar_operand_widths(arch)
    w = f"weights: random states of Z_{N} ({N + 1} bits)" if N > 1 else "weights: random ternary"
    x = f"inputs: random unsigned {x_bits}-bit codes" if x_bits else "inputs: random ternary"
    return f"{x}, {w} (zero pattern of the ternary draw)"


def topology_report(path: Path, arch: Architecture, out: Path, batch: int = 1, density: float = 0.5,
                    seed: int = 0, force: bool = False) -> dict[str, Any]:
    """Simulate a topology and write summary.json, layers.csv, the plots and report.html into ``out`` (as a unit, into
    a folder that holds no other run's report unless ``force``)."""
    out = Path(out)
    claim(out, force=force, resumable=False)
    res, layers, seconds = simulate_topology(path, arch, batch, density, seed)
    summary = {"workload": path.stem, "workload_file": str(path), "format": "topology csv",
               "network": to_spec_string(layers), "layers": len(layers), "macs_per_sample": total_macs(layers),
               "batch": batch, "operands": {"kind": _operand_kind(arch), "density": density, "seed": seed},
               "neurosim_version": __version__}
    return publish_inference(out, res, arch, seconds, summary)


def publish_inference(out: Path, res: Any, arch: Architecture, seconds: float, summary: dict[str, Any]) -> dict:
    """Add the hardware totals to ``summary`` and publish an inference-only report (summary.json, layers.csv, the
    plots, report.html) into ``out`` as a unit; shared by the imported sources (topology CSVs, ONNX models)."""
    summary.update(hardware_summary(res, arch, seconds, None))

    def write(folder: Path) -> None:
        write_hardware_report(res, folder, summary)
        write_json(folder / "summary.json", summary)

    publish(out, write)
    return summary
