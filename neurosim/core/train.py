"""The training loop: minibatches, exponential learning-rate decay, validation-based model selection,
per-epoch checkpoints (atomic, no pickle) and exact resume."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_open
from ..events import Observer
from ..progress import Progress, resolve as resolve_progress
from .network import ModelFileError, Network, check_array, check_keys, read_meta, read_npz
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
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)


def save_checkpoint(path: Path, net: Network, opt, observer, meta: dict, best: dict[str, np.ndarray] | None) -> None:
    arrays = {f"model.{k}": v for k, v in net.arrays().items()}
    arrays.update({f"optim.{k}": v for k, v in opt.state().items()})
    if best is not None:
        arrays.update({f"best.{k}": v for k, v in best.items()})
    if observer is not None and hasattr(observer, "state"):
        arrays.update({f"observer.{k}": v for k, v in observer.state().items()})
    arrays["meta"] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)


_PARTS = ("model", "optim", "best", "observer")
_SAME_RUN = ("batch", "optimizer", "seed", "lr_start", "lr_fin")  # what an exact resume may not change
_META_TYPES: dict[str, tuple[type, ...]] = {"epoch": (int,), "best_epoch": (int,), "samples_trained": (int,),
                                            "best_val": (int, float), "train_seconds": (int, float),
                                            "history": (list,), "config": (dict,)}


def load_checkpoint(path: Path) -> dict[str, dict[str, np.ndarray] | dict]:
    """A checkpoint's parts (model, optim, best, observer arrays; meta), read without pickle and checked for
    form; a damaged file is a ModelFileError naming the file and the array or key."""
    src = str(path)
    arrays = read_npz(path)
    meta = read_meta(arrays, src)
    _check_meta(meta, src)
    parts: dict[str, dict] = {p: {} for p in _PARTS}
    for k, v in arrays.items():
        head, _, rest = k.partition(".")
        if head not in parts or not rest:
            raise ModelFileError(f"{src}: array {k!r}: unexpected; allowed: model.*, optim.*, best.*, observer.*, "
                                 f"meta")
        parts[head][rest] = v
    parts["meta"] = meta
    return parts


def _check_meta(meta: dict[str, Any], src: str) -> None:
    """The training-loop state in a checkpoint's meta: present, of the right types, consistent."""
    for key, types in _META_TYPES.items():
        v = meta.get(key)
        if isinstance(v, bool) or not isinstance(v, types):
            want = " or ".join(t.__name__ for t in types)
            raise ModelFileError(f"{src}: meta.{key}: got {v!r}; allowed: {want}")
    epoch = meta["epoch"]
    if epoch < 0 or len(meta["history"]) != epoch or not all(isinstance(h, dict) for h in meta["history"]):
        raise ModelFileError(f"{src}: meta.history: {len(meta['history'])} records for epoch {epoch}; allowed: one "
                             f"record (a mapping) per epoch run")
    if not -1 <= meta["best_epoch"] <= epoch:
        raise ModelFileError(f"{src}: meta.best_epoch: got {meta['best_epoch']}; allowed: -1..{epoch}")
    for key in ("train_seconds", "samples_trained"):
        if not 0 <= meta[key] < math.inf:
            raise ModelFileError(f"{src}: meta.{key}: got {meta[key]!r}; allowed: a finite number >= 0")
    if not math.isfinite(meta["best_val"]):
        raise ModelFileError(f"{src}: meta.best_val: got {meta['best_val']!r}; allowed: a finite number")


def restore_checkpoint(path: Path, net: Network, opt, observer, cfg: TrainConfig,
                       batches_per_epoch: int) -> dict[str, Any]:
    """Check every part of a checkpoint against this run, then load it; returns ``meta`` plus ``best``.

    Checked first: the run settings an exact resume keeps, the model and best arrays (against the network), the
    optimizer state (against its registered slots and the steps the epochs took), the observer's numbers; the
    network and optimizer are loaded only once all of it fits.
    """
    src = str(path)
    ck = load_checkpoint(path)
    meta = ck["meta"]
    _check_same_run(meta["config"], cfg, src)
    net.check_arrays(ck["model"], src, "model.")
    if not ck["best"]:
        raise ModelFileError(f"{src}: array 'best.*': missing (the selected model); the file is damaged")
    net.check_arrays(ck["best"], src, "best.")
    _check_optim(ck["optim"], opt, src, meta["epoch"] * batches_per_epoch)
    _check_observer(ck["observer"], src)
    if observer is not None and hasattr(observer, "load_state") and ck["observer"]:
        try:
            observer.load_state(ck["observer"])
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
            raise ModelFileError(f"{src}: observer state: cannot be restored ({type(e).__name__}: {e}); the file "
                                 f"is damaged or from another version") from None
    net.load_arrays(ck["model"], src, "model.")
    opt.load_state(ck["optim"])
    return {**meta, "best": ck["best"]}


def _check_same_run(saved: dict[str, Any], cfg: TrainConfig, src: str) -> None:
    """A resume continues the same run: the settings that shape the remaining epochs must match."""
    for key in _SAME_RUN:
        if saved.get(key) != getattr(cfg, key):
            raise ModelFileError(f"{src}: meta.config.{key}: the checkpoint's run has {saved.get(key)!r}, this run "
                                 f"{getattr(cfg, key)!r}; allowed: resume with the same {', '.join(_SAME_RUN)} "
                                 f"(epochs may change)")


def _check_optim(arrays: dict[str, np.ndarray], opt, src: str, steps: int) -> None:
    """The optimizer state has this network's slots, finite moments (Adam's v >= 0) and one step per batch."""
    expected = opt.state()
    check_keys(arrays, expected, src, "optim.")
    for key, ref in expected.items():
        lo_hi = (0.0, math.inf) if opt.name == "adam" and key.endswith(".v") else None
        check_array(arrays[key], ref, src, f"optim.{key}", lo_hi)
    if int(arrays["t"]) != steps:
        raise ModelFileError(f"{src}: array 'optim.t': {int(arrays['t'])} steps, expected {steps} (one per batch of "
                             f"the epochs run); the checkpoint was written for another training set or batch size")


def _check_observer(arrays: dict[str, np.ndarray], src: str) -> None:
    """Observer state: numbers finite, counters (``count.*`` integers) >= 0."""
    for key, a in arrays.items():
        if a.dtype.kind == "f":
            check_array(a, np.zeros(a.shape, a.dtype), src, f"observer.{key}")
        elif a.dtype.kind in "iu" and key.startswith("count."):
            check_array(a, np.zeros(a.shape, np.int64), src, f"observer.{key}", (0, np.iinfo(np.int64).max))
        elif a.dtype.kind not in "iuU":
            raise ModelFileError(f"{src}: array 'observer.{key}': dtype {a.dtype}; allowed: numbers or text")


def train(net: Network, data, cfg: TrainConfig, observer: Observer | None = None,
          checkpoint: Path | None = None, resume: bool = False, progress: bool | Progress | None = True,
          log=None) -> TrainResult:
    """Train `net` on data.x_train; select the epoch with the best validation accuracy.

    ``progress``: a :class:`neurosim.progress.Progress` (a bar on a terminal, plain epoch lines on stderr
    otherwise), True for the active one (or one on stderr), False for none, None for the active one or none.

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
        meta = restore_checkpoint(checkpoint, net, opt, observer, cfg, batches_per_epoch)
        best = meta["best"]
        start_epoch, best_val = meta["epoch"], meta["best_val"]
        result = TrainResult(epochs_run=meta["epoch"], best_epoch=meta["best_epoch"], history=meta["history"],
                             train_seconds=meta["train_seconds"], samples_trained=meta["samples_trained"])
    bar = resolve_progress(progress).epochs(cfg.epochs, batches_per_epoch, start_epoch)
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
                bar.batch(epoch, b + 1, loss_sum / seen, correct / seen, seen / max(time.perf_counter() - t0, 1e-9))
            dt = time.perf_counter() - t0
            result.train_seconds += dt
            result.samples_trained += seen
            val = net.accuracy(data.x_val, data.y_val, cfg.eval_batch) if len(data.x_val) else float("nan")
            rec = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / seen, "train_accuracy_running": correct / seen,
                   "validation_accuracy": val, "seconds": dt, "samples_per_second": seen / dt}
            result.history.append(rec)
            bar.epoch(rec)
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
        bar.close()
    if best is not None:
        net.load_arrays(best)
    return result
