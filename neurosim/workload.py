"""Workload files (YAML): dataset, split, network, method, hyper-parameters and seed, validated up front."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .spec import SpecError, parse_network

WORKLOAD_KEYS = {"name", "description", "dataset", "network", "method", "N", "activation", "dst", "loss",
                 "batch_norm", "train", "seed"}
TRAIN_KEYS = {"epochs", "batch", "lr_start", "lr_fin", "optimizer", "eval_batch"}
DST_KEYS = {"tau", "m", "L"}
WORKLOAD_DIR = Path(__file__).resolve().parents[1] / "workloads"


class WorkloadError(ValueError):
    """A bad workload file; the message names the file, the key and what is allowed."""


@dataclass
class Workload:
    name: str
    dataset: dict[str, Any]
    network: str
    method: str = "gxnor"
    N: int | None = None
    activation: dict[str, Any] | None = None
    dst: dict[str, Any] = field(default_factory=dict)
    loss: str | None = None
    batch_norm: bool = True
    train: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    source: str = "<workload>"


def resolve_workload_path(name: str | Path) -> Path:
    """A path as given, or a bare name looked up in ./workloads and the project's workloads/ folder."""
    p = Path(name)
    if p.exists():
        return p
    for base in (Path.cwd() / "workloads", WORKLOAD_DIR):
        for cand in (base / p, base / f"{p}.yaml"):
            if cand.exists():
                return cand
    raise WorkloadError(f"workload {str(name)!r} not found (looked for the path, and in ./workloads and "
                        f"{WORKLOAD_DIR})")


def load_workload(path: str | Path) -> Workload:
    path = resolve_workload_path(path)
    src = str(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise WorkloadError(f"{src}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise WorkloadError(f"{src}: must be a mapping of keys {sorted(WORKLOAD_KEYS)}")
    return workload_from_dict(raw, src)


def workload_from_dict(raw: dict[str, Any], src: str = "<workload>") -> Workload:
    unknown = set(raw) - WORKLOAD_KEYS
    if unknown:
        raise WorkloadError(f"{src}: unknown key(s) {sorted(unknown)}; allowed: {sorted(WORKLOAD_KEYS)}")
    for key in ("dataset", "network"):
        if key not in raw:
            raise WorkloadError(f"{src}: missing required key '{key}'")
    if not isinstance(raw["dataset"], dict) or "name" not in raw["dataset"]:
        raise WorkloadError(f"{src}: 'dataset' must be a mapping with at least 'name'")
    try:
        parse_network(raw["network"])
    except SpecError as e:
        raise WorkloadError(f"{src}: key 'network': {e}") from None
    for key, allowed in (("train", TRAIN_KEYS), ("dst", DST_KEYS)):
        sub = raw.get(key, {}) or {}
        if not isinstance(sub, dict):
            raise WorkloadError(f"{src}: '{key}' must be a mapping with keys {sorted(allowed)}")
        bad = set(sub) - allowed
        if bad:
            raise WorkloadError(f"{src}: unknown key(s) {sorted(bad)} under '{key}'; allowed: {sorted(allowed)}")
    act = raw.get("activation")
    if act is not None and not isinstance(act, (dict, str)):
        raise WorkloadError(f"{src}: 'activation' must be a name or a mapping")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise WorkloadError(f"{src}: 'seed' must be an integer >= 0 (got {seed!r})")
    return Workload(name=str(raw.get("name", Path(src).stem)), dataset=dict(raw["dataset"]), network=raw["network"],
                    method=str(raw.get("method", "gxnor")), N=raw.get("N"), activation=act,
                    dst=dict(raw.get("dst") or {}), loss=raw.get("loss"), batch_norm=bool(raw.get("batch_norm", True)),
                    train=dict(raw.get("train") or {}), seed=seed, source=src)
