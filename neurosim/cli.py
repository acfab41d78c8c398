"""The `neurosim` command."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_WORKLOAD = "digits_mlp"
DEFAULT_ARCH = "gxnor"


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("workload", nargs="?", default=DEFAULT_WORKLOAD,
                   help=f"workload YAML path or name in workloads/ (default: {DEFAULT_WORKLOAD}, embedded data)")
    p.add_argument("--workload", dest="workload_flag", metavar="WORKLOAD",
                   help="the same as the positional WORKLOAD (YAML, or a topology CSV for 'run')")
    p.add_argument("--method", help="fp | bwn | twn | bnn | gxnor | dst (default: the workload's)")
    p.add_argument("--N", type=int, help="weight space Z_N for method dst (2^N + 1 states)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--lr-start", type=float)
    p.add_argument("--lr-fin", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--data", help="dataset folder or root of dataset folders (default: $NEUROSIM_DATA, then the cache)")
    p.add_argument("--out", help="report directory (default: reports/<run-id>/)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in the report directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="neurosim", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a workload and write summary.json, layers.csv and model.npz")
    _add_train_flags(tr)
    run = sub.add_parser("run", help="train (or evaluate) a workload and simulate the accelerator in the same run")
    _add_train_flags(run)
    run.add_argument("--arch", default=DEFAULT_ARCH,
                     help=f"architecture YAML path or name in arch_configs/ (default: {DEFAULT_ARCH})")
    run.add_argument("--eval", metavar="MODEL.npz", help="evaluate a saved model on the test split instead of training")
    run.add_argument("--density", type=float, default=0.5,
                     help="topology CSV workloads (SCALE-Sim / NeuroSim): nonzero density of the random ternary "
                          "operands (default 0.5)")
    run.add_argument("--ideal-devices", action="store_true",
                     help="crossbar architectures: train on ideal devices (by default the trained weights behave "
                          "like the architecture's devices: variation, stuck-at faults, write and read noise, levels)")
    sim = sub.add_parser("simulate", help="simulate inference of a saved model on a dataset split")
    sim.add_argument("model", help="model.npz written by 'neurosim train' or 'neurosim run'")
    sim.add_argument("--arch", default=DEFAULT_ARCH, help=f"architecture (default: {DEFAULT_ARCH})")
    sim.add_argument("--workload", help="workload YAML (default: the one the model was trained with)")
    sim.add_argument("--split", choices=["test", "validation", "train"], default="test")
    sim.add_argument("--batch", type=int, help="inference batch size (default: the workload's eval batch)")
    sim.add_argument("--data", help="dataset folder (default: $NEUROSIM_DATA, then the cache)")
    sim.add_argument("--out", help="report directory (default: reports/<run-id>-<arch>-<split>/)")
    rep = sub.add_parser("reproduce", help="reproduce a table of the seed papers with the simulator")
    rep.add_argument("table", choices=["gxnor-table2", "dst-tables", "crossbar-table1", "binary-crossbar"])
    rep.add_argument("--trained", action="store_true",
                     help="gxnor-table2: also train each method on --workload and measure the test-set inference")
    rep.add_argument("--workload", default="mnist_mlp", help="gxnor-table2 --trained: workload (default mnist_mlp)")
    rep.add_argument("--epochs", type=int, help="gxnor-table2 --trained: epochs per method (default 5); "
                                               "binary-crossbar: epochs per net (default 30)")
    rep.add_argument("--seeds", default="0,1,2", help="crossbar-table1 / binary-crossbar: seeds to average (default 0,1,2)")
    rep.add_argument("--data", help="dataset folder (default: $NEUROSIM_DATA, then the cache)")
    rep.add_argument("--out", default="reports", help="folder for the CSV/JSON (default: reports/)")
    rep.add_argument("--seed", type=int, default=0)
    data = sub.add_parser("data", help="datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)
    fetch = dsub.add_parser("fetch", help="download a dataset into the cache and verify its checksums")
    fetch.add_argument("name", choices=["mnist", "fashion-mnist"])
    fetch.add_argument("--cache", help="target folder (default: $NEUROSIM_CACHE/<name> or ~/.cache/neurosim/<name>)")
    fetch.add_argument("--mirror", action="append", metavar="URL",
                       help="base URL to download from instead of the standard mirrors (repeatable, tried in order)")
    return ap


def _print_summary(s: dict, out: Path) -> None:
    acc = s["accuracy"]
    fmt = lambda v: "n/a" if v is None or v != v else f"{100 * v:.2f} %"
    print(f"\n{s['workload']}  method={s['method']}" + (f" N={s['N']}" if s.get("N") is not None else "")
          + f"  seed={s['seed']}  epochs={s['epochs_run']} (best {s['best_epoch']})")
    print(f"  accuracy  train {fmt(acc['train'])}  validation {fmt(acc['validation'])}  test {fmt(acc['test'])}")
    print(f"  resting probability {fmt(s['resting_probability'])}   {s['samples_per_second']:.0f} samples/s")
    print(f"  report: {out}")


def cmd_train(args: argparse.Namespace) -> int:
    from .run import REPORTS_DIR, Overrides, prepare, run_id, train_and_report

    ov = Overrides(method=args.method, N=args.N, epochs=args.epochs, batch=args.batch, seed=args.seed,
                   lr_start=args.lr_start, lr_fin=args.lr_fin)
    p = prepare(args.workload, ov, args.data)
    out = Path(args.out) if args.out else REPORTS_DIR / run_id(p)
    if args.resume and not (out / "checkpoint.npz").exists():
        raise ValueError(f"--resume: no checkpoint at {out / 'checkpoint.npz'}; pass the --out of the run to resume")
    s = train_and_report(p, out, resume=args.resume, progress=not args.quiet and sys.stderr.isatty())
    _print_summary(s, out)
    return 0


def _print_hardware(s: dict, rows_csv: Path) -> None:
    import csv

    from .report.hardware import table

    with open(rows_csv, newline="") as fh:
        rows = [{k: _num(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    mode = "train" if s.get("simulated_mode") == "train" else "eval"
    print(f"\n{s['arch']} ({mode}): {s['cycles']:,} cycles = {s['latency_s'] * 1e3:.3f} ms at "
          f"{s['clock_hz'] / 1e6:.0f} MHz, {s['energy_pj'] * 1e-6:.4g} uJ")
    print(table(rows, mode))
    comp = s["energy_pj_by_component"]
    tot = sum(comp.values()) or 1.0
    print("  energy by component: " + ", ".join(f"{c} {100 * e / tot:.1f}%" for c, e in comp.items() if e))
    if "inference" in s:
        i = s["inference"]
        print(f"  inference of {i['samples']} samples: {i['cycles']:,} cycles, {i['energy_pj'] * 1e-6:.4g} uJ "
              f"({i['energy_pj_per_sample'] * 1e-6:.4g} uJ per sample)")
    sim = s["simulation"]
    ov = sim.get("overhead_vs_training")
    print(f"  simulation: {sim['seconds']:.2f} s" + (f" (+{100 * ov:.1f} % over training)" if ov else "")
          + f", {sim['events_represented']:,} engine events ({sim['events_simulated']:,} simulated)")


def _num(v: str):
    try:
        f = float(v)
    except ValueError:
        return v if v != "" else float("nan")
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f


def _out_dir(args: argparse.Namespace, default: Path) -> Path:
    out = Path(args.out) if args.out else default
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from .run import REPORTS_DIR, HardwareRun, Overrides, evaluate_and_report, load_architecture, load_model_into
    from .run import prepare, run_id, train_and_report, model_workload

    arch = load_architecture(args.arch)
    if str(args.workload).endswith(".csv"):
        from .topology_run import run_topology
        return run_topology(args, arch)
    ov = Overrides(method=args.method, N=args.N, epochs=args.epochs, batch=args.batch, seed=args.seed,
                   lr_start=args.lr_start, lr_fin=args.lr_fin)
    workload = args.workload
    if args.eval:
        model = Path(args.eval)
        name, meta = model_workload(model)
        if args.workload == DEFAULT_WORKLOAD and name != DEFAULT_WORKLOAD:
            workload = name
        ov.method = ov.method or meta.get("method")
        ov.N = ov.N if ov.N is not None else meta.get("N")
    from .hw.crossbar_arch import CrossbarArch

    device = None
    if isinstance(arch, CrossbarArch) and not args.ideal_devices:
        from .core.methods import DeviceModel

        d = arch.device  # the functional result includes the devices' non-idealities, not only the energy
        device = DeviceModel(write_noise=d.write_noise, variation=d.variation, stuck_on_rate=d.stuck_on_rate,
                             stuck_off_rate=d.stuck_off_rate, read_noise=d.read_noise, levels=d.levels,
                             nonlinearity=d.nonlinearity, pulses_per_state=d.pulses_per_state)
    ideal = "-ideal" if isinstance(arch, CrossbarArch) and args.ideal_devices else ""
    p = prepare(workload, ov, args.data, device=device)
    hw = HardwareRun(arch, p)
    if args.eval:
        if device is not None and p.method.device is not None:
            import numpy as np

            # a model trained elsewhere (ideal devices) is deployed onto this chip: it keeps its own device draws
            try:
                with np.load(args.eval, allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files if k != "meta"}
            except (OSError, ValueError) as e:
                raise ValueError(f"{args.eval}: cannot read the model: {e}") from None
            for k, a in p.net.arrays().items():
                if k.rsplit(".", 1)[-1].startswith("device_") and k not in arrays:
                    arrays[k] = np.zeros_like(a) if k.endswith(".device_error") else a.copy()
            p.net.load_arrays(arrays, str(args.eval))
        else:
            load_model_into(p, Path(args.eval))
        out = _out_dir(args, REPORTS_DIR / f"{run_id(p)}-{arch.name}{ideal}-eval")
        s = evaluate_and_report(p, hw, out)
    else:
        out = _out_dir(args, REPORTS_DIR / f"{run_id(p)}-{arch.name}{ideal}")
        if args.resume and not (out / "checkpoint.npz").exists():
            raise ValueError(f"--resume: no checkpoint at {out / 'checkpoint.npz'}; pass the --out of the run to resume")
        s = train_and_report(p, out, resume=args.resume, progress=not args.quiet and sys.stderr.isatty(),
                             hardware=hw)
        _print_summary(s, out)
    _print_hardware(s, out / "layers.csv")
    print(f"  report: {out}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .run import REPORTS_DIR, HardwareRun, Overrides, evaluate_and_report, load_architecture, load_model_into
    from .run import model_workload, prepare, run_id

    arch = load_architecture(args.arch)
    model = Path(args.model)
    name, meta = model_workload(model)
    ov = Overrides(method=meta.get("method"), N=meta.get("N"), seed=meta.get("seed"))
    p = prepare(args.workload or name, ov, args.data)
    if args.batch:
        p.cfg.eval_batch = args.batch
    hw = HardwareRun(arch, p, batch=p.cfg.eval_batch)
    load_model_into(p, model)
    out = _out_dir(args, REPORTS_DIR / f"{run_id(p)}-{arch.name}-{args.split}")
    s = evaluate_and_report(p, hw, out, args.split)
    print(f"{s['workload']} method={s['method']} on {arch.name}: {args.split} accuracy "
          f"{100 * s['accuracy'][args.split]:.2f} % over {s['samples']} samples")
    _print_hardware(s, out / "layers.csv")
    print(f"  report: {out}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    out = Path(args.out)
    seeds = tuple(int(v) for v in args.seeds.split(",") if v.strip())
    if args.table == "crossbar-table1":
        from .explore.self_training import print_table as print_t1, reproduce as reproduce_t1

        rows = reproduce_t1(out, data_dir=args.data, seeds=seeds)
        print(f"Seed 004 Table I (memristor self-training, MNIST 784-300-10) -> {out / 'crossbar_table1.csv'}")
        print(print_t1(rows))
        return 0
    if args.table == "binary-crossbar":
        from .explore.binary_crossbar import print_tables, reproduce as reproduce_bc

        res = reproduce_bc(out, args.data, epochs=args.epochs or 30, seeds=seeds)
        print(f"Seed 003 Tables 1-2 (binary activations on crossbars) -> {out / 'binary_crossbar_tables.csv'}")
        print(print_tables(res))
        return 0
    if args.table == "dst-tables":
        from .explore.dst_tables import print_table, reproduce as reproduce_dst

        rows = reproduce_dst(out)
        print(f"DST paper Tables 1-2 from the weight-memory model -> {out / 'dst_tables.csv'}")
        print(print_table(rows))
        return 0
    from .explore.gxnor_table2 import reproduce, trained_rows

    rows = reproduce(out, seed=args.seed)
    print(f"GXNOR Table 2 on uniform random operands (seed {args.seed}) -> {out / 'gxnor_table2.csv'}")
    print(f"{'architecture':16s} {'unit':11s} {'operations':>12s} {'accumulations':>14s} {'resting':>8s} {'paper':>7s}")
    for r in rows:
        print(f"{r['architecture']:16s} {r['unit']:11s} {r['operations']:12d} {r['accumulations']:14d} "
              f"{100 * r['resting_probability']:7.1f}% {100 * r['paper_resting_probability']:6.1f}%")
    if args.trained:
        tr = trained_rows(out, args.workload, args.epochs or 5, args.data, args.seed)
        print(f"\nOn trained {args.workload} ({args.epochs or 5} epochs), test-set inference -> "
              f"{out / 'gxnor_table2_trained.csv'}")
        print(f"{'architecture':16s} {'accuracy':>9s} {'ops/sample':>12s} {'resting':>8s} {'unit rests':>10s} "
              f"{'paper':>7s} {'uJ/sample':>10s}")
        for r in tr:
            print(f"{r['architecture']:16s} {100 * r['test_accuracy']:8.2f}% {r['operations_per_sample']:12.0f} "
                  f"{100 * r['resting_probability']:7.1f}% {100 * r['unit_resting_probability']:9.1f}% "
                  f"{100 * r['paper_resting_probability']:6.1f}% {r['energy_pj_per_sample'] * 1e-6:10.4g}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .data import fetch_dataset

    path = fetch_dataset(args.name, cache_dir=args.cache, mirrors=args.mirror)
    print(f"{args.name}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    flag = getattr(args, "workload_flag", None)
    if flag is not None:
        if args.workload not in (DEFAULT_WORKLOAD, flag):
            ap.error(f"two workloads given: {args.workload!r} and --workload {flag!r}")
        args.workload = flag
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "simulate":
            return cmd_simulate(args)
        if args.command == "data":
            return cmd_data(args)
        if args.command == "reproduce":
            return cmd_reproduce(args)
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:  # DataError, WorkloadError, SpecError are ValueErrors
        if os.environ.get("NEUROSIM_DEBUG"):
            raise
        print(f"neurosim: error: {e}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
