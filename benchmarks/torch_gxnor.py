"""PyTorch CPU reference implementation of GXNOR training (Deng et al., "GXNOR-Net").

Ternary weights in {-1, 0, 1} trained by discrete state transition (DST) of Adam increments, and
ternary activations with a rectangular-window surrogate gradient. This is the speed and accuracy
reference for the numba training core, so it is a plain, reasonably efficient PyTorch program:
NCHW tensors, torch ops only (no Python loops over samples), in-place updates where natural.

Nets (no biases; BN = BatchNorm, eps 1e-4, momentum 0.1, affine gamma/beta trained by Adam):

* ``cnn``: 32C5 - MP2 - BN - tern - 64C5 - MP2 - BN - tern - 512FC - BN - tern - 10FC - BN
* ``mlp``: 784 - 512FC - BN - tern - 512FC - BN - tern - 10FC - BN

Loss: squared hinge (mean over batch and classes) with targets +1 / -1.

Usage::

    python benchmarks/torch_gxnor.py --net cnn --epochs 5 --data ../shared/datasets/mnist
    python benchmarks/torch_gxnor.py --net mlp --data DIR --speed-only

The last line printed is one JSON object with the results. The command line applies
tune_malloc() (glibc allocator thresholds) unless --no-malloc-tuning is given; --channels-last
runs the same NCHW model with torch.channels_last strides (faster for the cnn on many CPUs).
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gzip
import json
import math
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

# Weight space Z_1 on [-L, L]: states {-1, 0, 1}, spacing dz = L / 2^(N-1) = 1.
WEIGHT_L = 1.0
WEIGHT_DZ = 1.0

BN_EPS = 1e-4
BN_MOMENTUM = 0.1
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


# ----------------------------------------------------------------------------------------------
# Ternary activation
# ----------------------------------------------------------------------------------------------
class TernaryActivation(torch.autograd.Function):
    """tern(x) = 1 if x > r, 0 if |x| <= r, -1 if x < -r.

    Backward: rectangular windows of half-width a around +r and -r, each of height 1/(2a):
    d tern / dx = [|x - r| <= a] / (2a) + [|x + r| <= a] / (2a).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, r: float, a: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.r, ctx.a = r, a
        return (x > r).to(x.dtype) - (x < -r).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        r, a = ctx.r, ctx.a
        window = ((x - r).abs_() <= a).to(x.dtype)
        window += ((x + r).abs_() <= a).to(x.dtype)
        return grad_out * window.mul_(1.0 / (2.0 * a)), None, None


def tern(x: torch.Tensor, r: float = 0.5, a: float = 0.5) -> torch.Tensor:
    return TernaryActivation.apply(x, r, a)


class Tern(nn.Module):
    def __init__(self, r: float, a: float):
        super().__init__()
        self.r, self.a = r, a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return TernaryActivation.apply(x, self.r, self.a)

    def extra_repr(self) -> str:
        return f"r={self.r}, a={self.a}"


# ----------------------------------------------------------------------------------------------
# Discrete weight space: initialisation and DST projection
# ----------------------------------------------------------------------------------------------
def stochastic_round_(w: torch.Tensor, generator: torch.Generator,
                      L: float = WEIGHT_L, dz: float = WEIGHT_DZ) -> torch.Tensor:
    """In place: round w in [-L, L] to the grid, up with probability (w - lower) / dz."""
    q = (w.clamp(-L, L) + L) / dz
    lower = q.floor().clamp_(max=round(2 * L / dz) - 1)
    up = torch.rand(w.shape, generator=generator, dtype=w.dtype) < (q - lower)
    return w.copy_((lower + up.to(w.dtype)) * dz - L)


def dst_project_(w: torch.Tensor, dw: torch.Tensor, m: float, generator: torch.Generator,
                 L: float = WEIGHT_L, dz: float = WEIGHT_DZ,
                 scratch: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
    """In place: discrete state transition of grid weights w by the continuous increment dw.

    dw is clipped so that w + dw stays in [-L, L]; kappa = trunc(dw / dz), nu = dw - kappa dz;
    w += (kappa + sign(dw) * Bernoulli(tanh(m |nu| / dz))) * dz.
    dw is overwritten; `scratch` (three tensors shaped like w) avoids allocating temporaries.
    """
    step, tmp, jump = scratch if scratch is not None else tuple(torch.empty_like(w) for _ in range(3))
    # min(L - w, dw) for dw >= 0, max(-L - w, dw) otherwise (-L - w <= 0 <= L - w)
    torch.clamp(dw, min=torch.sub(-L, w, out=tmp), max=torch.sub(L, w, out=step), out=dw)
    if dz != 1.0:
        dw.div_(dz)                                # from here on dw is in units of dz
    kappa = torch.trunc(dw, out=step)
    nu = dw.sub_(kappa)                            # same sign as dw, or 0 (then tau = 0)
    tau = torch.abs(nu, out=tmp).mul_(m).tanh_()
    torch.rand(w.shape, generator=generator, out=jump).lt_(tau)   # Bernoulli(tau) as 0. / 1.
    step.add_(jump.copysign_(nu))                  # kappa + sign(dw) * Bernoulli(tau)
    return w.add_(step, alpha=dz)


def expected_transition(dw: torch.Tensor, m: float, dz: float = WEIGHT_DZ) -> torch.Tensor:
    """E[state change] / dz of the DST projection for an (already clipped) increment dw."""
    kappa = torch.trunc(dw / dz)
    nu = dw - kappa * dz
    return kappa + torch.sign(dw) * torch.tanh(m * nu.abs() / dz)


# ----------------------------------------------------------------------------------------------
# Networks
# ----------------------------------------------------------------------------------------------
def _bn(c: int, dims: int) -> nn.Module:
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return cls(c, eps=BN_EPS, momentum=BN_MOMENTUM)


def build_net(net: str, r: float = 0.5, a: float = 0.5) -> nn.Sequential:
    if net == "cnn":
        layers = [
            nn.Conv2d(1, 32, 5, bias=False), nn.MaxPool2d(2), _bn(32, 2), Tern(r, a),
            nn.Conv2d(32, 64, 5, bias=False), nn.MaxPool2d(2), _bn(64, 2), Tern(r, a),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 512, bias=False), _bn(512, 1), Tern(r, a),
            nn.Linear(512, 10, bias=False), _bn(10, 1),
        ]
    elif net == "mlp":
        layers = [
            nn.Flatten(),
            nn.Linear(784, 512, bias=False), _bn(512, 1), Tern(r, a),
            nn.Linear(512, 512, bias=False), _bn(512, 1), Tern(r, a),
            nn.Linear(512, 10, bias=False), _bn(10, 1),
        ]
    else:
        raise ValueError(f"unknown net {net!r} (expected 'cnn' or 'mlp')")
    return nn.Sequential(*layers)


def ternary_weights(model: nn.Module) -> list[torch.Tensor]:
    return [mod.weight for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]


def bn_parameters(model: nn.Module) -> list[torch.Tensor]:
    return [p for mod in model.modules() if isinstance(mod, nn.modules.batchnorm._BatchNorm)
            for p in mod.parameters()]


def init_ternary_(model: nn.Module, generator: torch.Generator) -> None:
    """w0 ~ U[-1, 1], then stochastic rounding to {-1, 0, 1}."""
    with torch.no_grad():
        for w in ternary_weights(model):
            w.uniform_(-WEIGHT_L, WEIGHT_L, generator=generator)
            stochastic_round_(w, generator)


def squared_hinge(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """mean(clamp(1 - t * scores, min=0)^2), t = +1 for the true class and -1 otherwise."""
    t = torch.full_like(scores, -1.0)
    t.scatter_(1, y.unsqueeze(1), 1.0)
    return (1.0 - t * scores).clamp_(min=0).square_().mean()


class GXNORUpdater:
    """Adam increments on the ternary weights followed by DST projection; plain Adam on BN."""

    def __init__(self, weights, bn_params, lr: float, m: float, generator: torch.Generator):
        self.weights = list(weights)
        self.m = m
        self.lr = lr
        self.generator = generator
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(w, dtype=torch.float32) for w in self.weights]
        self.exp_avg_sq = [torch.zeros_like(w, dtype=torch.float32) for w in self.weights]
        # per-weight scratch: the increment dW and the three temporaries of the DST projection
        self.scratch = [tuple(torch.empty_like(w) for _ in range(4)) for w in self.weights]
        self.bn_opt = torch.optim.Adam(bn_params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS)

    def set_lr(self, lr: float) -> None:
        self.lr = lr
        for group in self.bn_opt.param_groups:
            group["lr"] = lr

    def zero_grad(self) -> None:
        for w in self.weights:
            w.grad = None
        self.bn_opt.zero_grad(set_to_none=True)

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        b1, b2 = ADAM_BETAS
        bc1 = 1.0 - b1 ** self.step_count
        bc2_sqrt = math.sqrt(1.0 - b2 ** self.step_count)
        for w, m1, m2, (dw, *scratch) in zip(self.weights, self.exp_avg, self.exp_avg_sq, self.scratch):
            g = w.grad
            m1.lerp_(g, 1.0 - b1)
            m2.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            # dW = -lr * mhat / (sqrt(vhat) + eps)
            torch.sqrt(m2, out=dw).div_(bc2_sqrt).add_(ADAM_EPS)
            torch.div(m1, dw, out=dw).mul_(-self.lr / bc1)
            dst_project_(w, dw, self.m, self.generator, scratch=scratch)
        self.bn_opt.step()


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------
def _to_nchw(x: np.ndarray, memory_format=torch.contiguous_format) -> torch.Tensor:
    """NHWC numpy array -> NCHW tensor (dense NCHW strides unless memory_format says otherwise), once."""
    x = torch.from_numpy(np.asarray(x, dtype=np.float32))
    if x.ndim == 4:
        x = x.permute(0, 3, 1, 2)
    return x.contiguous(memory_format=memory_format) if x.ndim == 4 else x.contiguous()


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / max(1, x.shape[0])


def train_torch(net: str, x_train, y_train, x_test, y_test, *, epochs: int = 1, batch: int = 100,
                lr_start: float = 0.02, lr_fin: float = 5e-5, r: float = 0.5, a: float = 0.5,
                m: float = 3.0, seed: int = 0, threads: int = 2, max_batches: int | None = None,
                channels_last: bool = False) -> dict:
    """Train a GXNOR net on (x_train, y_train) and report speed and test accuracy.

    x_*: (n, 28, 28, 1) float32 NHWC in [-1, 1]; y_*: int labels 0..9.
    samples_per_second counts training only (forward, backward, update) after one untimed
    warm-up batch; train_seconds is the whole training loop including the warm-up batch.
    Tensors are NCHW with dense channels-first strides; channels_last=True keeps the same NCHW
    semantics with torch.channels_last strides (an alternative oneDNN often runs faster on CPU).
    """
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    xtr, ytr = _to_nchw(x_train, fmt), torch.as_tensor(np.asarray(y_train), dtype=torch.int64)
    xte, yte = _to_nchw(x_test, fmt), torch.as_tensor(np.asarray(y_test), dtype=torch.int64)
    n = xtr.shape[0]

    model = build_net(net, r, a)
    init_ternary_(model, gen)
    model.to(memory_format=fmt).train()
    updater = GXNORUpdater(ternary_weights(model), bn_parameters(model), lr_start, m, gen)

    n_batches = math.ceil(n / batch)
    if max_batches is not None:
        n_batches = min(n_batches, max_batches)

    timed_samples = 0
    timed_seconds = 0.0
    epoch_losses = []
    warm = False
    t_all = time.perf_counter()
    for epoch in range(epochs):
        updater.set_lr(lr_start * (lr_fin / lr_start) ** (epoch / epochs))
        perm = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros(())
        seen = 0
        t0 = time.perf_counter()
        for b in range(n_batches):
            idx = perm[b * batch:(b + 1) * batch]
            if idx.numel() < 2:          # BatchNorm needs more than one sample per batch
                continue
            xb, yb = xtr.index_select(0, idx), ytr.index_select(0, idx)
            updater.zero_grad()
            loss = squared_hinge(model(xb), yb)
            loss.backward()
            updater.step()
            loss_sum += loss.detach() * idx.numel()
            seen += idx.numel()
            if not warm:                 # first batch of the run: untimed warm-up
                warm = True
                t0 = time.perf_counter()
            else:
                timed_samples += idx.numel()
        timed_seconds += time.perf_counter() - t0
        epoch_losses.append(loss_sum.item() / max(1, seen))
    train_seconds = time.perf_counter() - t_all

    acc = evaluate(model, xte, yte)
    return {
        "net": net,
        "epochs": epochs,
        "samples_per_second": timed_samples / timed_seconds if timed_seconds > 0 else float("nan"),
        "test_accuracy": acc,
        "train_seconds": train_seconds,
        "threads": threads,
        "torch_version": torch.__version__,
        "batch": batch,
        "lr_start": lr_start,
        "lr_fin": lr_fin,
        "train_loss": epoch_losses,
        "memory_format": "channels_last" if channels_last else "nchw",
    }


def tune_malloc() -> bool:
    """Keep freed heap memory in the process (glibc mallopt; process-wide, Linux only).

    PyTorch's CPU allocator is plain malloc, and glibc hands large freed blocks back to the kernel
    (munmap / heap trimming), so the next activation or gradient tensor of that size faults its
    pages in again, which is slow in VMs. Raising the mmap and trim thresholds keeps that memory
    in the process (PyTorch's CPU performance guide makes the same point via jemalloc/tcmalloc).
    Returns False where it could not be applied.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)     # glibc's maximum
        ok &= libc.mallopt(m_trim_threshold, 1024 * 1024 * 1024)
        return bool(ok)
    except (OSError, AttributeError):
        return False


# ----------------------------------------------------------------------------------------------
# MNIST (gzip IDX) loading and command line
# ----------------------------------------------------------------------------------------------
def read_idx_gz(path: Path) -> np.ndarray:
    """Minimal reader for gzip-compressed IDX files of unsigned bytes."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: size does not match header {shape}")
    return arr.reshape(shape)


IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"


def find_mnist_dir(data: str | None) -> Path:
    """DIR, DIR/mnist or $NEUROSIM_DATA/mnist; without DIR also <repo>/../shared/datasets/mnist."""
    candidates = [Path(data), Path(data) / "mnist"] if data else []
    if os.environ.get("NEUROSIM_DATA"):
        candidates.append(Path(os.environ["NEUROSIM_DATA"]) / "mnist")
    if not data:
        candidates.append(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist")
    for c in candidates:
        if (c / IMAGES).is_file() and (c / LABELS).is_file():
            return c
    raise FileNotFoundError(f"MNIST test split ({IMAGES}, {LABELS}) not found in any of "
                            + ", ".join(str(c) for c in candidates))


def load_mnist_test_split(data: str | None):
    """MNIST t10k: images [0, 7000) for training, [8000, 10000) for test; x NHWC in [-1, 1]."""
    d = find_mnist_dir(data)
    images = read_idx_gz(d / IMAGES).astype(np.float32)
    labels = read_idx_gz(d / LABELS).astype(np.int64)
    x = (images / 127.5 - 1.0)[..., None].astype(np.float32)
    return x[:7000], labels[:7000], x[8000:10000], labels[8000:10000]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--net", choices=["cnn", "mlp"], default="mlp")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--data", default=None,
                   help="directory with the MNIST t10k gzip IDX files (or DIR/mnist, $NEUROSIM_DATA/mnist)")
    p.add_argument("--speed-only", action="store_true",
                   help="one epoch capped at 31 batches (1 warm-up + 30 timed)")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--lr-start", type=float, default=0.02)
    p.add_argument("--lr-fin", type=float, default=5e-5)
    p.add_argument("--r", type=float, default=0.5)
    p.add_argument("--a", type=float, default=0.5)
    p.add_argument("--m", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-batches", type=int, default=None)
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="leave glibc malloc at its defaults (see tune_malloc)")
    p.add_argument("--channels-last", action="store_true",
                   help="torch.channels_last strides for the 4-d tensors (default: dense NCHW)")
    args = p.parse_args(argv)

    malloc_tuned = False if args.no_malloc_tuning else tune_malloc()
    xtr, ytr, xte, yte = load_mnist_test_split(args.data)
    epochs, max_batches = args.epochs, args.max_batches
    if args.speed_only:
        epochs, max_batches = 1, 31
    res = train_torch(args.net, xtr, ytr, xte, yte, epochs=epochs, batch=args.batch,
                      lr_start=args.lr_start, lr_fin=args.lr_fin, r=args.r, a=args.a, m=args.m,
                      seed=args.seed, threads=args.threads, max_batches=max_batches,
                      channels_last=args.channels_last)
    res["speed_only"] = bool(args.speed_only)
    res["malloc_tuned"] = malloc_tuned
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
