"""The runs a user starts, one function each: train (with or without an accelerator), evaluate a saved model on an
accelerator, simulate an imported topology. The CLI and the Python API call these; each returns the summary and the
folder the report went to.

Default report folders are ``reports/<workload>-<method>-seed<seed>[-<arch>]-<hash>``: the hash is of the run's fully
resolved configuration, so two runs that differ in anything (a learning rate, an architecture file) never share a
folder, and the same run always finds its own (for ``--resume``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.network import read_model_file
from ..devices import DeviceSpec
from ..hw.arch import Architecture, load_arch
from ..names import DST_METHODS
from ..schema.overrides import Override, content_digest, is_override_label, split_targets
from ..schema.workload import load_workload, resolve_workload_path, workload_with
from .config import config_hash
from .hardware import HardwareRun
from .inference import evaluate_and_report
from .model_file import load_model_into, model_spec
from .outputs import OutputError
from .prepare import REPORTS_DIR, Overrides, Prepared, prepare, run_id
from .topology import topology_report
from .training import resolved_config, train_and_report

__all__ = ["device_spec", "train_run", "eval_run", "topology_run", "prepare_model", "DEFAULT_WORKLOAD"]

DEFAULT_WORKLOAD = "digits_mlp"


def device_spec(arch: Architecture | None, ideal: bool = False) -> DeviceSpec | None:
    """The devices a crossbar architecture's weights live on, for device-aware training (None: ideal weights)."""
    if arch is None or not arch.is_crossbar or ideal:
        return None
    N, mapping, _ = arch.weight_space()
    return DeviceSpec(arch.crossbar().device, mapping=mapping, N=N)


def _arch(arch: Architecture | str | Path | None, sets: tuple[Override, ...] = ()) -> Architecture | None:
    """The architecture, loaded with its ``--set arch.*`` overrides."""
    if sets and arch is None:
        raise ValueError(f"{sets[0].flag}: this run has no architecture (use neurosim run, or give --arch)")
    if sets and isinstance(arch, Architecture):
        raise ValueError(f"{sets[0].flag}: the architecture is already loaded; give its file to apply --set")
    return arch if arch is None or isinstance(arch, Architecture) else load_arch(arch, sets)


def _suffix(arch: Architecture | None, ideal: bool) -> str:
    if arch is None:
        return ""
    return f"-{arch.name}" + ("-ideal" if arch.is_crossbar and ideal else "")


def _default_folder(p: Prepared, arch: Architecture | None, ideal: bool, tail: str = "") -> Path:
    return REPORTS_DIR / f"{run_id(p)}{_suffix(arch, ideal)}{tail}-{config_hash(resolved_config(p, arch))}"


def train_run(workload: str | Path = DEFAULT_WORKLOAD, overrides: Overrides | None = None,
              data_dir: str | Path | None = None, out: str | Path | None = None, arch: Architecture | str | None = None,
              resume: bool = False, progress: bool = False, ideal_devices: bool = False,
              force: bool = False) -> tuple[dict[str, Any], Path]:
    """Train a workload; with ``arch``, simulate the accelerator on every batch and the test-set inference.

    On a crossbar the weights train on the architecture's devices (variation, faults, noisy writes, reads) unless
    ``ideal_devices``. ``resume`` continues the folder's checkpoint of this same configuration; ``force`` replaces
    an earlier report in the folder."""
    a = _arch(arch, overrides.arch_sets if overrides is not None else ())
    p = prepare(workload, overrides, data_dir, device=device_spec(a, ideal_devices))
    hw = HardwareRun(a, p) if a is not None else None
    folder = Path(out) if out is not None else _default_folder(p, a, ideal_devices)
    return train_and_report(p, folder, resume=resume, progress=progress, hardware=hw, force=force), folder


# what --set may change of a saved model's workload: its data split and inference batch, never the network
MODEL_SET_KEYS = ("dataset", "train.eval_batch")


def _check_model_sets(sets: tuple[Override, ...]) -> None:
    """A saved model takes --set of its data split and inference batch only (its network is its own)."""
    for o in sets:
        key = ".".join(o.parts[1:])
        if not any(key == k or key.startswith(k + ".") for k in MODEL_SET_KEYS):
            raise ValueError(f"{o.flag}: does not apply to a saved model (the network is rebuilt from the model's "
                             f"own workload); allowed: workload.dataset.*, workload.train.eval_batch, arch.*")


def prepare_model(model: Path, workload: str | Path | None, data_dir: str | Path | None, arch: Architecture,
                  ideal_devices: bool, sets: tuple[Override, ...] = ()) -> tuple[Prepared, dict[str, Any]]:
    """The network a model was trained with, rebuilt from the model's own resolved workload (a ``workload`` or
    ``--set workload.dataset.*`` may change its data split only), with the model's weights loaded; and the summary
    notes that say so."""
    _check_model_sets(sets)
    _, meta = read_model_file(model)
    spec = model_spec(meta, model)
    notes: dict[str, Any] = {"model": str(model)}
    if spec is None:  # a model written before models carried their workload: rebuild from its name and meta
        ov = Overrides(method=meta.get("method"), N=meta.get("N"), seed=meta.get("seed"), sets=sets)
        w: Any = workload or meta["workload"]
        notes["model_workload"] = "rebuilt from the workload's name (the model does not carry its workload)"
    else:
        ov = None
        raw = dict(spec)
        if workload is not None:
            other = load_workload(workload)
            raw["dataset"] = other.dataset
            notes["data_split_from"] = other.source
        w = workload_with(raw, f"{model} (its workload)", sets)
        notes["model_workload"] = "the model's own" + (", data split from " + notes["data_split_from"]
                                                       if workload is not None else "")
        if sets:
            notes["model_workload"] += ", with " + ", ".join(o.flag for o in sets)
    method = meta.get("method")
    p = prepare(w, ov, data_dir, device=device_spec(arch, ideal_devices) if method in DST_METHODS else None)
    load_model_into(p, model)
    return p, notes


def eval_run(model: str | Path, arch: Architecture | str, workload: str | Path | None = None,
             data_dir: str | Path | None = None, out: str | Path | None = None, split: str = "test",
             batch: int | None = None, ideal_devices: bool = False, name: str = "eval",
             force: bool = False, sets: tuple[Override, ...] = ()) -> tuple[dict[str, Any], Path]:
    """Inference of a saved model on an accelerator, the network rebuilt from the model's own workload.

    On a crossbar a model trained on ideal devices (or elsewhere) is deployed onto this chip's devices. ``sets``:
    ``--set`` overrides (architecture keys; of the workload, its data split and inference batch only)."""
    w_sets, a_sets = split_targets(sets)
    a = _arch(arch, a_sets)
    model = Path(model)
    p, notes = prepare_model(model, workload, data_dir, a, ideal_devices, w_sets)
    if batch:
        p.cfg.eval_batch = batch
    hw = HardwareRun(a, p, batch=batch)
    folder = Path(out) if out is not None else _default_folder(p, a, ideal_devices, f"-{name}")
    if folder.resolve() == model.resolve().parent:
        raise OutputError(f"{folder}: is the folder of the model being evaluated ({model.name}); an inference "
                          f"report there would replace the training run's report: choose another --out")
    return evaluate_and_report(p, hw, folder, split, force=force, notes=notes), folder


def topology_run(path: str | Path, arch: Architecture | str, out: str | Path | None = None, batch: int = 1,
                 density: float = 0.5, seed: int = 0, force: bool = False,
                 sets: tuple[Override, ...] = ()) -> tuple[dict[str, Any], Path]:
    """A SCALE-Sim / NeuroSim topology CSV on random ternary operands of ``density``, simulated on ``arch``
    (a bare name is looked up in ./workloads, then in the shipped topologies)."""
    a = _arch(arch, sets)
    path = resolve_workload_path(path)
    tail = f"-{content_digest(a)[:8]}" if is_override_label(a.source_file) else ""  # one folder per --set
    folder = Path(out) if out is not None else \
        REPORTS_DIR / f"{path.stem}-{a.name}-d{density:g}-b{batch}-s{seed}{tail}"
    return topology_report(path, a, folder, batch, density, seed, force=force), folder
