"""The training loop: minibatches, exponential learning-rate decay, validation-based model selection,
per-epoch checkpoints (atomic, no pickle) and exact resume."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..events import Observer
from .network import Network
from .optim import lr_at_epoch, make_optimizer


@dataclass
class TrainConfig:
    epochs: int = 10
    batch: int = 100
    lr_start: float = 0.01
    lr_fin: float = 1e-4
    optimizer: str = "adam"
    seed: int = 0
    eval_batch: int = 1000

    def validate(self, source: str = "<config>") -> None:
        for key in ("epochs", "batch", "eval_batch"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{source}: '{key}' must be an integer >= 1 (got {v!r})")
        for key in ("lr_start", "lr_fin"):
            v = getattr(self, key)
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
                raise ValueError(f"{source}: '{key}' must be a number > 0 (got {v!r})")


@dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    samples_trained: int = 0

    @property
    def samples_per_second(self) -> float:
        return self.samples_trained / self.train_seconds if self.train_seconds > 0 else float("nan")


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def save_checkpoint(path: Path, net: Network, opt, observer, meta: dict, best: dict[str, np.ndarray] | None) -> None:
    arrays = {f"model.{k}": v for k, v in net.arrays().items()}
    arrays.update({f"optim.{k}": v for k, v in opt.state().items()})
    if best is not None:
        arrays.update({f"best.{k}": v for k, v in best.items()})
    if observer is not None and hasattr(observer, "state"):
        arrays.update({f"observer.{k}": v for k, v in observer.state().items()})
    arrays["meta"] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)


def load_checkpoint(path: Path) -> dict[str, dict[str, np.ndarray] | dict]:
    with np.load(path, allow_pickle=False) as z:
        parts: dict[str, dict] = {"model": {}, "optim": {}, "best": {}, "observer": {}}
        for k in z.files:
            if k == "meta":
                continue
            head, rest = k.split(".", 1)
            parts[head][rest] = z[k]
        parts["meta"] = json.loads(str(z["meta"]))
    return parts


def train(net: Network, data, cfg: TrainConfig, observer: Observer | None = None,
          checkpoint: Path | None = None, resume: bool = False, progress: bool = True,
          log=None) -> TrainResult:
    """Train `net` on data.x_train; select the epoch with the best validation accuracy.

    With a checkpoint path, state is saved after every epoch; `resume` continues from it exactly
    (same shuffles, same random transitions) as if the run had never stopped.
    """
    opt = make_optimizer(cfg.optimizer)
    net.init_optimizer(opt)
    n = len(data.x_train)
    batches_per_epoch = (n + cfg.batch - 1) // cfg.batch
    result = TrainResult(epochs_run=0, best_epoch=-1)
    best: dict[str, np.ndarray] | None = None
    best_val = -1.0
    start_epoch = 0
    if resume and checkpoint is not None and checkpoint.exists():
        ck = load_checkpoint(checkpoint)
        net.load_arrays(ck["model"], str(checkpoint))
        opt.load_state(ck["optim"])
        if observer is not None and hasattr(observer, "load_state") and ck["observer"]:
            observer.load_state(ck["observer"])
        best = ck["best"] or None
        meta = ck["meta"]
        start_epoch, best_val = meta["epoch"], meta["best_val"]
        result = TrainResult(epochs_run=meta["epoch"], best_epoch=meta["best_epoch"], history=meta["history"],
                             train_seconds=meta["train_seconds"], samples_trained=meta["samples_trained"])
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.epochs * batches_per_epoch, initial=start_epoch * batches_per_epoch, unit="batch",
                   dynamic_ncols=True, leave=True)
    try:
        for epoch in range(start_epoch, cfg.epochs):
            lr = lr_at_epoch(epoch, cfg.epochs, cfg.lr_start, cfg.lr_fin)
            order = np.random.default_rng([cfg.seed, epoch]).permutation(n)
            loss_sum = correct = seen = 0
            t0 = time.perf_counter()
            for b in range(batches_per_epoch):
                idx = order[b * cfg.batch:(b + 1) * cfg.batch]
                x, y = data.x_train[idx], data.y_train[idx]
                step = epoch * batches_per_epoch + b
                scores = net.forward(x, True, observer, step)
                loss, g = net.loss_and_grad(scores, y)
                net.backward(g, observer, step)
                net.update(opt, lr, step, observer, step)
                loss_sum += loss * len(idx)
                correct += int((scores.argmax(1) == y).sum())
                seen += len(idx)
                if bar is not None:
                    el = time.perf_counter() - t0
                    bar.set_postfix_str(f"epoch {epoch + 1}/{cfg.epochs} loss {loss_sum / seen:.4f} "
                                        f"acc {correct / seen:.3f} {seen / max(el, 1e-9):.0f} samples/s",
                                        refresh=False)
                    bar.update(1)
            dt = time.perf_counter() - t0
            result.train_seconds += dt
            result.samples_trained += seen
            val = net.accuracy(data.x_val, data.y_val, cfg.eval_batch) if len(data.x_val) else float("nan")
            rec = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / seen, "train_accuracy_running": correct / seen,
                   "validation_accuracy": val, "seconds": dt, "samples_per_second": seen / dt}
            result.history.append(rec)
            if log is not None:
                log(rec)
            # model selection on the validation split only; without one, the last epoch is kept
            if not len(data.x_val) or val > best_val:
                best_val = val if len(data.x_val) else best_val
                result.best_epoch = epoch + 1
                best = {k: v.copy() for k, v in net.arrays().items()}
            result.epochs_run = epoch + 1
            if checkpoint is not None:
                meta = {"epoch": epoch + 1, "best_val": best_val, "best_epoch": result.best_epoch,
                        "history": result.history, "train_seconds": result.train_seconds,
                        "samples_trained": result.samples_trained, "config": asdict(cfg)}
                save_checkpoint(checkpoint, net, opt, observer, meta, best)
    finally:
        if bar is not None:
            bar.close()
    if best is not None:
        net.load_arrays(best)
    return result
