"""One run: wires dataset, functional core, observers and reports together.

Everything that can be wrong with the input (workload keys, method, N, data files, network shape) is
checked before the output directory is created, so a failed run leaves nothing behind.
"""
from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .core.counting import CSV_COLUMNS, CountingObserver
from .core.methods import DeviceModel, Method, make_method
from .core.network import Network, build_network
from .core.optim import make_optimizer
from .core.train import TrainConfig, TrainResult, train
from .data import Dataset, load_dataset
from .events import ObserverGroup
from .hw.arch import Architecture, load_arch
from .hw.simulator import HardwareObserver, OperandAlphabet
from .hw.weight_memory import WeightBits
from .report.hardware import hardware_summary, write_hardware_report
from .report.files import write_csv, write_json, write_npz
from .spec import parse_network
from .workload import Workload, WorkloadError, load_workload

REPORTS_DIR = Path("reports")


@dataclass
class Overrides:
    """Command-line overrides of a workload's settings (None: keep the workload's)."""

    method: str | None = None
    N: int | None = None
    epochs: int | None = None
    batch: int | None = None
    seed: int | None = None
    lr_start: float | None = None
    lr_fin: float | None = None


@dataclass
class Prepared:
    """A validated run, ready to train: nothing has been written yet."""

    workload: Workload
    method: Method
    data: Dataset
    net: Network
    cfg: TrainConfig
    seed: int


def make_method_for(w: Workload, method: str, N: int | None) -> Method:
    dst = dict(w.dst)
    opts = {k: dst[k] for k in ("tau", "m", "L") if k in dst}
    act = w.activation
    if method != w.method and isinstance(act, dict):
        act = None  # the workload's activation belongs to its own method
    try:
        return make_method(method, N=N, activation=act, **opts)
    except ValueError as e:
        raise WorkloadError(f"{w.source}: {e}") from None


def prepare(workload: str | Path | Workload, ov: Overrides | None = None, data_dir: str | Path | None = None,
            device: DeviceModel | None = None) -> Prepared:
    """Load and validate everything a run needs.

    ``device``: train dst/gxnor weights as they behave on these devices (variation, stuck-at faults, noisy
    pulse-train writes, limited levels, read noise); ignored for methods without DST weights.
    """
    ov = ov or Overrides()
    w = workload if isinstance(workload, Workload) else load_workload(workload)
    method_name = ov.method or w.method
    N = ov.N if ov.N is not None else (w.N if method_name == w.method else None)
    method = make_method_for(w, method_name, N)
    if device is not None and method.name in ("dst", "gxnor"):
        method = dataclasses.replace(method, device=device)
    seed = w.seed if ov.seed is None else ov.seed
    tr = dict(w.train)
    for key in ("epochs", "batch", "lr_start", "lr_fin"):
        if getattr(ov, key) is not None:
            tr[key] = getattr(ov, key)
    cfg = TrainConfig(seed=seed, **tr)
    cfg.validate(w.source)
    data = load_dataset(w.dataset, data_dir=data_dir, seed=seed, source=w.source)
    if len(data.x_train) == 0:
        raise WorkloadError(f"{w.source}: the training split is empty")
    try:
        net = build_network(parse_network(w.network), data.input_shape, data.num_classes, method, seed=seed,
                            loss=w.loss, batch_norm=w.batch_norm)
    except ValueError as e:
        raise WorkloadError(f"{w.source}: key 'network': {e}") from None
    return Prepared(w, method, data, net, cfg, seed)


def run_id(p: Prepared) -> str:
    n = f"-N{p.method.N}" if p.method.name == "dst" else ""
    return f"{p.workload.name}-{p.method.name}{n}-seed{p.seed}"


def model_meta(p: Prepared) -> dict[str, Any]:
    """What is needed to rebuild the network around saved weights."""
    m = p.method
    return {"workload": p.workload.name, "network": p.workload.network, "method": m.name, "N": m.N, "L": m.L,
            "activation": asdict(m.activation), "loss": p.net.loss, "input_shape": list(p.data.input_shape),
            "num_classes": p.data.num_classes, "batch_norm": p.workload.batch_norm, "seed": p.seed}


def save_model(path: Path, p: Prepared) -> None:
    """Trained weights in their stored form (DST: integer state indices), BN parameters and metadata; no pickle."""
    arrays = dict(p.net.arrays())
    arrays["meta"] = np.array(json.dumps(model_meta(p)))
    write_npz(path, arrays)


def train_and_report(p: Prepared, out: Path, resume: bool = False, progress: bool = True, observers=(),
                     log=None, hardware: "HardwareRun | None" = None) -> dict[str, Any]:
    """Train with the counting observer (plus any others), then write summary.json, layers.csv, model.npz.

    With ``hardware``, its observer sees every training batch and the test-set inference, and the hardware
    report (per layer and phase cycles, energy, traffic; plots) is written beside the training report.
    """
    counter = CountingObserver()
    if hardware is not None:
        observers = (*observers, hardware.timed)
    observer = ObserverGroup([counter, *observers]) if observers else counter
    fresh = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    ck = out / "checkpoint.npz"
    if not resume and ck.exists():
        ck.unlink()
    t0 = time.perf_counter()
    try:
        # the counting observer's state travels in the checkpoint so whole-run counts survive a resume
        res: TrainResult = train(p.net, p.data, p.cfg, observer=_Stateful(observer, counter, hardware),
                                 checkpoint=ck, resume=resume, progress=progress, log=log)
    except BaseException:
        if fresh and not any(f.name != "checkpoint.npz" for f in out.iterdir()) and not ck.exists():
            shutil.rmtree(out, ignore_errors=True)
        raise
    d = p.data
    acc = {"train": p.net.accuracy(d.x_train, d.y_train, p.cfg.eval_batch),
           "validation": p.net.accuracy(d.x_val, d.y_val, p.cfg.eval_batch),
           "test": p.net.accuracy(d.x_test, d.y_test, p.cfg.eval_batch,
                                  observer=hardware.timed if hardware is not None else None)}
    m = p.method
    summary = {
        "workload": p.workload.name, "workload_file": p.workload.source, "network": p.workload.network,
        "method": m.name, "N": m.N if m.name in ("dst", "gxnor") else None, "activation": asdict(m.activation),
        "device": asdict(m.device) if getattr(m, "device", None) is not None else None,
        "seed": p.seed, "epochs": p.cfg.epochs, "epochs_run": res.epochs_run, "best_epoch": res.best_epoch,
        "batch": p.cfg.batch, "lr_start": p.cfg.lr_start, "lr_fin": p.cfg.lr_fin, "optimizer": p.cfg.optimizer,
        "accuracy": acc,
        # median over epochs: the first epoch also pays numba's one-time compilation
        "samples_per_second": statistics.median(h["samples_per_second"] for h in res.history) if res.history else None,
        "samples_per_second_overall": res.samples_per_second, "train_seconds": res.train_seconds,
        "resting_probability": counter.resting_probability(),
        "weights": p.net.weight_count(),
        "weight_bits_stored": p.net.mac_layers[0].weights.stored_bits,
        "weight_bits_deployed": p.net.mac_layers[0].weights.deployed_bits,
        "optimizer_state_bits_per_weight": make_optimizer(p.cfg.optimizer).state_bits_per_weight,
        "dataset": {"name": d.name, "train": len(d.x_train), "validation": len(d.x_val), "test": len(d.x_test)},
        "history": res.history, "wall_seconds": time.perf_counter() - t0,
        "neurosim_version": __version__, "python": platform.python_version(),
    }
    if hardware is not None:
        summary.update(hardware.summary(res.train_seconds))
        write_csv(out / "counts.csv", counter.rows(), CSV_COLUMNS)
        hardware.write(out, summary)
    else:
        write_csv(out / "layers.csv", counter.rows(), CSV_COLUMNS)
    write_json(out / "summary.json", summary)
    save_model(out / "model.npz", p)
    return summary


class _Stateful:
    """Forwards records to `observer`; checkpoint state to/from the counting and hardware observers."""

    def __init__(self, observer, counter: CountingObserver, hardware: "HardwareRun | None" = None):
        self.observer, self.counter, self.hardware = observer, counter, hardware

    def observe(self, rec) -> None:
        self.observer.observe(rec)

    def state(self) -> dict[str, np.ndarray]:
        d = self.counter.state()
        if self.hardware is not None:
            d.update(self.hardware.state())
        return d

    def load_state(self, d: dict[str, np.ndarray]) -> None:
        self.counter.load_state({k: v for k, v in d.items() if k.startswith("count.")})
        if self.hardware is not None:
            self.hardware.load_state(d)


# ---------------------------------------------------------------------------------------------- hardware
def weight_bits(method: Method, optimizer: str) -> WeightBits:
    """Bits the method keeps per weight, and where they come from (hw never imports training code)."""
    opt = make_optimizer(optimizer).state_bits_per_weight
    if method.name in ("dst", "gxnor"):
        return WeightBits(stored=method.N + 1, optimizer=opt, transition_table=method.tau != "linear")
    if method.name in ("bwn", "bnn"):
        return WeightBits(stored=1, hidden=32, optimizer=opt, space_switch=True)
    if method.name == "twn":
        return WeightBits(stored=2, hidden=32, optimizer=opt, space_switch=True)
    return WeightBits(stored=32, optimizer=opt)


def operand_alphabet(method: Method) -> OperandAlphabet:
    """Nonzero probability of uniformly random operands of the method's weight and activation spaces."""
    act = method.activation
    a_nz = 2 * act.levels / (2 * act.levels + 1) if act.kind in ("ternary", "multilevel") else 1.0
    if method.name in ("dst", "gxnor"):
        w_nz = 2 ** method.N / (2 ** method.N + 1) if method.N >= 1 else 1.0
    elif method.name == "twn":
        w_nz = 2 / 3
    else:
        w_nz = 1.0
    return OperandAlphabet(activation_nonzero=a_nz, weight_nonzero=w_nz)


class HardwareRun:
    """The hardware observer of one run, timed, with its report writers."""

    def __init__(self, arch: "Architecture | CrossbarArch", p: Prepared, batch: int | None = None):
        """The digital simulator for an Architecture; the crossbar simulator for a CrossbarArch (DST weights)."""
        from .hw.crossbar_arch import CrossbarArch
        from .hw.crossbar_sim import CrossbarObserver

        self.arch = arch
        if isinstance(arch, CrossbarArch):
            if p.method.name not in ("dst", "gxnor"):
                raise WorkloadError(f"{arch.source_file}: a crossbar holds DST weight states; method "
                                    f"{p.method.name!r} has none (use method gxnor or dst)")
            self.observer = CrossbarObserver(arch, p.net.infos(), batch or p.cfg.batch, weight_N=p.method.N,
                                             alphabet=operand_alphabet(p.method), weight_L=p.method.L)
        else:
            self.observer = HardwareObserver(arch, p.net.infos(), batch or p.cfg.batch,
                                             weight_bits(p.method, p.cfg.optimizer), operand_alphabet(p.method))
        self.seconds = 0.0
        self.timed = _Timed(self)

    def state(self) -> dict[str, np.ndarray]:
        return {"hw.state": np.array(json.dumps(self.observer.state()))}

    def load_state(self, d: dict[str, np.ndarray]) -> None:
        if "hw.state" in d:
            self.observer.load_state(json.loads(str(d["hw.state"])))

    def summary(self, train_seconds: float | None) -> dict[str, Any]:
        self.result = self.observer.finish()
        return hardware_summary(self.result, self.arch, self.seconds, train_seconds)

    def write(self, out: Path, summary: dict[str, Any]) -> None:
        write_hardware_report(self.result, out, summary)


class _Timed:
    """Observer wrapper that measures the wall time the hardware simulation adds."""

    def __init__(self, run: HardwareRun):
        self.run = run

    def observe(self, rec) -> None:
        t0 = time.perf_counter()
        self.run.observer.observe(rec)
        self.run.seconds += time.perf_counter() - t0


def load_architecture(path: str | Path) -> "Architecture | CrossbarArch":
    """An architecture file (or shipped name) validated, as ArchError (a ValueError) on bad input.

    A file with a top-level ``crossbar`` or ``device`` key and no ``components`` is a crossbar architecture
    (:func:`~neurosim.hw.crossbar_arch.load_crossbar_arch`); anything else, unreadable files included, goes to
    :func:`~neurosim.hw.arch.load_arch`, whose errors name the file and key.
    """
    import yaml

    from .hw.arch import find_arch
    from .hw.crossbar_arch import load_crossbar_arch

    found = find_arch(path)
    try:
        doc = yaml.safe_load(found.read_text())
    except (OSError, yaml.YAMLError):
        doc = None
    if isinstance(doc, dict) and ("crossbar" in doc or "device" in doc) and "components" not in doc:
        return load_crossbar_arch(found)
    return load_arch(found)


def evaluate_and_report(p: Prepared, hardware: HardwareRun, out: Path, split: str = "test") -> dict[str, Any]:
    """Inference of a split of a trained model on the hardware; writes summary.json and the hardware report."""
    d = p.data
    x, y = {"test": (d.x_test, d.y_test), "validation": (d.x_val, d.y_val), "train": (d.x_train, d.y_train)}[split]
    if len(x) == 0:
        raise WorkloadError(f"{p.workload.source}: the {split} split is empty")
    t0 = time.perf_counter()
    acc = p.net.accuracy(x, y, p.cfg.eval_batch, observer=hardware.timed)
    m = p.method
    summary = {"workload": p.workload.name, "workload_file": p.workload.source, "network": p.workload.network,
               "method": m.name, "N": m.N if m.name in ("dst", "gxnor") else None, "seed": p.seed,
               "mode": "inference", "split": split, "samples": len(x), "accuracy": {split: acc},
               "dataset": {"name": d.name, split: len(x)}, "wall_seconds": time.perf_counter() - t0,
               "neurosim_version": __version__, "python": platform.python_version()}
    summary.update(hardware.summary(None))
    out.mkdir(parents=True, exist_ok=True)
    hardware.write(out, summary)
    write_json(out / "summary.json", summary)
    return summary


def load_model_into(p: Prepared, model: Path) -> None:
    """Load trained weights (a model.npz written by a run) into the prepared network."""
    try:
        with np.load(model, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except (OSError, ValueError) as e:
        raise ValueError(f"{model}: cannot read the model: {e}") from None
    p.net.load_arrays(arrays, str(model))


def model_workload(model: Path) -> tuple[str, dict[str, Any]]:
    """The workload name and method settings a model.npz was trained with (from its metadata)."""
    try:
        with np.load(model, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"{model}: not a neurosim model (no readable 'meta'): {e}") from None
    return meta["workload"], meta
