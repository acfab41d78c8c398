"""Planning a sweep: the axes expanded into points, each point resolved and hashed, and the points grouped into
tasks. Points that share a training configuration (everything but the architecture: the resolved workload and the
devices the weights train on) share ONE training with one hardware observer per architecture, so an
architecture-only axis costs a simulation, not a training; a sweep over a saved model is inference only, one task
per point.

Resolution is the pipeline's own (``prepare``, ``load_arch`` with the point's ``--set`` overrides, and the run's
resolved configuration), so every point is validated before anything runs, and its hash is the one its report's
summary.json carries. A worker resolves its task again and checks it gets the same hashes.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ...hw.arch import Architecture, load_arch
from ...pipeline.config import config_hash
from ...pipeline.prepare import Overrides, Prepared, prepare
from ...pipeline.runs import DEFAULT_WORKLOAD, device_spec, prepare_model
from ...pipeline.training import resolved_config
from ...schema.overrides import Override, make_override, split_targets
from ...schema.sweep import FILE_KEYS, Sweep, SweepError

__all__ = ["Point", "Task", "Plan", "expand", "plan_sweep", "resolve_training", "resolve_inference", "point_folder"]

POINTS_DIR = "points"


@dataclass(frozen=True)
class Point:
    """One design point: the axes' values, the files and overrides that make it, and its configuration hash."""

    index: int
    values: dict[str, Any]
    workload: str | None
    arch: str | None
    model: str | None
    split: str
    sets: tuple[Override, ...]
    hash: str = ""
    group: str = ""  # hash of the training configuration it shares ("" for inference)

    @property
    def folder(self) -> str:
        """The point's report folder, relative to the sweep folder."""
        return point_folder(self.hash)

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items()) or "the base"


@dataclass(frozen=True)
class Task:
    """One unit of work for a worker: a training with its architectures, or one inference simulation."""

    kind: str  # train | simulate
    group: str
    points: tuple[Point, ...]

    @property
    def key(self) -> str:
        return f"neurosim-{self.kind}-{self.group}-" + "-".join(p.hash for p in self.points)[:64]


@dataclass
class Plan:
    """Every expanded point (one per row of sweep.csv, duplicates included) and the tasks of the distinct ones."""

    rows: list[Point]
    tasks: list[Task]

    @property
    def points(self) -> dict[str, Point]:
        """The distinct points by hash."""
        return {p.hash: p for t in self.tasks for p in t.points}


def point_folder(h: str) -> str:
    return f"{POINTS_DIR}/{h}"


# ---------------------------------------------------------------------------------------------- expansion
def expand(sweep: Sweep) -> list[dict[str, Any]]:
    """The axes' values of every point: the cartesian product of the axes (in file order, the last fastest)."""
    if not sweep.axes:
        return [{}]
    return [dict(itertools.chain.from_iterable(s.items() for s in combo))
            for combo in itertools.product(*(a.steps for a in sweep.axes))]


def _file(sweep: Sweep, value: str | None) -> str | None:
    """A file named in the sweep: relative to the sweep file's folder if it is there (made absolute), else as given
    (a shipped name, or a path relative to the current folder)."""
    if value is None:
        return None
    cand = sweep.folder / value
    return str(cand.resolve()) if cand.is_file() else value


def _point(sweep: Sweep, i: int, values: dict[str, Any]) -> Point:
    files = {k: values.get(k, sweep.base.get(k)) for k in FILE_KEYS}
    sets = list(sweep.sets) + [make_override(k, v) for k, v in values.items() if k not in FILE_KEYS]
    return Point(index=i, values=values, workload=_file(sweep, files["workload"]), arch=_file(sweep, files["arch"]),
                 model=_file(sweep, files["model"]), split=sweep.base.get("split", "test"), sets=tuple(sets))


# ---------------------------------------------------------------------------------------------- resolution
def resolve_training(points: Sequence[Point], data_dir: str | None
                     ) -> tuple[Prepared, list[tuple[Point, Architecture | None, dict[str, Any]]]]:
    """The prepared training these points share (the first point's workload and devices) and each point's
    architecture and resolved configuration."""
    first = points[0]
    archs = [_arch(p) for p in points]
    w_sets = split_targets(first.sets)[0]
    p = prepare(first.workload or DEFAULT_WORKLOAD, Overrides(sets=w_sets), data_dir,
                device=device_spec(archs[0]))
    return p, [(pt, a, resolved_config(p, a)) for pt, a in zip(points, archs)]


def resolve_inference(point: Point, data_dir: str | None
                      ) -> tuple[Prepared, Architecture, dict[str, Any], dict[str, Any]]:
    """The prepared model of an inference point, its architecture, resolved configuration and summary notes."""
    a = _arch(point)
    if a is None:
        raise SweepError("a sweep over a saved model needs an architecture (base.arch, or an arch axis)")
    w_sets = split_targets(point.sets)[0]
    p, notes = prepare_model(Path(point.model), point.workload, data_dir, a, False, w_sets)
    config = resolved_config(p, a)
    config["inference"] = {"model_sha256": _sha(Path(point.model)), "split": point.split}
    return p, a, config, notes


def _arch(point: Point) -> Architecture | None:
    a_sets = split_targets(point.sets)[1]
    if point.arch is None:
        if a_sets:
            raise ValueError(f"{a_sets[0].flag}: the point has no architecture (set base.arch or an arch axis)")
        return None
    return load_arch(point.arch, a_sets)


def _sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError as e:
        raise ValueError(f"{path}: cannot read the model: {e.strerror or e}") from None


def _training_key(point: Point) -> str:
    """What decides a point's training before it is prepared: its workload, workload overrides and devices."""
    a = _arch(point)
    spec = device_spec(a)
    w_sets = split_targets(point.sets)[0]
    return json.dumps([point.workload, sorted((o.key, repr(o.value)) for o in w_sets), repr(spec)])


# ---------------------------------------------------------------------------------------------- planning
def plan_sweep(sweep: Sweep, data_dir: str | None = None, log: Callable[[str], None] | None = None) -> Plan:
    """Expand, resolve and group every point; a point that does not validate is an error naming it."""
    rows = [_point(sweep, i, v) for i, v in enumerate(expand(sweep))]
    resolved: list[Point] = []
    if sweep.inference:
        for pt in rows:
            _, _, config, _ = _named(sweep, pt, lambda: resolve_inference(pt, data_dir))
            resolved.append(_with(pt, config_hash(config), ""))
        tasks = _unique_tasks("simulate", resolved)
        return Plan(resolved, tasks)
    by_key: dict[str, list[Point]] = {}
    for pt in rows:
        by_key.setdefault(_named(sweep, pt, lambda: _training_key(pt)), []).append(pt)
    for pts in by_key.values():
        p, configs = _named(sweep, pts[0], lambda: resolve_training(pts, data_dir))
        for pt, _, c in configs:
            resolved.append(_with(pt, config_hash(c), config_hash({"workload": c["workload"], "device": c["device"]})))
        del p
    resolved.sort(key=lambda pt: pt.index)
    groups: dict[str, list[Point]] = {}
    for pt in _distinct(resolved):
        groups.setdefault(pt.group, []).append(pt)
    tasks = [Task("train", g, tuple(sorted(pts, key=lambda q: q.arch is not None))) for g, pts in groups.items()]
    return Plan(resolved, tasks)


def _named(sweep: Sweep, pt: Point, f: Callable[[], Any]) -> Any:
    """``f()``, its error naming the sweep file and the point."""
    try:
        return f()
    except ValueError as e:
        raise SweepError(f"{sweep.source}: point {pt.index} ({pt.describe()}): {e}") from None


def _with(pt: Point, h: str, group: str) -> Point:
    return Point(pt.index, pt.values, pt.workload, pt.arch, pt.model, pt.split, pt.sets, h, group)


def _distinct(points: list[Point]) -> list[Point]:
    seen: dict[str, Point] = {}
    for pt in points:
        seen.setdefault(pt.hash, pt)
    return list(seen.values())


def _unique_tasks(kind: str, points: list[Point]) -> list[Task]:
    return [Task(kind, pt.hash, (pt,)) for pt in _distinct(points)]
