"""The `neurosim` command."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_WORKLOAD = "digits_mlp"


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("workload", nargs="?", default=DEFAULT_WORKLOAD,
                   help=f"workload YAML path or name in workloads/ (default: {DEFAULT_WORKLOAD}, embedded data)")
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
    rep = sub.add_parser("reproduce", help="reproduce a table of the seed papers with the simulator")
    rep.add_argument("table", choices=["gxnor-table2"])
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


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .explore.gxnor_table2 import reproduce

    rows = reproduce(Path(args.out), seed=args.seed)
    print(f"GXNOR Table 2 on uniform random operands (seed {args.seed}) -> {Path(args.out) / 'gxnor_table2.csv'}")
    print(f"{'architecture':16s} {'unit':11s} {'operations':>12s} {'accumulations':>14s} {'resting':>8s} {'paper':>7s}")
    for r in rows:
        print(f"{r['architecture']:16s} {r['unit']:11s} {r['operations']:12d} {r['accumulations']:14d} "
              f"{100 * r['resting_probability']:7.1f}% {100 * r['paper_resting_probability']:6.1f}%")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .data import fetch_dataset

    path = fetch_dataset(args.name, cache_dir=args.cache, mirrors=args.mirror)
    print(f"{args.name}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    try:
        if args.command == "train":
            return cmd_train(args)
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
