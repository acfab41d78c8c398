"""Architectures for hand-count tests: a shipped file with its leakage removed, so a row's energy per component is
its dynamic energy alone (count x energy per action) and can be compared with a hand sum."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import yaml

from ..hw.arch import Architecture, find_arch

__all__ = ["without_leakage", "write_without_leakage"]


def without_leakage(arch: Architecture) -> Architecture:
    """The same architecture with every component's leakage figure dropped (areas kept)."""
    comps = {n: replace(c, leakage=None) for n, c in arch.components.items()}
    return replace(arch, components=MappingProxyType(comps))


def write_without_leakage(name: str, path: Path) -> Path:
    """Write the shipped (or given) architecture file ``name`` to ``path`` without its leakage blocks, for a CLI
    run whose per-component energies are compared with hand counts of dynamic energy."""
    doc = yaml.safe_load(find_arch(name).read_text())
    for c in doc["components"]:
        c.pop("leakage", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
