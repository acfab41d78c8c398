"""Speed of the exact cost kernels (neurosim.hw.costs.layer_costs) on the MNIST CNN and MLP shapes.

The hardware observer calls ``layer_costs`` for every product of every training batch, so the bar is a few ms
per batch (training alone: ~33 ms per CNN batch, ~7 ms per MLP batch, on 2 cores). Seeded ternary operands:
activations and weights ~55 % zeros, conv dy as it comes out of 2x2 max-pool backward (~75 % zeros).
Architecture as arch_configs/gxnor.yaml: gated_xnor, 256 lanes, 4 arrays, gating (``--kind``/``--policy``
to change). ``bits`` (the library's packed-word kernels) is timed against ``bytes``
(:func:`neurosim.testing.byte_kernels.layer_costs_bytes`, the per-pair byte scan the module started with, kept
as a test oracle; conv dX had no implementation before, its byte kernel is the new one).

    python benchmarks/costs_speed.py [--threads 2] [--repeats 7] [--before {full,one,none}]

Prints a table (median ms of ``--repeats`` calls after a warm-up call) and, as its last line, one JSON object:
per-batch totals in ms for the CNN and MLP, and the 10,000-image CNN forward time in s, after and before.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, parser, set_threads  # noqa: E402

KIND, POLICY, LANES, ARRAYS = "gated_xnor", "gating", 256, 4


def _ternary(rng, shape, p_zero):
    import numpy as np

    v = rng.choice(np.array([-1.0, 1.0], np.float32), size=shape)
    v[rng.random(shape) < p_zero] = 0.0
    return v


def _pool_grad(rng, shape, p_zero=0.05):
    """dy of a conv layer followed by 2x2 max pooling: one position per window gets the pooled gradient."""
    import numpy as np

    B, OH, OW, F = shape
    g = _ternary(rng, (B, OH // 2, OW // 2, F), p_zero)
    dy = np.zeros(shape, np.float32)
    pick = rng.integers(0, 4, size=g.shape)
    for k in range(4):
        i, j = divmod(k, 2)
        dy[:, i::2, j::2, :] = np.where(pick == k, g, 0.0)
    return dy


def cnn_calls(rng, B: int, forward_only: bool = False) -> list[tuple[str, dict]]:
    """(name, layer_costs kwargs) of one CNN batch: conv1 fwd+dW, conv2 fwd+dX+dW, fc and out fwd+dX+dW."""
    conv = {"type": "conv", "kernel": 5, "stride": 1, "padding": 0}
    dense = {"type": "dense"}
    x1, w1 = _ternary(rng, (B, 28, 28, 1), 0.55), _ternary(rng, (5, 5, 1, 32), 0.55)
    x2, w2 = _ternary(rng, (B, 12, 12, 32), 0.55), _ternary(rng, (5, 5, 32, 64), 0.55)
    x3, w3 = _ternary(rng, (B, 1024), 0.55), _ternary(rng, (1024, 512), 0.55)
    x4, w4 = _ternary(rng, (B, 512), 0.55), _ternary(rng, (512, 10), 0.55)
    calls = [("conv1 fwd", dict(x=x1, w=w1, layer=conv, product="forward")),
             ("conv2 fwd", dict(x=x2, w=w2, layer=conv, product="forward")),
             ("fc fwd", dict(x=x3, w=w3, layer=dense, product="forward")),
             ("out fwd", dict(x=x4, w=w4, layer=dense, product="forward"))]
    if forward_only:
        return calls
    dy1, dy2 = _pool_grad(rng, (B, 24, 24, 32)), _pool_grad(rng, (B, 8, 8, 64))
    dy3, dy4 = _ternary(rng, (B, 512), 0.55), _ternary(rng, (B, 10), 0.55)
    return calls + [
        ("conv1 dW", dict(x=x1, w=w1, dy=dy1, layer=conv, product="dw")),
        ("conv2 dX", dict(x=x2, w=w2, dy=dy2, layer=conv, product="dx")),
        ("conv2 dW", dict(x=x2, w=w2, dy=dy2, layer=conv, product="dw")),
        ("fc dX", dict(x=x3, w=w3, dy=dy3, layer=dense, product="dx")),
        ("fc dW", dict(x=x3, w=w3, dy=dy3, layer=dense, product="dw")),
        ("out dX", dict(x=x4, w=w4, dy=dy4, layer=dense, product="dx")),
        ("out dW", dict(x=x4, w=w4, dy=dy4, layer=dense, product="dw"))]


def mlp_calls(rng, B: int) -> list[tuple[str, dict]]:
    """One MLP 784-512-512-10 batch: fwd and dW of every layer, dX of all but the first."""
    dense = {"type": "dense"}
    sizes = (784, 512, 512, 10)
    calls = []
    for i in range(3):
        x, w = _ternary(rng, (B, sizes[i]), 0.55), _ternary(rng, (sizes[i], sizes[i + 1]), 0.55)
        dy = _ternary(rng, (B, sizes[i + 1]), 0.55)
        calls.append((f"fc{i + 1} fwd", dict(x=x, w=w, layer=dense, product="forward")))
        if i:
            calls.append((f"fc{i + 1} dX", dict(x=x, w=w, dy=dy, layer=dense, product="dx")))
        calls.append((f"fc{i + 1} dW", dict(x=x, w=w, dy=dy, layer=dense, product="dw")))
    return calls


def _run(call: dict, method: str, kind: str, policy: str):
    """One ``layer_costs`` call by ``method``: ``bits`` (the library) or ``bytes`` (the byte-scan oracle)."""
    from neurosim.hw.costs import layer_costs
    from neurosim.testing.byte_kernels import layer_costs_bytes

    c = dict(call)
    fn = layer_costs if method == "bits" else layer_costs_bytes
    return fn(kind, policy, LANES, ARRAYS, c.pop("x"), c.pop("w"), c.pop("layer"), **c)


def median_ms(call: dict, method: str, kind: str, policy: str, repeats: int) -> float:
    """Median wall time of one call in ms, after one warm-up call."""
    _run(call, method, kind, policy)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _run(call, method, kind, policy)
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)


def forward_10k(rng, method: str, kind: str, policy: str, n_batches: int = 10, batch: int = 1000) -> float:
    """Seconds to cost the forward products of n_batches batches (the timed operands are built beforehand)."""
    batches = [cnn_calls(rng, batch, forward_only=True) for _ in range(n_batches)]
    _run(batches[0][0][1], method, kind, policy)  # compile / load
    t0 = time.perf_counter()
    for calls in batches:
        for _, c in calls:
            _run(c, method, kind, policy)
    return time.perf_counter() - t0


def main() -> None:
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--kind", default=KIND)
    ap.add_argument("--policy", default=POLICY)
    ap.add_argument("--before", choices=("full", "one", "none"), default="one",
                    help="time the byte kernels too: every call (slow), the 10k forward from one batch of 1000 "
                         "x 10 plus the batches with 2 repeats (default), or not at all")
    args = ap.parse_args()
    set_threads(args.threads)
    import numba
    import numpy as np

    out: dict = {"kind": args.kind, "policy": args.policy, "lanes": LANES, "arrays": ARRAYS, "threads": args.threads}
    print(f"{args.kind}/{args.policy}, {LANES} lanes x {ARRAYS} arrays, median of {args.repeats} (ms per call)")
    print(f"{'product':<12}{'outputs':>10}{'pairs':>12}{'bits ms':>10}{'bytes ms':>11}")
    for net, calls in (("cnn", cnn_calls(np.random.default_rng(0), 100)),
                       ("mlp", mlp_calls(np.random.default_rng(1), 100))):
        tot_after = tot_before = 0.0
        for name, c in calls:
            r = _run(c, "bits", args.kind, args.policy)
            after = median_ms(c, "bits", args.kind, args.policy, args.repeats)
            tot_after += after
            before = float("nan")
            if args.before != "none":
                rb = _run(c, "bytes", args.kind, args.policy)
                if rb.actions != r.actions or rb.compute_cycles != r.compute_cycles:
                    raise SystemExit(f"{net} {name}: bits and bytes disagree")
                before = median_ms(c, "bytes", args.kind, args.policy, 2 if args.before == "one" else args.repeats)
                tot_before += before
            print(f"{net + ' ' + name:<12}{r.outputs:>10}{r.operand_pairs:>12}{after:>10.3f}{before:>11.2f}")
        print(f"{net + ' total':<34}{tot_after:>10.3f}{tot_before if args.before != 'none' else float('nan'):>11.2f}")
        out[f"{net}_batch_ms"] = round(tot_after, 3)
        if args.before != "none":
            out[f"{net}_batch_ms_before"] = round(tot_before, 2)
    fwd = forward_10k(np.random.default_rng(2), "bits", args.kind, args.policy)
    out["cnn_forward_10k_s"] = round(fwd, 3)
    print(f"CNN forward, 10,000 images in batches of 1000: {fwd:.3f} s (bits)")
    if args.before != "none":
        n = 10 if args.before == "full" else 1
        fb = forward_10k(np.random.default_rng(2), "bytes", args.kind, args.policy, n_batches=n) * 10 / n
        out["cnn_forward_10k_s_before"] = round(fb, 2)
        print(f"CNN forward, 10,000 images: {fb:.2f} s (bytes{'' if n == 10 else ', 1 batch of 1000 x 10'})")
    out["numba_threads"] = numba.get_num_threads()
    emit(out)


if __name__ == "__main__":
    main()
