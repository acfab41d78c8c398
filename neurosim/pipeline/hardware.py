"""The hardware stage of a run: the architecture's observer attached to the core, timed, with its report writers.

hw never imports training code, so what the method keeps per weight (:func:`weight_bits`) and the alphabet of its
operands (:func:`operand_alphabet`) are handed over here, from the method, as plain numbers.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..core.methods import Method
from ..core.optim import make_optimizer
from ..hw.arch import Architecture
from ..hw.observer import HardwareObserver, OperandAlphabet
from ..hw.weight_memory import WeightBits
from ..names import DST_METHODS, HIDDEN_FLOAT_METHODS, Method as MethodName
from ..report.hardware import hardware_summary, write_hardware_report
from ..schema.workload import WorkloadError
from .prepare import Prepared

__all__ = ["HardwareRun", "weight_bits", "operand_alphabet"]


def weight_bits(method: Method, optimizer: str) -> WeightBits:
    """Bits the method keeps per weight, and where they come from (hw never imports training code)."""
    opt = make_optimizer(optimizer).state_bits_per_weight
    if method.name in DST_METHODS:
        return WeightBits(stored=method.N + 1, optimizer=opt, transition_table=method.tau != "linear")
    if method.name in HIDDEN_FLOAT_METHODS:  # binary (BWN, BNN) or ternary (TWN) codes from a float hidden weight
        return WeightBits(stored=2 if method.name == MethodName.TWN else 1, hidden=32, optimizer=opt,
                          space_switch=True)
    return WeightBits(stored=32, optimizer=opt)


def operand_alphabet(method: Method) -> OperandAlphabet:
    """Nonzero probability of uniformly random operands of the method's weight and activation spaces."""
    act = method.activation
    a_nz = 2 * act.levels / (2 * act.levels + 1) if act.kind in ("ternary", "multilevel") else 1.0
    if method.name in DST_METHODS:
        w_nz = 2 ** method.N / (2 ** method.N + 1) if method.N >= 1 else 1.0
    elif method.name == MethodName.TWN:
        w_nz = 2 / 3
    else:
        w_nz = 1.0
    return OperandAlphabet(activation_nonzero=a_nz, weight_nonzero=w_nz)


class HardwareRun:
    """The hardware observer of one run, timed, with its report writers."""

    def __init__(self, arch: Architecture, p: Prepared, batch: int | None = None):
        """One observer for every architecture; a crossbar holds DST weight states, so it needs a DST method."""
        self.arch = arch
        if arch.is_crossbar and p.method.name not in DST_METHODS:
            raise WorkloadError(f"{arch.source_file}: a crossbar holds DST weight states; method "
                                f"{p.method.name!r} has none (use method gxnor or dst)")
        bits = None if arch.is_crossbar else weight_bits(p.method, p.cfg.optimizer)
        self.observer = HardwareObserver(arch, p.net.infos(), batch or p.cfg.batch, bits, operand_alphabet(p.method),
                                         weight_N=p.method.N, weight_L=p.method.L)
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

    def write(self, out: Path, summary: dict[str, Any], plots: bool = True) -> None:
        write_hardware_report(self.result, out, summary, plots=plots)


class _Timed:
    """Observer wrapper that measures the wall time the hardware simulation adds."""

    def __init__(self, run: HardwareRun):
        self.run = run

    def observe(self, rec) -> None:
        t0 = time.perf_counter()
        self.run.observer.observe(rec)
        self.run.seconds += time.perf_counter() - t0
