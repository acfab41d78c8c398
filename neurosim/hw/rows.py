"""Report rows shared by the digital and the crossbar simulators: engine cycles booked onto rows, row order,
leakage shared by cycles, and the common per-(mode, layer, phase) report columns."""
from __future__ import annotations

from typing import Any, Iterable

from ..events import PHASES
from .engine import EngineResult

ROW_COLUMNS = ["layer", "name", "kind", "mode", "phase", "unit", "batches", "compute_cycles", "stall_cycles", "cycles",
               "energy_pj", "leakage_pj", "offchip_read_bits", "offchip_write_bits", "onchip_read_bits",
               "onchip_write_bits", "operand_pairs", "nonzero_pairs", "algorithmic_ops", "actual_ops",
               "resting_probability", "resting_probability_uniform", "utilization", "fj_per_algorithmic_op",
               "fj_per_actual_op", "weight_transitions", "state_distance"]
PJ_PER_MW_S = 1e9  # 1 mW for 1 s = 1e9 pJ


def book_engine(rows: dict, keys: Iterable[tuple[str, int, str]], res: EngineResult) -> None:
    """Add one engine run's compute, stall and span cycles to the rows its transactions belong to."""
    for key in dict.fromkeys(keys):
        st = res.stats.get((key[1], key[2]))
        if st is None:
            continue
        r = rows[key]
        r.compute_cycles += st.compute_cycles
        r.stall_cycles += st.stall_cycles
        r.cycles += st.cycles


def flush_batch(obs: Any) -> None:
    """Simulate an observer's pending batch (``obs._pending``: mode, txs, rows) on its engine, book the cycles,
    and start a fresh pending batch."""
    p = obs._pending
    if p.txs:
        res = obs.engine.simulate(p.txs)
        obs.total_cycles[p.mode] += res.total_cycles
        book_engine(obs.rows, p.rows, res)
    obs._pending = type(p)()


def ordered(rows: dict) -> list:
    """Rows in report order: train before eval, then layer, then forward/backward/update."""
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0] != "train", k[1], PHASES.index(k[2])))]


def leakage_shares(rows: list, leak_total_pj: float) -> list[float]:
    """Leakage of a mode shared out over its rows in proportion to their cycles (so rows add up to the total)."""
    span = sum(r.cycles for r in rows)
    return [leak_total_pj * r.cycles / span if span else 0.0 for r in rows]


def report_row(mode: str, r: Any, energy: float, leakage: float, slots: int, bits: tuple[int, int, int, int]) -> dict:
    """The common report columns of one row: ``energy`` includes ``leakage``; ``slots`` are the lane-slots (or
    tile-slots) the products occupied, for utilization; ``bits`` = off-chip read/write, on-chip read/write."""
    algo = r.operand_pairs
    nan = float("nan")
    return {"mode": mode, "layer": r.layer, "name": r.name, "kind": r.kind, "phase": r.phase, "unit": r.unit,
            "batches": r.batches, "compute_cycles": r.compute_cycles, "stall_cycles": r.stall_cycles,
            "cycles": r.cycles, "energy_pj": energy, "leakage_pj": leakage,
            "offchip_read_bits": bits[0], "offchip_write_bits": bits[1], "onchip_read_bits": bits[2],
            "onchip_write_bits": bits[3], "operand_pairs": r.operand_pairs, "nonzero_pairs": r.nonzero_pairs,
            "algorithmic_ops": algo, "actual_ops": r.fired,
            "resting_probability": 1.0 - r.nonzero_pairs / algo if algo else nan,
            "resting_probability_uniform": 1.0 - r.uniform_nonzero_pairs / algo if algo else nan,
            "utilization": r.fired / slots if slots else nan,
            "fj_per_algorithmic_op": 1e3 * energy / algo if algo else nan,
            "fj_per_actual_op": 1e3 * energy / r.fired if r.fired else nan,
            "weight_transitions": r.weight_transitions, "state_distance": r.state_distance}


def restore_totals(obs: Any, state: dict) -> None:
    """Run totals saved in a checkpoint back onto an observer (rows are restored by the observer itself)."""
    obs.total_cycles = dict(state["total_cycles"])
    obs.samples = dict(state["samples"])
    obs.batches = dict(state["batches"])


def take_totals(result: Any, obs: Any) -> None:
    """What every result copies from its finished observer: the arch, ordered rows, run totals, engine counts."""
    result.arch = obs.arch
    result.clock_hz = obs.arch.clock_hz
    result.rows_raw = ordered(obs.rows)
    result.total_cycles = dict(obs.total_cycles)
    result.samples, result.batches = dict(obs.samples), dict(obs.batches)
    result.engine_runs, result.engine_hits = obs.engine.runs, obs.engine.hits
    result.events_simulated, result.events_represented = obs.engine.events_simulated, obs.engine.events_represented
