"""neurosim: train discrete-state networks and simulate the accelerators that run them, in one run."""

__version__ = "0.1.0"
