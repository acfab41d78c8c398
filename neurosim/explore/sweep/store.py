"""The results store of a sweep: one record per finished point, keyed by the hash of its resolved configuration.

SQLite (``results.sqlite`` in the sweep folder), WAL journal, ``synchronous=FULL``, one transaction per point:
a record is either wholly there or absent, whatever kills the process (SIGKILL, power loss after the commit
returned), and readers (a second terminal, ``neurosim.sweep`` of a finished sweep) never block the writer. Chosen
over one Parquet file per point because a commit is one atomic operation of the standard library (no pyarrow, no
directory of thousands of small files to list and rename), lookups by hash are indexed, and only the process that
drives the sweep opens it (workers hand their results back to it), so no lock is ever shared across hosts, even
when the sweep folder sits on a filesystem they share.

A record is written only after the point's report folder has been published (renamed into place), so a record
always points at a complete report; a report published by a process killed before its commit is adopted by the
next run (:func:`neurosim.explore.sweep.run` checks the summary's configuration hash).
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

__all__ = ["Record", "Store", "STORE_FILE"]

STORE_FILE = "results.sqlite"
_SCHEMA = """CREATE TABLE IF NOT EXISTS points (
    hash TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    folder TEXT NOT NULL,
    summary TEXT NOT NULL,
    seconds REAL,
    worker TEXT,
    session TEXT,
    finished_at REAL NOT NULL
)"""


@dataclass(frozen=True)
class Record:
    """A finished point: its hash, training group, report folder (relative to the sweep folder) and summary."""

    hash: str
    group: str
    folder: str
    summary: dict[str, Any]
    seconds: float | None = None
    worker: str | None = None
    session: str | None = None
    finished_at: float = 0.0


class Store:
    """The sweep's SQLite store (see the module docstring); use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise ValueError(f"{self.path}: not a sweep results store ({e}); move it away or choose another --out") \
                from None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def put(self, rec: Record) -> None:
        """Write one finished point, in one transaction (replacing an earlier record of the same hash)."""
        row = (rec.hash, rec.group, rec.folder, json.dumps(rec.summary), rec.seconds, rec.worker, rec.session,
               rec.finished_at or time.time())
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def get(self, h: str) -> Record | None:
        row = self.db.execute("SELECT * FROM points WHERE hash = ?", (h,)).fetchone()
        return _record(row) if row else None

    def hashes(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT hash FROM points")}

    def records(self) -> Iterator[Record]:
        for row in self.db.execute("SELECT * FROM points ORDER BY finished_at"):
            yield _record(row)


def _record(row: tuple) -> Record:
    h, group, folder, summary, seconds, worker, session, finished = row
    return Record(h, group, folder, json.loads(summary), seconds, worker, session, finished)
