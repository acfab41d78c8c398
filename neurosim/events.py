"""The observer protocol: the one place where the functional core and the hardware models meet.

The core (``neurosim.core``) calls ``observer.observe(record)`` at every layer, phase and batch with the
real operands it just used; hardware models (``neurosim.hw``) implement :class:`Observer`. Neither side
imports the other, both import this module.

Layouts (per batch, float32 unless said otherwise):
- dense: ``x`` (B, in), ``w`` (in, out), ``dy`` (B, out)
- conv:  ``x`` (B, H, W, C) NHWC, ``w`` (kh, kw, C, F), ``dy`` (B, OH, OW, F)
- pool / bn / act: ``x`` is the layer input, ``w`` is None.
Discrete operands are exact multiples of a step (``x_step``, ``w_step``); :func:`codes` turns them into
compact integer codes (int8 where they fit) without the core paying for it when nobody observes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

PHASES = ("forward", "backward", "update")
MODES = ("train", "eval")
MAC_KINDS = ("dense", "conv")


@dataclass(frozen=True)
class LayerInfo:
    """Static description of one layer, as the hardware mapping needs it."""

    index: int
    name: str
    kind: str  # dense | conv | pool | bn | act | flatten | add | concat
    in_shape: tuple[int, ...]  # per sample, NHWC without the batch axis
    out_shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)  # kernel, stride, padding, units, pool ...
    weight_bits: int = 0  # bits stored per weight (N+1 for DST states, 32 for float weights)
    weight_count: int = 0
    activation_bits: int = 32  # bits per input activation value (32 = full precision)
    inputs: tuple[int, ...] | None = None  # indices of the layers whose outputs it reads (None: the layer before;
    # a graph with skip connections or concatenations names them, () for a layer fed by the network input)


@dataclass
class OperandRecord:
    """The real operands of one layer in one phase of one batch."""

    layer: LayerInfo
    phase: str  # forward | backward | update
    mode: str  # train | eval
    batch: int  # running batch counter of this mode
    batch_size: int
    x: np.ndarray | None = None  # layer input activations (what was multiplied)
    w: np.ndarray | None = None  # weight values used in the product
    dy: np.ndarray | None = None  # backward: gradient arriving at the layer output
    x_step: float = 0.0  # x is an integer multiple of x_step (0: continuous values)
    w_step: float = 0.0
    w_state: np.ndarray | None = None  # DST: integer state indices (N+1 bits), same shape as w
    w_conductance: tuple[np.ndarray, np.ndarray] | None = None  # device-aware: (G+, G-) of w's read, (rows, cols)
    transitions: np.ndarray | None = None  # update: signed state change per weight (int16)
    changed: int = 0  # update: weights whose stored state changed
    distance: int = 0  # update: total |state change| (states moved, summed)
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Observer(Protocol):
    """Anything that wants the operands: counting statistics, a hardware simulator, a logger."""

    def observe(self, record: OperandRecord) -> None:
        ...


@runtime_checkable
class StatefulObserver(Observer, Protocol):
    """An observer whose totals survive a checkpoint and that ends in a result: the counting observer of the core
    and the hardware observer (:class:`neurosim.hw.observer.HardwareObserver`, which keeps the batch bookkeeping,
    pending transactions, rows and engine runs of every architecture in one place).

    ``state()`` returns JSON-able totals (flushing what is pending), ``load_state(state)`` restores them exactly,
    ``finish()`` flushes and returns the run's result."""

    def state(self) -> Any:
        ...

    def load_state(self, state: Any) -> None:
        ...

    def finish(self) -> Any:
        ...


class ObserverGroup:
    """Fan one record out to several observers, in order."""

    def __init__(self, observers: list[Observer]):
        self.observers = list(observers)

    def observe(self, record: OperandRecord) -> None:
        for obs in self.observers:
            obs.observe(record)


def codes(values: np.ndarray, step: float) -> np.ndarray:
    """Integer codes of a discrete operand (values / step), int8 when they fit, else int16."""
    if step <= 0:
        raise ValueError("codes() needs a discrete operand (step > 0)")
    q = np.rint(values / step)
    lim = float(np.max(np.abs(q))) if q.size else 0.0
    return q.astype(np.int8 if lim <= 127 else np.int16)
