"""A run's fully resolved configuration: what it trains (the workload with every override and default applied), on
which architecture and devices. Saved in checkpoints (a resume must continue the same run) and in model files (a
model is rebuilt from it), and hashed into the default report folder name (two runs that differ get two folders).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..hw.arch import Architecture
from ..names import DST_METHODS
from .prepare import Prepared

__all__ = ["resolved_workload", "run_config", "config_hash", "config_diff"]


def resolved_workload(p: Prepared) -> dict[str, Any]:
    """The workload as a workload file would say it, with the overrides and defaults this run used: reading it back
    (``workload_from_dict``) builds the same network, data split and training loop."""
    w, m, c = p.workload, p.method, p.cfg
    out: dict[str, Any] = {"name": w.name, "dataset": w.dataset, "network": w.network, "method": m.name,
                           "activation": asdict(m.activation), "loss": p.net.loss, "batch_norm": w.batch_norm,
                           "train": {"epochs": c.epochs, "batch": c.batch, "eval_batch": c.eval_batch,
                                     "lr_start": c.lr_start, "lr_fin": c.lr_fin, "optimizer": c.optimizer},
                           "seed": p.seed}
    if m.name in DST_METHODS:
        out["N"] = m.N
        out["dst"] = {"tau": m.tau, "m": m.m, "L": m.L}
    return json.loads(json.dumps(out))  # plain JSON types (tuples -> lists), as it is read back from a file


def _arch_identity(arch: Architecture | None) -> dict[str, str] | None:
    """Name and file hash of an architecture; one changed by ``--set`` is identified by its validated content, since
    its file no longer says what it is."""
    if arch is None:
        return None
    from ..schema.overrides import content_digest, is_override_label

    if is_override_label(arch.source_file):
        return {"name": arch.name, "content_sha256": content_digest(arch)}
    try:
        digest = hashlib.sha256(Path(arch.source_file).read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "unreadable"
    return {"name": arch.name, "file_sha256": digest}


def run_config(p: Prepared, arch: Architecture | None = None) -> dict[str, Any]:
    """Everything that fixes a run's numbers: the resolved workload, the architecture (name and file hash) and the
    devices the weights train on."""
    device = p.method.device
    return json.loads(json.dumps({"workload": resolved_workload(p), "arch": _arch_identity(arch),
                                  "device": asdict(device) if device is not None else None}))


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable hash of a configuration (8 hex digits of the SHA-256 of its canonical JSON)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]


def config_diff(old: Any, new: Any, path: str = "") -> list[str]:
    """Every key whose value differs, as ``key.path: old -> new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new), key=str):
            out += config_diff(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return out
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]
