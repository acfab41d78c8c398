"""Weight memory traffic and update work of one layer: the model behind the DST paper's Tables 1-2.

Called by the digital datapath for every training batch, so it is plain integer arithmetic on counts (no
per-weight loops). The run says how many bits a method keeps per weight (:class:`WeightBits`); the architecture
says where they live (``placement``) and what each action costs. The result is a :class:`WeightCost`: action
counts per (component, action), bits moved off and on chip, and the cycles the update unit is busy; energy = sum of
count x ``energy_pj`` (:meth:`WeightCost.energy_pj`). The rules (DRAM words, the read pass and derive-on-read, the
update of each update-unit kind, the optimizer state, the cycles, and the choices where the paper is silent) are
specified in ``docs/model.md``, section 4.6.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any

from .arch import Architecture

__all__ = ["WeightBits", "WeightCost", "weight_read_cost", "weight_update_cost", "derives_on_read",
           "storage_bits_per_weight", "is_offchip", "weight_homes"]


def _count(name: str, v: Any) -> int:
    """A non-negative integer count (Python or numpy int, not bool or float), else ValueError."""
    if isinstance(v, bool):
        raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    try:
        i = operator.index(v)
    except TypeError:
        raise ValueError(f"{name} must be a non-negative integer, got {v!r}") from None
    if i < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    return i


@dataclass(frozen=True)
class WeightBits:
    """Bits a method keeps per weight (given by the run; hw never imports training code)."""

    stored: int        # bits of the weight in its home ('weights' placement): DST N+1; fp 32; bwn/twn deployed 1/2
    hidden: int = 0    # float hidden-weight bits per weight (BWN/TWN: 32, placed at 'hidden_weights'); 0 for DST/fp
    optimizer: int = 0  # optimizer state bits per weight (Adam 64, SGD 0 or 32), placed at 'optimizer_state'
    space_switch: bool = False  # the deployed weight is derived from a float by a space switch (BWN/TWN)
    transition_table: bool = True  # DST with tanh tau uses the table lookup; linear tau does not

    def __post_init__(self) -> None:
        if _count("WeightBits.stored", self.stored) < 1:
            raise ValueError(f"WeightBits.stored must be >= 1 bit, got {self.stored!r}")
        _count("WeightBits.hidden", self.hidden)
        _count("WeightBits.optimizer", self.optimizer)
        for name in ("space_switch", "transition_table"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"WeightBits.{name} must be True or False, got {getattr(self, name)!r}")
        if self.space_switch and self.hidden == 0:
            raise ValueError("WeightBits.space_switch needs hidden > 0: the deployed weight is switched from a "
                             "float hidden weight")


@dataclass
class WeightCost:
    """Action counts and bits moved by one read pass or update step of a layer's weights."""

    actions: dict[tuple[str, str], int] = field(default_factory=dict)  # memory actions count bits
    offchip_read_bits: int = 0
    offchip_write_bits: int = 0
    onchip_read_bits: int = 0
    onchip_write_bits: int = 0
    update_cycles: int = 0   # cycles the update unit is busy: ceil(n / lanes) * action latency

    def energy_pj(self, arch: Architecture) -> float:
        """Dynamic energy: sum over (component, action) of count x energy_pj."""
        return sum(n * arch.energy(c, a) for (c, a), n in self.actions.items())

    def __add__(self, other: WeightCost) -> WeightCost:
        """Both costs one after the other (counts, bits and update cycles add)."""
        acts = dict(self.actions)
        for k, n in other.actions.items():
            acts[k] = acts.get(k, 0) + n
        return WeightCost(acts, self.offchip_read_bits + other.offchip_read_bits,
                          self.offchip_write_bits + other.offchip_write_bits,
                          self.onchip_read_bits + other.onchip_read_bits,
                          self.onchip_write_bits + other.onchip_write_bits,
                          self.update_cycles + other.update_cycles)


def is_offchip(arch: Architecture, component: str) -> bool:
    """Whether ``component`` is off chip (class dram)."""
    return arch.component(component).cls == "dram"


def derives_on_read(arch: Architecture, bits: WeightBits) -> bool:
    """True when every read pass reads the float hidden weight and space-switches it (BWN off chip): the method
    space-switches and its ``weights`` placement is DRAM, so no deployed copy is kept."""
    return bits.space_switch and bits.hidden > 0 and is_offchip(arch, arch.placement.weights)


def _hidden_home(arch: Architecture) -> str:
    name = arch.placement.hidden_weights
    if name is None:
        raise ValueError(f"{arch.source_file}: the method keeps float hidden weights but the architecture has no "
                         f"'hidden_weights' placement; use an architecture with one (bwn, twn, bnn, bwn_offchip)")
    return name


def storage_bits_per_weight(arch: Architecture, bits: WeightBits) -> dict[str, int]:
    """Bits each component holds per weight (weight, hidden weight, optimizer state), by component name."""
    out: dict[str, int] = {}

    def put(comp: str, b: int) -> None:
        if b:
            out[comp] = out.get(comp, 0) + b

    if derives_on_read(arch, bits):
        put(_hidden_home(arch), bits.hidden)
    else:
        put(arch.placement.weights, bits.stored)
        if bits.hidden:
            put(_hidden_home(arch), bits.hidden)
    put(arch.placement.optimizer_state, bits.optimizer)
    return out


class _Tally:
    """Accumulates one WeightCost: memory bits (DRAM rounded to words) and unit actions."""

    def __init__(self, arch: Architecture) -> None:
        self.arch = arch
        self.cost = WeightCost()
        self.unit_actions: list[str] = []

    def _add(self, comp: str, action: str, n: int) -> None:
        if n:
            self.cost.actions[(comp, action)] = self.cost.actions.get((comp, action), 0) + n

    def memory(self, comp: str, action: str, nbits: int) -> None:
        c = self.arch.component(comp)
        if nbits <= 0:
            return
        off = c.cls == "dram"
        if off:
            w = c.attributes.word_bits
            nbits = -(-nbits // w) * w
        self._add(comp, action, nbits)
        attr = ("offchip_" if off else "onchip_") + ("read_bits" if action == "read_bit" else "write_bits")
        setattr(self.cost, attr, getattr(self.cost, attr) + nbits)

    def unit(self, action: str, n: int) -> None:
        u = self.arch.update_unit()
        self.arch.action(u.name, action)  # raises ArchError if the unit lacks it
        self._add(u.name, action, n)
        if n:
            self.unit_actions.append(action)

    def done(self, n: int) -> WeightCost:
        if self.unit_actions:
            u = self.arch.update_unit()
            lat = max(self.arch.latency(u.name, a) for a in self.unit_actions)
            self.cost.update_cycles = math.ceil(n / u.attributes.lanes) * lat
        return self.cost


def weight_read_cost(arch: Architecture, n_weights: int, bits: WeightBits, home: str | None = None) -> WeightCost:
    """One pass over a layer's weights by the compute array (forward, or the backward dX pass); ``home``: where
    this layer's weights live when not at the ``weights`` placement (streamed from DRAM, :func:`weight_homes`)."""
    n = _count("n_weights", n_weights)
    t = _Tally(arch)
    if derives_on_read(arch, bits):  # BWN off chip: read the float, binarize it on the way (C_R + C_S)
        t.memory(_hidden_home(arch), "read_bit", n * bits.hidden)
        t.unit("space_switch", n)
    else:
        t.memory(home or arch.placement.weights, "read_bit", n * bits.stored)
    return t.done(n)


def weight_homes(arch: Architecture, layers: list[tuple[int, str, int]], bits_per_weight: int) -> dict[int, str]:
    """Where each layer's weights live: at the ``weights`` placement while they fit (layers in program order), the
    rest streamed from DRAM. ``layers``: (index, name, weight count). A network too big for the chip is then a
    design choice (every pass reads those weights from DRAM), not an error; without a DRAM it is an error."""
    home = arch.placement.weights
    comp = arch.component(home)
    cell = getattr(comp.attributes, "cell_bits", None)
    if isinstance(cell, int) and bits_per_weight > cell:
        arch.check_weights_fit(1, bits_per_weight)  # the error naming the cells
    per = cell if isinstance(cell, int) else bits_per_weight
    cap = arch.capacity_bits(home)
    dram = next((c for c in arch.components if is_offchip(arch, c)), None)
    out: dict[int, str] = {}
    used = 0
    for idx, name, n in layers:
        if cap is None or used + n * per <= cap:
            out[idx] = home
            used += n * per
        elif dram is not None:
            out[idx] = dram
        else:
            arch.check_weights_fit(used + n * per, 1)  # the error naming the capacity
    return out


def weight_update_cost(arch: Architecture, n_weights: int, bits: WeightBits, changed: int,
                       distance: int, home: str | None = None) -> WeightCost:
    """One update step of a layer's weights by the update unit.

    ``changed``: weights whose stored state changed (0..n); ``distance``: states moved, summed (0 when
    nothing changed). Only DST's write-back depends on ``changed`` (with the update unit's ``write_back:
    changed``; ``all`` writes every weight back); ``distance`` is checked, not charged.
    """
    n = _count("n_weights", n_weights)
    changed = _count("changed", changed)
    distance = _count("distance", distance)
    if changed > n:
        raise ValueError(f"changed ({changed}) cannot exceed n_weights ({n})")
    if changed == 0 and distance != 0:
        raise ValueError(f"distance ({distance}) must be 0 when no weight changed")
    kind = arch.update_unit().kind
    t = _Tally(arch)
    home = home or arch.placement.weights
    if kind == "dst_fixed_point":
        if bits.hidden:
            raise ValueError(f"{arch.source_file}: a dst_fixed_point update unit moves discrete states and keeps "
                             f"no float hidden weights (got hidden={bits.hidden}); use a float_binarize arch")
        t.memory(home, "read_bit", n * bits.stored)
        t.unit("rng", n)
        if bits.transition_table:
            t.unit("table_lookup", n)
        t.unit("state_add", n)
        written = changed if arch.update_unit().attributes.write_back == "changed" else n
        t.memory(home, "write_bit", written * bits.stored)
    elif kind == "float_binarize":
        if not bits.hidden:
            raise ValueError(f"{arch.source_file}: a float_binarize update unit updates float hidden weights; "
                             f"the method has none (hidden=0)")
        hid = _hidden_home(arch)
        t.memory(hid, "read_bit", n * bits.hidden)
        t.unit("float_add", n)
        t.unit("space_switch", n)
        t.memory(hid, "write_bit", n * bits.hidden)
        if not derives_on_read(arch, bits):
            t.memory(home, "write_bit", n * bits.stored)
    elif kind == "float":
        if bits.hidden:
            raise ValueError(f"{arch.source_file}: a float update unit updates the weights in place; hidden "
                             f"weights (hidden={bits.hidden}) need a float_binarize unit")
        t.memory(home, "read_bit", n * bits.stored)
        t.unit("float_add", n)
        t.memory(home, "write_bit", n * bits.stored)
    else:  # pragma: no cover - arch.py validates the kind
        raise ValueError(f"unknown update unit kind {kind!r}")
    if bits.optimizer:
        t.memory(arch.placement.optimizer_state, "read_bit", n * bits.optimizer)
        t.memory(arch.placement.optimizer_state, "write_bit", n * bits.optimizer)
    return t.done(n)
