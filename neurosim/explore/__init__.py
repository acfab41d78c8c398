"""Sweeps and reproductions of the seeds' tables, computed by the simulator."""
