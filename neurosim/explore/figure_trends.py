"""The rules that say whether a reproduced figure follows the paper's trend, computed from its numbers: a
difference counts only beyond the noise of a test-set accuracy (two binomial standard errors)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RULES", "Verdict", "grid_best", "interior_peak", "rises", "rises_then_flat", "spearman", "test_samples",
           "tolerance"]


@dataclass(frozen=True)
class Verdict:
    """Whether ours follows one stated trend, what was checked, the numbers behind it and the rule."""

    what: str
    follows: bool | None  # None: reported beside the verdicts, not judged
    detail: str
    rule: str

    def line(self) -> str:
        """The verdict as printed: 'ours follows: yes/no (...)', or 'ours: (...)' for a number not judged."""
        head = "ours:" if self.follows is None else f"ours follows: {'yes' if self.follows else 'no'}"
        return f"{head} ({self.what}: {self.detail}; rule: {self.rule})"


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN pairs dropped, NaN if fewer than 3 remain."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    if ok.sum() < 3:
        return math.nan

    def rank(v: np.ndarray) -> np.ndarray:
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for u in np.unique(v):  # ties share their mean rank
            r[v == u] = r[v == u].mean()
        return r

    rx, ry = rank(xa[ok]), rank(ya[ok])
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


WORKLOAD = "mnist_mlp"  # the workload every figure trains (its test range sets the noise tolerance)


def tolerance(accuracy: float, n: int) -> float:
    """Two binomial standard errors of an accuracy measured on ``n`` test samples: smaller gaps are noise."""
    p = min(max(accuracy, 0.0), 1.0)
    return 2.0 * math.sqrt(max(p * (1.0 - p), 1.0 / n) / n)


def test_samples() -> int:
    """Test samples of the figures' workload (its dataset's test range)."""
    from ..schema.workload import load_workload

    lo, hi = load_workload(WORKLOAD).dataset["test"]
    return int(hi - lo)


def _acc(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    return np.asarray([r["test_accuracy"] for r in rows], dtype=float)


def _tol(acc: np.ndarray, n: int | None) -> float:
    return tolerance(float(np.nanmean(acc)), n or test_samples())


def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def rises(fig: Any, rows: Sequence[dict[str, Any]], n: int | None = None) -> list[Verdict]:
    """Accuracy rises with x: positive Spearman rho, and the best point beats the first by more than the noise."""
    acc, x = _acc(rows), np.asarray([float(r["x"]) for r in rows])
    tol, rho = _tol(acc, n), spearman(x, acc)
    best = int(np.nanargmax(acc))
    ok = bool(rho > 0 and acc[best] - acc[0] > tol)
    return [Verdict("accuracy rises with " + fig.xlabel, ok,
                    f"Spearman rho {rho:.2f}, best {fig.xlabel} = {rows[best]['x']} at {_pct(acc[best])} vs "
                    f"{_pct(acc[0])} at {rows[0]['x']}, noise {_pct(tol)}",
                    "rho > 0 and best - first > 2 standard errors")]


def rises_then_flat(fig: Any, rows: Sequence[dict[str, Any]], n: int | None = None) -> list[Verdict]:
    """Accuracy first rises (the best numeric point beats the smallest by more than the noise), then a larger x
    adds no more than the noise (the last point is not above the best of the lower half plus the noise)."""
    num = [r for r in rows if isinstance(r["x"], (int, float))]
    acc = _acc(num)
    tol = _tol(acc, n)
    best = int(np.nanargmax(acc))
    half = max(len(num) // 2, 1)
    low_best = float(np.nanmax(acc[:half + 1]))
    ok = bool(acc[best] - acc[0] > tol and acc[-1] - low_best <= tol)
    out = [Verdict(f"a larger {fig.xlabel} improves accuracy, then helps little", ok,
                   f"{fig.xlabel} = {num[0]['x']}: {_pct(acc[0])}, best {fig.xlabel} = {num[best]['x']}: "
                   f"{_pct(acc[best])}, last {fig.xlabel} = {num[-1]['x']}: {_pct(acc[-1])}, noise {_pct(tol)}",
                   "best - first > 2 SE and last - best of the lower half <= 2 SE")]
    base = [r for r in rows if not isinstance(r["x"], (int, float))]
    if base:
        b = float(base[0]["test_accuracy"])
        out.append(Verdict(f"the best tanh m is at least the {base[0]['x']} baseline", bool(acc[best] >= b - tol),
                           f"best {_pct(acc[best])} vs {base[0]['x']} {_pct(b)}, noise {_pct(tol)}",
                           "best >= baseline - 2 SE"))
    return out


def interior_peak(fig: Any, rows: Sequence[dict[str, Any]], n: int | None = None) -> list[Verdict]:
    """A best x inside the range: the best point is neither end and beats both ends by more than the noise."""
    acc = _acc(rows)
    tol, best = _tol(acc, n), int(np.nanargmax(acc))
    ok = bool(0 < best < len(rows) - 1 and acc[best] - acc[0] > tol and acc[best] - acc[-1] > tol)
    out = [Verdict(f"accuracy peaks inside the {fig.xlabel} range", ok,
                   f"best {fig.xlabel} = {rows[best]['x']} at {_pct(acc[best])}; ends {_pct(acc[0])} "
                   f"({rows[0]['x']}), {_pct(acc[-1])} ({rows[-1]['x']}); noise {_pct(tol)}",
                   "0 < argmax < last and best - each end > 2 SE")]
    if fig.xlabel == "r":  # sparsity: resting probability rises and energy falls with r ([GXNOR] Sec. 3.B)
        x = [float(r["x"]) for r in rows]
        rr = spearman(x, [r["resting_probability"] for r in rows])
        re_ = spearman(x, [r["energy_pj_per_inference"] for r in rows])
        out.append(Verdict("a sparser network is more hardware friendly: resting probability rises and energy "
                           "per inference falls with r", bool(rr > 0 and re_ < 0),
                           f"Spearman rho resting {rr:.2f}, energy {re_:.2f}", "rho(resting) > 0 and rho(energy) < 0"))
    return out


def grid_best(fig: Any, rows: Sequence[dict[str, Any]], n: int | None = None) -> list[Verdict]:
    """Fig. 13: the paper's best (N1 = 6, N2 = 4) read as trends: accuracy rises along N1 (averaged over N2) and
    peaks inside the N2 range (averaged over N1)."""
    acc = _acc(rows)
    tol = _tol(acc, n)
    n1 = np.asarray([r["x"][0] for r in rows])
    n2 = np.asarray([r["x"][1] for r in rows])
    u1, u2 = np.unique(n1), np.unique(n2)
    m1 = np.asarray([np.nanmean(acc[n1 == v]) for v in u1])
    m2 = np.asarray([np.nanmean(acc[n2 == v]) for v in u2])
    rho1, b1, b2 = spearman(u1, m1), int(np.nanargmax(m1)), int(np.nanargmax(m2))
    top = int(np.nanargmax(acc))
    return [Verdict("weight direction: accuracy rises with N1 (the paper's best at N1 = 6, its largest)",
                    bool(rho1 > 0 and m1[b1] - m1[0] > tol),
                    f"mean over N2 per N1: {', '.join(f'{v}: {_pct(a)}' for v, a in zip(u1, m1))}; Spearman rho "
                    f"{rho1:.2f}, noise {_pct(tol)}", "rho > 0 and best - N1 = 0 > 2 SE"),
            Verdict("activation direction: a best N2 inside the range (the paper's N2 = 4)",
                    bool(0 < b2 < len(u2) - 1 and m2[b2] - m2[0] > tol and m2[b2] - m2[-1] > tol),
                    f"mean over N1 per N2: {', '.join(f'{v}: {_pct(a)}' for v, a in zip(u2, m2))}; best N2 = "
                    f"{u2[b2]}, noise {_pct(tol)}", "0 < argmax < last and best - each end > 2 SE"),
            Verdict("best cell", None, f"N1 = {n1[top]}, N2 = {n2[top]} at {_pct(acc[top])} (paper: N1 = 6, N2 = 4)",
                    "reported, not judged")]


RULES: dict[str, Callable[..., list[Verdict]]] = {"rises": rises, "rises_then_flat": rises_then_flat,
                                                  "interior_peak": interior_peak, "grid_best": grid_best}
