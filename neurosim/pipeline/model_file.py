"""model.npz: trained weights in their stored form (DST: integer state indices), batch-norm parameters and the
metadata to rebuild the network; no pickle. Loading checks every array (:mod:`neurosim.core.network`)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..core.network import ModelFileError, read_model_file
from ..names import DST_METHODS
from ..report.files import write_npz
from .config import resolved_workload
from .prepare import Prepared

__all__ = ["model_meta", "save_model", "load_model_into", "model_workload", "model_spec"]


def model_meta(p: Prepared, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """What is needed to rebuild the network around saved weights: the whole resolved workload (``spec``: network,
    activations, DST, split, method, N, training loop, seed) and the run's configuration, plus the short fields older
    readers use."""
    m = p.method
    return {"workload": p.workload.name, "network": p.workload.network, "method": m.name, "N": m.N, "L": m.L,
            "activation": asdict(m.activation), "loss": p.net.loss, "input_shape": list(p.data.input_shape),
            "num_classes": p.data.num_classes, "batch_norm": p.workload.batch_norm, "seed": p.seed,
            "spec": resolved_workload(p), "config": config}


def save_model(path: Path, p: Prepared, config: dict[str, Any] | None = None) -> None:
    """Trained weights in their stored form (DST: integer state indices), BN parameters and metadata; no pickle."""
    arrays = dict(p.net.arrays())
    arrays["meta"] = np.array(json.dumps(model_meta(p, config)))
    write_npz(path, arrays)


def model_spec(meta: dict[str, Any], model: Path) -> dict[str, Any] | None:
    """The resolved workload a model was trained with (None for a model written before models carried it)."""
    spec = meta.get("spec")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ModelFileError(f"{model}: meta.spec: must be a mapping (the resolved workload), got "
                             f"{type(spec).__name__}")
    # the short fields restate the spec: any disagreement means the file was edited or damaged
    pairs = [("network", spec.get("network")), ("method", spec.get("method")), ("seed", spec.get("seed")),
             ("loss", spec.get("loss")), ("batch_norm", spec.get("batch_norm")), ("activation", spec.get("activation"))]
    if spec.get("method") in DST_METHODS:
        pairs += [("N", spec.get("N")), ("L", (spec.get("dst") or {}).get("L"))]
    for key, want in pairs:
        if meta.get(key) != want:
            raise ModelFileError(f"{model}: meta.{key}: {meta.get(key)!r} disagrees with meta.spec ({want!r}); the "
                                 f"file was edited or damaged")
    return spec


def load_model_into(p: Prepared, model: Path) -> None:
    """Load trained weights (a model.npz written by a run) into the prepared network; every array is checked.

    A device-aware network keeps this chip's own device draws where the model has none (a model trained on ideal
    devices deployed onto this chip): the weight policy programs its devices to the model's states."""
    arrays, _ = read_model_file(model)
    p.net.load_arrays({k: v for k, v in arrays.items() if k != "meta"}, str(model))


def model_workload(model: Path) -> tuple[str, dict[str, Any]]:
    """The workload name and method settings a model.npz was trained with (from its checked metadata)."""
    _, meta = read_model_file(model)
    return meta["workload"], meta
