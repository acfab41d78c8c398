"""The `neurosim` command: train discrete-state networks and simulate the accelerators that run them.

argparse only: each subcommand parses its flags, calls one function of :mod:`neurosim.pipeline` (or
:mod:`neurosim.explore`, :mod:`neurosim.data`, :mod:`neurosim.listing`) and prints what it returns. Tables and
reports go to stdout; progress (:mod:`neurosim.progress`: a bar on a terminal, plain lines otherwise) and errors go
to stderr.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from pathlib import Path

from . import __version__
from .names import METHOD_NAMES, unknown_name
from .progress import Progress, activate, current as current_progress
from .report.console import hardware_lines, training_lines

DEFAULT_WORKLOAD = "digits_mlp"
DEFAULT_ARCH = "gxnor"


def _print(lines: list[str]) -> None:
    print("\n".join(lines))


def _overrides(args: argparse.Namespace):
    from .pipeline import Overrides

    return Overrides(method=args.method, N=args.N, epochs=args.epochs, batch=args.batch, seed=args.seed,
                     lr_start=args.lr_start, lr_fin=args.lr_fin, sets=_sets(args, "workload"))


def _sets(args: argparse.Namespace, target: str) -> tuple:
    """The ``--set`` overrides of the workload or of the architecture."""
    return tuple(o for o in args.sets if o.target == target)


def _progress(args: argparse.Namespace) -> bool:
    """Whether the command reports progress (on stderr: a bar on a terminal, plain epoch lines otherwise)."""
    return not getattr(args, "quiet", False)


# ---------------------------------------------------------------------------------------------- commands
def _finished(s: dict, out: Path) -> bool:
    if s.get("nothing_to_do"):
        print(f"nothing to do: the run in {out} has finished its {s.get('epochs_run')} epochs; its report is there")
        return True
    return False


def cmd_train(args: argparse.Namespace) -> int:
    from .pipeline.runs import train_run

    s, out = train_run(args.workload, _overrides(args), args.data, args.out, resume=args.resume,
                       progress=_progress(args), force=args.force)
    if not _finished(s, out):
        _print(training_lines(s, out))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .hw.arch import load_arch
    from .pipeline.runs import eval_run, topology_run, train_run

    arch = load_arch(args.arch, _sets(args, "arch"))
    if args.ideal_devices and not arch.is_crossbar:
        raise ValueError(f"--ideal-devices: applies to crossbar architectures only ({arch.name} is digital)")
    if str(args.workload).endswith(".onnx"):  # an ONNX model: its weights, activations of a numpy forward pass
        from .pipeline.onnx_run import onnx_report
        from .pipeline.runs import REPORTS_DIR

        onnx_path = Path(args.workload)
        out = Path(args.out) if args.out else REPORTS_DIR / f"{onnx_path.stem}-{arch.name}-b{args.batch or 1}"
        s = onnx_report(onnx_path, arch, out, args.batch or 1, args.density, args.seed or 0, args.force, args.data)
        print(f"{onnx_path.name}: {s['layers']} layers, {s['macs_per_sample']:,} MACs per sample, "
              f"{s['operands']['source']}, batch {s['batch']}")
    elif str(args.workload).endswith(".csv"):
        density = 0.5 if args.density is None else args.density
        s, out = topology_run(args.workload, arch, args.out, args.batch or 1, density, args.seed or 0, args.force)
        print(f"{Path(args.workload).name}: {s['layers']} layers, {s['macs_per_sample']:,} MACs per sample, "
              f"operands {s['operands']['kind']}, density {density:g}, batch {s['batch']}")
    elif args.eval:
        if _given(args, ("method", "N", "seed")):
            raise ValueError(f"{', '.join(_flag(n) for n in _given(args, ('method', 'N', 'seed')))}: --eval rebuilds "
                             f"the network from the model's own workload (method, N, seed); these do not apply")
        workload = args.workload_given  # only the data split is taken from it
        s, out = eval_run(args.eval, arch, workload, args.data, args.out, ideal_devices=args.ideal_devices,
                          force=args.force, sets=_sets(args, "workload"))
    else:
        s, out = train_run(args.workload, _overrides(args), args.data, args.out, arch=arch, resume=args.resume,
                           progress=_progress(args), ideal_devices=args.ideal_devices, force=args.force)
        if _finished(s, out):
            return 0
        _print(training_lines(s, out)[:-1])
    _print(hardware_lines(s, out / "layers.csv") + [f"  report: {out}"])
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .hw.arch import load_arch
    from .pipeline.runs import eval_run

    arch = load_arch(args.arch, _sets(args, "arch"))
    s, out = eval_run(args.model, arch, args.workload, args.data, args.out, split=args.split, batch=args.batch,
                      name=args.split, force=args.force, sets=_sets(args, "workload"))
    print(f"{s['workload']} method={s['method']} on {arch.name}: {args.split} accuracy "
          f"{100 * s['accuracy'][args.split]:.2f} % over {s['samples']} samples")
    _print(hardware_lines(s, out / "layers.csv") + [f"  report: {out}"])
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .explore.sweep import run_sweep
    from .explore.sweep.report import table_lines

    df = run_sweep(args.file, out=args.out, workers=args.workers, scheduler=args.scheduler, sets=args.sets,
                   data=args.data, retries=args.retries, log=None if args.quiet else _SweepLog(current_progress()),
                   table=False, plots=args.plots)
    out = Path(df.attrs["out"])
    _print(table_lines(df) + [f"  sweep: {out} (sweep.csv" + (", pareto*" if (out / "pareto.csv").exists() else "")
                              + ", points/<hash>/)"])
    failures = df.attrs.get("failures") or {}
    if failures:
        first = next(iter(failures.values()))
        print(f"neurosim: error: {len(failures)} point(s) failed (first: {first}); the others are recorded, run "
              f"the sweep again to retry the failed ones", file=sys.stderr)
        return 1
    return 0


class _SweepLog:
    """The sweep's lines through the progress reporter, each point's ``[k/n]`` line with the elapsed time and ETA."""

    _POINT = re.compile(r"^\[(\d+)/(\d+)\] ")

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.t0 = time.perf_counter()

    def __call__(self, line: str) -> None:
        from .progress import format_duration

        m = self._POINT.match(line)
        if m:
            done, total = int(m.group(1)), int(m.group(2))
            el = time.perf_counter() - self.t0
            line += f"  elapsed {format_duration(el)}  ETA {format_duration(el / done * (total - done))}"
        self.progress.line(line)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .explore.reproduce import reproduce
    from .progress import format_duration

    t0 = time.perf_counter()
    lines = reproduce(args.table, Path(args.out), data_dir=args.data, seeds=args.seeds,
                      epochs=args.epochs, trained=args.trained, workload=args.workload or "mnist_mlp",
                      seed=args.seed or 0, force=args.force, workers=args.workers)
    current_progress().line(f"reproduce {args.table}: finished in {format_duration(time.perf_counter() - t0)}")
    _print(lines)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .listing import lines

    _print(lines(args.topic))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report.compare import write_compare_page

    page = write_compare_page([Path(r) for r in args.runs], Path(args.out))
    print(f"comparison of {len(args.runs)} runs: {page}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .data import fetch_dataset

    path = fetch_dataset(args.name, cache_dir=args.cache, mirrors=args.mirror)
    print(f"{args.name}: {path}")
    return 0


# ---------------------------------------------------------------------------------------------- flag rules
_TRAINING = ("method", "N", "epochs", "lr_start", "lr_fin", "resume")
_TOPOLOGY_ONLY = ("density",)


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    """The flags among ``names`` that were given (argparse defaults are None / False for these)."""
    return [n for n in names if getattr(args, n, None) not in (None, False)]


def _flag(name: str) -> str:
    return "--" + ("N" if name == "N" else name.replace("_", "-"))


DATASETS = ("mnist", "fashion-mnist")  # what `neurosim data fetch` downloads


def _plain(name: str) -> bool:
    """A bare name (no folder) that does not exist as a file here: looked up among the shipped files."""
    p = Path(str(name))
    try:
        exists = p.exists()
    except (OSError, ValueError):  # an unusable name (a NUL byte, too long): not a file here
        exists = False
    return len(p.parts) == 1 and not exists


def _check_arch_name(name: str) -> None:
    from .hw.arch import shipped_archs

    if _plain(name) and Path(name).suffix not in (".yaml", ".yml"):
        known = [p.stem for p in shipped_archs()]
        if name not in known:
            raise ValueError(unknown_name("architecture", name, known, "shipped",
                                          " (or give the path of a YAML file; neurosim list archs)"))


def _workload_names() -> list[str]:
    """The workload names a bare name may take: YAML stems and topology CSVs in ./workloads and the shipped ones."""
    from .listing import is_sweep_file
    from .schema.workload import WORKLOAD_DIR

    names: list[str] = []
    for base in (Path.cwd() / "workloads", Path(str(WORKLOAD_DIR))):
        if base.is_dir():
            names += [p.stem for p in sorted(base.glob("*.yaml")) if not is_sweep_file(p)]
            names += [p.name for p in sorted(base.glob("*.csv"))]
    return list(dict.fromkeys(names))


def _check_workload_name(name: str | None) -> None:
    if name is None or not _plain(name) or Path(name).suffix not in ("", ".yaml", ".yml", ".csv"):
        return
    from .schema.workload import WorkloadError, resolve_workload_path

    try:
        resolve_workload_path(name)
    except WorkloadError:
        raise ValueError(unknown_name("workload", name, _workload_names(), "known",
                                      " (looked for the path, and in ./workloads and the shipped workloads; "
                                      "neurosim list workloads)")) from None


def _check_names(args: argparse.Namespace) -> None:
    """An unknown architecture, workload, method, table, dataset or topic is an error naming the closest known
    names ("did you mean") and all of them."""
    from .names import close_names

    def guess(name: str, known) -> str:
        close = close_names(name, known)
        return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""

    method = getattr(args, "method", None)
    if method is not None and method not in METHOD_NAMES:
        raise ValueError(f"--method: got {method!r}{guess(method, METHOD_NAMES)}; allowed: {', '.join(METHOD_NAMES)} "
                         f"(neurosim list methods)")
    if args.command in ("run", "simulate") and getattr(args, "arch", None):
        _check_arch_name(args.arch)
    if args.command in ("train", "run", "simulate"):
        _check_workload_name(args.workload)
    if args.command == "reproduce":
        from .explore.reproduce import TABLES

        if args.table not in TABLES:
            raise ValueError(f"reproduce: {unknown_name('table', args.table, TABLES, 'allowed')}")
    if args.command == "data" and args.name not in DATASETS:
        raise ValueError(f"data fetch: {unknown_name('dataset', args.name, DATASETS, 'allowed')}")
    if args.command == "list":
        from .listing import TOPICS

        if args.topic not in TOPICS:
            raise ValueError(f"list: {unknown_name('topic', args.topic, TOPICS, 'allowed')}")


def check_flags(args: argparse.Namespace) -> None:
    """No flag is ignored: a flag that does not apply to this command and input is an error naming it; an unknown
    name is an error naming the closest known ones."""
    def refuse(names: list[str], why: str) -> None:
        if names:
            raise ValueError(f"{', '.join(_flag(n) for n in names)}: {why}")

    from .schema.overrides import parse_sets

    _check_names(args)
    args.sets = parse_sets(getattr(args, "set", None))
    arch_sets = [o.flag for o in args.sets if o.target == "arch"]
    if args.command == "train" and arch_sets:
        raise ValueError(f"{', '.join(arch_sets)}: train has no architecture (use neurosim run --arch ARCH)")
    if args.command == "sweep":
        for name in ("workers", "retries"):
            v = getattr(args, name, None)
            if v is not None and v < 0:
                raise ValueError(f"--{name}: must be an integer >= 0 (got {v})")
        if args.scheduler is not None and args.workers is not None:
            refuse(["workers"], "starts a local cluster; with --scheduler the points run on that cluster's workers")
    for name in ("batch", "epochs"):
        v = getattr(args, name, None)
        if v is not None and v < 1:
            raise ValueError(f"{_flag(name)}: must be an integer >= 1 (got {v})")
    if getattr(args, "seed", None) is not None and args.seed < 0:
        raise ValueError(f"--seed: must be an integer >= 0 (got {args.seed})")
    if getattr(args, "out", None) == "":
        raise ValueError("--out: empty; give a folder for the report")
    if args.command == "train" and str(args.workload).endswith(".csv"):
        raise ValueError(f"{args.workload}: a topology CSV is simulated, not trained: use neurosim run "
                         f"{args.workload} --arch ARCH")
    if args.command == "run":
        imported = {".onnx": ("an ONNX model", ("data",), "inference of its own weights; it takes --arch, --batch, "
                              "--data, --density, --seed, --out, --force"),
                    ".csv": ("a topology CSV", (), "random operands, inference only; it takes --arch, --batch, "
                             "--density, --seed, --out, --force")}
        suffix = Path(str(args.workload)).suffix
        if suffix in imported:
            what, allowed, takes = imported[suffix]
            refuse(_given(args, tuple(n for n in (*_TRAINING, "eval", "ideal_devices", "data") if n not in allowed)),
                   f"does not apply to {what} ({takes})")
            w_sets = [o.flag for o in args.sets if o.target == "workload"]
            if w_sets:
                raise ValueError(f"{', '.join(w_sets)}: does not apply to {what} (it has no workload keys; "
                                 f"--set arch.* applies)")
        else:
            refuse(_given(args, _TOPOLOGY_ONLY), "applies to topology CSV workloads only")
        if args.eval:
            refuse(_given(args, ("epochs", "lr_start", "lr_fin", "resume", "batch")),
                   "does not apply to --eval (inference of a saved model)")
        if args.resume and args.force:
            refuse(["force"], "cannot be combined with --resume (resume continues the folder's run)")
    if args.command == "train" and args.resume and args.force:
        refuse(["force"], "cannot be combined with --resume (resume continues the folder's run)")
    if args.command == "reproduce":
        from .explore.reproduce import FIGURE_NAMES

        t = args.table
        if args.workers is not None and args.workers < 0:
            raise ValueError(f"--workers: must be an integer >= 0 (got {args.workers})")
        if t not in FIGURE_NAMES:
            refuse(_given(args, ("workers",)), f"applies to the sweep figures only ({', '.join(FIGURE_NAMES)})")
        if t != "gxnor-table2":
            refuse(_given(args, ("trained", "workload", "seed")), "applies to gxnor-table2 only")
        elif not args.trained:
            refuse(_given(args, ("workload", "epochs", "data")), "applies to gxnor-table2 with --trained only")
        if t in ("gxnor-table2", "dst-tables"):
            refuse(_given(args, ("seeds",)), "applies to every table and figure but gxnor-table2 and dst-tables")
        if t in ("dst-tables", "crossbar-table1"):
            refuse(_given(args, ("epochs",)), "applies to gxnor-table2 --trained, binary-crossbar and the figures "
                                              "only")
        if t == "dst-tables":
            refuse(_given(args, ("data",)), "dst-tables needs no data")


# ---------------------------------------------------------------------------------------------- parser
_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)$")


def _suggest(message: str) -> str:
    """argparse's ``invalid choice: 'trian' (choose from 'train', ...)`` with a "did you mean"."""
    from .names import close_names

    m = _CHOICE.search(message)
    if not m:
        return message
    known = re.findall(r"'([^']*)'", m.group(2))
    close = close_names(m.group(1), known)
    if not close:
        return message
    return (message[:m.start()] + f"invalid choice: {m.group(1)!r} (did you mean "
            f"{' or '.join(repr(c) for c in close)}?); choose from {', '.join(known)}")


class _Parser(argparse.ArgumentParser):
    """argparse with the project's error form: one line ``neurosim: error: ...``, exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        print(f"neurosim: error: {self.prog}: {_suggest(message)} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _repeated(argv: list[str]) -> str | None:
    """The first option given twice (the later would silently win), if any; ``--mirror`` and ``--set`` may repeat."""
    seen: set[str] = set()
    for a in argv:
        if a == "--":
            break
        if a.startswith("--"):
            name = a.split("=", 1)[0]
            if name in seen and name not in ("--mirror", "--set"):
                return name
            seen.add(name)
    return None


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("workload", nargs="?",
                   help=f"workload YAML path or name in workloads/ (default: {DEFAULT_WORKLOAD}, embedded data)")
    p.add_argument("--workload", dest="workload_flag", metavar="WORKLOAD",
                   help="the same as the positional WORKLOAD (YAML, or a topology CSV for 'run')")
    p.add_argument("--method", help="fp | bwn | twn | bnn | gxnor | dst (default: the workload's; neurosim list "
                                    "methods)")
    p.add_argument("--N", type=int, help="weight space Z_N for method dst (2^N + 1 states)")
    p.add_argument("--epochs", type=int, help="training epochs (default: the workload's)")
    p.add_argument("--batch", type=int, help="training batch size (default: the workload's)")
    p.add_argument("--lr-start", type=float, help="initial learning rate (default: the workload's)")
    p.add_argument("--lr-fin", type=float, help="final learning rate (default: the workload's)")
    p.add_argument("--seed", type=int, help="seed of the initialization, shuffles and random transitions")
    p.add_argument("--data", help="dataset folder or root of dataset folders (default: $NEUROSIM_DATA, then the cache)")
    p.add_argument("--out", help="report directory (default: reports/<run-id>/)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in the report directory")
    p.add_argument("--force", action="store_true", help="replace an earlier report in the report directory")
    p.add_argument("--quiet", action="store_true",
                   help="no progress (by default a bar on a terminal, else one line per epoch on stderr)")
    _add_set(p)


_SET_HELP = ("override any workload or architecture key, as if the file said it (repeatable): workload.N=3, "
             "workload.activation.r=0.7, workload.train.lr_start=1e-3, arch.pe_array.lanes=512, "
             "arch.pe_array.actions.xnor.energy_pj=0.004, arch.clock_mhz=500; VALUE is YAML")


def _add_set(p: argparse.ArgumentParser, what: str = _SET_HELP) -> None:
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help=what)


_DESCRIPTION = ("Train discrete-state neural networks (weights in 2^N + 1 states, ternary, binary or multi-level "
                "activations) and simulate the accelerators that run them, gated-XNOR arrays and memristor crossbars: "
                "accuracy, cycles, energy, area and a per-layer report from one run.")
_EPILOG = """examples:
  neurosim run                                  train the digits MLP (embedded data) on arch_configs/gxnor.yaml
  neurosim list archs                           the shipped architectures (also: workloads, methods, components, kinds)
  neurosim run mnist_mlp --arch gxnor_skip --epochs 5 --data DIR
  neurosim reproduce dst-tables                 a table of the papers (docs/references.md), computed
  neurosim sweep workloads/sweep_lanes.yaml --out reports/sweeps/lanes
  neurosim COMMAND --help                       the flags of a command

Progress goes to stderr (a bar on a terminal, plain lines otherwise; --quiet: none), tables to stdout. Errors are one
line 'neurosim: error: ...' with exit status 2."""


def _command(sub, name: str, text: str) -> argparse.ArgumentParser:
    """A subcommand whose --help starts with ``text``."""
    return sub.add_parser(name, help=text, description=text)


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="neurosim", description=_DESCRIPTION, epilog=_EPILOG,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"neurosim {__version__}",
                    help="print the version and exit")
    ap.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND",
                            help="train | run | simulate | sweep | reproduce | list | data | report")
    tr = _command(sub, "train", "train a workload and write summary.json, layers.csv and model.npz")
    _add_train_flags(tr)
    tr.set_defaults(func=cmd_train)
    run = _command(sub, "run", "train (or evaluate) a workload and simulate the accelerator in the same run")
    _add_train_flags(run)
    run.add_argument("--arch", default=DEFAULT_ARCH,
                     help=f"architecture YAML path or name in arch_configs/ (default: {DEFAULT_ARCH}; neurosim list "
                          f"archs)")
    run.add_argument("--eval", metavar="MODEL.npz", help="evaluate a saved model on the test split instead of training")
    run.add_argument("--density", type=float,
                     help="topology CSV workloads (SCALE-Sim / NeuroSim): nonzero density of the random ternary "
                          "operands (default 0.5); ONNX models: seeded random inputs of this density instead of a "
                          "dataset's images")
    run.add_argument("--ideal-devices", action="store_true",
                     help="crossbar architectures: train on ideal devices (by default the trained weights behave "
                          "like the architecture's devices: variation, stuck-at faults, write and read noise, levels)")
    run.set_defaults(func=cmd_run)
    sim = _command(sub, "simulate", "simulate inference of a saved model on a dataset split")
    sim.add_argument("model", help="model.npz written by 'neurosim train' or 'neurosim run'")
    sim.add_argument("--arch", default=DEFAULT_ARCH,
                     help=f"architecture YAML path or name in arch_configs/ (default: {DEFAULT_ARCH})")
    sim.add_argument("--workload", help="workload YAML (default: the one the model was trained with)")
    sim.add_argument("--split", choices=["test", "validation", "train"], default="test",
                     help="the dataset split to run (default: test)")
    sim.add_argument("--batch", type=int, help="inference batch size (default: the workload's eval batch)")
    sim.add_argument("--data", help="dataset folder (default: $NEUROSIM_DATA, then the cache)")
    sim.add_argument("--out", help="report directory (default: reports/<run-id>-<arch>-<split>/)")
    sim.add_argument("--force", action="store_true", help="replace an earlier report in the report directory")
    _add_set(sim, "override an architecture key (arch.pe_array.lanes=512), or the data split of the model's "
                  "workload (workload.dataset.test=[0, 500], workload.train.eval_batch=200); repeatable")
    sim.set_defaults(func=cmd_simulate)
    sw = _command(sub, "sweep", "run a sweep file's design points (shared trainings, Dask), write sweep.csv and the "
                                "Pareto fronts")
    sw.add_argument("file", help="sweep YAML (base, axes, metrics, objectives; see workloads/sweep_lanes.yaml)")
    sw.add_argument("--out", help="sweep folder (default: reports/sweeps/<name>/); finished points there are kept")
    sw.add_argument("--workers", type=int,
                    help="local worker processes, one thread each (default: one per core; 0: in this process)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on an existing Dask cluster (e.g. tcp://host:8786) instead of local workers")
    sw.add_argument("--retries", type=int, default=2, help="retries of a task that fails (default 2)")
    sw.add_argument("--data", help="dataset folder (default: $NEUROSIM_DATA, then the cache)")
    sw.add_argument("--plots", action="store_true",
                    help="also write each training point's per-layer PNG plots (off by default: they cost more than "
                         "the simulation of a small network)")
    sw.add_argument("--quiet", action="store_true", help="no progress lines (one per point, with the ETA, on stderr)")
    _add_set(sw, "override a key of the sweep's base (not an axis key), as --set of neurosim run; repeatable")
    sw.set_defaults(func=cmd_sweep)
    rep = _command(sub, "reproduce", "reproduce a table of the papers in docs/references.md with the simulator")
    rep.add_argument("table", metavar="TABLE",
                     help="gxnor-table2 (ops and resting probability, seconds) | dst-tables (weight memory, seconds) | "
                          "crossbar-table1 (memristor self-training, MNIST, minutes) | binary-crossbar (binary "
                          "activations on crossbars, MNIST, 2 nets x 3 seeds x 30 epochs) | binact-fig6 / binact-fig7 "
                          "([BinAct] accuracy and crossbar energy against input samples / weight-clipping threshold, "
                          "MNIST, minutes) | dst-fig6 / dst-fig7 / gxnor-fig8 / gxnor-fig9 / gxnor-fig10 / gxnor-fig13 "
                          "([DST] / [GXNOR] parameter figures as sweeps of the MNIST MLP, minutes)")
    rep.add_argument("--trained", action="store_true",
                     help="gxnor-table2: also train each method on --workload and measure the test-set inference")
    rep.add_argument("--workload", help="gxnor-table2 --trained: workload (default mnist_mlp)")
    rep.add_argument("--epochs", type=int, help="gxnor-table2 --trained: epochs per method (default 5); "
                                               "binary-crossbar: epochs per net (default 30); binact-fig6/7: "
                                               "epochs of the net (default 10); dst-fig6/7, gxnor-fig8/9/10: "
                                               "epochs per point (default 5)")
    rep.add_argument("--seeds", help="crossbar-table1 / binary-crossbar / binact-fig6 / binact-fig7: seeds to average "
                                     "(default 0,1,2); the sweep figures: seeds per point (default 0)")
    rep.add_argument("--data", help="dataset folder (default: $NEUROSIM_DATA, then the cache)")
    rep.add_argument("--out", default="reports", help="folder for the CSV/JSON (default: reports/)")
    rep.add_argument("--force", action="store_true", help="replace the table's files from an earlier reproduction")
    rep.add_argument("--seed", type=int, help="gxnor-table2: seed of the uniform operands (default 0)")
    rep.add_argument("--workers", type=int,
                     help="dst-fig6/7, gxnor-fig8/9/10/13: local sweep worker processes (default: min(2, cores); 0: "
                          "in this process)")
    rep.add_argument("--quiet", action="store_true",
                     help="no progress (by default one line per run started and finished, and per training epoch, "
                          "on stderr)")
    rep.set_defaults(func=cmd_reproduce)
    ls = _command(sub, "list", "list what ships with neurosim, a line each: architectures, workloads, training "
                               "methods, component classes, compute kinds")
    ls.add_argument("topic", metavar="TOPIC", help="archs | workloads | methods | components | kinds")
    ls.set_defaults(func=cmd_list)
    data = _command(sub, "data", "datasets: download them into the cache")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION", help="fetch")
    fetch = _command(dsub, "fetch", "download a dataset into the cache and verify its checksums")
    fetch.add_argument("name", metavar="NAME", help=" | ".join(DATASETS))
    fetch.add_argument("--cache", help="target folder (default: $NEUROSIM_CACHE/<name> or ~/.cache/neurosim/<name>)")
    fetch.add_argument("--mirror", action="append", metavar="URL",
                       help="base URL to download from instead of the standard mirrors (repeatable, tried in order)")
    fetch.set_defaults(func=cmd_data)
    rp = _command(sub, "report", "pages of finished runs: compare several run folders side by side")
    rsub = rp.add_subparsers(dest="report_command", required=True, metavar="ACTION", help="compare")
    cmp = _command(rsub, "compare", "write one self-contained HTML page that sets run folders side by side (key "
                                    "numbers, differences, energy by component, links to each run's report)")
    cmp.add_argument("runs", nargs="+", metavar="RUN", help="run folders (each holds the summary.json of a run)")
    cmp.add_argument("--out", default="compare.html",
                     help="the page to write (default: compare.html; a folder: FOLDER/compare.html)")
    cmp.set_defaults(func=cmd_report)
    return ap


def _terminated(signum, frame) -> None:
    """SIGTERM: unwind like an interrupt, so partial outputs are removed and the checkpoint stays."""
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = parser()
    twice = _repeated(argv)
    if twice is not None:
        ap.error(f"{twice} given twice; give each flag once")
    args = ap.parse_args(argv)
    flag = getattr(args, "workload_flag", None)
    if flag is not None and getattr(args, "workload", None) is not None and args.workload != flag:
        ap.error(f"two workloads given: {args.workload!r} and --workload {flag!r}")
    if hasattr(args, "workload_flag"):
        args.workload_given = flag or args.workload  # None: the default workload
        args.workload = args.workload_given or DEFAULT_WORKLOAD
    debug = args.debug or bool(os.environ.get("NEUROSIM_DEBUG"))
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        check_flags(args)
        with activate(Progress(quiet=getattr(args, "quiet", False))):
            return args.func(args)
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:
        if e.code == 143:
            print("neurosim: terminated", file=sys.stderr)
        raise
    except BrokenPipeError:  # stdout closed early (neurosim list archs | head): nothing more to say
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except OSError as e:  # the files and the machine: name the file and say what is wrong in words
        if debug:
            raise
        where = e.filename if e.filename is not None else ""
        print(f"neurosim: error: {where}: {e.strerror or e}" if where else f"neurosim: error: {e.strerror or e}",
              file=sys.stderr)
        return 2
    except (ValueError, MemoryError) as e:  # a user error: the input, or a machine too small for it
        if debug:
            raise
        what = "out of memory (use a smaller network or batch)" if isinstance(e, MemoryError) else str(e)
        print(f"neurosim: error: {what}", file=sys.stderr)
        return 2
    except Exception as e:  # anything else is ours
        if debug:
            raise
        print(f"neurosim: internal error: {type(e).__name__}: {e} (run again with --debug for the traceback, and "
              f"please report it)", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
