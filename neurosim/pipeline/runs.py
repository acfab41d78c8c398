"""The runs a user starts, one function each: train (with or without an accelerator), evaluate a saved model on an
accelerator, simulate an imported topology. The CLI and the Python API call these; each returns the summary and the
folder the report went to."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..devices import DeviceSpec
from ..hw.arch import Architecture
from ..names import DST_METHODS
from .hardware import HardwareRun, load_architecture
from .inference import evaluate_and_report
from .model_file import load_model_into, model_workload
from .prepare import REPORTS_DIR, Overrides, Prepared, prepare, run_id
from .topology import topology_report
from .training import train_and_report

__all__ = ["device_spec", "train_run", "eval_run", "topology_run", "DEFAULT_WORKLOAD"]

DEFAULT_WORKLOAD = "digits_mlp"


def device_spec(arch: Architecture, ideal: bool = False) -> DeviceSpec | None:
    """The devices a crossbar architecture's weights live on, for device-aware training (None: ideal weights)."""
    if not arch.is_crossbar or ideal:
        return None
    N, mapping, _ = arch.weight_space()
    return DeviceSpec(arch.crossbar().device, mapping=mapping, N=N)


def _arch(arch: Architecture | str | Path | None) -> Architecture | None:
    return arch if arch is None or isinstance(arch, Architecture) else load_architecture(arch)


def _suffix(arch: Architecture, ideal: bool) -> str:
    return f"-{arch.name}" + ("-ideal" if arch.is_crossbar and ideal else "")


def train_run(workload: str | Path = DEFAULT_WORKLOAD, overrides: Overrides | None = None,
              data_dir: str | Path | None = None, out: str | Path | None = None, arch: Architecture | str | None = None,
              resume: bool = False, progress: bool = False, ideal_devices: bool = False) -> tuple[dict[str, Any], Path]:
    """Train a workload; with ``arch``, simulate the accelerator on every batch and the test-set inference.

    On a crossbar the weights train on the architecture's devices (variation, faults, noisy writes, reads) unless
    ``ideal_devices``."""
    a = _arch(arch)
    p = prepare(workload, overrides, data_dir, device=device_spec(a, ideal_devices) if a is not None else None)
    hw = HardwareRun(a, p) if a is not None else None
    default = REPORTS_DIR / (run_id(p) + (_suffix(a, ideal_devices) if a is not None else ""))
    folder = Path(out) if out else default
    if resume and not (folder / "checkpoint.npz").exists():
        raise ValueError(f"--resume: no checkpoint at {folder / 'checkpoint.npz'}; pass the --out of the run to "
                         f"resume")
    return train_and_report(p, folder, resume=resume, progress=progress, hardware=hw), folder


def _prepare_model(model: Path, workload: str | Path | None, overrides: Overrides | None,
                   data_dir: str | Path | None, arch: Architecture, ideal_devices: bool) -> Prepared:
    name, meta = model_workload(model)
    ov = overrides or Overrides()
    ov.method = ov.method or meta.get("method")
    ov.N = ov.N if ov.N is not None else meta.get("N")
    if ov.seed is None:
        ov.seed = meta.get("seed")
    device = device_spec(arch, ideal_devices) if ov.method in DST_METHODS else None
    p = prepare(workload or name, ov, data_dir, device=device)
    load_model_into(p, model)
    return p


def eval_run(model: str | Path, arch: Architecture | str, workload: str | Path | None = None,
             overrides: Overrides | None = None, data_dir: str | Path | None = None, out: str | Path | None = None,
             split: str = "test", batch: int | None = None, ideal_devices: bool = False,
             name: str = "eval") -> tuple[dict[str, Any], Path]:
    """Inference of a saved model on an accelerator: the network is rebuilt from the model's workload.

    On a crossbar a model trained on ideal devices (or elsewhere) is deployed onto this chip's devices."""
    a = _arch(arch)
    model = Path(model)
    p = _prepare_model(model, workload, overrides, data_dir, a, ideal_devices)
    if batch:
        p.cfg.eval_batch = batch
    hw = HardwareRun(a, p, batch=batch)
    folder = Path(out) if out else REPORTS_DIR / f"{run_id(p)}{_suffix(a, ideal_devices)}-{name}"
    return evaluate_and_report(p, hw, folder, split), folder


def topology_run(path: str | Path, arch: Architecture | str, out: str | Path | None = None, batch: int = 1,
                 density: float = 0.5, seed: int = 0) -> tuple[dict[str, Any], Path]:
    """A SCALE-Sim / NeuroSim topology CSV on random ternary operands of ``density``, simulated on ``arch``."""
    a = _arch(arch)
    path = Path(path)
    folder = Path(out) if out else REPORTS_DIR / f"{path.stem}-{a.name}-d{density:g}"
    return topology_report(path, a, folder, batch, density, seed), folder
