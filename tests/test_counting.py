"""The counting observer against brute-force enumeration of operand pairs, and the resting-probability
closed forms of GXNOR Table 2 (5/9 for uniform ternary operands, 1/3 for TWN)."""
import numpy as np
import pytest

from neurosim.core.counting import CountingObserver, backward_pairs, forward_pairs
from neurosim.events import LayerInfo, OperandRecord


def _dense_rec(x, w, dy=None, phase="forward"):
    info = LayerInfo(index=0, name="fc1", kind="dense", in_shape=(w.shape[0],), out_shape=(w.shape[1],),
                     weight_count=w.size)
    return OperandRecord(layer=info, phase=phase, mode="train", batch=0, batch_size=len(x), x=x, w=w, dy=dy)


def _conv_rec(x, w, k, s, p, dy=None, phase="forward"):
    b, h, ww, c = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (ww + 2 * p - k) // s + 1
    info = LayerInfo(index=0, name="conv1", kind="conv", in_shape=(h, ww, c), out_shape=(oh, ow, w.shape[3]),
                     params={"kernel": k, "stride": s, "padding": p}, weight_count=w.size)
    return OperandRecord(layer=info, phase=phase, mode="train", batch=0, batch_size=b, x=x, w=w, dy=dy)


def _ternary(rng, shape, p_zero=1 / 3):
    return rng.choice([-1.0, 0.0, 1.0], size=shape, p=[(1 - p_zero) / 2, p_zero, (1 - p_zero) / 2]).astype(np.float32)


def _brute_conv_pairs(x, w, k, s, p):
    """Enumerate every (output, tap, channel, filter) pair of a padded convolution."""
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    b, h, ww, c = xp.shape
    oh, ow = (h - k) // s + 1, (ww - k) // s + 1
    total = nz = 0
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * s:i * s + k, j * s:j * s + k, :]  # (b, k, k, c)
            for f in range(w.shape[3]):
                prod = (patch != 0) & (w[None, :, :, :, f] != 0)
                nz += prod.sum()
                total += prod.size
    return total, nz


@pytest.mark.parametrize("seed", range(4))
def test_dense_pairs_vs_brute_force(seed):
    rng = np.random.default_rng(seed)
    x, w = _ternary(rng, (7, 13)), _ternary(rng, (13, 5))
    total, nz = forward_pairs(_dense_rec(x, w))
    brute = (x[:, :, None] != 0) & (w[None, :, :] != 0)
    assert (total, nz) == (brute.size, brute.sum())
    dy = _ternary(rng, (7, 5), 0.5)
    t2, nz2 = backward_pairs(_dense_rec(x, w, dy, "backward"), input_grad=True)
    dw_pairs = (x[:, :, None] != 0) & (dy[:, None, :] != 0)  # dW = x^T dy
    dx_pairs = (dy[:, None, :] != 0) & (w[None, :, :] != 0)  # dX = dy w^T
    assert (t2, nz2) == (dw_pairs.size + dx_pairs.size, dw_pairs.sum() + dx_pairs.sum())


@pytest.mark.parametrize("k,s,p", [(3, 1, 0), (3, 2, 1), (5, 1, 2), (2, 2, 0)])
def test_conv_pairs_vs_brute_force(k, s, p):
    rng = np.random.default_rng(k * 10 + s + p)
    x, w = _ternary(rng, (3, 9, 8, 4)), _ternary(rng, (k, k, 4, 6))
    total, nz = forward_pairs(_conv_rec(x, w, k, s, p))
    assert (total, nz) == _brute_conv_pairs(x, w, k, s, p)
    rec = _conv_rec(x, w, k, s, p)
    oh, ow, f = rec.layer.out_shape
    dy = _ternary(rng, (3, oh, ow, f), 0.5)
    t2, nz2 = backward_pairs(_conv_rec(x, w, k, s, p, dy, "backward"), input_grad=True)
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    bw = bx = 0
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * s:i * s + k, j * s:j * s + k, :] != 0  # (b,k,k,c)
            d = dy[:, i, j, :] != 0  # (b,f)
            bw += np.einsum("bijc,bf->", patch.astype(np.int64), d.astype(np.int64))  # dW pairs
            bx += np.einsum("bf,ijcf->", d.astype(np.int64), (w != 0).astype(np.int64))  # dX pairs
    assert t2 == 2 * total and nz2 == bw + bx


def test_resting_probability_uniform_ternary_is_5_9():
    rng = np.random.default_rng(0)
    obs = CountingObserver()
    x, w = _ternary(rng, (400, 300)), _ternary(rng, (300, 200))
    obs.observe(_dense_rec(x, w))
    assert abs(obs.resting_probability() - 5 / 9) < 0.005
    obs2 = CountingObserver()
    obs2.observe(_conv_rec(_ternary(rng, (64, 12, 12, 16)), _ternary(rng, (5, 5, 16, 32)), 5, 1, 0))
    assert abs(obs2.resting_probability() - 5 / 9) < 0.005


def test_resting_probability_twn_is_1_3():
    # TWN: ternary weights, full-precision (nonzero) activations
    rng = np.random.default_rng(1)
    obs = CountingObserver()
    x = rng.normal(size=(300, 400)).astype(np.float32)
    obs.observe(_dense_rec(x, _ternary(rng, (400, 300))))
    assert abs(obs.resting_probability() - 1 / 3) < 0.005


def test_counts_survive_state_round_trip():
    rng = np.random.default_rng(2)
    obs = CountingObserver()
    obs.observe(_dense_rec(_ternary(rng, (5, 6)), _ternary(rng, (6, 4))))
    other = CountingObserver()
    other.load_state(obs.state())
    assert other.layers == obs.layers and other.layers[0].operand_pairs == 120
