"""[BinAct] (Wan & Li) Figs. 6-7 on MNIST as sweeps: accuracy against the number of stochastic input samples, and
against the weight-clipping threshold, with the crossbar_binary hardware cost beside every point.

Both figures train the binarize-in-training net of :mod:`neurosim.explore.binary_crossbar` (784-256-256-10, sign
forward / tanh derivative backward, Adam 1e-3 -> 1e-4, minibatch 100, best validation epoch) once per seed; the
swept knob is internal to the deployed net (input samples at test time, or the clipping threshold of the folded
weights), so each figure is a loop over a vectorized evaluation of one trained net, not a sweep of workload or
architecture configurations (which :mod:`neurosim.explore.sweep` would plan).

Settings, the paper vs ours. The paper (MNIST and CIFAR-10, "3-layer fully connected", softmax loss) gives no
epochs, learning rate or test split for these figures, and its Fig. 7 is drawn for its CIFAR-10 net; the text gives
no threshold range. Ours: MNIST from the 10,000-image test file (6,000 train / 1,000 validation / 2,000 test
images, :data:`~neurosim.explore.binary_crossbar.MNIST_SPLIT`), :data:`EPOCHS` epochs by default (Tables 1-2 use 30),
samples :data:`SAMPLES`, thresholds :data:`CLIP_SIGMAS` x the standard deviation of each layer's folded weights
(Tables 1-2 deploy at 3 sigma) plus the unclipped net.

Hardware (both figures). The deployed net is quantized to DST states of crossbar_binary's Z_N (its ``crossbar``
component's N, tiles of its rows x cols, its device's electrical numbers without variation or faults: the ideal
device of the Tables 1-2 check) and the first :data:`HW_IMAGES` test images run on
:class:`~neurosim.hw.crossbar.Crossbar` tiles with binary inputs (S stochastic draws per image for Fig. 6,
deterministic x > 0 for Fig. 7). Hidden layers: comparator readout; output layer: column currents summed over the
samples by the integrator, argmax. Energy per image = tile activations x the crossbar's ``read`` action + the cells'
V_read^2 G t_read + integrator samples x ``integrate`` + comparator decisions x ``decide``, every price read from
arch_configs/crossbar_binary.yaml; the output layer's argmax is not priced. Latency per image = samples x layers x
(``read`` + ``decide`` latency): the samples and layers one after the other, all tiles of a layer in parallel.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_open
from ..progress import current as current_progress
from ..report import units
from ..report.files import write_csv, write_json
from .binary_crossbar import (
    LR_DECAY,
    LR_GRID,
    MNIST_SPLIT,
    SIGN,
    Layers,
    accuracy,
    binarize_input,
    clip_layers,
    deployed_network,
    fold,
    quantize,
    sample_inputs,
    sampled_scores,
    train_net,
)

__all__ = ["CLIP_SIGMAS", "EPOCHS", "FIGURES", "SAMPLES", "fig6_trend", "fig7_trend", "print_figure", "reproduce"]

FIGURES = ("binact-fig6", "binact-fig7")
SAMPLES = (1, 2, 4, 8, 16, 32, 64)  # stochastic input samples per image (Fig. 6; Table 2 has 8 and 64)
CLIP_SIGMAS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)  # thresholds, in standard deviations of each layer's folded weights
CLIP_DEFAULT = 3.0  # Fig. 6 deploys at the Tables 1-2 threshold
EPOCHS = 10  # default epochs per net here (Tables 1-2: 30)
ARCH = "crossbar_binary"
HW_IMAGES = 200  # test images run on the crossbar tiles per point
SE_FACTOR = 2.0  # "within noise": within this many standard errors of a test-split accuracy
CLIP_FRACTION_MAX = 0.05  # Fig. 7: "clipping usually costs nothing" is checked where <= 5 % of the weights clip
NAMES = {"binact-fig6": "binact_fig6", "binact-fig7": "binact_fig7"}
PAPER_TREND = {
    "binact-fig6": "accuracy of stochastic multi-sampling converges to that of high-precision input with increasing "
                   "number of samples ([BinAct] Sec. IV.2, Fig. 6; Table 2 MNIST: deterministic 97.0, 8 samples 97.5, "
                   "64 samples 97.7, high-precision input 97.4 %)",
    "binact-fig7": "due to the sparsity of trained weights, clipping the weights usually will not lead to significant "
                   "performance loss ([BinAct] Sec. IV.3, Fig. 7b, drawn for CIFAR-10)"}
COLUMNS = {
    "binact-fig6": ["seed", "samples", "accuracy", "accuracy_crossbar", "real_input_accuracy", "deterministic_accuracy",
                    "energy_pj_per_image", "latency_s_per_image", "array_reads_per_image", "test_images",
                    "crossbar_images"],
    "binact-fig7": ["seed", "clip_sigma", "threshold_mean", "weights_clipped", "bias_rows", "accuracy",
                    "deterministic_accuracy", "accuracy_crossbar", "energy_pj_per_image", "latency_s_per_image",
                    "array_reads_per_image", "test_images", "crossbar_images"]}
MEANS = {"binact-fig6": ["accuracy", "accuracy_crossbar", "real_input_accuracy", "deterministic_accuracy",
                         "energy_pj_per_image", "latency_s_per_image"],
         "binact-fig7": ["threshold_mean", "weights_clipped", "accuracy", "deterministic_accuracy", "accuracy_crossbar",
                         "energy_pj_per_image", "latency_s_per_image"]}


# ---------------------------------------------------------------------------------------------- hardware
@dataclasses.dataclass(frozen=True)
class Hardware:
    """crossbar_binary's tile geometry, weight space, ideal device and the prices of its read actions."""

    N: int
    rows: int
    cols: int
    device: Any
    read_pj: float
    integrate_pj: float
    decide_pj: float
    layer_seconds: float  # read + decide latency of one layer for one input

    @classmethod
    def load(cls, name: str = ARCH) -> Hardware:
        """The numbers of arch ``name`` (its crossbar_tile and comparator components)."""
        from ..api import load_arch

        arch = load_arch(name)
        tile = arch.first("crossbar_tile")
        comp = arch.first("comparator")
        if tile is None or comp is None:
            raise ValueError(f"{name}: needs a crossbar_tile and a comparator component (the binary-activation readout)")
        a = tile.attributes
        ideal = dataclasses.replace(tile.device, variation=0.0, stuck_on_rate=0.0, stuck_off_rate=0.0,
                                    read_noise=0.0, write_noise=0.0)
        return cls(int(a.N), int(a.rows), int(a.cols), ideal, tile.actions["read"].energy_pj,
                   comp.actions["integrate"].energy_pj, comp.actions["decide"].energy_pj,
                   tile.actions["read"].latency_s + comp.actions["decide"].latency_s)


def crossbar_run(layers: Layers, thresholds: list[float], x: np.ndarray, y: np.ndarray, hw: Hardware,
                 samples: int | None, rng: np.random.Generator, max_rows: int = 8192) -> dict[str, float]:
    """The binarized net on crossbar_binary tiles: binary inputs (``samples`` stochastic draws per image, None:
    deterministic), output scores summed over the samples; accuracy in percent and cost per image."""
    from ..hw.crossbar import Crossbar, CrossbarParams

    q, _ = quantize(layers, thresholds, hw.N)
    xbars = [Crossbar(st.shape[0], st.shape[1], hw.N, CrossbarParams(rows=hw.rows, cols=hw.cols), hw.device,
                      "differential", c, 0, st) for (st, _), c in zip(q, thresholds)]
    S = 1 if samples is None else samples
    x2 = x.reshape(len(x), -1).astype(np.float32)
    pred = np.empty(len(x), np.int64)
    out_integrations = 0
    step = max(1, max_rows // S)
    for s in range(0, len(x), step):
        xb = x2[s:s + step]
        h = (binarize_input(xb)[None] if samples is None else sample_inputs(xb, S, rng)).reshape(S * len(xb), -1)
        h = h.astype(np.float64)
        for li, (xbar, (_, k)) in enumerate(zip(xbars, q)):
            hin = np.hstack([h, np.ones((len(h), k))])
            if li < len(xbars) - 1:
                h = xbar.mvm(hin, noise=False).astype(np.float64)
            else:
                ip, ineg = xbar.column_currents(hin, noise=False)
                pred[s:s + step] = (ip - ineg).reshape(S, len(xb), -1).sum(axis=0).argmax(axis=1)
                out_integrations += len(hin) * xbar.row_tiles * xbar.out_features
    counts = xbars[0].counts
    for xbar in xbars[1:]:
        counts = counts + xbar.counts
    n = len(x)
    energy = (counts.array_reads * hw.read_pj + counts.read_energy_pj
              + (counts.integrations + out_integrations) * hw.integrate_pj + counts.comparator_decisions * hw.decide_pj)
    return {"accuracy_crossbar": 100.0 * float(np.mean(pred == y)), "energy_pj_per_image": energy / n,
            "latency_s_per_image": S * len(xbars) * hw.layer_seconds, "array_reads_per_image": counts.array_reads / n,
            "bias_rows": sum(k for _, k in q), "crossbar_images": n}


# ---------------------------------------------------------------------------------------------- the figures
def _train(data_dir: str | Path | None, epochs: int, seed: int, dataset: dict[str, Any] | None):
    lr = LR_GRID[0]
    return train_net("binarized", dict(MNIST_SPLIT if dataset is None else dataset), data_dir, epochs, seed,
                     lr_start=lr, lr_fin=lr / LR_DECAY)


def fig6_seed(data_dir: str | Path | None, epochs: int, seed: int, samples: Sequence[int] = SAMPLES,
              hw_images: int = HW_IMAGES, dataset: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One seed of Fig. 6: per number of samples, accuracy on the test split and the crossbar cost."""
    net, data, _ = _train(data_dir, epochs, seed, dataset)
    xt, yt = data.x_test, data.y_test
    layers, clip = clip_layers(fold(net), CLIP_DEFAULT)
    dep = deployed_network(layers, SIGN, data.input_shape, data.num_classes)
    real, det = accuracy(dep, xt, yt), accuracy(dep, binarize_input(xt), yt)
    hw, n = Hardware.load(), min(hw_images, len(xt))
    rows = []
    for S in samples:
        sc = sampled_scores(dep, xt, S, np.random.default_rng([seed, S]))
        cb = crossbar_run(layers, [c["threshold"] for c in clip], xt[:n], yt[:n], hw, S,
                          np.random.default_rng([seed, S, 1]))
        rows.append({"seed": seed, "samples": S, "accuracy": 100.0 * float(np.mean(sc.argmax(axis=1) == yt)),
                     "real_input_accuracy": real, "deterministic_accuracy": det, "test_images": len(xt), **cb})
    return rows


def fig7_seed(data_dir: str | Path | None, epochs: int, seed: int, sigmas: Sequence[float | None] = CLIP_SIGMAS,
              hw_images: int = HW_IMAGES, dataset: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One seed of Fig. 7: per clipping threshold (None: unclipped), accuracy on real and deterministic binary
    input and the crossbar cost (deterministic input)."""
    net, data, _ = _train(data_dir, epochs, seed, dataset)
    xt, yt = data.x_test, data.y_test
    folded = fold(net)
    hw, n = Hardware.load(), min(hw_images, len(xt))
    rows = []
    for sig in [*sigmas, None]:
        layers, clip = clip_layers(folded, sig)
        dep = deployed_network(layers, SIGN, data.input_shape, data.num_classes)
        cb = crossbar_run(layers, [c["threshold"] for c in clip], xt[:n], yt[:n], hw, None,
                          np.random.default_rng([seed, 7]))
        frac = [c["weights_clipped"] * w.size for c, (w, _) in zip(clip, layers)]
        rows.append({"seed": seed, "clip_sigma": "none" if sig is None else sig,
                     "threshold_mean": float(np.mean([c["threshold"] for c in clip])),
                     "weights_clipped": float(sum(frac) / sum(w.size for w, _ in layers)),
                     "accuracy": accuracy(dep, xt, yt), "deterministic_accuracy": accuracy(dep, binarize_input(xt), yt),
                     "test_images": len(xt), **cb})
    return rows


def _std_error(acc_percent: float, n: int) -> float:
    """Binomial standard error of an accuracy (percent) measured on n images."""
    p = min(max(acc_percent / 100.0, 0.0), 1.0)
    return 100.0 * math.sqrt(p * (1.0 - p) / max(n, 1))


def fig6_trend(samples: Sequence[int], acc: Sequence[float], real_acc: float, n_test: int) -> dict[str, Any]:
    """Does accuracy converge to the high-precision-input accuracy as samples grow? Rule (on seed means): (a) no
    point is below an earlier one by more than SE_FACTOR standard errors, (b) at the most samples the gap to
    high-precision input is within SE_FACTOR standard errors, (c) that gap is smaller than at the fewest samples."""
    order = np.argsort(samples)
    a = np.asarray(acc, float)[order]
    tol = SE_FACTOR * _std_error(real_acc, n_test)
    drops = [float(np.max(a[:i]) - a[i]) for i in range(1, len(a))]
    checks = {"non_decreasing_within_noise": all(d <= tol for d in drops),
              "converged_at_most_samples": abs(real_acc - a[-1]) <= tol,
              "gap_closes": abs(real_acc - a[-1]) < abs(real_acc - a[0]) if len(a) > 1 else False}
    return {"paper": PAPER_TREND["binact-fig6"], "follows": all(checks.values()), "checks": checks,
            "tolerance_points": tol,
            "rule": f"yes if (a) accuracy never falls below an earlier (fewer-sample) point by more than {SE_FACTOR:g} "
                    f"standard errors ({tol:.2f} points on {n_test} test images), (b) at the most samples it is within "
                    f"{SE_FACTOR:g} standard errors of the high-precision-input accuracy and (c) that gap is smaller "
                    f"than at the fewest samples"}


def fig7_trend(clipped_fraction: Sequence[float], acc: Sequence[float], unclipped_acc: float,
               n_test: int) -> dict[str, Any]:
    """Does clipping cost no significant accuracy? Rule (on seed means): at every threshold that clips at most
    CLIP_FRACTION_MAX of the weights, accuracy is within SE_FACTOR standard errors of the unclipped net."""
    tol = SE_FACTOR * _std_error(unclipped_acc, n_test)
    kept = [(f, a) for f, a in zip(clipped_fraction, acc) if f <= CLIP_FRACTION_MAX]
    losses = [unclipped_acc - a for _, a in kept]
    checks = {"thresholds_checked": len(kept) > 0, "no_significant_loss": all(d <= tol for d in losses)}
    return {"paper": PAPER_TREND["binact-fig7"], "follows": all(checks.values()), "checks": checks,
            "tolerance_points": tol, "largest_loss_checked": max(losses, default=float("nan")),
            "rule": f"yes if at every threshold that clips at most {100 * CLIP_FRACTION_MAX:g} % of the weights the "
                    f"accuracy is at most {SE_FACTOR:g} standard errors ({tol:.2f} points on {n_test} test images) "
                    f"below the unclipped net's"}


def summarize(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per point (samples or clip_sigma), the mean and std over seeds of every measured column."""
    key = "samples" if name == "binact-fig6" else "clip_sigma"
    out = []
    for k in dict.fromkeys(r[key] for r in rows):
        sel = [r for r in rows if r[key] == k]
        s: dict[str, Any] = {key: k, "seeds": len(sel)}
        for c in MEANS[name]:
            v = np.array([r[c] for r in sel], float)
            s[c], s[f"{c}_std"] = float(v.mean()), float(v.std())
        out.append(s)
    return out


def trend(name: str, summary: list[dict[str, Any]], n_test: int) -> dict[str, Any]:
    """The trend statement of figure ``name`` from its summary rows."""
    if name == "binact-fig6":
        return fig6_trend([r["samples"] for r in summary], [r["accuracy"] for r in summary],
                          float(np.mean([r["real_input_accuracy"] for r in summary])), n_test)
    pts = [r for r in summary if r["clip_sigma"] != "none"]
    ref = next(r for r in summary if r["clip_sigma"] == "none")
    return fig7_trend([r["weights_clipped"] for r in pts], [r["accuracy"] for r in pts], ref["accuracy"], n_test)


# ---------------------------------------------------------------------------------------------- outputs
def _plot(name: str, summary: list[dict[str, Any]], stem: Path) -> tuple[Path, ...]:
    from ..report.plots import STYLE, headless, save_figure

    plt = headless()
    fig6 = name == "binact-fig6"
    pts = summary if fig6 else [r for r in summary if r["clip_sigma"] != "none"]
    x = [r["samples"] if fig6 else r["clip_sigma"] for r in pts]
    with plt.rc_context(STYLE):
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
        ax.errorbar(x, [r["accuracy"] for r in pts], yerr=[r["accuracy_std"] for r in pts], marker="o",
                    capsize=3, label="stochastic input" if fig6 else "high-precision input")
        if fig6:
            ax.axhline(pts[0]["real_input_accuracy"], color="0.3", ls="--", label="high-precision input")
            ax.axhline(pts[0]["deterministic_accuracy"], color="0.6", ls=":", label="deterministic binary input")
            ax.set_xlabel("stochastic samples per image")
        else:
            ref = next(r for r in summary if r["clip_sigma"] == "none")
            ax.plot(x, [r["deterministic_accuracy"] for r in pts], marker="s", label="deterministic binary input")
            ax.axhline(ref["accuracy"], color="0.3", ls="--", label="unclipped, high-precision input")
            ax.set_xlabel("clipping threshold (x std of the layer's weights)")
        ax.set_ylabel("test accuracy (%)")
        ax.legend(fontsize=9)
        ax.grid(alpha=0.3)
        e = [r["energy_pj_per_image"] for r in pts]
        factor, unit = units.axis_scale(e, "J", 1e-12, highest=1.0)
        bx.plot(x, [v * factor for v in e], marker="o", color="#d62728")
        bx.set_ylabel(f"crossbar energy per image ({unit})")
        bx.set_xlabel(ax.get_xlabel())
        if fig6:  # energy grows in proportion to the samples: log-log, plain tick labels
            from matplotlib.ticker import NullFormatter

            bx.set_yscale("log")
            bx.set_yticks([v * factor for v in e], [f"{v * factor:.3g}" for v in e])
            bx.yaxis.set_minor_formatter(NullFormatter())
            for axis in (ax, bx):
                axis.set_xscale("log", base=2)
                axis.set_xticks(x, [str(v) for v in x])
        bx.grid(alpha=0.3)
        fig.suptitle(f"[BinAct] Fig. {6 if fig6 else 7} on MNIST, {pts[0]['seeds']} seed(s); energy on {ARCH}")
        files = save_figure(fig, stem)
        plt.close(fig)
    return files


def print_figure(result: dict[str, Any]) -> str:
    """The table of a figure (means over seeds) with the trend verdict."""
    name, summ = result["name"], result["summary"]
    fig6 = name == "binact-fig6"
    key = "samples" if fig6 else "clip_sigma"
    lines = [(f"{result['title']} - {len(result['seeds'])} seed(s), {result['epochs']} epochs; accuracy % on "
              f"{result['test_images']} test images, crossbar on the first {result['crossbar_images']} ({ARCH})")]
    if fig6:
        lines.append(f"{'samples':>8} {'accuracy':>9} {'+-':>5} {'crossbar':>9} {'energy/image':>13} "
                     f"{'latency/image':>14}")
        lines += [f"{r[key]:>8} {r['accuracy']:9.2f} {r['accuracy_std']:5.2f} {r['accuracy_crossbar']:9.2f} "
                  f"{units.energy(r['energy_pj_per_image']):>13} {units.seconds(r['latency_s_per_image']):>14}"
                  for r in summ]
        lines.append(f"high-precision input {summ[0]['real_input_accuracy']:.2f} %, deterministic binary input "
                     f"{summ[0]['deterministic_accuracy']:.2f} %")
    else:
        lines.append(f"{'clip':>6} {'c mean':>8} {'clipped':>8} {'accuracy':>9} {'+-':>5} {'det.input':>9} "
                     f"{'crossbar':>9} {'energy/image':>13}")
        lines += [f"{r[key]!s:>6} {r['threshold_mean']:8.4f} {100 * r['weights_clipped']:7.2f}% "
                  f"{r['accuracy']:9.2f} {r['accuracy_std']:5.2f} {r['deterministic_accuracy']:9.2f} "
                  f"{r['accuracy_crossbar']:9.2f} {units.energy(r['energy_pj_per_image']):>13}" for r in summ]
    t = result["trend"]
    lines.append(f"settings: paper: {result['settings']['paper']}; ours: {result['settings']['ours']}")
    lines.append(f"paper: {t['paper']}")
    lines.append(f"ours follows: {'yes' if t['follows'] else 'no'} ("
                 + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in t["checks"].items()) + f"); rule: {t['rule']}")
    return "\n".join(lines)


def files(name: str) -> tuple[str, ...]:
    """The files figure ``name`` writes into its folder."""
    stem = NAMES[name]
    return tuple(f"{stem}.{ext}" for ext in ("csv", "json", "txt", "png", "svg"))


def reproduce(name: str, out: Path, data_dir: str | Path | None, epochs: int = EPOCHS,
              seeds: Sequence[int] = (0, 1, 2), points: Sequence[Any] | None = None, hw_images: int = HW_IMAGES,
              dataset: dict[str, Any] | None = None) -> dict[str, Any]:
    """Figure ``name`` (binact-fig6 or binact-fig7) over ``seeds``; writes out/<stem>.csv/.json/.txt/.png/.svg."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; allowed: {', '.join(FIGURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig6 = name == "binact-fig6"
    pts = tuple(points) if points is not None else (SAMPLES if fig6 else CLIP_SIGMAS)
    prog = current_progress().child(name)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for i, s in enumerate(seeds, 1):
        with prog.run(f"seed {s}: train {epochs} epochs, {len(pts)} points", i, len(seeds)) as r:
            run = fig6_seed if fig6 else fig7_seed
            got = run(data_dir, epochs, s, pts, hw_images, dataset)
            rows += got
            r.result = ", ".join(f"{g['samples' if fig6 else 'clip_sigma']}: {g['accuracy']:.2f}%" for g in got)
    summ = summarize(name, rows)
    n_test = rows[0]["test_images"]
    result = {"name": name, "title": f"[BinAct] (Wan & Li) Fig. {6 if fig6 else 7}: accuracy against the "
                                     + ("number of stochastic input samples" if fig6 else "weight-clipping threshold"),
              "epochs": epochs, "seeds": list(seeds), "arch": ARCH, "test_images": n_test,
              "crossbar_images": rows[0]["crossbar_images"],
              "settings": {"paper": "MNIST and CIFAR-10, 3-layer fully connected, softmax; epochs, learning rate and "
                                    "threshold range not given (Fig. 7 drawn for CIFAR-10)",
                           "ours": f"MNIST 784-256-256-10 binarize-in-training net, {epochs} epochs, Adam "
                                   f"{LR_GRID[0]:g} -> {LR_GRID[0] / LR_DECAY:g}, minibatch 100; points {list(pts)}"
                                   + ("" if not fig6 else f"; deployed clipped at {CLIP_DEFAULT:g} sigma")},
              "summary": summ, "trend": trend(name, summ, n_test), "rows": rows,
              "seconds": time.perf_counter() - t0}
    stem = NAMES[name]
    write_csv(out / f"{stem}.csv", rows, COLUMNS[name])
    write_json(out / f"{stem}.json", result)
    text = print_figure(result)
    with atomic_open(out / f"{stem}.txt", "w") as fh:
        fh.write(text + "\n")
    result["plots"] = [str(p) for p in _plot(name, summ, out / stem)]
    return result
