"""Sweep files: a base run, the axes that vary it, the metrics to collect and the objectives of the Pareto front.

Read with the project's strict YAML rules (:mod:`neurosim.schema.yaml_io`) and checked like a workload file:
unknown keys are errors, types are exact, every message names the file and the key::

    name: lanes
    base: {workload: digits_mlp, arch: gxnor, set: {workload.train.epochs: 2}}
    axes:
      - grid: {arch.pe_array.lanes: [64, 128, 256, 512]}            # cartesian product of its keys
      - zip: {workload.method: [gxnor, twn], arch: [gxnor, twn]}     # keys in lockstep
      - random: {count: 4, seed: 0, keys: {workload.train.lr_start: {low: 1e-3, high: 1e-1, log: true}}}
      - latin_hypercube: {count: 8, seed: 1, keys: {workload.activation.r: {low: 0.2, high: 0.8},
                                                      workload.dst.m: {choices: [1, 3, 5]}}}
    metrics: [accuracy.test, inference.energy_pj_per_sample, cycles, resting_probability]
    objectives: [{metric: accuracy.test, goal: max}, {metric: inference.energy_pj_per_sample, goal: min}]

The points are the cartesian product of the axes. An axis key is a ``--set`` key (``workload.*``, ``arch.*``,
``seed``; :mod:`neurosim.schema.overrides`) or one of the files of the base: ``workload``, ``arch`` (a name or
path; null: training only) and ``model`` (a saved model.npz: the sweep runs inference only). Metrics are dotted
paths into each point's summary.json.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import describe
from .overrides import Override, OverrideError, make_override
from .yaml_io import read_yaml_mapping

__all__ = ["SweepError", "Sweep", "Axis", "Objective", "SweepFile", "load_sweep", "sweep_from_dict", "FILE_KEYS",
           "AXIS_KINDS", "default_metrics"]

FILE_KEYS = ("workload", "arch", "model")  # axis keys that choose a file of the base instead of a key in one
AXIS_KINDS = ("grid", "zip", "random", "latin_hypercube")
MAX_POINTS = 100_000


class SweepError(ValueError):
    """A bad sweep file; the message names the file, the key and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class BaseFile(_Strict):
    """``base:`` the run every point starts from."""

    workload: str | None = None  # default: digits_mlp; for a model: the model's own (a file here: its data split)
    arch: str | None = None
    model: str | None = None
    split: Literal["test", "validation", "train"] = "test"
    set: dict[str, Any] = Field(default_factory=dict)


class RangeFile(_Strict):
    """One sampled key: a range (``low``, ``high``; ``log``, ``integer``) or ``choices``."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list[Any] | None = Field(None, min_length=1)


class SampleFile(_Strict):
    """``random:`` / ``latin_hypercube:`` seeded samples of ranges and choices."""

    count: int = Field(ge=1, le=MAX_POINTS)
    seed: int = Field(0, ge=0, le=2 ** 63 - 1)
    keys: dict[str, RangeFile] = Field(min_length=1)


class ObjectiveFile(_Strict):
    metric: str = Field(min_length=1)
    goal: Literal["min", "max"]


class SweepFile(_Strict):
    """A sweep file as written."""

    name: str | None = None
    description: str | None = None
    base: BaseFile = Field(default_factory=BaseFile)
    axes: list[Any] = Field(default_factory=list)
    metrics: list[str] | None = None
    objectives: list[ObjectiveFile] = Field(default_factory=list)


@dataclass(frozen=True)
class Axis:
    """One axis: its kind, its keys and the values of its points (one dict of key -> value per step)."""

    kind: str
    keys: tuple[str, ...]
    steps: tuple[dict[str, Any], ...]
    where: str  # e.g. axes[1].grid (for messages)


@dataclass(frozen=True)
class Objective:
    metric: str
    goal: str  # min | max


@dataclass
class Sweep:
    """A validated sweep: the base files and overrides, its axes (expanded), metrics and objectives."""

    name: str
    base: dict[str, Any]  # workload, arch, model, split (the file keys, as given)
    sets: tuple[Override, ...]
    axes: list[Axis]
    metrics: list[str]
    objectives: list[Objective]
    source: str = "<sweep>"
    folder: Path = field(default_factory=Path.cwd)  # relative file names are looked up here first
    description: str = ""

    @property
    def inference(self) -> bool:
        """Whether the sweep evaluates a saved model (no training)."""
        return self.base.get("model") is not None or any("model" in a.keys for a in self.axes)


def default_metrics(inference: bool, split: str, hardware: bool) -> list[str]:
    """The metrics collected when the file names none."""
    if inference:
        return [f"accuracy.{split}", "hw_resting_probability_eval", "cycles", "energy_pj",
                "inference.energy_pj_per_sample"]
    out = ["accuracy.test", "resting_probability"]
    return out + (["cycles", "energy_pj", "inference.energy_pj_per_sample"] if hardware else [])


# ---------------------------------------------------------------------------------------------- reading
def load_sweep(path: str | Path, sets: tuple[Override, ...] = ()) -> Sweep:
    """Read and validate a sweep file; ``sets``: ``--set`` overrides of the base (never of an axis key)."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise SweepError(f"{src}: no such sweep file")
    raw = read_yaml_mapping(path, _failer(src), tuple(SweepFile.model_fields))
    return sweep_from_dict(raw, src, sets, folder=path.resolve().parent, default_name=path.stem)


def _failer(src: str):
    def fail(key: str, message: str) -> NoReturn:
        raise SweepError(f"{src}: {key}: {message}" if key else f"{src}: {message}")
    return fail


def sweep_from_dict(raw: dict[str, Any], src: str = "<sweep>", sets: tuple[Override, ...] = (),
                    folder: Path | None = None, default_name: str = "sweep") -> Sweep:
    """Validate a sweep mapping (as read from ``src``)."""
    fail = _failer(src)
    if not isinstance(raw, dict):
        fail("", f"must be a mapping with keys {', '.join(SweepFile.model_fields)}, got {type(raw).__name__}")
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as e:
        raise SweepError(f"{src}: {describe(e, model=SweepFile)}") from None
    base_sets = []
    for key, value in spec.base.set.items():
        base_sets.append(_override(fail, f"base.set.{key}", key, value))
    for o in sets:
        if any(b.parts == o.parts for b in base_sets):
            base_sets = [b for b in base_sets if b.parts != o.parts]  # the command line wins over base.set
        base_sets.append(o)
    axes = [_axis(fail, i, a) for i, a in enumerate(spec.axes)]
    seen: dict[tuple[str, ...], str] = {}
    for a in axes:
        for k in a.keys:
            parts = _parts(k)
            if parts in seen:
                fail(f"{a.where}.{k}", f"already an axis key in {seen[parts]}; give each key in one axis")
            seen[parts] = a.where
            if any(b.parts == parts for b in base_sets):
                b = next(b for b in base_sets if b.parts == parts)
                where = "a --set" if b in sets else "base.set"
                fail(f"{a.where}.{k}", f"is also given in {where}; an axis key takes its values from the axis only")
    total = math.prod(len(a.steps) for a in axes) if axes else 1
    if total > MAX_POINTS:
        fail("axes", f"{total} points; at most {MAX_POINTS}")
    base = {"workload": spec.base.workload, "arch": spec.base.arch, "model": spec.base.model,
            "split": spec.base.split}
    keys = set(seen)
    model = base["model"] is not None or ("model",) in keys
    hardware = base["arch"] is not None or ("arch",) in keys
    metrics = list(spec.metrics) if spec.metrics is not None else default_metrics(model, base["split"], hardware)
    for i, m in enumerate(metrics):
        if not m or any(not p for p in m.split(".")):
            fail(f"metrics[{i}]", f"got {m!r}; allowed: a dotted path into summary.json, e.g. accuracy.test")
    objectives = [Objective(o.metric, o.goal) for o in spec.objectives]
    for o in objectives:
        if o.metric not in metrics:
            metrics.append(o.metric)
    if len({o.metric for o in objectives}) != len(objectives):
        fail("objectives", "a metric is named twice; give each objective once")
    return Sweep(name=spec.name or default_name, base=base, sets=tuple(base_sets), axes=axes, metrics=metrics,
                 objectives=objectives, source=src, folder=folder or Path.cwd(), description=spec.description or "")


def _parts(key: str) -> tuple[str, ...]:
    return ("workload", "seed") if key == "seed" else tuple(key.split("."))


def _override(fail, where: str, key: str, value: Any) -> Override:
    try:
        return make_override(key, value)
    except OverrideError as e:
        fail(where, str(e).split(": ", 1)[1])


def _check_key(fail, where: str, key: str, value: Any) -> None:
    """An axis value: a file name for the file keys, else a valid --set of the key."""
    if key in FILE_KEYS:
        if not (value is None and key == "arch") and not isinstance(value, str):
            fail(where, f"must be a file name or path, got {value!r}" + ("; or null (no architecture)"
                                                                          if key == "arch" else ""))
        return
    _override(fail, where, key, value)


def _axis(fail, i: int, raw: Any) -> Axis:
    """One entry of ``axes``, checked and expanded."""
    where = f"axes[{i}]"
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in AXIS_KINDS:
        fail(where, f"must be a mapping with exactly one key of: {', '.join(AXIS_KINDS)}; got {raw!r}")
    kind, body = next(iter(raw.items()))
    where = f"{where}.{kind}"
    if kind in ("grid", "zip"):
        return _listed(fail, where, kind, body)
    if not isinstance(body, dict):
        fail(where, f"must be a mapping with keys count, seed, keys; got {body!r}")
    try:
        spec = SampleFile.model_validate(body)
    except ValidationError as e:
        path, _, rest = describe(e, where, SampleFile).partition(": ")
        fail(path, rest)
    return _sampled(fail, where, kind, spec)


def _listed(fail, where: str, kind: str, body: Any) -> Axis:
    """A grid (cartesian product of its lists) or zip (its lists in lockstep) axis."""
    if not isinstance(body, dict) or not body:
        fail(where, f"must be a mapping of key -> list of values, got {body!r}")
    for k, vs in body.items():
        if not isinstance(k, str):
            fail(where, f"key {k!r}: must be a string")
        if not isinstance(vs, list) or not vs:
            fail(f"{where}.{k}", f"must be a non-empty list of values, got {vs!r}")
        for j, v in enumerate(vs):
            _check_key(fail, f"{where}.{k}[{j}]", k, v)
    keys = tuple(body)
    if kind == "zip":
        lengths = {k: len(v) for k, v in body.items()}
        if len(set(lengths.values())) != 1:
            fail(where, f"the lists of a zip axis go in lockstep and must have one length; got "
                        f"{', '.join(f'{k}: {n}' for k, n in lengths.items())}")
        steps = tuple(dict(zip(keys, vals)) for vals in zip(*body.values()))
    else:
        steps = [{}]
        for k in keys:
            steps = [dict(s, **{k: v}) for s in steps for v in body[k]]
        steps = tuple(steps)
    return Axis(kind, keys, steps, where)


def _sampled(fail, where: str, kind: str, spec: SampleFile) -> Axis:
    """A random or latin-hypercube axis: ``count`` seeded samples of its ranges and choices."""
    import numpy as np

    for k, r in spec.keys.items():
        p = f"{where}.keys.{k}"
        if r.choices is not None:
            if r.low is not None or r.high is not None or r.log or r.integer:
                fail(p, "give either choices or a range (low, high, log, integer), not both")
            for j, v in enumerate(r.choices):
                _check_key(fail, f"{p}.choices[{j}]", k, v)
            continue
        if k in FILE_KEYS:
            fail(p, f"{k} names a file: give choices")
        if r.low is None or r.high is None:
            fail(p, "give low and high (a range), or choices")
        if not r.low <= r.high:
            fail(p, f"low must be <= high, got {r.low} > {r.high}")
        if r.log and r.low <= 0:
            fail(f"{p}.low", f"log: true needs low > 0, got {r.low}")
        if r.integer and (r.low != int(r.low) or r.high != int(r.high)):
            fail(p, f"integer: true needs integer bounds, got {r.low}, {r.high}")
        _override(fail, p, k, r.low)
    rng = np.random.default_rng(spec.seed)
    n, keys = spec.count, tuple(spec.keys)
    if kind == "random":
        u = rng.random((n, len(keys)))
    else:  # latin hypercube: one sample in each of n equal strata per key, strata shuffled independently per key
        u = (np.stack([rng.permutation(n) for _ in keys], axis=1) + rng.random((n, len(keys)))) / n
    steps = tuple({k: _value(spec.keys[k], float(u[i, j])) for j, k in enumerate(keys)} for i in range(n))
    return Axis(kind, keys, steps, where)


def _value(r: RangeFile, u: float) -> Any:
    """The value at quantile ``u`` in [0, 1) of a range or a list of choices."""
    if r.choices is not None:
        return r.choices[min(int(u * len(r.choices)), len(r.choices) - 1)]
    lo, hi = float(r.low), float(r.high)
    if r.integer:
        return int(min(math.floor(lo + u * (hi - lo + 1)), hi))
    if r.log:
        return float(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))))
    return float(lo + u * (hi - lo))
