"""Progress of long commands, one reporter for training, reproductions and sweeps.

On a terminal a :class:`Progress` draws a tqdm bar; anywhere else (a pipe, a file, nohup, CI) it writes plain
lines to stderr: one per epoch (``epoch 3/20  loss 0.412  val acc 95.1%  1,234 samples/s  ETA 0:01:10``), one
every ``interval`` seconds inside a long epoch, and one per run started and finished; ``quiet`` silences it all.
Progress never goes to stdout, which carries the tables and reports commands print.

The CLI makes one reporter the *current* one (:func:`activate`) for the whole command; library code asks for it
with :func:`current` (a silent reporter when none is active, so the library prints nothing of its own accord) and
labels its part with :meth:`Progress.child`. This module imports nothing of neurosim: core and hw may both use it.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from typing import IO, Any, Iterator, Mapping

__all__ = ["Progress", "EpochProgress", "SILENT", "activate", "current", "resolve", "format_duration",
           "INTERVAL_ENV"]

INTERVAL_ENV = "NEUROSIM_PROGRESS_SECONDS"  # seconds between plain lines inside one epoch (default 30)


def format_duration(seconds: float) -> str:
    """``70.4`` -> ``0:01:10``; ``?`` for a duration not known (NaN, infinite, negative)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _default_interval() -> float:
    raw = os.environ.get(INTERVAL_ENV, "")
    try:
        v = float(raw)
    except ValueError:
        return 30.0
    return v if math.isfinite(v) and v > 0 else 30.0


@dataclass(frozen=True)
class Progress:
    """Where progress goes: ``stream`` (default: stderr at the time of writing), as a bar when ``bar`` (default:
    when the stream is a terminal), as nothing when ``quiet``; ``prefix`` labels every line (``seed 1: ...``)."""

    quiet: bool = False
    stream: IO[str] | None = None
    bar: bool | None = None
    interval: float = field(default_factory=_default_interval)
    prefix: str = ""

    # ------------------------------------------------------------------ basics
    @property
    def out(self) -> IO[str]:
        """The stream written to (stderr unless another was given)."""
        return self.stream if self.stream is not None else sys.stderr

    @property
    def draws_bar(self) -> bool:
        """Whether epochs are drawn as a tqdm bar (a terminal) rather than as plain lines."""
        if self.bar is not None:
            return self.bar
        try:
            return bool(self.out.isatty())
        except (AttributeError, ValueError):
            return False

    def child(self, label: str) -> "Progress":
        """The same reporter with ``label`` added to the prefix of its lines."""
        return replace(self, prefix=f"{self.prefix}{label}: " if label else self.prefix)

    def line(self, text: str) -> None:
        """One plain line (on a terminal above any bar); nothing when quiet."""
        if self.quiet:
            return
        msg = f"{self.prefix}{text}"
        if self.draws_bar:
            from tqdm import tqdm

            tqdm.write(msg, file=self.out)
        else:
            print(msg, file=self.out, flush=True)

    # ------------------------------------------------------------------ runs and epochs
    @contextlib.contextmanager
    def run(self, what: str, index: int | None = None, total: int | None = None) -> Iterator["_Run"]:
        """Lines ``run i/n WHAT: started`` and ``... finished in 0:00:12 (RESULT)`` around one run of a
        reproduction; the body may set the result text with ``r.result = ...``. A run that fails says so."""
        count = f"run {index}/{total} " if index is not None and total is not None else ""
        r = _Run()
        self.line(f"{count}{what}: started")
        t0 = time.perf_counter()
        try:
            yield r
        except BaseException as e:
            self.line(f"{count}{what}: stopped after {format_duration(time.perf_counter() - t0)} "
                      f"({type(e).__name__})")
            raise
        tail = f" ({r.result})" if r.result else ""
        self.line(f"{count}{what}: finished in {format_duration(time.perf_counter() - t0)}{tail}")

    def epochs(self, epochs: int, batches_per_epoch: int, start_epoch: int = 0) -> "EpochProgress":
        """The progress of a training loop of ``epochs`` epochs (resumed at ``start_epoch``)."""
        return EpochProgress(self, epochs, batches_per_epoch, start_epoch)


@dataclass
class _Run:
    result: str = ""


SILENT = Progress(quiet=True)
_ACTIVE: list[Progress] = []


@contextlib.contextmanager
def activate(progress: Progress) -> Iterator[Progress]:
    """Make ``progress`` the reporter :func:`current` returns while the block runs."""
    _ACTIVE.append(progress)
    try:
        yield progress
    finally:
        _ACTIVE.pop()


def current() -> Progress:
    """The active reporter (set by the CLI), or a silent one."""
    return _ACTIVE[-1] if _ACTIVE else SILENT


def resolve(progress: "bool | Progress | None") -> Progress:
    """A reporter from a ``progress=`` argument: a Progress as given; True: the active one, else a reporter on
    stderr; False: silent; None: the active one (silent if none)."""
    if isinstance(progress, Progress):
        return progress
    if progress is None:
        return current()
    if not progress:
        return SILENT
    return current() if _ACTIVE else Progress()


class EpochProgress:
    """Progress of one training loop: :meth:`batch` after every batch, :meth:`epoch` after every epoch, then
    :meth:`close`. A bar on a terminal; plain lines (per epoch, and every ``interval`` s inside one) otherwise."""

    def __init__(self, owner: Progress, epochs: int, batches_per_epoch: int, start_epoch: int = 0) -> None:
        self.owner = owner
        self.epochs = epochs
        self.batches = batches_per_epoch
        self.start_epoch = start_epoch
        self.t0 = time.perf_counter()
        self.last_line = self.t0
        self.bar: Any = None
        if not owner.quiet and owner.draws_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=epochs * batches_per_epoch, initial=start_epoch * batches_per_epoch, unit="batch",
                            dynamic_ncols=True, leave=True, file=owner.out, desc=owner.prefix.rstrip(": ") or None)

    def _eta(self, epoch: int, batch: int) -> float:
        """Seconds left, from the pace of this loop so far (``batch`` batches of epoch ``epoch`` (0-based) done)."""
        done = (epoch - self.start_epoch) * self.batches + batch
        left = (self.epochs - epoch) * self.batches - batch
        elapsed = time.perf_counter() - self.t0
        return elapsed / done * left if done > 0 else float("nan")

    def batch(self, epoch: int, batch: int, loss: float, accuracy: float, samples_per_second: float) -> None:
        """Batch ``batch`` (1-based) of epoch ``epoch`` (0-based) is done; running loss and accuracy of the epoch."""
        if self.owner.quiet:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"epoch {epoch + 1}/{self.epochs} loss {loss:.4f} acc {accuracy:.3f} "
                                     f"{samples_per_second:.0f} samples/s", refresh=False)
            self.bar.update(1)
            return
        now = time.perf_counter()
        if now - self.last_line >= self.owner.interval and batch < self.batches:
            self.last_line = now
            self.owner.line(f"epoch {epoch + 1}/{self.epochs}  batch {batch}/{self.batches}  loss {loss:.3f}  "
                            f"acc {100 * accuracy:.1f}%  {samples_per_second:,.0f} samples/s  "
                            f"ETA {format_duration(self._eta(epoch, batch))}")

    def epoch(self, rec: Mapping[str, Any]) -> None:
        """An epoch's record (``epoch`` 1-based, ``loss``, ``validation_accuracy``, ``samples_per_second``)."""
        if self.owner.quiet or self.bar is not None:
            return
        self.last_line = time.perf_counter()
        val = rec.get("validation_accuracy", float("nan"))
        val_text = f"val acc {100 * val:.1f}%" if isinstance(val, (int, float)) and math.isfinite(val) else \
            f"train acc {100 * rec.get('train_accuracy_running', float('nan')):.1f}%"
        self.owner.line(f"epoch {rec['epoch']}/{self.epochs}  loss {rec['loss']:.3f}  {val_text}  "
                        f"{rec.get('samples_per_second', float('nan')):,.0f} samples/s  "
                        f"ETA {format_duration(self._eta(rec['epoch'], 0))}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
