"""Output losses: squared hinge (L2-SVM with +-1 targets, GXNOR) and softmax cross-entropy."""
from __future__ import annotations

import numpy as np

LOSSES = ("squared_hinge", "cross_entropy")


def squared_hinge(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """mean over batch and classes of max(0, 1 - t * s)^2, t = +1 for the true class and -1 otherwise."""
    t = -np.ones_like(scores)
    t[np.arange(len(labels)), labels] = 1.0
    margin = np.maximum(0.0, 1.0 - t * scores)
    loss = float(np.mean(margin * margin))
    grad = (-2.0 / scores.size) * t * margin
    return loss, grad.astype(scores.dtype, copy=False)


def cross_entropy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy, mean over the batch."""
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = float(-np.mean(np.log(p[np.arange(n), labels] + 1e-30)))
    p[np.arange(n), labels] -= 1.0
    return loss, (p / n).astype(scores.dtype, copy=False)


def loss_fn(name: str):
    if name == "squared_hinge":
        return squared_hinge
    if name == "cross_entropy":
        return cross_entropy
    raise ValueError(f"loss must be one of {list(LOSSES)} (got {name!r})")
