"""The first stage of every run: a workload (and overrides) -> a validated method, dataset, network and training
configuration. Everything that can be wrong with the input is checked here, before any output is written."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from ..core.methods import Method, make_method
from ..core.network import Network, build_network
from ..core.runtime import numba_threads_setting
from ..core.train import TrainConfig
from ..data import DATASETS, Dataset, load_dataset
from ..devices import DeviceSpec
from ..devices import MAX_N
from ..names import DST_METHODS, METHOD_NAMES, Method as MethodName
from ..schema.overrides import Override, split_targets
from ..schema.workload import Workload, WorkloadError, load_workload
from ..spec import parse_network
from .guard import check_fits, estimate_training

__all__ = ["REPORTS_DIR", "Overrides", "Prepared", "check_overrides", "make_method_for", "prepare", "run_id"]

REPORTS_DIR = Path("reports")


@dataclass
class Overrides:
    """Command-line overrides of a workload's settings (None: keep the workload's); ``sets``: the ``--set KEY=VALUE``
    overrides of any workload or architecture key (:mod:`neurosim.schema.overrides`)."""

    method: str | None = None
    N: int | None = None
    epochs: int | None = None
    batch: int | None = None
    seed: int | None = None
    lr_start: float | None = None
    lr_fin: float | None = None
    sets: tuple[Override, ...] = ()

    @property
    def workload_sets(self) -> tuple[Override, ...]:
        return split_targets(self.sets)[0]

    @property
    def arch_sets(self) -> tuple[Override, ...]:
        return split_targets(self.sets)[1]


# the flag -> the --set key that says the same (both given is an error)
_FLAG_KEYS = {"method": "method", "N": "N", "epochs": "train.epochs", "batch": "train.batch", "seed": "seed",
              "lr_start": "train.lr_start", "lr_fin": "train.lr_fin"}


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
            device: DeviceSpec | None = None) -> Prepared:
    """Load and validate everything a run needs.

    ``device``: train dst/gxnor weights as they behave on these devices (variation, stuck-at faults, noisy
    pulse-train writes, limited levels, read noise); ignored for methods without DST weights.
    """
    ov = ov or Overrides()
    numba_threads_setting()  # a bad NEUROSIM_NUMBA_THREADS is an error before anything is built
    if isinstance(workload, Workload) and ov.workload_sets:
        raise ValueError(f"{ov.workload_sets[0].flag}: the workload is already built; give its file to apply --set")
    w = workload if isinstance(workload, Workload) else load_workload(workload, ov.workload_sets)
    check_overrides(ov, w)
    if data_dir is not None and DATASETS.get(w.dataset.get("name"), None) is not None \
            and DATASETS[w.dataset["name"]].kind == "sklearn":
        raise ValueError(f"--data: the workload's dataset {w.dataset['name']!r} ships with scikit-learn (no files); "
                         f"--data applies to MNIST, Fashion-MNIST and CIFAR-10 workloads")
    method_name = ov.method or w.method
    N = ov.N if ov.N is not None else (w.N if method_name == w.method else None)
    method = make_method_for(w, method_name, N)
    if device is not None and method.name in DST_METHODS:
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
    if cfg.batch > len(data.x_train):
        where = "--batch" if ov.batch is not None else f"{w.source}: train.batch"
        raise ValueError(f"{where}: {cfg.batch} is larger than the training split ({len(data.x_train)} samples); "
                         f"allowed: 1..{len(data.x_train)}")
    specs = parse_network(w.network)
    check_fits(estimate_training(specs, data.input_shape, data.num_classes, cfg.batch, cfg.eval_batch),
               f"network {w.network!r}", w.source)
    try:
        net = build_network(specs, data.input_shape, data.num_classes, method, seed=seed,
                            loss=w.loss, batch_norm=w.batch_norm, input_bits=data.input_bits)
    except ValueError as e:
        raise WorkloadError(f"{w.source}: key 'network': {e}") from None
    return Prepared(w, method, data, net, cfg, seed)


def check_overrides(ov: Overrides, w: Workload) -> None:
    """Command-line overrides are checked on their own, so a bad one is named as the flag, not as the workload."""
    def bad(flag: str, msg: str) -> None:
        raise ValueError(f"{flag}: {msg}")

    for name, key in _FLAG_KEYS.items():
        both = [o for o in ov.workload_sets if ".".join(o.parts[1:]) == key]
        if getattr(ov, name) is not None and both:
            bad(f"--{name.replace('_', '-')} and {both[0].flag}", f"both set {key}; give one")

    if ov.method is not None and ov.method not in METHOD_NAMES:
        bad("--method", f"got {ov.method!r}; allowed: {', '.join(METHOD_NAMES)}")
    method = ov.method or w.method
    if ov.N is not None:
        if isinstance(ov.N, bool) or not isinstance(ov.N, int) or not 0 <= ov.N <= MAX_N:
            bad("--N", f"must be an integer 0..{MAX_N}, got {ov.N!r}")
        if method not in DST_METHODS:
            bad("--N", f"applies to methods dst and gxnor only (the method is {method!r})")
        if method == MethodName.GXNOR and ov.N != 1:
            bad("--N", f"method 'gxnor' is ternary (N = 1); use --method dst for N = {ov.N}")
    for key in ("epochs", "batch"):
        v = getattr(ov, key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            bad(f"--{key}", f"must be an integer >= 1, got {v!r}")
    for key in ("lr_start", "lr_fin"):
        v = getattr(ov, key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                              or v <= 0):
            bad(f"--{key.replace('_', '-')}", f"must be a finite number > 0, got {v!r}")
    if ov.seed is not None and (isinstance(ov.seed, bool) or not isinstance(ov.seed, int) or ov.seed < 0):
        bad("--seed", f"must be an integer >= 0, got {ov.seed!r}")


def run_id(p: Prepared) -> str:
    n = f"-N{p.method.N}" if p.method.name == MethodName.DST else ""
    return f"{p.workload.name}-{p.method.name}{n}-seed{p.seed}"
