"""Report folders: never clobbered, always whole.

- :func:`claim` checks a folder before a run writes anything: absent, empty, a checkpoint to resume (``resume``),
  or, with ``force``, an earlier neurosim report that is removed first. Anything else is refused with a message
  naming the folder and what it holds; a folder with files that are not a neurosim report is never removed.
- :func:`publish` writes a report as a unit: into a hidden sibling folder ``.<name>.incoming``, then, once every
  file is written, it takes the folder's checkpoint with it and is renamed to the folder. An interrupted run leaves
  the folder as it was (its checkpoint, or nothing); a killed one may leave the hidden folder, which the next
  :func:`claim` of the folder finishes (a complete report) or removes (an incomplete one).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from ..fileio import remove_stale_temporaries
from ..report.plots import all_figure_names

__all__ = ["OutputError", "REPORT_FILES", "claim", "publish", "incoming", "holds_report"]

REPORT_FILES = ("summary.json", "layers.csv", "footprint.csv", "counts.csv", "model.npz", "report.html", "checkpoint.npz",
                *all_figure_names())
_KEEP = ("checkpoint.npz",)


class OutputError(ValueError):
    """A report folder that a run may not write into; the message names it and says what to do."""


def incoming(out: Path) -> Path:
    """The hidden folder a report of ``out`` is written into before it becomes ``out``."""
    return out.parent / f".{out.name}.incoming"


def holds_report(out: Path) -> bool:
    return out.is_dir() and any((out / f).exists() for f in REPORT_FILES)


def _entries(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


def _recover(out: Path) -> None:
    """Finish or drop a report a killed run left in the hidden folder."""
    tmp = incoming(out)
    if not tmp.exists():
        return
    complete = (tmp / "summary.json").exists()
    if complete and (not out.exists() or set(_entries(out)) <= set(_KEEP)):
        _swap(tmp, out)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_place(out: Path) -> None:
    """A report folder replaces itself when it is published: never the current folder or one above it, and
    never under a file."""
    resolved, cwd = out.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(f"{out}: is the current folder or one above it, which a report would replace; use a "
                          f"subfolder, e.g. --out {Path(out) / 'run'}")
    for a in (resolved, *resolved.parents):
        if a.exists():
            if not a.is_dir():
                raise OutputError(f"{out}: {a} is a file, not a folder; choose another --out")
            break


def claim(out: Path, force: bool = False, resume: bool = False, resumable: bool = True) -> None:
    """Check that a run may write into ``out`` (see the module docstring); with ``force`` remove an earlier report.
    ``resumable``: the run has a checkpoint to resume (training), so the refusal may suggest --resume."""
    out = Path(out)
    _check_place(out)
    _recover(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputError(f"{out}: is a file, not a report folder; choose another --out")
    remove_stale_temporaries(out)
    names = _entries(out)
    if not names:
        return
    foreign = [n for n in names if n not in REPORT_FILES]
    if resume:
        if foreign:
            raise OutputError(f"{out}: holds files that are not a neurosim report ({', '.join(foreign[:5])}); "
                              f"--resume needs the folder of a run")
        return
    if foreign:
        raise OutputError(f"{out}: holds files that are not a neurosim report ({', '.join(foreign[:5])}); choose "
                          f"another --out (neurosim never removes them)")
    if not force:
        resume_hint = ", --resume to continue its checkpoint" if resumable else ""
        raise OutputError(f"{out}: holds the report of another run ({', '.join(names[:5])}); pass --force to "
                          f"replace it{resume_hint}, or choose another --out")
    for n in names:
        (out / n).unlink()


def _swap(tmp: Path, out: Path) -> None:
    """Move the kept files of ``out`` into ``tmp``, then make ``tmp`` the folder ``out``."""
    if out.exists():
        for n in _KEEP:
            if (out / n).exists():
                os.replace(out / n, tmp / n)
        for n in _entries(out):  # an earlier report of a resumed run: replaced by the new one
            if n in REPORT_FILES:
                (out / n).unlink()
        out.rmdir()
    os.rename(tmp, out)


def publish(out: Path, write: Callable[[Path], None]) -> None:
    """Write a report as a unit: ``write(folder)`` fills a hidden folder, which then becomes ``out``."""
    out = Path(out)
    tmp = incoming(out)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(tmp, out)
