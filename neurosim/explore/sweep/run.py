"""``neurosim sweep FILE --out DIR`` and :func:`neurosim.sweep`: plan the points, skip the finished ones, run the
rest (in process or on Dask), record each as it finishes, then write sweep.csv, the Pareto fronts and their plots.

The sweep folder::

    DIR/sweep.json       the sweep as resolved (base, overrides, axes, metrics, objectives)
    DIR/plan.json        every point: its axes' values, configuration hash, training group, report folder
    DIR/results.sqlite   the store: one record per finished point (:mod:`.store`)
    DIR/points/<hash>/   each point's report (summary.json, layers.csv, counts.csv, model.npz, plots, report.html)
    DIR/sweep.csv        one row per point: the axes' values, the metrics, the hash, the status, the report folder
    DIR/pareto*.csv/png/svg   the Pareto front of the objectives, and per pair of objectives
"""
from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ...fileio import atomic_open
from ...pipeline.outputs import OutputError
from ...pipeline.prepare import REPORTS_DIR
from ...schema.overrides import Override, make_override, parse_sets
from ...schema.sweep import Sweep, load_sweep, sweep_from_dict
from .execute import execute, tasks_left
from .plan import Point, Task, plan_sweep
from .report import frame, missing_metrics, table_lines, write_outputs
from .store import STORE_FILE, Record, Store

__all__ = ["run_sweep", "sweep_sets", "SWEEP_FILES"]

SWEEP_FILES = ("sweep.json", "plan.json", STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", "points", "sweep.csv")


def sweep_sets(sets: Iterable[str] | Mapping[str, Any] | None) -> tuple[Override, ...]:
    """``--set`` overrides from ``KEY=VALUE`` strings, Override objects or a mapping of key -> value."""
    if sets is None:
        return ()
    if isinstance(sets, Mapping):
        return tuple(make_override(k, v) for k, v in sets.items())
    items = list(sets)
    if all(isinstance(s, Override) for s in items):
        return tuple(items)
    return parse_sets(str(s) for s in items)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_sweep(spec: str | Path | Mapping[str, Any], out: str | Path | None = None, workers: int | None = None,
              scheduler: str | None = None, client: Any = None, sets: Any = None, data: str | Path | None = None,
              retries: int = 2, log: Callable[[str], None] | None = _stderr, table: bool = True, plots: bool = False):
    """Run a sweep (a sweep file, or its mapping) and return its points as a pandas DataFrame.

    ``out``: the sweep folder (default ``reports/sweeps/<name>``); finished points found there are not run again.
    ``workers``: local worker processes (default: one per core; 0 runs in this process); ``scheduler``: the
    address of a running Dask scheduler; ``client``: a ``distributed.Client`` to use. ``sets``: ``--set``
    overrides of the base. ``plots``: each training point's report with its per-layer PNG plots (off: a sweep's
    points are many, and the plots cost more than simulating a small network). Failed points have status
    ``failed`` (their errors in ``df.attrs['failures']``)."""
    log = log or (lambda s: None)
    ovs = sweep_sets(sets)
    sweep = load_sweep(spec, ovs) if isinstance(spec, (str, Path)) else sweep_from_dict(dict(spec), "<sweep>", ovs)
    out = Path(out) if out is not None else REPORTS_DIR / "sweeps" / sweep.name
    _claim(out)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"--workers: must be an integer >= 0, got {workers!r}")
    if retries < 0:
        raise ValueError(f"--retries: must be an integer >= 0, got {retries!r}")
    data_dir = None if data is None else str(data)
    t0 = time.perf_counter()
    plan = plan_sweep(sweep, data_dir)
    points = plan.points
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "sweep.json", _sweep_doc(sweep))
    _write_json(out / "plan.json", [_point_doc(p) for p in plan.rows])
    session = uuid.uuid4().hex[:12]
    failures: dict[str, str] = {}
    with Store(out / STORE_FILE) as store:
        finished = _finished(store, out, points)
        todo = tasks_left(plan.tasks, finished)
        trainings = sum(t.kind == "train" for t in todo)
        log(f"{sweep.name}: {len(plan.rows)} points ({len(points)} distinct), {len(finished & set(points))} "
            f"finished earlier; to run: {trainings} trainings, {sum(len(t.points) for t in todo)} points "
            f"(planned in {time.perf_counter() - t0:.1f} s)")
        left = sum(len(t.points) for t in todo)
        count = [0]

        def on_result(r: dict[str, Any]) -> None:
            store.put(Record(r["hash"], r["group"], r["folder"], r["summary"], r["seconds"], r["worker"], session,
                             time.time()))
            count[0] += 1
            shown = ", ".join(f"{m}={_short(r['summary'], m)}" for m in sweep.metrics[:4])
            log(f"[{count[0]}/{left}] {r['hash']} {points[r['hash']].describe()}: {shown}")

        def on_failure(t: Task, e: BaseException) -> None:
            msg = f"{type(e).__name__}: {e}" if not isinstance(e, ValueError) else str(e)
            for p in t.points:
                failures[p.hash] = msg
            log(f"failed: {', '.join(p.hash for p in t.points)} ({t.points[0].describe()}): {msg}")

        execute(todo, out, on_result, on_failure, workers=workers, scheduler=scheduler, client=client,
                retries=retries, data_dir=data_dir, log=log, plots=plots)
        records = {r.hash: r for r in store.records() if r.hash in points}
    df = frame(plan.rows, records, sweep.metrics, failures)
    write_outputs(df, out, sweep.objectives, title=sweep.name)
    df.attrs["failures"] = failures
    df.attrs["out"] = str(out)
    if table:
        log("\n".join(table_lines(df)))
    for m in missing_metrics(df, sweep.metrics):
        log(f"warning: metric {m!r} is in no finished point's summary.json (a dotted path, e.g. accuracy.test)")
    log(f"{sweep.name}: {int((df['status'] == 'finished').sum())} of {len(df)} points finished in "
        f"{time.perf_counter() - t0:.1f} s; sweep.csv in {out}")
    return df


def _short(summary: dict[str, Any], metric: str) -> str:
    from .report import _fmt, metric_value

    return _fmt(metric_value(summary, metric))


def _claim(out: Path) -> None:
    """A sweep folder is absent, empty, or a sweep's own (anything else is never written into)."""
    resolved, cwd = out.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(f"{out}: is the current folder or one above it; give the sweep its own folder, e.g. "
                          f"--out {out / 'sweep'}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file, not a sweep folder; choose another --out")
    if not out.exists():
        return
    names = sorted(p.name for p in out.iterdir())
    if names and STORE_FILE not in names and "plan.json" not in names:
        raise OutputError(f"{out}: holds files that are not a sweep's ({', '.join(names[:5])}); choose another --out "
                          f"(neurosim never writes into it)")


def _finished(store: Store, out: Path, points: dict[str, Point]) -> set[str]:
    """Points with a record and their report; a report published by a run killed before its commit is adopted."""
    done = set()
    have = store.hashes()
    for h, pt in points.items():
        summary = out / pt.folder / "summary.json"
        if h in have and summary.is_file():
            done.add(h)
        elif summary.is_file():
            try:
                s = json.loads(summary.read_text())
            except ValueError:
                continue
            if s.get("config_hash") == h:
                store.put(Record(h, pt.group, pt.folder, s, None, None, "adopted", time.time()))
                done.add(h)
    return done


def _write_json(path: Path, obj: Any) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(json.dumps(obj, indent=2, default=str) + "\n")


def _sweep_doc(s: Sweep) -> dict[str, Any]:
    return {"name": s.name, "source": s.source, "description": s.description, "base": s.base,
            "set": {o.key: o.value for o in s.sets},
            "axes": [{"kind": a.kind, "keys": list(a.keys), "points": len(a.steps), "where": a.where} for a in s.axes],
            "metrics": s.metrics, "objectives": [{"metric": o.metric, "goal": o.goal} for o in s.objectives]}


def _point_doc(p: Point) -> dict[str, Any]:
    return {"point": p.index, "values": p.values, "hash": p.hash, "group": p.group, "folder": p.folder,
            "workload": p.workload, "arch": p.arch, "model": p.model, "set": [o.flag for o in p.sets]}
