"""GXNOR Table 2 (seed 001): operations and resting probability of one neuron with M inputs, per architecture,
computed by the cost kernels on uniform random operands (not typed in).

Paper: full precision M mult + M acc, 0 %; BWN M acc, 0 %; TWN 0..M acc, 33.3 %; BNN M XNOR + bitcount, 0 %;
GXNOR 0..M XNOR + bitcount, 55.6 % (5/9).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..hw.costs import layer_costs
from ..report.files import write_csv, write_json

# architecture -> (compute unit kind, input operand, weight operand, resting probability the paper prints)
ROWS = {
    "full precision": ("mac", "float", "float", 0.0),
    "BWN": ("mux", "float", "binary", 0.0),
    "TWN": ("event_mux", "float", "ternary", 1 / 3),
    "BNN": ("xnor", "binary", "binary", 0.0),
    "GXNOR": ("gated_xnor", "ternary", "ternary", 5 / 9),
}
COLUMNS = ["architecture", "unit", "inputs", "weights", "operand_pairs", "operations", "accumulations",
           "resting_probability", "paper_resting_probability"]


def _draw(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform operands: ternary values uniform over {-1, 0, 1}, binary over {-1, 1}, floats never zero."""
    if kind == "ternary":
        return rng.integers(-1, 2, shape).astype(np.float32)
    if kind == "binary":
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)
    return (rng.random(shape) + 0.5).astype(np.float32) * np.where(rng.random(shape) < 0.5, -1, 1)


def table2(M: int = 1024, neurons: int = 256, samples: int = 64, lanes: int = 64, seed: int = 0) -> list[dict]:
    """One row per architecture: pairs, operations fired by the unit, accumulations, resting probability."""
    rng = np.random.default_rng(seed)
    rows = []
    for arch, (unit, xin, win, paper) in ROWS.items():
        x = _draw(rng, xin, (samples, M))
        w = _draw(rng, win, (M, neurons))
        r = layer_costs(unit, "gating", lanes, 1, x, w, {"type": "dense"})
        acc = r.actions.get("add", r.actions.get("bitcount_add", 0))
        rows.append({"architecture": arch, "unit": unit, "inputs": xin, "weights": win,
                     "operand_pairs": r.operand_pairs, "operations": r.fired, "accumulations": acc,
                     "resting_probability": 1.0 - r.fired / r.operand_pairs, "paper_resting_probability": paper})
    return rows


def reproduce(out: Path, **kw) -> list[dict]:
    """Write reports/gxnor_table2.{csv,json} and return the rows."""
    out.mkdir(parents=True, exist_ok=True)
    rows = table2(**kw)
    write_csv(out / "gxnor_table2.csv", rows, COLUMNS)
    write_json(out / "gxnor_table2.json", {"table": "GXNOR Table 2 (seed 001), uniform random operands",
                                           "parameters": kw, "rows": rows})
    return rows
