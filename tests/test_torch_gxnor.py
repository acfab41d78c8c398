"""Fast checks of the PyTorch GXNOR reference (benchmarks/torch_gxnor.py)."""
from __future__ import annotations

import gzip
import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "torch_gxnor.py"


@pytest.fixture(scope="module")
def tg():
    spec = importlib.util.spec_from_file_location("torch_gxnor", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.set_num_threads(1)
    return mod


def _on_grid(w: torch.Tensor) -> bool:
    return bool(((w == -1) | (w == 0) | (w == 1)).all())


def test_init_is_ternary_and_seeded(tg):
    nets = []
    for _ in range(2):
        net = tg.build_net("cnn")
        tg.init_ternary_(net, torch.Generator().manual_seed(3))
        nets.append(net)
    for w0, w1 in zip(tg.ternary_weights(nets[0]), tg.ternary_weights(nets[1])):
        assert _on_grid(w0)
        assert torch.equal(w0, w1)
    # U[-1, 1] rounded stochastically: P(0) = 1/2, P(+-1) = 1/4
    w = tg.ternary_weights(nets[0])[1]
    assert abs((w == 0).float().mean().item() - 0.5) < 0.02
    assert abs(w.mean().item()) < 0.02


def test_weights_stay_ternary_after_updates(tg):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = tg.build_net("mlp")
    tg.init_ternary_(net, gen)
    # a large lr makes kappa != 0 and the clipping at +-1 active
    upd = tg.GXNORUpdater(tg.ternary_weights(net), tg.bn_parameters(net), lr=1.7, m=3.0, generator=gen)
    x = torch.rand(32, 1, 28, 28) * 2 - 1
    y = torch.randint(0, 10, (32,))
    before = [w.detach().clone() for w in tg.ternary_weights(net)]
    for _ in range(4):
        upd.zero_grad()
        tg.squared_hinge(net(x), y).backward()
        upd.step()
        for w in tg.ternary_weights(net):
            assert _on_grid(w)
    changed = sum((w0 != w).sum().item() for w0, w in zip(before, tg.ternary_weights(net)))
    assert changed > 0
    jumps = [(w - w0).abs().max().item() for w0, w in zip(before, tg.ternary_weights(net))]
    assert max(jumps) == 2.0  # some weight crossed the whole space, still on the grid


def test_ternary_activation_forward_backward(tg):
    x = torch.tensor([-1.5, -1.0, -0.6, -0.5, -0.4, 0.0, 0.4, 0.5, 0.6, 1.0, 1.5], requires_grad=True)
    y = tg.tern(x, 0.5, 0.5)
    assert y.tolist() == [-1, -1, -1, 0, 0, 0, 0, 0, 1, 1, 1]
    y.backward(torch.ones_like(x))
    # windows [0, 1] and [-1, 0] of height 1/(2a) = 1; they overlap at 0
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 2, 1, 1, 1, 1, 0]

    x = torch.tensor([-0.8, -0.75, -0.5, -0.25, -0.2, 0.0, 0.2, 0.25, 0.5, 0.75, 0.8], requires_grad=True)
    y = tg.tern(x, 0.5, 0.25)
    assert y.tolist() == [-1, -1, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    g = torch.arange(1.0, 12.0)
    y.backward(g)
    # windows [0.25, 0.75] and [-0.75, -0.25] of height 1/(2a) = 2
    expect = 2 * g * torch.tensor([0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0.0])
    assert torch.equal(x.grad, expect)


def test_dst_projection_mean_transition(tg):
    gen = torch.Generator().manual_seed(1)
    m = 3.0
    cases = [  # (w, dw, clipped dw)
        (0.0, 0.3, 0.3),
        (0.0, -0.2, -0.2),
        (-1.0, 1.4, 1.4),
        (1.0, -1.7, -1.7),
        (1.0, 0.4, 0.0),    # clipped to stay in [-1, 1]
        (0.0, 1.6, 1.0),    # clipped, kappa = 1, nu = 0
        (-1.0, -0.05, 0.0),
        (0.0, 0.0, 0.0),
    ]
    n = 100_000
    for w0, dw0, clipped in cases:
        w = torch.full((n,), w0)
        dw = torch.full((n,), dw0)
        tg.dst_project_(w, dw, m, gen)
        assert _on_grid(w)
        expect = tg.expected_transition(torch.tensor([clipped]), m).item()
        mean = (w - w0).mean().item()
        assert abs(mean - expect) < 0.01, (w0, dw0, mean, expect)
        # only the two states around w0 + dw can be reached
        lo, hi = np.floor(w0 + clipped), np.ceil(w0 + clipped)
        assert bool(((w == lo) | (w == hi)).all())
    assert tg.expected_transition(torch.tensor([1.4]), m).item() == pytest.approx(1 + np.tanh(1.2))


def test_squared_hinge(tg):
    scores = torch.tensor([[2.0, 0.5, -3.0], [0.0, -0.5, 1.0]])
    y = torch.tensor([0, 1])
    # t = [[1,-1,-1],[-1,1,-1]] -> 1 - t*s = [[-1, 1.5, -2], [1, 1.5, 2]] -> clamp^2 = [0, 2.25, 0, 1, 2.25, 4]
    assert tg.squared_hinge(scores, y).item() == pytest.approx((2.25 + 1 + 2.25 + 4) / 6)


def _learnable_problem(n, seed):
    """Ten noisy prototypes: learnable, but far from trivial at the first step."""
    rng = np.random.default_rng(seed)
    proto = np.random.default_rng(99).uniform(-1, 1, size=(10, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    x = 0.4 * proto[y] + rng.uniform(-0.6, 0.6, size=(n, 28, 28, 1)).astype(np.float32)
    return x.astype(np.float32), y


def test_short_training_lowers_loss(tg):
    x, y = _learnable_problem(1200, 0)
    xt, yt = _learnable_problem(400, 1)
    res = tg.train_torch("mlp", x, y, xt, yt, epochs=4, batch=50, lr_start=0.01, lr_fin=0.001,
                         seed=0, threads=1)
    for key in ("net", "epochs", "samples_per_second", "test_accuracy", "train_seconds", "threads",
                "torch_version"):
        assert key in res
    losses = res["train_loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    assert res["test_accuracy"] > 0.5  # chance is ~0.1
    assert res["samples_per_second"] > 0


@pytest.mark.parametrize("channels_last", [False, True])
def test_cnn_smoke_and_max_batches(tg, channels_last):
    x, y = _learnable_problem(300, 2)
    res = tg.train_torch("cnn", x, y, x[:50], y[:50], epochs=1, batch=20, max_batches=3, threads=1,
                         channels_last=channels_last)
    assert res["net"] == "cnn" and 0.0 <= res["test_accuracy"] <= 1.0
    assert res["samples_per_second"] > 0


def test_idx_reader(tg, tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    with gzip.open(tmp_path / "a.gz", "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 2, 3, 4) + arr.tobytes())
    assert np.array_equal(tg.read_idx_gz(tmp_path / "a.gz"), arr)
