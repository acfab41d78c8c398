"""[GXNOR] Table 2: operations and resting probability of one neuron with M inputs, per architecture,
computed by the cost kernels on uniform random operands (not typed in).

Paper: full precision M mult + M acc, 0 %; BWN M acc, 0 %; TWN 0..M acc, 33.3 %; BNN M XNOR + bitcount, 0 %;
GXNOR 0..M XNOR + bitcount, 55.6 % (5/9).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..hw.costs import layer_costs
from ..progress import Progress, resolve as resolve_progress
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
        # accumulations: the adds of the mux/MAC kinds, one bitcount reduction per busy cycle of the XNOR kinds
        acc = r.actions["add"] if "add" in r.actions else r.busy_cycles
        rows.append({"architecture": arch, "unit": unit, "inputs": xin, "weights": win,
                     "operand_pairs": r.operand_pairs, "operations": r.fired, "accumulations": acc,
                     "resting_probability": 1.0 - r.fired / r.operand_pairs, "paper_resting_probability": paper})
    return rows


def reproduce(out: Path, **kw) -> list[dict]:
    """Write reports/gxnor_table2.{csv,json} and return the rows."""
    out.mkdir(parents=True, exist_ok=True)
    rows = table2(**kw)
    write_csv(out / "gxnor_table2.csv", rows, COLUMNS)
    write_json(out / "gxnor_table2.json", {"table": "[GXNOR] Table 2 (Deng et al., Neural Networks 2018), "
                                                     "uniform random operands",
                                           "parameters": kw, "rows": rows})
    return rows


# architecture row -> (method trained, architecture file)
TRAINED = {"full precision": ("fp", "fp"), "BWN": ("bwn", "bwn"), "TWN": ("twn", "twn"), "BNN": ("bnn", "bnn"),
           "GXNOR": ("gxnor", "gxnor")}
TRAINED_COLUMNS = ["architecture", "method", "arch", "workload", "epochs", "test_accuracy", "operand_pairs",
                   "operations", "operations_per_sample", "resting_probability", "unit_resting_probability",
                   "paper_resting_probability", "energy_pj_per_sample", "cycles_per_sample"]


def trained_rows(out: Path, workload: str = "mnist_mlp", epochs: int = 5, data_dir: str | None = None,
                 seed: int = 0, progress: "bool | Progress | None" = None, force: bool = False) -> list[dict]:
    """Train each architecture's method on a real workload with its accelerator attached (``neurosim run``) and
    read the operations and resting probability of the test-set inference off the hardware report.

    ``resting_probability`` is algorithmic (1 - nonzero pairs / pairs); ``unit_resting_probability`` is what the
    unit rests (1 - operations fired / pairs): TWN's mux fires on every nonzero weight, whatever the input.
    """
    from ..pipeline import HardwareRun, Overrides, prepare, train_and_report
    from ..hw.arch import load_arch

    rows = []
    prog = resolve_progress(progress).child("gxnor-table2")
    for i, (row, (method, arch_name)) in enumerate(TRAINED.items(), 1):
        p = prepare(workload, Overrides(method=method, epochs=epochs, seed=seed), data_dir)
        arch = load_arch(arch_name)
        hw = HardwareRun(arch, p)
        with prog.run(f"train {workload} {method} on {arch_name}, {epochs} epochs", i, len(TRAINED)) as r:
            s = train_and_report(p, out / f"{workload}-{method}-{arch_name}", progress=prog.child(method),
                                 hardware=hw, force=force)
            r.result = f"test accuracy {100 * s['accuracy']['test']:.2f}%"
        ev = [r for r in hw.result.rows() if r["mode"] == "eval" and r["phase"] == "forward" and r["algorithmic_ops"]]
        pairs = sum(r["algorithmic_ops"] for r in ev)
        fired = sum(r["actual_ops"] for r in ev)
        nz = sum(r["nonzero_pairs"] for r in ev)
        inf = s["inference"]
        rows.append({"architecture": row, "method": method, "arch": arch_name, "workload": workload, "epochs": epochs,
                     "test_accuracy": s["accuracy"]["test"], "operand_pairs": pairs, "operations": fired,
                     "operations_per_sample": fired / inf["samples"], "resting_probability": 1 - nz / pairs,
                     "unit_resting_probability": 1 - fired / pairs,
                     "paper_resting_probability": ROWS[row][3], "energy_pj_per_sample": inf["energy_pj_per_sample"],
                     "cycles_per_sample": inf["cycles"] / inf["samples"]})
    write_csv(out / "gxnor_table2_trained.csv", rows, TRAINED_COLUMNS)
    write_json(out / "gxnor_table2_trained.json", {
        "table": "[GXNOR] Table 2 (Deng et al., Neural Networks 2018) on trained networks: test-set inference "
                 "through each accelerator",
        "workload": workload, "epochs": epochs, "seed": seed, "rows": rows})
    return rows
