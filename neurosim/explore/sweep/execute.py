"""Running a sweep's tasks: in this process (``workers=0``, for debugging), on a Dask ``LocalCluster`` of worker
processes (one thread each), or on an existing Dask cluster (``scheduler=ADDRESS``).

A task is one training with its architectures, or one inference simulation (:mod:`.plan`). Workers write the
points' report folders under the sweep folder and hand back each point's summary; only the driver writes the
store (:mod:`.store`), one transaction per point, as results arrive. A worker that dies mid-task (SIGKILL, out of
memory) is replaced by its nanny and the task runs again elsewhere (``allowed-failures``); a task that raises is
retried (``retries``). Numbers are deterministic per configuration: every task runs with one BLAS thread
(threadpoolctl; the local cluster's workers also start with ``OMP/OPENBLAS/MKL/NUMBA`` threads pinned to 1), so a
point gives the same numbers in this process, on a local worker or on another host. Each worker warms numba's
caches once, at start, with a tiny training and simulation (:class:`WarmUp`).
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

from ...pipeline.config import config_hash
from .plan import Point, Task, resolve_inference, resolve_training

__all__ = ["PINNED_ENV", "run_task", "execute", "WarmUp", "warm_up", "ensure_warm", "local_cluster", "tasks_left"]

# thread settings of every worker process: one thread per worker, so N workers use N cores without oversubscription
PINNED_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "NEUROSIM_NUMBA_THREADS": "1", "MALLOC_TRIM_THRESHOLD_": "0"}
_WARM_SETS = ("workload.network=64-16-10", "workload.dataset.train=[0, 100]", "workload.dataset.validation=[100, 150]",
              "workload.dataset.test=[150, 200]", "workload.train.epochs=1")


# ---------------------------------------------------------------------------------------------- on a worker
def run_task(task: Task, out: str, data_dir: str | None = None, plots: bool = False) -> list[dict[str, Any]]:
    """Run one task (on a worker or in process): each point's report folder under ``out`` (``plots``: with the
    per-layer PNG plots of a training's points); returns one result per point (hash, group, folder, summary as
    written, seconds, worker)."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        if task.kind == "train":
            done = _train(task, Path(out), data_dir, plots)
        else:
            done = [_simulate(task.points[0], Path(out), data_dir)]
    seconds = time.perf_counter() - t0
    where = f"{socket.gethostname()}:{os.getpid()}"
    return [{"hash": pt.hash, "group": pt.group, "folder": pt.folder, "summary": s, "seconds": seconds,
             "worker": where} for pt, s in done]


def _check(pt: Point, config: dict[str, Any]) -> None:
    """The point resolves here to the configuration it was planned with."""
    h = config_hash(config)
    if h != pt.hash:
        raise ValueError(f"point {pt.index} ({pt.describe()}): resolves to configuration {h} here but {pt.hash} "
                         f"where the sweep was planned (a workload or architecture file differs between the hosts)")


def _summary(folder: Path) -> dict[str, Any]:
    """A published report's summary, as written."""
    return json.loads((folder / "summary.json").read_text())


def _train(task: Task, out: Path, data_dir: str | None, plots: bool) -> list[tuple[Point, dict[str, Any]]]:
    """One training, watched by every architecture of the task, one report folder per point."""
    from ...pipeline.hardware import HardwareRun
    from ...pipeline.training import train_and_report

    p, resolved = resolve_training(task.points, data_dir)
    for pt, _, config in resolved:
        _check(pt, config)
    folders = [out / pt.folder for pt in task.points]
    (_, arch0, _), rest = resolved[0], resolved[1:]
    hw0 = HardwareRun(arch0, p) if arch0 is not None else None
    more = [(HardwareRun(a, p), out / pt.folder) for pt, a, _ in rest]
    train_and_report(p, folders[0], progress=False, hardware=hw0, force=True, more_hardware=more, plots=plots)
    return [(pt, _summary(f)) for pt, f in zip(task.points, folders)]


def _simulate(pt: Point, out: Path, data_dir: str | None) -> tuple[Point, dict[str, Any]]:
    """Inference of the point's saved model on its architecture."""
    from ...pipeline.hardware import HardwareRun
    from ...pipeline.inference import evaluate_and_report

    p, a, config, notes = resolve_inference(pt, data_dir)
    _check(pt, config)
    folder = out / pt.folder
    evaluate_and_report(p, HardwareRun(a, p), folder, pt.split, force=True,
                        notes=dict(notes, config_hash=pt.hash, config=config))
    return pt, _summary(folder)


def warm_up() -> float:
    """Compile (or load from numba's cache) every kernel a training and a simulation use: a tiny training of the
    digits MLP on the gxnor architecture in a temporary folder; returns the seconds it took."""
    from threadpoolctl import threadpool_limits

    from ...pipeline.runs import train_run
    from ...pipeline.prepare import Overrides
    from ...schema.overrides import parse_sets

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="neurosim-warm-") as tmp, threadpool_limits(limits=1, user_api="blas"):
        train_run("digits_mlp", Overrides(sets=parse_sets(_WARM_SETS)), out=Path(tmp) / "r", arch="gxnor")
    return time.perf_counter() - t0


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - dask[distributed] is a dependency
    WorkerPlugin = object  # type: ignore[misc,assignment]


class WarmUp(WorkerPlugin):  # type: ignore[misc]
    """Worker plugin: warm numba's caches once per worker process, when it starts (a replacement worker too)."""

    name = "neurosim-warm-up"

    def setup(self, worker) -> None:
        warm_up()


# ---------------------------------------------------------------------------------------------- the driver
def execute(tasks: list[Task], out: Path, on_result: Callable[[dict[str, Any]], None],
            on_failure: Callable[[Task, BaseException], None], workers: int | None = None,
            scheduler: str | None = None, client: Any = None, retries: int = 2, data_dir: str | None = None,
            log: Callable[[str], None] | None = None, plots: bool = False) -> None:
    """Run ``tasks``, calling ``on_result`` for every finished point (in the driver, as results arrive) and
    ``on_failure`` for a task that failed after its retries."""
    log = log or (lambda s: None)
    if client is None and scheduler is None and workers == 0:
        for t in tasks:
            try:
                results = run_task(t, str(out), data_dir, plots)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as e:  # noqa: BLE001 - reported per task, the sweep goes on
                on_failure(t, e)
                continue
            for r in results:
                on_result(r)
        return
    if client is not None:
        _run_on(client, tasks, out, on_result, on_failure, retries, data_dir, plots)
        return
    from distributed import Client

    if scheduler is not None:
        with Client(scheduler) as c:
            log(f"cluster: {scheduler} ({len(c.scheduler_info().get('workers', {}))} workers)")
            _run_on(c, tasks, out, on_result, on_failure, retries, data_dir, plots)
        return
    n = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    with local_cluster(n, retries) as c:
        log(f"cluster: local, {n} worker processes, 1 thread each")
        _run_on(c, tasks, out, on_result, on_failure, retries, data_dir, plots)


class local_cluster:
    """A LocalCluster of ``n`` worker processes (1 thread each, threads pinned, numba warmed) and its Client."""

    def __init__(self, n: int, retries: int = 2):
        self.n, self.retries = n, retries

    def __enter__(self):
        import logging

        import dask
        from distributed import Client, LocalCluster

        # spawn, never fork: numba's OpenMP pool must not be forked (neurosim.core.runtime)
        with dask.config.set({"distributed.scheduler.allowed-failures": max(self.retries, 1) + 1,
                              "distributed.worker.multiprocessing-method": "spawn"}):
            self.cluster = LocalCluster(n_workers=self.n, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=logging.ERROR, env=dict(PINNED_ENV))
            self.client = Client(self.cluster)
            ensure_warm(self.client)
        return self.client

    def __exit__(self, *exc) -> None:
        try:
            self.client.close()
        finally:
            self.cluster.close()


def _has_warm_up(dask_worker) -> bool:
    return WarmUp.name in dask_worker.plugins


def ensure_warm(client) -> None:
    """Register the warm-up plugin on a cluster whose workers lack it (each worker warms once, new ones at start)."""
    have = client.run(_has_warm_up)
    if not have or not all(have.values()):
        client.register_plugin(WarmUp())


def _run_on(client, tasks: list[Task], out: Path, on_result, on_failure, retries: int,
            data_dir: str | None, plots: bool = False) -> None:
    """Submit every task to ``client`` and hand results over as they complete."""
    from distributed import as_completed

    ensure_warm(client)
    token = uuid.uuid4().hex[:8]  # a sweep run's own keys: never a finished future of an earlier run on the cluster
    futures = {}
    for t in sorted(tasks, key=lambda t: -len(t.points)):  # the longest (most architectures) first
        f = client.submit(run_task, t, str(out), data_dir, plots, key=f"{t.key}-{token}", retries=retries,
                          pure=False)
        futures[f] = t
    try:
        for f in as_completed(list(futures)):
            t = futures[f]
            if f.status == "finished":
                for r in f.result():
                    on_result(r)
            else:
                on_failure(t, f.exception() or RuntimeError(f"task {t.key} {f.status}"))
    except BaseException:
        client.cancel(list(futures), force=True)
        raise


def tasks_left(tasks: Iterable[Task], finished: set[str]) -> list[Task]:
    """The tasks with their finished points removed (a training whose architectures are all done is dropped)."""
    out = []
    for t in tasks:
        pts = tuple(p for p in t.points if p.hash not in finished)
        if pts:
            out.append(Task(t.kind, t.group, pts))
    return out
