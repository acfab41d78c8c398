"""Micro-benchmark of the layer kernels (neurosim.core.kernels) on the MNIST CNN shapes, float32.

Run with the thread counts of the target machine, e.g.::

    OPENBLAS_NUM_THREADS=2 NUMBA_NUM_THREADS=2 python benchmarks/bench_kernels.py

Prints a human-readable table, and as its last line one JSON object ``{kernel: median ms}``.  Keys:
``<kernel>`` for neurosim, ``numpy:<kernel>`` for a plain-numpy im2col baseline (sliding_window_view) and
``torch:<kernel>`` for PyTorch CPU (when importable, same thread count).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

K = None  # neurosim.core.kernels, imported by main() only (not in the torch reference process)
MINS: dict[str, float] = {}


def timeit(fn, repeat=30, warmup=3):
    """(median, min) wall time in ms over ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts), 1e3 * min(ts)


# ------------------------------------------------------------------------------------ numpy baseline
def np_conv_forward(x, w, stride=1, padding=0):
    kh, kw, C, F = w.shape
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    v = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    B, OH, OW = v.shape[:3]
    cols = v.transpose(0, 1, 2, 4, 5, 3).reshape(B * OH * OW, kh * kw * C)  # copies
    y = (cols @ w.reshape(-1, F)).reshape(B, OH, OW, F)
    return y, cols


def np_conv_backward(x_shape, cols, w, dy, stride=1, padding=0, need_dx=True):
    kh, kw, C, F = w.shape
    B, H, W, _ = x_shape
    dy2 = dy.reshape(-1, F)
    dw = (cols.T @ dy2).reshape(w.shape)
    if not need_dx:
        return None, dw
    OH, OW = dy.shape[1], dy.shape[2]
    dcols = (dy2 @ w.reshape(-1, F).T).reshape(B, OH, OW, kh, kw, C)
    dxp = np.zeros((B, H + 2 * padding, W + 2 * padding, C), dy.dtype)
    for i in range(kh):  # loop over kernel taps only
        for j in range(kw):
            dxp[:, i:i + stride * OH:stride, j:j + stride * OW:stride, :] += dcols[:, :, :, i, j, :]
    dx = dxp[:, padding:padding + H, padding:padding + W, :] if padding else dxp
    return dx, dw


# ------------------------------------------------------------------------------------------ inputs
def make_inputs(rng, B):
    f32 = np.float32
    convs = {
        "conv1": (rng.standard_normal((B, 28, 28, 1), dtype=f32), rng.standard_normal((5, 5, 1, 32), dtype=f32)),
        "conv2": (rng.standard_normal((B, 12, 12, 32), dtype=f32), rng.standard_normal((5, 5, 32, 64), dtype=f32)),
    }
    pools = {"pool1": rng.standard_normal((B, 24, 24, 32), dtype=f32),
             "pool2": rng.standard_normal((B, 8, 8, 64), dtype=f32)}
    bns = {"bn1": rng.standard_normal((B, 24, 24, 32), dtype=f32),
           "bn2": rng.standard_normal((B, 8, 8, 64), dtype=f32),
           "bn_dense": rng.standard_normal((B, 512), dtype=f32)}
    return convs, pools, bns


def make_cnn(rng, B):
    """Input and weights of the MNIST CNN: conv5x5(32)-bn-pool2, conv5x5(64)-bn-pool2, dense 1024x512-bn, 512x10."""
    f32 = np.float32
    xs = rng.standard_normal((B, 28, 28, 1), dtype=f32)
    W1 = rng.standard_normal((5, 5, 1, 32), dtype=f32) * 0.2
    W2 = rng.standard_normal((5, 5, 32, 64), dtype=f32) * 0.05
    W3 = rng.standard_normal((4 * 4 * 64, 512), dtype=f32) * 0.03
    W4 = rng.standard_normal((512, 10), dtype=f32) * 0.05
    return xs, W1, W2, W3, W4


def torch_reference(B: int, rep: int) -> None:
    """PyTorch CPU timings of the same shapes (NCHW and channels_last), printed as JSON [medians, mins]."""
    import torch

    torch.set_num_threads(int(os.environ.get("NUMBA_NUM_THREADS", "2")))
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    f32 = np.float32
    res: dict[str, float] = {}

    def rec(name, fn, repeat=rep):
        med, mn = timeit(fn, repeat=repeat)
        res[name] = round(med, 4)
        MINS[name] = mn

    convs, pools, bns = make_inputs(rng, B)
    xs, W1, W2, W3, W4 = make_cnn(rng, B)
    for name, (x, w) in convs.items():
        for fmt in ("nchw", "nhwc"):
            xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
            wt = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous()
            if fmt == "nhwc":
                xt = xt.contiguous(memory_format=torch.channels_last)
                wt = wt.contiguous(memory_format=torch.channels_last)
            xt.requires_grad_(name != "conv1")
            wt.requires_grad_(True)
            yt = tf.conv2d(xt, wt)
            dyt = torch.randn_like(yt)

            def fwd(xt=xt, wt=wt):
                with torch.no_grad():
                    return tf.conv2d(xt, wt)

            def fwdbwd(xt=xt, wt=wt, dyt=dyt):
                yt = tf.conv2d(xt, wt)
                ins = [xt, wt] if xt.requires_grad else [wt]
                return torch.autograd.grad(yt, ins, dyt)

            rec(f"torch[{fmt}]:{name}_fwd", fwd)
            rec(f"torch[{fmt}]:{name}_fwd+bwd", fwdbwd)
    for name, x in bns.items():
        C = x.shape[-1]
        xt = torch.from_numpy(x.reshape(-1, C)).requires_grad_(True)
        g = torch.ones(C, requires_grad=True)
        b = torch.zeros(C, requires_grad=True)
        yt = tf.batch_norm(xt, None, None, g, b, training=True)
        dyt = torch.randn_like(yt)
        rec(f"torch:{name}_fwd+bwd", lambda xt=xt, g=g, b=b, dyt=dyt: torch.autograd.grad(
            tf.batch_norm(xt, None, None, g, b, training=True), [xt, g, b], dyt))
    for name, x in pools.items():
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(
            memory_format=torch.channels_last).requires_grad_(True)
        yt = tf.max_pool2d(xt, 2)
        dyt = torch.randn_like(yt)
        rec(f"torch:{name}_fwd+bwd", lambda xt=xt, dyt=dyt: torch.autograd.grad(
            tf.max_pool2d(xt, 2), [xt], dyt))
    xt = torch.from_numpy(rng.standard_normal((B, 784), dtype=f32)).requires_grad_(True)
    wt = torch.from_numpy(rng.standard_normal((784, 512), dtype=f32)).requires_grad_(True)
    dyt = torch.randn(B, 512)
    rec("torch:dense_fwd+bwd", lambda: torch.autograd.grad(xt @ wt, [xt, wt], dyt))

    tx = torch.from_numpy(xs).permute(0, 3, 1, 2).contiguous()
    tw = [torch.from_numpy(W1).permute(3, 2, 0, 1).contiguous().requires_grad_(True),
          torch.from_numpy(W2).permute(3, 2, 0, 1).contiguous().requires_grad_(True),
          torch.from_numpy(W3).requires_grad_(True), torch.from_numpy(W4).requires_grad_(True)]
    tg = {c: (torch.ones(c, requires_grad=True), torch.zeros(c, requires_grad=True)) for c in (32, 64, 512)}
    tparams = tw + [p for c in (32, 64, 512) for p in tg[c]]

    def torch_step(tx=tx):
        h = tf.max_pool2d(tf.batch_norm(tf.conv2d(tx, tw[0]), None, None, *tg[32], training=True), 2)
        h = tf.max_pool2d(tf.batch_norm(tf.conv2d(h, tw[1]), None, None, *tg[64], training=True), 2)
        h = h.permute(0, 2, 3, 1).reshape(B, -1)  # NHWC flatten, as ours
        h = tf.batch_norm(h @ tw[2], None, None, *tg[512], training=True)
        y = h @ tw[3]
        return torch.autograd.grad(y, tparams, torch.ones_like(y))

    rec("torch:cnn_step", torch_step, repeat=max(rep, 40))
    txc = tx.contiguous(memory_format=torch.channels_last)
    rec("torch[nhwc]:cnn_step", lambda: torch_step(txc), repeat=max(rep, 40))

    print(json.dumps([res, MINS]))


# -------------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    rep = args.repeat
    B = args.batch
    if args.torch_only:
        return torch_reference(B, rep)
    global K
    from neurosim.core import kernels as K
    rng = np.random.default_rng(0)
    f32 = np.float32
    res: dict[str, float] = {}

    def rec(name, fn, repeat=rep):
        med, mn = timeit(fn, repeat=repeat)
        res[name] = round(med, 4)
        MINS[name] = mn

    convs, pools, bns = make_inputs(rng, B)
    for name, (x, w) in convs.items():
        y, cols = K.conv2d_forward(x, w)
        dy = rng.standard_normal(y.shape, dtype=f32)
        ybuf = np.empty_like(y)
        cbuf = np.empty_like(cols)
        dcbuf = np.empty_like(cols)
        dxbuf = np.empty_like(x)
        dwbuf = np.empty_like(w)
        rec(f"{name}_fwd", lambda: K.conv2d_forward(x, w))
        rec(f"{name}_fwd_prealloc", lambda: K.conv2d_forward(x, w, out=ybuf, cols_out=cbuf))
        rec(f"{name}_bwd_dw", lambda: K.conv2d_backward(x.shape, cols, w, dy, need_dx=False))
        rec(f"{name}_bwd", lambda: K.conv2d_backward(x.shape, cols, w, dy))
        rec(f"{name}_bwd_prealloc", lambda: K.conv2d_backward(x.shape, cols, w, dy, dx_out=dxbuf, dw_out=dwbuf,
                                                              dcols_out=dcbuf))
        rec(f"{name}_im2col", lambda: K.im2col(x, 5, 5, out=cbuf))
        rec(f"{name}_col2im", lambda: K.col2im(cols, x.shape, 5, 5, out=dxbuf))
        # plain-numpy baseline (check it agrees first)
        yn, coln = np_conv_forward(x, w)
        assert np.allclose(yn, y, rtol=1e-4, atol=1e-3)
        dxn, dwn = np_conv_backward(x.shape, coln, w, dy)
        dx, dw = K.conv2d_backward(x.shape, cols, w, dy)
        assert np.allclose(dxn, dx, rtol=1e-4, atol=1e-2) and np.allclose(dwn, dw, rtol=1e-4, atol=1e-1)
        rec(f"numpy:{name}_fwd", lambda: np_conv_forward(x, w))
        rec(f"numpy:{name}_bwd_dw", lambda: np_conv_backward(x.shape, coln, w, dy, need_dx=False))
        rec(f"numpy:{name}_bwd", lambda: np_conv_backward(x.shape, coln, w, dy))

    for name, x in pools.items():
        y, arg = K.maxpool_forward(x, 2)
        dy = rng.standard_normal(y.shape, dtype=f32)
        rec(f"{name}_fwd", lambda: K.maxpool_forward(x, 2))
        rec(f"{name}_bwd", lambda: K.maxpool_backward(dy, arg, x.shape, 2))
        rec(f"numpy:{name}_fwd",
            lambda: x.reshape(B, x.shape[1] // 2, 2, x.shape[2] // 2, 2, x.shape[3]).max(axis=(2, 4)))

    for name, x in bns.items():
        C = x.shape[-1]
        g = rng.uniform(0.5, 1.5, C).astype(f32)
        b = rng.standard_normal(C).astype(f32)
        y, cache, m, v = K.batchnorm_forward_train(x, g, b)
        dy = rng.standard_normal(x.shape, dtype=f32)
        rec(f"{name}_fwd_train", lambda: K.batchnorm_forward_train(x, g, b))
        rec(f"{name}_fwd_eval", lambda: K.batchnorm_forward_eval(x, g, b, m, v))
        rec(f"{name}_bwd", lambda: K.batchnorm_backward(dy, cache, g))

        def np_bn(x=x, g=g, b=b, C=C):
            x2 = x.reshape(-1, C)
            mu = x2.mean(0)
            var = x2.var(0)
            xh = (x2 - mu) / np.sqrt(var + 1e-4)
            return xh * g + b
        rec(f"numpy:{name}_fwd_train", np_bn)

    x = rng.standard_normal((B, 784), dtype=f32)
    w = rng.standard_normal((784, 512), dtype=f32)
    dy = rng.standard_normal((B, 512), dtype=f32)
    rec("dense_fwd", lambda: K.dense_forward(x, w))
    rec("dense_bwd", lambda: K.dense_backward(x, w, dy))
    rec("dense_bwd_dw", lambda: K.dense_backward(x, w, dy, need_dx=False))

    # a whole small-CNN training step (forward + backward of every layer), the MNIST net of the engine
    xs, W1, W2, W3, W4 = make_cnn(rng, B)
    G = {c: (np.ones(c, f32), np.zeros(c, f32)) for c in (32, 64, 512)}

    def cnn_step():
        y1, c1 = K.conv2d_forward(xs, W1)
        z1, k1, _, _ = K.batchnorm_forward_train(y1, *G[32])
        p1, a1 = K.maxpool_forward(z1)
        y2, c2 = K.conv2d_forward(p1, W2)
        z2, k2, _, _ = K.batchnorm_forward_train(y2, *G[64])
        p2, a2 = K.maxpool_forward(z2)
        h = p2.reshape(B, -1)
        y3 = K.dense_forward(h, W3)
        z3, k3, _, _ = K.batchnorm_forward_train(y3, *G[512])
        y4 = K.dense_forward(z3, W4)
        dz3, _ = K.dense_backward(z3, W4, np.ones_like(y4))
        dy3, _, _ = K.batchnorm_backward(dz3, k3, G[512][0])
        dh, _ = K.dense_backward(h, W3, dy3)
        dz2 = K.maxpool_backward(dh.reshape(p2.shape), a2, z2.shape)
        dy2, _, _ = K.batchnorm_backward(dz2, k2, G[64][0])
        dp1, _ = K.conv2d_backward(p1.shape, c2, W2, dy2)
        dz1 = K.maxpool_backward(dp1, a1, z1.shape)
        dy1, _, _ = K.batchnorm_backward(dz1, k1, G[32][0])
        K.conv2d_backward(xs.shape, c1, W1, dy1, need_dx=False)

    rec("cnn_step", cnn_step, repeat=max(rep, 40))

    if not args.no_torch:
        # PyTorch runs in its own process: in this one it would share numba's OpenMP runtime and its settings
        # (and our malloc tuning), which would not be a fair reference.
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-only", "--repeat", str(rep),
                               "--batch", str(B)], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            tres, tmins = json.loads(proc.stdout.strip().splitlines()[-1])
            res.update(tres)
            MINS.update(tmins)
        else:
            print(f"torch reference not measured: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)

    # derived: full forward+backward of the conv layers, and comparisons
    for name, dxneeded in (("conv1", False), ("conv2", True)):
        bk = "bwd" if dxneeded else "bwd_dw"
        res[f"{name}_fwd+bwd"] = round(res[f"{name}_fwd"] + res[f"{name}_{bk}"], 4)
        res[f"numpy:{name}_fwd+bwd"] = round(res[f"numpy:{name}_fwd"] + res[f"numpy:{name}_{bk}"], 4)

    width = max(len(k) for k in res)
    threads = (os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("NUMBA_NUM_THREADS"))
    print(f"# float32, batch {B}, median (min) of {rep}+ calls; OPENBLAS_NUM_THREADS={threads[0]} "
          f"NUMBA_NUM_THREADS={threads[1]}; numba threading layer: {K.configure_threads()}")
    for k, v in res.items():
        mn = f"({MINS[k]:8.3f})" if k in MINS else ""
        print(f"{k:<{width}}  {v:9.3f} ms {mn}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
