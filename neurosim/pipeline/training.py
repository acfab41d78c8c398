"""A training run as a source of operands: train with the counting observer (and the hardware one), then write
summary.json, layers.csv (counts.csv with hardware), model.npz and the hardware report."""
from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__
from ..core.counting import CSV_COLUMNS, CountingObserver
from ..core.optim import make_optimizer
from ..core.runtime import thread_settings
from ..core.train import TrainResult, load_checkpoint, train
from ..events import ObserverGroup
from ..fileio import atomic_open
from ..hw.arch import Architecture
from ..names import DST_METHODS
from ..report.files import write_csv, write_json
from .config import config_diff, config_hash, run_config
from .hardware import HardwareRun
from .model_file import save_model
from .outputs import claim, publish
from .prepare import Prepared

__all__ = ["train_and_report", "resolved_config"]


def resolved_config(p: Prepared, arch: Architecture | None) -> dict[str, Any]:
    """The run's resolved configuration (:func:`run_config`; an architecture changed by ``--set`` is identified by
    its validated content there)."""
    return run_config(p, arch)


def train_and_report(p: Prepared, out: Path, resume: bool = False, progress: bool = True, observers=(),
                     log=None, hardware: "HardwareRun | None" = None, force: bool = False,
                     more_hardware: Sequence[tuple[HardwareRun, Path]] = (), plots: bool = True) -> dict[str, Any]:
    """Train with the counting observer (plus any others), then write summary.json, layers.csv, model.npz.

    With ``hardware``, its observer sees every training batch and the test-set inference, and the hardware
    report (per layer and phase cycles, energy, traffic; plots) is written beside the training report. The folder
    is claimed first (:func:`~neurosim.pipeline.outputs.claim`: never another run's report unless ``force``) and
    the report is published as a unit; ``resume`` continues the folder's checkpoint only if it was written by this
    very configuration, and a finished run is not trained again (its summary is returned, marked ``nothing_to_do``).

    ``more_hardware``: (hardware run, folder) pairs of further architectures that watch the same training (one
    training, one report per architecture, each in its own folder, as if it had been trained alone on it); their
    summaries are returned under ``summary["more_hardware"]`` (a list in the same order). Not with ``resume``.
    ``plots=False``: the hardware report without its PNG plots (a sweep's points: the plots cost more than the
    simulation of a small network).
    """
    out = Path(out)
    config = resolved_config(p, hardware.arch if hardware is not None else None)
    more = [(h, Path(f)) for h, f in more_hardware]
    if more and resume:
        raise ValueError("--resume: a training watched by several architectures is not resumable; run it again")
    for f in [out, *(f for _, f in more)]:
        claim(f, force=force, resume=resume)
    ck = out / "checkpoint.npz"
    if resume:
        done = _check_resume(ck, out, config, p.cfg.epochs)
        if done is not None:
            return done
    counter = CountingObserver()
    hws = ([hardware] if hardware is not None else []) + [h for h, _ in more]
    observers = (*observers, *(h.timed for h in hws))
    observer = ObserverGroup([counter, *observers]) if observers else counter
    fresh = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        # the counting observer's state travels in the checkpoint so whole-run counts survive a resume
        res: TrainResult = train(p.net, p.data, p.cfg, observer=_Stateful(observer, counter, hardware, config),
                                 checkpoint=ck, resume=resume, progress=progress, log=log)
    except BaseException:
        if fresh and not ck.exists() and not any(out.iterdir()):
            shutil.rmtree(out, ignore_errors=True)
        raise
    d = p.data
    acc = {"train": p.net.accuracy(d.x_train, d.y_train, p.cfg.eval_batch),
           "validation": p.net.accuracy(d.x_val, d.y_val, p.cfg.eval_batch),
           "test": p.net.accuracy(d.x_test, d.y_test, p.cfg.eval_batch, observer=_group(h.timed for h in hws))}
    m = p.method
    summary = {
        "workload": p.workload.name, "workload_file": p.workload.source, "network": p.workload.network,
        "method": m.name, "N": m.N if m.name in DST_METHODS else None, "activation": asdict(m.activation),
        "device": asdict(m.device) if getattr(m, "device", None) is not None else None,
        "seed": p.seed, "epochs": p.cfg.epochs, "epochs_run": res.epochs_run, "best_epoch": res.best_epoch,
        "batch": p.cfg.batch, "lr_start": p.cfg.lr_start, "lr_fin": p.cfg.lr_fin, "optimizer": p.cfg.optimizer,
        "accuracy": acc,
        # median over epochs: the first epoch also pays numba's one-time compilation
        "samples_per_second": statistics.median(h["samples_per_second"] for h in res.history) if res.history else None,
        "samples_per_second_overall": res.samples_per_second, "train_seconds": res.train_seconds,
        "resting_probability": counter.resting_probability(),
        "weights": p.net.weight_count(),
        "weight_bits_stored": p.net.mac_layers[0].weights.stored_bits,
        "weight_bits_deployed": p.net.mac_layers[0].weights.deployed_bits,
        "optimizer_state_bits_per_weight": make_optimizer(p.cfg.optimizer).state_bits_per_weight,
        "dataset": {"name": d.name, "train": len(d.x_train), "validation": len(d.x_val), "test": len(d.x_test)},
        "history": res.history, "wall_seconds": time.perf_counter() - t0,
        "config_hash": config_hash(config), "config": config, "threads": thread_settings(),
        "neurosim_version": __version__, "python": platform.python_version(),
    }
    extra = []
    for h, folder in more:  # each further architecture: the same training summary, its own configuration
        c = resolved_config(p, h.arch)
        s = dict(summary, config_hash=config_hash(c), config=c)
        s.update(h.summary(res.train_seconds))
        extra.append((h, folder, s, c))
    if hardware is not None:
        summary.update(hardware.summary(res.train_seconds))
    # one set of weights for every architecture: saved once (with the training's configuration), linked elsewhere
    model_config = resolved_config(p, None) if extra else config
    publish(out, _writer(p, counter, hardware, summary, model_config, plots))
    for h, folder, s, c in extra:
        publish(folder, _writer(p, counter, h, s, model_config, plots, model_from=out / "model.npz"))
    if extra:
        summary = dict(summary, more_hardware=[s for _, _, s, _ in extra])
    return summary


def _group(observers) -> Any:
    obs = list(observers)
    return None if not obs else obs[0] if len(obs) == 1 else ObserverGroup(obs)


def _writer(p: Prepared, counter: CountingObserver, hardware: "HardwareRun | None", summary: dict[str, Any],
            config: dict[str, Any], plots: bool = True, model_from: Path | None = None):
    """Writes one report folder: the counts, the hardware report (if any), the model (or a link to ``model_from``,
    the same weights in another report) and the summary."""
    def write(folder: Path) -> None:
        if hardware is not None:
            write_csv(folder / "counts.csv", counter.rows(), CSV_COLUMNS)
            hardware.write(folder, summary, plots=plots)
        else:
            write_csv(folder / "layers.csv", counter.rows(), CSV_COLUMNS)
        if model_from is None:
            save_model(folder / "model.npz", p, config)
        else:
            _link(model_from, folder / "model.npz")
        write_json(folder / "summary.json", summary)
    return write


def _link(src: Path, dst: Path) -> None:
    """``dst`` is ``src`` (a hard link; a copy where links are not possible)."""
    try:
        os.link(src, dst)
    except OSError:
        with atomic_open(dst, "wb") as fh, open(src, "rb") as fin:
            shutil.copyfileobj(fin, fh)


def _check_resume(ck: Path, out: Path, config: dict[str, Any], epochs: int) -> dict[str, Any] | None:
    """A resume continues the checkpoint's own run: same resolved configuration, else an error naming each key
    (old -> new). A finished run with its report: its summary, marked ``nothing_to_do``."""
    if not ck.exists():
        raise ValueError(f"--resume: no checkpoint at {ck}; pass the --out of the run to resume")
    parts = load_checkpoint(ck)  # read and checked for form: a damaged file names itself and the array
    raw = parts["observer"].get("run.config")
    if raw is None:
        raise ValueError(f"{ck}: --resume: the checkpoint does not say which configuration wrote it (an older "
                         f"neurosim, or a run of another command); start the run again with --force")
    try:
        saved = json.loads(str(raw))
    except ValueError:
        raise ValueError(f"{ck}: array 'observer.run.config': not a configuration; the file is damaged") from None
    diff = config_diff(saved, config)
    if diff:
        raise ValueError(f"{ck}: --resume: this run differs from the checkpoint's: {'; '.join(diff)}; resume with "
                         f"the checkpoint's settings, or start again with --force")
    meta = parts["meta"]
    summary = out / "summary.json"
    if int(meta.get("epoch", 0)) >= epochs and summary.exists():
        done = json.loads(summary.read_text())
        done["nothing_to_do"] = True
        return done
    return None


class _Stateful:
    """Forwards records to `observer`; checkpoint state to/from the counting and hardware observers, plus the run's
    resolved configuration (so a resume can check it continues the same run)."""

    def __init__(self, observer, counter: CountingObserver, hardware: "HardwareRun | None" = None,
                 config: dict[str, Any] | None = None):
        self.observer, self.counter, self.hardware, self.config = observer, counter, hardware, config

    def observe(self, rec) -> None:
        self.observer.observe(rec)

    def state(self) -> dict[str, np.ndarray]:
        d = self.counter.state()
        if self.hardware is not None:
            d.update(self.hardware.state())
        if self.config is not None:
            d["run.config"] = np.array(json.dumps(self.config))
        return d

    def load_state(self, d: dict[str, np.ndarray]) -> None:
        self.counter.load_state({k: v for k, v in d.items() if k.startswith("count.")})
        if self.hardware is not None:
            self.hardware.load_state(d)
