"""Layers: forward/backward wrappers around the kernels, holding parameters and caches.

Every layer carries a :class:`~neurosim.events.LayerInfo` so the operands it hands to an observer
come with the geometry the hardware mapping needs.
"""
from __future__ import annotations

import numpy as np

from ..events import LayerInfo
from . import kernels as K
from .methods import WeightPolicy
from .quant import Activation


class Layer:
    """Base layer; `in_step` is the value step of its input (0 when continuous)."""

    info: LayerInfo
    weights: WeightPolicy | None = None
    in_step: float = 0.0

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def float_params(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Full-precision trainable parameters and their gradients (name -> (param, grad))."""
        return {}

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state a checkpoint must keep (e.g. running statistics)."""
        return {}


class Dense(Layer):
    def __init__(self, info: LayerInfo, weights: WeightPolicy):
        self.info, self.weights = info, weights
        self.x: np.ndarray | None = None
        self.grad = np.zeros_like(weights.values)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if train:
            self.x = x
        return K.dense_forward(x, self.weights.values)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        dx, dw = K.dense_backward(self.x, self.weights.values, dy, need_dx)
        self.grad = dw
        return dx


class Conv2D(Layer):
    def __init__(self, info: LayerInfo, weights: WeightPolicy, stride: int, padding: int):
        self.info, self.weights, self.stride, self.padding = info, weights, stride, padding
        self.x: np.ndarray | None = None
        self.cols: np.ndarray | None = None
        self.grad = np.zeros_like(weights.values)

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        y, cols = K.conv2d_forward(x, self.weights.values, self.stride, self.padding)
        if train:
            self.x, self.cols = x, cols
        return y

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        dx, dw = K.conv2d_backward(self.x.shape, self.cols, self.weights.values, dy, self.stride, self.padding,
                                   need_dx)
        self.grad = dw
        return dx


class MaxPool(Layer):
    def __init__(self, info: LayerInfo, pool: int):
        self.info, self.pool = info, pool
        self.argmax: np.ndarray | None = None
        self.x_shape: tuple[int, ...] = ()

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        y, argmax = K.maxpool_forward(x, self.pool, self.pool)
        if train:
            self.argmax, self.x_shape = argmax, x.shape
        return y

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        return K.maxpool_backward(dy, self.argmax, self.x_shape, self.pool, self.pool)


class BatchNorm(Layer):
    """Batch norm over all axes but the last; full-precision gamma/beta, running statistics for eval."""

    def __init__(self, info: LayerInfo, channels: int, momentum: float = 0.1, eps: float = 1e-4):
        self.info, self.momentum, self.eps = info, momentum, eps
        self.gamma = np.ones(channels, np.float32)
        self.beta = np.zeros(channels, np.float32)
        self.dgamma = np.zeros(channels, np.float32)
        self.dbeta = np.zeros(channels, np.float32)
        self.running_mean = np.zeros(channels, np.float32)
        self.running_var = np.ones(channels, np.float32)
        self.cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if not train:
            return K.batchnorm_forward_eval(x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        y, self.cache, mean, var = K.batchnorm_forward_train(x, self.gamma, self.beta, self.eps)
        mo = self.momentum
        self.running_mean *= 1 - mo
        self.running_mean += mo * mean.astype(np.float32)
        n = x.size // x.shape[-1]
        self.running_var *= 1 - mo
        self.running_var += mo * (var.astype(np.float32) * (n / max(n - 1, 1)))
        return y

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        dx, dg, db = K.batchnorm_backward(dy, self.cache, self.gamma)
        self.dgamma[...] = dg
        self.dbeta[...] = db
        return dx

    def float_params(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {"gamma": (self.gamma, self.dgamma), "beta": (self.beta, self.dbeta)}

    def buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}


class Act(Layer):
    def __init__(self, info: LayerInfo, activation: Activation):
        self.info, self.activation = info, activation
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if train:
            self.x = x
        return self.activation.forward(x)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        return self.activation.backward(self.x, dy)


class Flatten(Layer):
    def __init__(self, info: LayerInfo):
        self.info = info
        self.shape: tuple[int, ...] = ()

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        return dy.reshape(self.shape)
