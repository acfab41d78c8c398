"""Sweeps and reproductions of the papers' tables (docs/references.md), computed by the simulator."""
