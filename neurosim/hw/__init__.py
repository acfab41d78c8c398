"""Hardware models of the accelerators; never imports the training core (``neurosim.core``)."""
from neurosim.hw.arch import Architecture, ArchError, Component, load_arch
from neurosim.hw.energy import energy_table, leakage_pj, write_energy_csv

__all__ = ["Architecture", "ArchError", "Component", "load_arch", "energy_table", "leakage_pj", "write_energy_csv"]
