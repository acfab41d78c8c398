"""The Python API: the runs of the ``neurosim`` command as functions that return typed results.

:func:`run` (train and simulate, evaluate a saved model, or simulate a topology CSV), :func:`simulate` (a saved
model on an accelerator), :func:`train` (no accelerator), :func:`load_arch` and :func:`load_workload` (the validated
files, with ``--set`` overrides), and :class:`RunResult` (a report folder: its summary, and its per-layer tables as
pandas DataFrames). Every run goes through the same :mod:`neurosim.pipeline` functions as the CLI, so a call and the
command with the same arguments write the same report (same numbers, same default folder
``reports/<run-id>-<arch>-<hash>``), and a bad argument raises the same ``ValueError`` subclass with the same message
(naming the file, the key or the ``--set``). Documented in docs/api.md.

This module is imported on first use of ``neurosim.run`` (etc.), and imports the pipeline (numba, the simulator)
only inside the functions that run something, so ``neurosim.RunResult.load`` of a finished report stays cheap.
"""
from __future__ import annotations

import functools
import html
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Mapping, TypeVar, Union

from .report import units

if TYPE_CHECKING:  # pragma: no cover - types only
    import pandas as pd

    from .hw.arch import Architecture
    from .schema.overrides import Override
    from .schema.workload import Workload

__all__ = ["RunResult", "run", "simulate", "train", "load_arch", "load_workload", "Sets", "DEFAULT_WORKLOAD",
           "DEFAULT_ARCH", "SPLITS"]

DEFAULT_WORKLOAD = "digits_mlp"  # as the CLI: the embedded 8x8 digits, no download
DEFAULT_ARCH = "gxnor"
SPLITS = ("test", "validation", "train")

# ``--set`` overrides as the API takes them: {"arch.pe_array.lanes": 128} (values already parsed) or
# ["arch.pe_array.lanes=128"] (VALUE is YAML, as on the command line)
Sets = Union[Mapping[str, Any], Iterable[str], None]
PathLike = Union[str, Path]
F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------------------------------------- notebooks
def _backend(mpl: Any) -> Any:
    rc = mpl.rcParams
    return rc._get("backend") if hasattr(rc, "_get") else dict.__getitem__(rc, "backend")


@contextmanager
def keeping_plot_backend() -> Iterator[None]:
    """Put matplotlib's backend back after a run: the report writers switch it to Agg (they only write PNG files),
    which would leave a notebook's inline backend off, so its own ``plt.show()`` would show nothing."""
    mpl = sys.modules.get("matplotlib")
    before = _backend(mpl) if mpl is not None else None
    if not isinstance(before, str):  # not imported yet, or not resolved yet: what matplotlib would pick
        before = os.environ.get("MPLBACKEND")
    try:
        yield
    finally:
        mpl = sys.modules.get("matplotlib")
        if before is not None and mpl is not None and _backend(mpl) != before:
            _restore_backend(mpl, before)


def _restore_backend(mpl: Any, backend: str) -> None:
    """``matplotlib.use(backend)``; IPython's inline backend also needs its display hooks set up again (as
    ``%matplotlib inline`` does), else figures show as ``<Figure size ...>`` without the image."""
    try:
        ip = None
        if "inline" in backend and "IPython" in sys.modules:
            from IPython import get_ipython

            ip = get_ipython()
        if ip is None:
            mpl.use(backend)
            return
        from IPython.core.pylabtools import activate_matplotlib
        from matplotlib_inline.backend_inline import configure_inline_support

        activate_matplotlib(backend)
        configure_inline_support(ip, backend)
    except (ImportError, ValueError, AttributeError):  # a backend that cannot be restored here: leave Agg
        pass


def _keeps_plot_backend(fn: F) -> F:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with keeping_plot_backend():
            return fn(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class RunResult:
    """A finished run's report folder (absolute) and its ``summary.json``; the per-layer tables are read when first
    asked for.

    ``summary`` is the summary exactly as written (the keys are listed in docs/api.md); the properties below are
    the headline numbers, None where the run has none (e.g. no ``energy_pj`` for a training without an
    accelerator, no ``accuracy`` for a topology CSV on random operands)."""

    folder: Path
    summary: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def load(cls, folder: PathLike) -> "RunResult":
        """Open the report folder of an earlier run (the API's, the CLI's or a sweep point's)."""
        from .pipeline.outputs import OutputError

        folder = Path(folder).absolute()  # the result stays valid when the current folder changes
        path = folder / "summary.json"
        if not path.is_file():
            what = "does not exist" if not folder.exists() else "holds no neurosim report (no summary.json)"
            raise OutputError(f"{folder}: {what}; give the folder of a finished run")
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise OutputError(f"{path}: not a readable summary ({e})") from None
        if not isinstance(summary, dict):
            raise OutputError(f"{path}: not a run summary (a JSON object is expected)")
        return cls(folder, summary)

    # ---- what kind of run
    @property
    def kind(self) -> Literal["training", "inference", "topology", "onnx"]:
        """``training`` (with or without an accelerator), ``inference`` (a saved model), ``topology`` (a CSV) or
        ``onnx`` (an imported ONNX model's inference)."""
        fmt = self.summary.get("format")
        if fmt == "topology csv":
            return "topology"
        if fmt == "onnx":
            return "onnx"
        return "inference" if self.summary.get("mode") == "inference" else "training"

    @property
    def split(self) -> str | None:
        """The data split the accuracy is of (``test`` for a training run); None for a topology or ONNX model."""
        if self.kind in ("topology", "onnx"):
            return None
        return str(self.summary.get("split", "test"))

    # ---- headline numbers
    @property
    def accuracy(self) -> float | None:
        """Accuracy (0..1) on :attr:`split`; None for a topology CSV (random operands)."""
        acc = self.summary.get("accuracy")
        if not isinstance(acc, dict) or self.split is None:
            return None
        v = acc.get(self.split)
        return None if v is None else float(v)

    @property
    def energy_pj(self) -> float | None:
        """Energy of everything the accelerator ran, in pJ (a training run: the training; otherwise the inference);
        None without an accelerator. The test-set inference of a training run: :attr:`inference`."""
        v = self.summary.get("energy_pj")
        return None if v is None else float(v)

    @property
    def cycles(self) -> int | None:
        """Clock cycles of everything the accelerator ran (as :attr:`energy_pj`); None without an accelerator."""
        v = self.summary.get("cycles")
        return None if v is None else int(v)

    @property
    def latency_s(self) -> float | None:
        """:attr:`cycles` at the architecture's clock, in seconds."""
        v = self.summary.get("latency_s")
        return None if v is None else float(v)

    @property
    def area_mm2(self) -> float | None:
        """Chip area of the architecture's on-chip components (mm2), None without an accelerator."""
        v = self.summary.get("area_mm2")
        return None if v is None else float(v)

    @property
    def inference(self) -> dict[str, Any]:
        """The inference part of the summary (cycles, energy_pj, energy_pj_per_sample, samples ...); empty without
        an accelerator."""
        v = self.summary.get("inference")
        return dict(v) if isinstance(v, dict) else {}

    @property
    def model_path(self) -> Path | None:
        """The trained model (``model.npz``) a training run wrote, to pass to :func:`simulate`; else None."""
        p = self.folder / "model.npz"
        return p if p.is_file() else None

    # ---- tables (pandas is imported here, on first use)
    @cached_property
    def layers(self) -> "pd.DataFrame":
        """``layers.csv``: one row per (mode, layer, phase): cycles, energy_pj (and energy by component), traffic,
        operand pairs, resting probability ... With an accelerator, ``mode`` is ``train`` (the training) or
        ``eval`` (the inference); a training without an accelerator has the counting observer's rows."""
        return self._csv("layers.csv")

    @cached_property
    def footprint(self) -> "pd.DataFrame":
        """``footprint.csv``: area and leakage per component with their units and sources (with an accelerator)."""
        return self._csv("footprint.csv")

    @cached_property
    def counts(self) -> "pd.DataFrame":
        """``counts.csv`` (the counting observer's rows beside a hardware report; for a training without an
        accelerator these are :attr:`layers`)."""
        return self._csv("counts.csv" if (self.folder / "counts.csv").exists() else "layers.csv")

    def _csv(self, name: str) -> "pd.DataFrame":
        import pandas as pd

        path = self.folder / name
        if not path.is_file():
            from .pipeline.outputs import OutputError

            raise OutputError(f"{path}: not in this report (a {self.kind} run"
                              f"{' without an accelerator' if self.energy_pj is None else ''})")
        return pd.read_csv(path)

    # ---- display
    def _headline(self) -> list[tuple[str, str]]:
        s = self.summary
        rows: list[tuple[str, str]] = [("workload", f"{s.get('workload')} ({s.get('network', '')})")]
        if self.kind in ("training", "inference"):
            n = f" N={s['N']}" if s.get("N") is not None else ""
            rows.append(("method", f"{s.get('method')}{n}, seed {s.get('seed')}"))
        if s.get("arch") is not None:
            rows.append(("architecture", f"{s['arch']} ({s.get('technology', '')}, "
                                         f"{float(s.get('clock_hz', 0)) / 1e6:g} MHz)"))
        if self.accuracy is not None:
            rows.append((f"{self.split} accuracy", f"{100 * self.accuracy:.2f} %"))
        if self.energy_pj is not None:
            what = "training" if self.kind == "training" else "inference"
            rows.append((f"{what} energy", units.energy(self.energy_pj)))
            rows.append((f"{what} cycles", f"{self.cycles:,}"))
        inf = self.inference
        if self.kind == "training" and inf.get("energy_pj_per_sample") is not None:
            rows.append(("inference per sample", f"{units.energy(inf['energy_pj_per_sample'])}, "
                                                 f"{inf.get('cycles', 0) / max(1, inf.get('samples', 1)):,.0f} "
                                                 f"cycles (batch of {inf.get('samples')})"))
        if self.area_mm2 is not None:
            rows.append(("area", units.area(self.area_mm2 * 1e6)))
        rows.append(("folder", str(self.folder)))
        return rows

    def __repr__(self) -> str:
        parts = [f"{self.kind}", f"folder={str(self.folder)!r}"]
        if self.accuracy is not None:
            parts.append(f"accuracy={self.accuracy:.4f}")
        if self.energy_pj is not None:
            parts.append(f"energy_pj={self.energy_pj:.6g}")
            parts.append(f"cycles={self.cycles}")
        return f"RunResult({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """A table of the headline numbers, for notebooks."""
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                        f"{html.escape(v)}</td></tr>" for k, v in self._headline())
        page = self.folder / "report.html"
        link = f"<p>report: <code>{html.escape(str(page))}</code></p>" if page.exists() else ""
        return f"<div><b>neurosim RunResult</b> ({html.escape(self.kind)})<table>{cells}</table>{link}</div>"


# ---------------------------------------------------------------------------------------------- arguments
def _overrides(sets: Sets) -> "tuple[Override, ...]":
    """``sets`` as ``--set`` overrides; a malformed or repeated key is an OverrideError naming it."""
    from .schema.overrides import Override, OverrideError, make_override, parse_sets

    if sets is None:
        return ()
    if isinstance(sets, (str, bytes)):
        raise OverrideError(f"sets={sets!r}: give a mapping {{KEY: VALUE}} or a list of 'KEY=VALUE' strings, e.g. "
                            f"{{'arch.pe_array.lanes': 128}}")
    if isinstance(sets, Mapping):
        out: list[Override] = []
        for k, v in sets.items():
            ov = make_override(k, v)
            if any(o.parts == ov.parts for o in out):
                raise OverrideError(f"--set {ov.key}: given twice; give each key once")
            out.append(ov)
        return tuple(out)
    items: list[Any] = list(sets)
    if all(isinstance(s, Override) for s in items):
        return tuple(items)
    bad = [s for s in items if not isinstance(s, str)]
    if bad:
        raise OverrideError(f"sets: {bad[0]!r} is not a 'KEY=VALUE' string (e.g. 'arch.pe_array.lanes=128'); or "
                            f"give a mapping {{KEY: VALUE}}")
    return parse_sets(items)


def _refuse(given: Mapping[str, Any], why: str) -> None:
    """A ValueError naming the arguments that were given (not None / False) but do not apply, as the CLI does."""
    names = [k for k, v in given.items() if v is not None and v is not False]  # 0 is given (0 == False)
    if names:
        raise ValueError(f"{', '.join(f'{n}=' for n in names)}: {why}")


def _check_int(name: str, v: Any, low: int) -> None:
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
        raise ValueError(f"{name}=: must be an integer >= {low}, got {v!r}")


def _check_path_arg(name: str, v: Any, allow_arch: bool = False) -> None:
    from .hw.arch import Architecture

    ok = (str, Path) + ((Architecture,) if allow_arch else ())
    if not isinstance(v, ok) or (isinstance(v, str) and not v):
        what = "a name or a path" + (", or an Architecture from load_arch" if allow_arch else "")
        got = repr(v) if v is None or isinstance(v, (str, int, float)) else f"a {type(v).__name__}"
        raise ValueError(f"{name}=: expected {what}, got {got}")


def _check_out(out: Any) -> None:
    if out is not None and (not isinstance(out, (str, Path)) or str(out) == ""):
        raise ValueError(f"out=: give a folder for the report, got {out!r}")


def _is_csv(workload: Any) -> bool:
    return isinstance(workload, (str, Path)) and str(workload).endswith(".csv")


def _is_onnx(workload: Any) -> bool:
    return isinstance(workload, (str, Path)) and str(workload).endswith(".onnx")


def _arch_for_run(arch: "Architecture | PathLike", sets: "tuple[Override, ...]") -> "Architecture":
    """The architecture, loaded with the ``arch.*`` overrides (an already loaded one takes none)."""
    from .hw.arch import Architecture
    from .hw.arch import load_arch as _load
    from .schema.overrides import split_targets

    a_sets = split_targets(sets)[1]
    if isinstance(arch, Architecture):
        if a_sets:
            raise ValueError(f"{a_sets[0].flag}: the architecture is already loaded; give its name or file to "
                             f"apply sets (or pass sets to load_arch)")
        return arch
    return _load(arch, a_sets)


# ---------------------------------------------------------------------------------------------- loading
def load_arch(name_or_path: PathLike, sets: Sets = None) -> "Architecture":
    """Load and validate an architecture: a shipped name (``gxnor``, ``gxnor_skip``, ``crossbar_dst`` ...) or a
    YAML path, with ``sets`` overrides of its keys (``{"arch.pe_array.lanes": 128}`` or ``["arch.clock_mhz=500"]``)
    validated as if the file said them. Errors: :class:`neurosim.hw.arch.ArchError` naming the file and key, or
    :class:`neurosim.schema.overrides.OverrideError` naming the ``--set``."""
    from .hw.arch import load_arch as _load
    from .schema.overrides import split_targets

    _check_path_arg("name_or_path", name_or_path)
    w_sets, a_sets = split_targets(_overrides(sets))
    if w_sets:
        raise ValueError(f"{w_sets[0].flag}: an architecture takes arch.* keys only (workload keys go to "
                         f"load_workload or run)")
    return _load(name_or_path, a_sets)


def load_workload(name_or_path: PathLike, sets: Sets = None) -> "Workload":
    """Load and validate a workload YAML (a name in ./workloads or the shipped workloads, or a path), with ``sets``
    overrides of its keys (``{"workload.train.epochs": 2, "seed": 1}``). Errors:
    :class:`neurosim.schema.workload.WorkloadError` naming the file and key, or an OverrideError naming the
    ``--set``. A topology CSV is not a workload file: simulate it with :func:`run`."""
    from .schema.overrides import split_targets
    from .schema.workload import WorkloadError
    from .schema.workload import load_workload as _load

    _check_path_arg("name_or_path", name_or_path)
    w_sets, a_sets = split_targets(_overrides(sets))
    if a_sets:
        raise ValueError(f"{a_sets[0].flag}: a workload takes workload.* keys only (architecture keys go to "
                         f"load_arch or run)")
    if _is_csv(name_or_path):
        raise WorkloadError(f"{name_or_path}: a topology CSV is simulated, not loaded as a workload: use "
                            f"neurosim.run({str(name_or_path)!r}, arch=...)")
    return _load(name_or_path, w_sets)


# ---------------------------------------------------------------------------------------------- runs
def _result(summary: dict[str, Any], folder: Path) -> RunResult:
    """The run's result; a resumed run that had nothing left to do: its report as it is on disk."""
    if summary.get("nothing_to_do"):
        return RunResult.load(folder)
    return RunResult(Path(folder).absolute(), summary)


@_keeps_plot_backend
def run(workload: PathLike | None = None, arch: "Architecture | PathLike" = DEFAULT_ARCH, *,
        model: PathLike | None = None, method: str | None = None, N: int | None = None,
        epochs: int | None = None, batch: int | None = None, lr_start: float | None = None,
        lr_fin: float | None = None, seed: int | None = None, data: PathLike | None = None,
        out: PathLike | None = None, sets: Sets = None, density: float | None = None, ideal_devices: bool = False,
        resume: bool = False, force: bool = False, quiet: bool = True) -> RunResult:
    """``neurosim run``: train a workload and simulate the accelerator on every training batch and on the test-set
    inference; or, with ``model``, evaluate a saved model on the accelerator; or, when ``workload`` is a topology CSV
    (SCALE-Sim / NeuroSim), simulate its layers on random ternary operands; or, when it is an ``.onnx`` model,
    simulate one inference batch of its own weights (docs/onnx.md).

    Arguments (None: the workload's own value, as the CLI's flags):

    - ``workload``: a workload name (``digits_mlp``, the default: embedded data) or YAML path, or a ``.csv`` topology;
      with ``model``, only its data split is used (default: the model's own workload).
    - ``arch``: an architecture name or YAML path, or an :class:`~neurosim.hw.arch.Architecture` (``load_arch``).
    - ``model``: a ``model.npz`` written by a training run (``RunResult.model_path``).
    - ``method``, ``N``, ``epochs``, ``batch``, ``lr_start``, ``lr_fin``, ``seed``: training overrides.
    - ``data``: dataset folder (MNIST, Fashion-MNIST, CIFAR-10; default ``$NEUROSIM_DATA``, then the cache).
    - ``out``: the report folder (default, as the CLI: ``reports/<run-id>-<arch>-<config hash>`` under the current
      folder). A folder holding another run's report is refused unless ``force``.
    - ``sets``: ``--set`` overrides of any workload or architecture key, ``{"arch.pe_array.lanes": 128,
      "workload.train.lr_start": 1e-3}`` or ``["arch.pe_array.lanes=128"]``.
    - ``density``, ``batch``, ``seed``: of a topology CSV's random operands (defaults 0.5, 1, 0); of an ONNX model's
      inputs (``data`` for a dataset's images; see docs/onnx.md).
    - ``ideal_devices``: on a crossbar, train on ideal devices. ``resume``: continue the folder's checkpoint.
    - ``quiet``: no progress bar (default); ``quiet=False`` shows tqdm's bar on stderr.

    Returns the :class:`RunResult`. A bad argument raises ``ValueError`` (the subclasses and messages of the CLI:
    ``WorkloadError``, ``ArchError``, ``OverrideError``, ``OutputError``), naming the file, key or argument."""
    from .pipeline import Overrides
    from .pipeline.runs import eval_run, topology_run, train_run
    from .schema.overrides import split_targets

    wl = DEFAULT_WORKLOAD if workload is None else workload
    _check_path_arg("workload", wl)
    _check_path_arg("arch", arch, allow_arch=True)
    _check_out(out)
    for name, v, low in (("N", N, 0), ("epochs", epochs, 1), ("batch", batch, 1), ("seed", seed, 0)):
        _check_int(name, v, low)
    ovs = _overrides(sets)
    w_sets = split_targets(ovs)[0]
    if resume and force:
        raise ValueError("force=: cannot be combined with resume= (resume continues the folder's run)")
    if density is not None and (isinstance(density, bool) or not isinstance(density, (int, float))):
        raise ValueError(f"density=: must be a number in [0, 1], got {density!r}")
    if _is_onnx(wl):
        _refuse({"model": model, "method": method, "N": N, "epochs": epochs, "lr_start": lr_start,
                 "lr_fin": lr_fin, "ideal_devices": ideal_devices, "resume": resume},
                "does not apply to an ONNX model (inference of its own weights; it takes arch, batch, data, density, "
                "seed, out, force and sets of arch.* keys)")
        if w_sets:
            raise ValueError(f"{', '.join(o.flag for o in w_sets)}: does not apply to an ONNX model (it has no "
                             f"workload keys; sets of arch.* apply)")
        from .pipeline.onnx_run import onnx_report
        from .pipeline.prepare import REPORTS_DIR

        a = _arch_for_run(arch, ovs)
        path = Path(wl)
        folder = Path(out) if out is not None else REPORTS_DIR / f"{path.stem}-{a.name}-b{batch or 1}"  # as the CLI
        s = onnx_report(path, a, folder, batch or 1, None if density is None else float(density), seed or 0, force,
                        data)
        return _result(s, folder)
    if _is_csv(wl):
        _refuse({"model": model, "method": method, "N": N, "epochs": epochs, "lr_start": lr_start,
                 "lr_fin": lr_fin, "data": data, "ideal_devices": ideal_devices, "resume": resume},
                "does not apply to a topology CSV (random operands, inference only; it takes arch, batch, density, "
                "seed, out, force and sets of arch.* keys)")
        if w_sets:
            raise ValueError(f"{', '.join(o.flag for o in w_sets)}: does not apply to a topology CSV (it has no "
                             f"workload keys; sets of arch.* apply)")
        a = _arch_for_run(arch, ovs)
        s, folder = topology_run(wl, a, out, batch or 1, 0.5 if density is None else float(density), seed or 0,
                                 force)
        return _result(s, folder)
    _refuse({"density": density}, "applies to topology CSV and ONNX workloads only")
    a = _arch_for_run(arch, ovs)
    if ideal_devices and not a.is_crossbar:
        raise ValueError(f"ideal_devices=: applies to crossbar architectures only ({a.name} is digital)")
    if model is not None:
        _check_path_arg("model", model)
        _refuse({"method": method, "N": N, "seed": seed}, "a saved model's network is rebuilt from the model's own "
                                                          "workload (method, N, seed); these do not apply")
        _refuse({"epochs": epochs, "lr_start": lr_start, "lr_fin": lr_fin, "resume": resume, "batch": batch},
                "does not apply to a saved model (inference; see simulate() for its batch)")
        s, folder = eval_run(model, a, workload, data, out, ideal_devices=ideal_devices, force=force, sets=w_sets)
        return _result(s, folder)
    ov = Overrides(method=method, N=N, epochs=epochs, batch=batch, seed=seed, lr_start=lr_start, lr_fin=lr_fin,
                   sets=w_sets)
    s, folder = train_run(wl, ov, data, out, arch=a, resume=resume, progress=not quiet, ideal_devices=ideal_devices,
                          force=force)
    return _result(s, folder)


@_keeps_plot_backend
def simulate(model: PathLike, arch: "Architecture | PathLike" = DEFAULT_ARCH, *, split: str = "test",
             workload: PathLike | None = None, batch: int | None = None, data: PathLike | None = None,
             out: PathLike | None = None, sets: Sets = None, force: bool = False) -> RunResult:
    """``neurosim simulate``: inference of a saved model (``model.npz``) on an accelerator over a data split.

    The network is rebuilt from the model's own workload; ``workload`` may replace its data split only. ``split``:
    ``test``, ``validation`` or ``train``. ``batch``: the inference batch (default: the workload's eval batch).
    ``sets``: overrides of architecture keys (``arch.pe_array.lanes``) and of the model's data split and inference
    batch (``workload.dataset.test``, ``workload.train.eval_batch``). ``out``: the report folder (default, as the CLI:
    ``reports/<run-id>-<arch>-<hash>-<split>``). Returns the :class:`RunResult` (kind ``inference``)."""
    from .pipeline.runs import eval_run
    from .schema.overrides import split_targets

    _check_path_arg("model", model)
    _check_path_arg("arch", arch, allow_arch=True)
    _check_out(out)
    if split not in SPLITS:
        raise ValueError(f"split=: got {split!r}; allowed: {', '.join(SPLITS)}")
    _check_int("batch", batch, 1)
    ovs = _overrides(sets)
    a = _arch_for_run(arch, ovs)
    s, folder = eval_run(model, a, workload, data, out, split=split, batch=batch, name=split, force=force,
                         sets=split_targets(ovs)[0])
    return _result(s, folder)


@_keeps_plot_backend
def train(workload: PathLike | None = None, *, method: str | None = None, N: int | None = None,
          epochs: int | None = None, batch: int | None = None, lr_start: float | None = None,
          lr_fin: float | None = None, seed: int | None = None, data: PathLike | None = None,
          out: PathLike | None = None, sets: Sets = None, resume: bool = False, force: bool = False,
          quiet: bool = True) -> RunResult:
    """``neurosim train``: train a workload without an accelerator (the counting observer's per-layer operation
    counts only); the arguments are those of :func:`run`, ``sets`` of workload keys only. The model
    (``result.model_path``) can then be simulated on any architecture with :func:`simulate`."""
    from .pipeline import Overrides
    from .pipeline.runs import train_run
    from .schema.overrides import split_targets

    wl = DEFAULT_WORKLOAD if workload is None else workload
    _check_path_arg("workload", wl)
    _check_out(out)
    if _is_csv(wl):
        raise ValueError(f"{wl}: a topology CSV is simulated, not trained: use neurosim.run({str(wl)!r}, arch=...)")
    for name, v, low in (("N", N, 0), ("epochs", epochs, 1), ("batch", batch, 1), ("seed", seed, 0)):
        _check_int(name, v, low)
    if resume and force:
        raise ValueError("force=: cannot be combined with resume= (resume continues the folder's run)")
    w_sets, a_sets = split_targets(_overrides(sets))
    if a_sets:
        raise ValueError(f"{', '.join(o.flag for o in a_sets)}: train has no architecture (use neurosim.run with "
                         f"arch=...)")
    ov = Overrides(method=method, N=N, epochs=epochs, batch=batch, seed=seed, lr_start=lr_start, lr_fin=lr_fin,
                   sets=w_sets)
    s, folder = train_run(wl, ov, data, out, resume=resume, progress=not quiet, force=force)
    return _result(s, folder)
