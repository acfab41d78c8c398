"""Component classes: one module per class, found by the registry below (no other file lists them).

Digital: ``dram``, ``state_buffer``, ``sram_buffer``, ``compute_array`` (its kinds live in
:mod:`neurosim.hw.kinds`), ``update_unit``, ``accumulator``. Crossbar: ``crossbar_tile`` (with its device),
``input_driver``, ``adc``, ``comparator`` (integrator + comparator readout), ``shift_adder``, ``neuron``,
``subtractor``, ``filter``, ``sign_unit``, ``write_driver``, ``control_unit``. Each declares its attributes,
its actions and the unit each action is counted in (:mod:`neurosim.hw.components.base`).
"""
from __future__ import annotations

import sys

from .base import Action, ActionSpec, AttributeModel, Component, ComponentClass, NoAttributes

__all__ = ["Action", "ActionSpec", "AttributeModel", "Component", "ComponentClass", "NoAttributes",
           "component_classes", "component_class", "class_names"]

_REGISTRY: dict[str, ComponentClass] | None = None


def component_classes() -> dict[str, ComponentClass]:
    """Every component class of this package, by YAML class name, in listing order."""
    global _REGISTRY
    if _REGISTRY is None:
        from ..registry import discover

        def pick(m):
            return [obj() for obj in vars(m).values() if isinstance(obj, type) and issubclass(obj, ComponentClass)
                    and obj.name and obj.__module__ == m.__name__]

        _REGISTRY = discover(sys.modules[__name__], pick, "component class")
    return _REGISTRY


def class_names() -> tuple[str, ...]:
    return tuple(component_classes())


def component_class(name: str) -> ComponentClass:
    """The class called ``name``; a ValueError naming the known classes otherwise."""
    classes = component_classes()
    if name not in classes:
        raise ValueError(f"unknown class {name!r}; allowed: {', '.join(classes)}")
    return classes[name]
