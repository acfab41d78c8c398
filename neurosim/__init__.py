"""neurosim: train discrete-state networks and simulate the accelerators that run them, in one run.

The Python API (docs/api.md): :func:`run`, :func:`simulate`, :func:`train`, :func:`load_arch`,
:func:`load_workload`, :func:`sweep` and :class:`RunResult`. They are imported on first use (module
``__getattr__``), so ``import neurosim`` stays cheap: numba, the simulator, pandas and Dask load only when a run does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["run", "simulate", "train", "load_arch", "load_workload", "sweep", "RunResult", "__version__"]

# name -> the module that defines it (imported when the name is first asked for)
_LAZY = {"run": "neurosim.api", "simulate": "neurosim.api", "train": "neurosim.api", "load_arch": "neurosim.api",
         "load_workload": "neurosim.api", "RunResult": "neurosim.api"}

if TYPE_CHECKING:  # pragma: no cover - static type checkers see the real signatures
    from .api import RunResult, load_arch, load_workload, run, simulate, train


def __getattr__(name: str) -> Any:
    """The API's functions, imported on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'neurosim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def sweep(spec, out=None, **options):
    """Run a sweep (a sweep YAML file, or its mapping) into the folder ``out`` and return its points as a pandas
    DataFrame; options: ``workers``, ``scheduler``, ``client``, ``sets``, ``data``, ``retries``, ``log``, ``table``,
    ``plots`` (see :func:`neurosim.explore.sweep.run_sweep`). Dask and pandas are imported only when a sweep runs."""
    from .api import keeping_plot_backend
    from .explore.sweep import run_sweep

    with keeping_plot_backend():  # a notebook's inline plots survive the sweep's report plots
        return run_sweep(spec, out=out, **options)
