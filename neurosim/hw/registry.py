"""Registries filled from the modules of a package: the component classes and the compute kinds each live one per
module, and nothing else lists them."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Callable, Iterable, TypeVar

__all__ = ["discover"]

T = TypeVar("T")


def discover(package: ModuleType, pick: Callable[[ModuleType], Iterable[T]], what: str) -> dict[str, T]:
    """Every object ``pick`` finds in the modules of ``package`` (each with ``name`` and ``order``), by name, in
    listing order; a name defined twice is an error."""
    found: dict[str, T] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        for obj in pick(importlib.import_module(f"{package.__name__}.{info.name}")):
            if obj.name in found:
                raise ValueError(f"{what} {obj.name!r} is defined twice")
            found[obj.name] = obj
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))
