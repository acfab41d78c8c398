"""Where the tests find real datasets: ``NEUROSIM_DATA``, else ``shared/datasets`` beside the repository root (the
layout of a checkout here and in CI); never a path of one machine."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["dataset_root"]


def dataset_root() -> Path:
    """The dataset root the tests use (it may not exist: tests that need it skip with their reason)."""
    env = os.environ.get("NEUROSIM_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "datasets"
