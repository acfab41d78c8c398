"""Atomic file writes for every output (reports, checkpoints, models): write a hidden temporary file beside the target,
then rename it over the target, so a file is either the old one or the new one, never half-written; an interrupted
write removes its temporary file (a killed process can leave one, named ``.<name>.<random>.tmp``, which the next
run into the folder removes: :func:`remove_stale_temporaries`)."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

__all__ = ["atomic_open", "remove_stale_temporaries", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".tmp"


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kw) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``, on any error (or an
    interrupt) it is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Remove the temporary files a killed write left in ``folder``; returns their names."""
    gone = []
    if folder.is_dir():
        for f in folder.iterdir():
            if f.is_file() and f.name.startswith(".") and f.name.endswith(TEMP_SUFFIX):
                f.unlink(missing_ok=True)
                gone.append(f.name)
    return gone
