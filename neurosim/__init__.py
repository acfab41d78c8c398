"""neurosim: train discrete-state networks and simulate the accelerators that run them, in one run."""

__version__ = "0.1.0"

__all__ = ["sweep", "__version__"]


def sweep(spec, out=None, **options):
    """Run a sweep (a sweep YAML file, or its mapping) into the folder ``out`` and return its points as a pandas
    DataFrame; options: ``workers``, ``scheduler``, ``client``, ``sets``, ``data``, ``retries``, ``log``, ``table``,
    ``plots`` (see :func:`neurosim.explore.sweep.run_sweep`). Dask and pandas are imported only when a sweep runs."""
    from .explore.sweep import run_sweep

    return run_sweep(spec, out=out, **options)
