"""Size guard: a network or topology whose memory would exceed what the machine has is refused before anything is
allocated, with the estimate in the message (instead of a MemoryError, or the machine swapping for an hour).

The estimate is deliberately simple and on the high side: per weight its float value and gradient, two Adam
moments, the best-epoch copy and the method's own arrays (~32 bytes); per sample and layer the activations a pass
keeps (output, saved input, gradient, mask: 4 x 4 bytes per element) and the largest im2col patch matrix of a conv
layer (forward and dW); the evaluation batch likewise. The hardware simulation adds a few copies of one layer's
operands (bit planes, crossbar patches in float64).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..shapes import conv_output_size
from ..spec import LayerSpec

__all__ = ["MemoryEstimate", "estimate_training", "estimate_topology", "check_fits", "available_bytes"]

BYTES_PER_WEIGHT = 32
BYTES_PER_ACTIVATION = 16  # output, saved input, gradient, mask: float32 each
SIM_COPIES = 3  # the hardware side's transient copies of one layer's operands (float64 patches, planes)


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    activations: int  # bytes of the largest batch's activations, all layers
    transient: int  # bytes of the largest one-layer temporary (im2col patches, simulation copies)

    @property
    def total(self) -> int:
        return self.weights + self.activations + self.transient


def estimate_training(specs: list[LayerSpec], input_shape: tuple[int, ...], num_classes: int, batch: int,
                      eval_batch: int) -> MemoryEstimate:
    """Bytes a training run of this network needs (see the module docstring)."""
    shape = tuple(int(v) for v in input_shape)
    weights = activations = transient = 0
    for ls in specs:
        p = ls.params
        if ls.kind == "conv" and len(shape) == 3:
            h, w, c = shape
            k, s, pad, f = p["kernel"], p["stride"], p["padding"], p["filters"]
            oh, ow = max(conv_output_size(h, k, s, pad), 1), max(conv_output_size(w, k, s, pad), 1)
            weights += k * k * c * f
            patches = oh * ow * k * k * c  # im2col elements per sample
            transient = max(transient, 2 * 4 * patches * max(batch, eval_batch), SIM_COPIES * 8 * patches * batch)
            shape = (oh, ow, f)
        elif ls.kind == "pool" and len(shape) == 3:
            k = p["pool"]
            shape = (max(shape[0] // k, 1), max(shape[1] // k, 1), shape[2])
        elif ls.kind in ("dense", "output"):
            n_in = 1
            for v in shape:
                n_in *= v
            units = p.get("units") or num_classes
            weights += n_in * units
            transient = max(transient, SIM_COPIES * 8 * n_in * units)
            shape = (units,)
        elements = 1
        for v in shape:
            elements *= v
        activations += BYTES_PER_ACTIVATION * elements * max(batch, eval_batch)
    return MemoryEstimate(weights * BYTES_PER_WEIGHT, activations, transient)


def estimate_topology(layers, batch: int) -> MemoryEstimate:
    """Bytes a topology simulation needs: one layer at a time, its random float32 operands and the hardware side's
    copies of its (unrolled) inputs."""
    weights = activations = transient = 0
    for l in layers:
        h, w, c = l.in_shape
        oh, ow, f = l.out_shape
        n_w = l.kernel * l.kernel * c * f
        patches = max(oh, 1) * max(ow, 1) * l.kernel * l.kernel * c
        weights = max(weights, 4 * n_w)
        activations = max(activations, 4 * batch * (h * w * c + max(oh, 1) * max(ow, 1) * f))
        transient = max(transient, SIM_COPIES * 8 * batch * patches)
    return MemoryEstimate(weights, activations, transient)


def available_bytes() -> int:
    """Memory this process may use: MemAvailable of /proc/meminfo where there is one, else the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 62


def _gb(n: float) -> str:
    return f"{n / 2 ** 30:.3g} GiB"


def check_fits(est: MemoryEstimate, what: str, source: str) -> None:
    """A ValueError naming ``source`` and the estimate when ``est`` exceeds the memory available."""
    avail = available_bytes()
    if est.total > avail:
        raise ValueError(f"{source}: {what} needs about {_gb(est.total)} of memory (weights and optimizer state "
                         f"{_gb(est.weights)}, activations {_gb(est.activations)}, largest temporary "
                         f"{_gb(est.transient)}); this machine has {_gb(avail)} available; use a smaller network "
                         f"or batch")
