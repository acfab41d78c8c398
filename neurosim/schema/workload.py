"""Workload files (YAML): dataset, split, network, method, hyper-parameters and seed, validated up front.

The file is read with the project's strict YAML rules (:mod:`neurosim.schema.yaml_io`: duplicate keys rejected,
``1e-3`` is a number, non-UTF-8 named) and checked against :class:`WorkloadFile`, a strict pydantic model:
unknown keys are errors, types are exact (``'false'`` is not a boolean, ``'3'`` is not a number; an integer is
accepted where a number goes), choices are closed and numbers are bounded. The checks ``make_method`` and the
DST updater would make later are made here too, so every message names the file and the key at fault::

    workloads/x.yaml: dst.m: must be > 0, got -1.0

The ``network`` spec is parsed by :func:`neurosim.spec.parse_network`; the ``dataset`` mapping is checked by
:func:`neurosim.data.load_dataset` when the data are loaded (its errors name this file too).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, NoReturn, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.dst import TAU_MODES
from ..core.losses import LOSSES
from ..core.methods import _DEFAULT_ACTIVATION as DEFAULT_ACTIVATION  # the builder's own defaults
from ..core.methods import METHODS, make_method
from ..names import DST_METHODS, PLAIN_NAME_HELP, Method as MethodName, is_plain_name
from ..core.optim import OPTIMIZERS
from ..core.quant import ACTIVATIONS, WINDOWS
from ..spec import SpecError, parse_network
from ..data import _KEYS as DATASET_KEYS  # the keys load_dataset accepts
from .errors import describe
from .overrides import Override, WorkloadKeys, edit_workload, override_label
from .yaml_io import read_yaml_mapping

__all__ = ["WORKLOAD_DIR", "WORKLOAD_KEYS", "Workload", "WorkloadError", "WorkloadFile", "load_workload",
           "resolve_workload_path", "workload_from_dict", "workload_with"]



def _shipped_dir() -> Path:
    """The shipped workloads (YAML and topology CSV): the package ``neurosim.workloads`` (the repo-root workloads/,
    mapped into the package by pyproject.toml: a wheel installs it inside neurosim/, an editable install points at
    the repo), else (the source tree imported without an install) the source tree's workloads/."""
    try:
        found = resources.files("neurosim.workloads")
    except ModuleNotFoundError:
        found = None
    return found if isinstance(found, Path) else Path(__file__).resolve().parents[2] / "workloads"


WORKLOAD_DIR = _shipped_dir()
MAX_N = 14  # DST weight spaces up to 2^14 + 1 states (int16 state indices)
MAX_N2 = 16  # multi-level activations up to 2^15 levels per sign

# the choices are the core's own tuples, so the schema and the builder cannot drift apart
Method = Literal[METHODS]  # type: ignore[valid-type]
ActivationKind = Literal[ACTIVATIONS]  # type: ignore[valid-type]
Window = Literal[tuple(WINDOWS)]  # type: ignore[misc]
Tau = Literal[TAU_MODES]  # type: ignore[valid-type]
Loss = Literal[LOSSES]  # type: ignore[valid-type]
Optimizer = Literal[OPTIMIZERS]  # type: ignore[valid-type]


class WorkloadError(ValueError):
    """A bad workload file; the message names the file, the key and what is allowed."""


class _Strict(BaseModel):
    """Exact types, no unknown keys, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class DstFile(_Strict):
    """``dst:`` the discrete state transition of dst/gxnor weights."""

    tau: Tau = "tanh"
    m: float = Field(3.0, gt=0)
    L: float = Field(1.0, gt=0)


class ActivationFile(_Strict):
    """``activation:`` a name, or a mapping of the activation's settings (see ``neurosim.core.quant``)."""

    kind: ActivationKind = "ternary"  # unset: the method's default
    N2: int = Field(1, ge=1, le=MAX_N2)
    r: float = Field(0.5, ge=0)
    a: float = Field(0.5, gt=0)
    H: float = Field(1.0, gt=0)
    window: Window = "rect"


class TrainFile(_Strict):
    """``train:`` the training loop's settings (see ``neurosim.core.train.TrainConfig``)."""

    epochs: int = Field(10, ge=1)
    batch: int = Field(100, ge=1)
    eval_batch: int = Field(1000, ge=1)
    lr_start: float = Field(0.01, gt=0)
    lr_fin: float = Field(1e-4, gt=0)
    optimizer: Optimizer = "adam"


class WorkloadFile(_Strict):
    """A workload file as written: every key, its type and its allowed values."""

    name: str | None = None
    description: str | None = None
    dataset: dict[str, Any]
    network: str
    method: Method = "gxnor"
    N: int | None = Field(None, ge=0, le=MAX_N)
    activation: ActivationFile | None = None
    dst: DstFile | None = None
    loss: Loss | None = None
    batch_norm: bool = True
    train: TrainFile | None = None
    seed: int = Field(0, ge=0, le=2**63 - 1)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str | None) -> str | None:
        """The name becomes a report folder name: no path tricks."""
        if v is not None and not is_plain_name(v):
            raise ValueError(f"got {v!r}; allowed: {PLAIN_NAME_HELP}")
        return v

    @field_validator("activation", mode="before")
    @classmethod
    def _activation_name(cls, v: Any) -> Any:
        """``activation: sign`` is short for ``activation: {kind: sign}``."""
        return {"kind": v} if isinstance(v, str) else v


WORKLOAD_KEYS = WorkloadKeys(top=tuple(WorkloadFile.model_fields), nested={
    "activation": tuple(ActivationFile.model_fields), "dst": tuple(DstFile.model_fields),
    "train": tuple(TrainFile.model_fields), "dataset": tuple(DATASET_KEYS)})  # what --set workload.* may name


@dataclass
class Workload:
    """A validated workload, in the plain form the run code uses (dicts of the keys the file set)."""

    name: str
    dataset: dict[str, Any]
    network: str
    method: str = "gxnor"
    N: int | None = None
    activation: dict[str, Any] | str | None = None
    dst: dict[str, Any] = field(default_factory=dict)
    loss: str | None = None
    batch_norm: bool = True
    train: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    source: str = "<workload>"


# ---------------------------------------------------------------------------------------------- reading
def resolve_workload_path(name: str | Path) -> Path:
    """A path as given if it exists; else the name (``.yaml`` optional; a topology CSV keeps its ``.csv``) in
    ./workloads of the current directory, then among the shipped workloads (:data:`WORKLOAD_DIR`)."""
    p = Path(name)
    if _exists(p):
        return p
    for base in (Path.cwd() / "workloads", WORKLOAD_DIR):
        for cand in (base / p, base / f"{p}.yaml"):
            if _exists(cand):
                return cand
    raise WorkloadError(f"workload {str(name)!r} not found (looked for the path, and in ./workloads and the shipped "
                        f"workloads in {WORKLOAD_DIR})")


def _exists(p: Path) -> bool:
    """Path.exists that treats an unusable name (e.g. a NUL byte) as absent."""
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


def load_workload(path: str | Path, overrides: Sequence[Override] = ()) -> Workload:
    """Read and validate a workload file (a path, or a name in workloads/).

    ``overrides``: ``--set workload.KEY=VALUE`` edits of the file's raw mapping, validated as if the file said them
    (:mod:`neurosim.schema.overrides`); the workload's ``source`` then names the file and its overrides."""
    path = resolve_workload_path(path)
    src = str(path)
    raw = read_yaml_mapping(path, _failer(src), tuple(WorkloadFile.model_fields))
    return workload_with(raw, src, overrides)


def workload_with(raw: dict[str, Any], src: str, overrides: Sequence[Override] = ()) -> Workload:
    """A workload mapping (as read from ``src``) with ``--set`` overrides applied to it, validated."""
    if not overrides:
        return workload_from_dict(raw, src)
    w = edit_workload(raw, overrides, src, workload_from_dict, WORKLOAD_KEYS)
    return dataclasses.replace(w, source=override_label(src, overrides))


def _failer(src: str):
    """The ``fail(key, message)`` callback of the YAML reader: a WorkloadError naming the file."""
    def fail(key: str, message: str) -> NoReturn:
        raise WorkloadError(f"{src}: {key}: {message}" if key else f"{src}: {message}")
    return fail


# ---------------------------------------------------------------------------------------------- validation
def workload_from_dict(raw: dict[str, Any], src: str = "<workload>") -> Workload:
    """Validate a workload mapping (as read from ``src``) and return it as a :class:`Workload`."""
    if not isinstance(raw, dict):
        raise WorkloadError(f"{src}: must be a mapping with keys {', '.join(WorkloadFile.model_fields)}, "
                            f"got {type(raw).__name__}")
    _check_keys(raw, WorkloadFile, src)
    try:
        spec = WorkloadFile.model_validate(raw)
    except ValidationError as e:
        raise WorkloadError(f"{src}: {describe(e, model=WorkloadFile)}") from None
    _check_network(spec, src)
    _check_method(spec, src)
    _check_activation(spec, src)
    w = _to_workload(spec, raw, src)
    _check_builds(w)
    return w


def _check_keys(raw: dict[Any, Any], model: type[BaseModel], src: str, prefix: str = "") -> None:
    """No unknown key at any level (checked here so the message quotes the key exactly as written)."""
    for key, value in raw.items():
        f = model.model_fields.get(key) if isinstance(key, str) else None
        if f is None:
            raise WorkloadError(f"{src}: {prefix}{key}: unknown key; allowed: {', '.join(model.model_fields)}")
        sub = _model_in(f.annotation)
        if sub is not None and isinstance(value, dict):
            _check_keys(value, sub, src, f"{prefix}{key}.")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The nested model of a field annotated ``M`` or ``M | None``."""
    for t in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _check_network(spec: WorkloadFile, src: str) -> None:
    """The network spec parses (its shape against the dataset is checked when the network is built)."""
    try:
        parse_network(spec.network)
    except SpecError as e:
        raise WorkloadError(f"{src}: network: {e}") from None


def _check_method(spec: WorkloadFile, src: str) -> None:
    """N belongs to DST methods only, and gxnor is the ternary space (N = 1)."""
    if spec.N is None:
        return
    if spec.method not in DST_METHODS:
        raise WorkloadError(f"{src}: N: applies to methods dst and gxnor only (method is {spec.method!r}); "
                            f"allowed: omit N, or method: dst")
    if spec.method == MethodName.GXNOR and spec.N != 1:
        raise WorkloadError(f"{src}: N: method 'gxnor' is ternary (N = 1), got {spec.N}; "
                            f"allowed: N: 1 or omitted, or method: dst for N = {spec.N}")


def _check_activation(spec: WorkloadFile, src: str) -> None:
    """The activation fits the method, and a staircase's dead zone lies below its saturation (0 <= r < H)."""
    act = spec.activation or ActivationFile()
    kind = act.kind if "kind" in act.model_fields_set else DEFAULT_ACTIVATION[spec.method]
    fixed = {MethodName.GXNOR: "ternary", MethodName.BNN: "sign"}.get(spec.method)
    if fixed is not None and kind != fixed:
        raise WorkloadError(f"{src}: activation.kind: method {spec.method!r} uses {fixed} activations, got "
                            f"{kind!r}; allowed: {fixed}, or method: {'dst' if fixed == 'ternary' else 'bwn'} "
                            f"for other activations")
    if kind in ("ternary", "multilevel") and not act.r < act.H:
        raise WorkloadError(f"{src}: activation.r: must be < activation.H ({act.H}), got {act.r}; "
                            f"allowed: 0 <= r < H")


def _check_builds(w: Workload) -> None:
    """The method builder accepts the settings (a safety net: every rule it has should be checked above)."""
    opts = {k: w.dst[k] for k in ("tau", "m", "L") if k in w.dst}
    try:
        make_method(w.method, N=w.N, activation=w.activation, **opts)
    except ValueError as e:
        raise WorkloadError(f"{w.source}: method: {e}") from None


def _to_workload(spec: WorkloadFile, raw: dict[str, Any], src: str) -> Workload:
    """The plain Workload: only the keys the file set, so the run code's own defaults apply to the rest."""
    act_raw = raw.get("activation")
    if isinstance(act_raw, str) or spec.activation is None:
        act = act_raw if isinstance(act_raw, str) else None
    else:
        act = spec.activation.model_dump(exclude_unset=True)
    return Workload(
        name=spec.name or _default_name(src), dataset=dict(spec.dataset), network=spec.network, method=spec.method,
        N=spec.N, activation=act, dst=spec.dst.model_dump(exclude_unset=True) if spec.dst else {},
        loss=spec.loss, batch_norm=spec.batch_norm,
        train=spec.train.model_dump(exclude_unset=True) if spec.train else {}, seed=spec.seed, source=src)


def _default_name(src: str) -> str:
    """A workload without ``name:`` is named after its file, made a plain name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(src).stem).lstrip(".-").replace("..", "_")[:100]
    return stem or "workload"
