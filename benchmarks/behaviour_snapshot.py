"""Snapshot every number a set of reference runs produces, and compare two snapshots (behaviour kept?).

    python benchmarks/behaviour_snapshot.py snap OUT.json [--data DIR] [--quick]
    python benchmarks/behaviour_snapshot.py compare OLD.json NEW.json

``snap`` runs ``neurosim run`` on the digits default for every shipped architecture (and a few method/arch pairs),
two topology CSVs, a one-epoch MNIST CNN on gxnor and crossbar_dst (with ``--data``), the reproductions that run in
seconds and a short [TrainingItself] self-training, and keeps summary.json, layers.csv and counts.csv with the wall-clock
fields removed. ``compare`` prints every number that differs (exactly; floats to 1e-12 relative) and exits 1 if any
does. Used to show that a refactoring keeps behaviour: the numbers are deterministic for fixed seeds.
"""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, emit

# fields that measure wall time or name this machine, not the model
_VOLATILE = {"samples_per_second", "samples_per_second_overall", "train_seconds", "wall_seconds", "seconds",
             "events_per_second", "overhead_vs_training", "neurosim_version", "python", "workload_file", "arch_file",
             "cpu_time_ms", "wall_s"}

DIGITS_ARCHS = ["gxnor", "gxnor_skip", "twn", "fp", "bwn", "bnn", "dst_onchip", "bwn_offchip", "crossbar_dst",
                "crossbar_binary"]
METHOD_ARCHS = [("twn", "twn"), ("fp", "fp"), ("bwn", "bwn"), ("bnn", "bnn"), ("bwn", "bwn_offchip")]


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if k not in _VOLATILE}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _neurosim(args: list[str], cwd: Path) -> str | None:
    """Run one command; None on success, else its exit status and last stderr line (errors are behaviour too)."""
    cmd = [sys.executable, "-m", "neurosim.cli", *args]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or [""]
        return f"exit {r.returncode}: {lines[-1]}"
    return None


def _report(out: Path, error: str | None = None) -> dict:
    if error is not None:
        return {"error": error}
    return {"summary": _clean(json.loads((out / "summary.json").read_text())),
            "layers": _csv(out / "layers.csv"), "counts": _csv(out / "counts.csv")}


def snap(path: Path, data: str | None, quick: bool) -> dict:
    snapshot: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        epochs = ["--epochs", "3"] if quick else []
        for arch in DIGITS_ARCHS:
            out = t / f"digits-{arch}"
            err = _neurosim(["run", "--arch", arch, "--out", str(out), "--quiet", *epochs], REPO)
            snapshot[f"run digits --arch {arch}"] = _report(out, err)
        for method, arch in METHOD_ARCHS:
            out = t / f"digits-{method}-{arch}"
            err = _neurosim(["run", "--arch", arch, "--method", method, "--out", str(out), "--quiet", *epochs], REPO)
            snapshot[f"run digits --method {method} --arch {arch}"] = _report(out, err)
        for csv_name, arch in (("scalesim_lenet", "gxnor"), ("scalesim_lenet", "crossbar_dst"),
                               ("scalesim_alexnet", "fp"), ("neurosim_vgg8", "gxnor_skip")):
            out = t / f"{csv_name}-{arch}"
            err = _neurosim(["run", f"workloads/{csv_name}.csv", "--arch", arch, "--out", str(out)], REPO)
            snapshot[f"run {csv_name}.csv --arch {arch}"] = _report(out, err)
        model = t / "digits-gxnor" / "model.npz"
        for arch in ("gxnor_skip", "crossbar_dst"):
            out = t / f"eval-{arch}"
            err = _neurosim(["run", "--arch", arch, "--eval", str(model), "--out", str(out)], REPO)
            snapshot[f"run --eval --arch {arch}"] = _report(out, err)
        out = t / "simulate-twn"
        err = _neurosim(["simulate", str(model), "--arch", "twn", "--out", str(out)], REPO)
        snapshot["simulate --arch twn"] = _report(out, err)
        for table in ("gxnor-table2", "dst-tables"):
            out = t / table
            snapshot[f"reproduce {table} error"] = _neurosim(["reproduce", table, "--out", str(out)], REPO)
            for f in sorted(out.glob("*.json")):
                snapshot[f"reproduce {table} {f.name}"] = _clean(json.loads(f.read_text()))
        if data:
            dd = ["--data", data]
            for arch in ("gxnor", "crossbar_dst"):
                out = t / f"cnn-{arch}"
                err = _neurosim(["run", "mnist_cnn", "--arch", arch, "--epochs", "1", "--out", str(out), "--quiet",
                                 *dd], REPO)
                snapshot[f"run mnist_cnn --epochs 1 --arch {arch}"] = _report(out, err)
            out = t / "binary-crossbar"
            snapshot["reproduce binary-crossbar error"] = _neurosim(["reproduce", "binary-crossbar", "--epochs", "3", "--seeds", "0", "--out", str(out), *dd], REPO)
            snapshot["reproduce binary-crossbar"] = _clean(json.loads((out / "binary_crossbar_tables.json").read_text()))
            snapshot["self-training"] = _self_training(data)
    path.write_text(json.dumps(snapshot, indent=1, sort_keys=True))
    return snapshot


def _self_training(data: str) -> dict:
    """A short [TrainingItself] self-training run (two decays, one noise level): accuracy, time, energy, counts."""
    sys.path.insert(0, str(REPO))
    from neurosim.explore.self_training import SelfTrainConfig, SelfTrainer, load_mnist_split

    x_tr, y_tr, x_te, y_te = load_mnist_split(data)
    out = {}
    for decay, noise in ((1.5, 0.0), (1.8, 0.1)):
        tr = SelfTrainer(cfg=SelfTrainConfig(decay=decay, noise=noise, window=300, warmup=600, max_epochs=1))
        tr.train(x_tr[:1500], y_tr[:1500])
        out[f"decay {decay} noise {noise}"] = _clean({"accuracy": tr.accuracy(x_te[:500], y_te[:500]),
                                                      **tr.summary()})
    return out


# the crossbar energy keys were action names before the component model (issue "One hardware model"): old key ->
# the component that now carries that energy (cells and reads both belong to the crossbar tile)
CROSSBAR_RENAMES = {"array_read": "crossbar", "array_cells": "crossbar", "adc_conversion": "adc",
                    "partial_sum_add": "shift_adder", "write_pulse": "write_driver", "integration": "comparator",
                    "comparator": "comparator", "activation": "neuron", "subtractor": "subtractor",
                    "filter": "filter", "sign": "sign_unit", "control": "control", "leakage": None}


def rename_crossbar_keys(obj):
    """Old crossbar snapshots in the component names of today (sums where two old keys map to one component)."""
    if isinstance(obj, list):
        return [rename_crossbar_keys(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    xbar = any(k in obj for k in ("array_read", "energy_pj_array_read"))
    for k, v in obj.items():
        v = rename_crossbar_keys(v)
        base = k[len("energy_pj_"):] if k.startswith("energy_pj_") else k
        prefix = "energy_pj_" if k.startswith("energy_pj_") else ""
        if xbar and base in CROSSBAR_RENAMES and isinstance(v, (int, float, str)):
            new = CROSSBAR_RENAMES[base]
            if new is None:
                continue
            key = prefix + new
            try:
                out[key] = float(out.get(key, 0.0)) + float(v or 0.0)
            except ValueError:
                out[key] = v
        else:
            out[k] = v
    return out


def _differs(a, b) -> bool:
    for x, y in ((a, b), (b, a)):
        if isinstance(x, str):
            try:
                x = float(x)
            except ValueError:
                return a != b
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return a != b
    if math.isnan(fa) and math.isnan(fb):
        return False
    return abs(fa - fb) > 1e-12 * max(abs(fa), abs(fb), 1e-300)


def compare(old, new, path: str = "", out: list | None = None) -> list[str]:
    out = [] if out is None else out
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            if k not in new:
                out.append(f"{path}.{k}: only in old ({str(old[k])[:80]})")
            elif k not in old:
                out.append(f"{path}.{k}: only in new ({str(new[k])[:80]})")
            else:
                compare(old[k], new[k], f"{path}.{k}", out)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append(f"{path}: {len(old)} items -> {len(new)}")
        for i, (a, b) in enumerate(zip(old, new)):
            compare(a, b, f"{path}[{i}]", out)
    elif _differs(old, new):
        out.append(f"{path}: {old!r} -> {new!r}")
    return out


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snap")
    s.add_argument("out")
    s.add_argument("--data")
    s.add_argument("--quick", action="store_true", help="3 epochs on the digits instead of the workload's 30")
    c = sub.add_parser("compare")
    c.add_argument("old")
    c.add_argument("new")
    c.add_argument("--limit", type=int, default=200)
    c.add_argument("--rename-crossbar", action="store_true",
                   help="map the old crossbar energy keys (action names) onto today's component names first")
    args = ap.parse_args()
    if args.cmd == "snap":
        snapshot = snap(Path(args.out), args.data, args.quick)
        emit({"runs": len(snapshot), "out": args.out})
        return 0
    old = json.loads(Path(args.old).read_text())
    if args.rename_crossbar:
        old = rename_crossbar_keys(old)
    diffs = compare(old, json.loads(Path(args.new).read_text()))
    for d in diffs[:args.limit]:
        print(d)
    emit({"differences": len(diffs)})
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
