"""One report row: the accumulated numbers of one (mode, layer, phase) of a run, digital or crossbar."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields

__all__ = ["Row"]


@dataclass
class Row:
    """Accumulated numbers of one (mode, layer, phase) row."""

    mode: str
    layer: int
    name: str
    kind: str
    phase: str
    unit: str
    batches: int = 0
    compute_cycles: int = 0  # on the critical path (see neurosim.hw.engine.PhaseStats)
    stall_cycles: int = 0  # on the critical path: dram + queue + bank
    cycles: int = 0  # its share of the critical path: compute + stall
    busy_cycles: int = 0  # compute of all its transactions, on the path or not
    stall_dram_cycles: int = 0
    stall_queue_cycles: int = 0
    stall_bank_cycles: int = 0
    operand_pairs: int = 0
    nonzero_pairs: int = 0
    fired: int = 0  # lane operations fired (compute arrays) or device pairs read on driven rows (crossbars)
    lane_slots: int = 0  # slots the products occupied (lanes x cycles, or tile cells), for utilization
    uniform_nonzero_pairs: float = 0.0
    offchip_read_bits: int = 0
    offchip_write_bits: int = 0
    onchip_read_bits: int = 0
    onchip_write_bits: int = 0
    weight_transitions: int = 0
    state_distance: int = 0
    set_pulses: int = 0
    reset_pulses: int = 0
    write_cycles: int = 0
    actions: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(int))
    energy: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))  # pJ per action
    unpriced: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(int))
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def energy_by_component(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for (comp, _), e in self.energy.items():
            out[comp] += e
        return out

    def add(self, other: "Row") -> None:
        """Add another row's counts, bits and energy (an operand-independent part computed once)."""
        for k, n in other.actions.items():
            self.actions[k] += n
        for k, e in other.energy.items():
            self.energy[k] += e
        for k, n in other.unpriced.items():
            self.unpriced[k] += n
        for name in ("offchip_read_bits", "offchip_write_bits", "onchip_read_bits", "onchip_write_bits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for text in other.notes:
            self.note(text)

    def to_state(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("actions", "energy", "unpriced")}
        for name in ("actions", "energy", "unpriced"):
            d[name] = [[c, a, n] for (c, a), n in getattr(self, name).items()]
        return d

    @classmethod
    def from_state(cls, d: dict) -> "Row":
        d = dict(d)
        tables = {name: d.pop(name) for name in ("actions", "energy", "unpriced")}
        r = cls(**d)
        for name, items in tables.items():
            table = getattr(r, name)
            for c, a, n in items:
                table[(c, a)] = n
        return r
