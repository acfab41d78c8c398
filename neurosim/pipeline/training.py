"""A training run as a source of operands: train with the counting observer (and the hardware one), then write
summary.json, layers.csv (counts.csv with hardware), model.npz and the hardware report."""
from __future__ import annotations

import platform
import shutil
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core.counting import CSV_COLUMNS, CountingObserver
from ..core.optim import make_optimizer
from ..core.train import TrainResult, train
from ..events import ObserverGroup
from ..names import DST_METHODS
from ..report.files import write_csv, write_json
from .hardware import HardwareRun
from .model_file import save_model
from .prepare import Prepared

__all__ = ["train_and_report"]


def train_and_report(p: Prepared, out: Path, resume: bool = False, progress: bool = True, observers=(),
                     log=None, hardware: "HardwareRun | None" = None) -> dict[str, Any]:
    """Train with the counting observer (plus any others), then write summary.json, layers.csv, model.npz.

    With ``hardware``, its observer sees every training batch and the test-set inference, and the hardware
    report (per layer and phase cycles, energy, traffic; plots) is written beside the training report.
    """
    counter = CountingObserver()
    if hardware is not None:
        observers = (*observers, hardware.timed)
    observer = ObserverGroup([counter, *observers]) if observers else counter
    fresh = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    ck = out / "checkpoint.npz"
    if not resume and ck.exists():
        ck.unlink()
    t0 = time.perf_counter()
    try:
        # the counting observer's state travels in the checkpoint so whole-run counts survive a resume
        res: TrainResult = train(p.net, p.data, p.cfg, observer=_Stateful(observer, counter, hardware),
                                 checkpoint=ck, resume=resume, progress=progress, log=log)
    except BaseException:
        if fresh and not any(f.name != "checkpoint.npz" for f in out.iterdir()) and not ck.exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    d = p.data
    acc = {"train": p.net.accuracy(d.x_train, d.y_train, p.cfg.eval_batch),
           "validation": p.net.accuracy(d.x_val, d.y_val, p.cfg.eval_batch),
           "test": p.net.accuracy(d.x_test, d.y_test, p.cfg.eval_batch,
                                  observer=hardware.timed if hardware is not None else None)}
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
        "neurosim_version": __version__, "python": platform.python_version(),
    }
    if hardware is not None:
        summary.update(hardware.summary(res.train_seconds))
        write_csv(out / "counts.csv", counter.rows(), CSV_COLUMNS)
        hardware.write(out, summary)
    else:
        write_csv(out / "layers.csv", counter.rows(), CSV_COLUMNS)
    write_json(out / "summary.json", summary)
    save_model(out / "model.npz", p)
    return summary


class _Stateful:
    """Forwards records to `observer`; checkpoint state to/from the counting and hardware observers."""

    def __init__(self, observer, counter: CountingObserver, hardware: "HardwareRun | None" = None):
        self.observer, self.counter, self.hardware = observer, counter, hardware

    def observe(self, rec) -> None:
        self.observer.observe(rec)

    def state(self) -> dict[str, np.ndarray]:
        d = self.counter.state()
        if self.hardware is not None:
            d.update(self.hardware.state())
        return d

    def load_state(self, d: dict[str, np.ndarray]) -> None:
        self.counter.load_state({k: v for k, v in d.items() if k.startswith("count.")})
        if self.hardware is not None:
            self.hardware.load_state(d)
