"""A saved model as a source of operands: inference of a dataset split on the hardware; writes summary.json and
the hardware report."""
from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.runtime import thread_settings
from ..names import DST_METHODS
from ..report.files import write_json
from ..schema.workload import WorkloadError
from .hardware import HardwareRun
from .outputs import claim, publish
from .prepare import Prepared

__all__ = ["evaluate_and_report"]


def evaluate_and_report(p: Prepared, hardware: HardwareRun, out: Path, split: str = "test", force: bool = False,
                        notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inference of a split of a trained model on the hardware; writes summary.json and the hardware report as a
    unit into a folder that holds no other run's report (unless ``force``). ``notes``: extra summary fields (where
    the model and its data split came from)."""
    out = Path(out)
    claim(out, force=force, resumable=False)
    d = p.data
    x, y = {"test": (d.x_test, d.y_test), "validation": (d.x_val, d.y_val), "train": (d.x_train, d.y_train)}[split]
    if len(x) == 0:
        raise WorkloadError(f"{p.workload.source}: the {split} split is empty")
    t0 = time.perf_counter()
    acc = p.net.accuracy(x, y, p.cfg.eval_batch, observer=hardware.timed)
    m = p.method
    summary = {"workload": p.workload.name, "workload_file": p.workload.source, "network": p.workload.network,
               "method": m.name, "N": m.N if m.name in DST_METHODS else None, "seed": p.seed,
               "mode": "inference", "split": split, "samples": len(x), "accuracy": {split: acc},
               "dataset": {"name": d.name, split: len(x)}, **(notes or {}), "wall_seconds": time.perf_counter() - t0,
               "threads": thread_settings(), "neurosim_version": __version__, "python": platform.python_version()}
    summary.update(hardware.summary(None))

    def write(folder: Path) -> None:
        hardware.write(folder, summary)
        write_json(folder / "summary.json", summary)

    publish(out, write)
    return summary
