"""Design-space exploration: sweep files expanded into points, shared trainings, Dask execution, a results store
that survives anything, sweep.csv and Pareto fronts (:func:`run_sweep`, exported as :func:`neurosim.sweep`)."""
from .run import run_sweep

__all__ = ["run_sweep"]
