"""The worked example of docs/adding_a_compute_kind.md: a clock-gated ternary MAC kind, one module plus its YAML.

Checked against hand computations (numpy closed forms of its action counts) and, through ``tests/test_costs.py``
(which runs every registered kind), against the brute-force stepper."""
import numpy as np
import pytest

from neurosim.events import LayerInfo, OperandRecord
from neurosim.hw.arch import load_arch
from neurosim.testing.archs import without_leakage
from neurosim.hw.costs import layer_costs
from neurosim.hw.kinds import kind
from neurosim.hw.observer import HardwareObserver, OperandAlphabet
from neurosim.hw.weight_memory import WeightBits
from neurosim.testing.reference import reference_costs

ARCH = without_leakage(load_arch("gated_mac"))  # hand counts of dynamic energy


def _ternary(rng, shape, p=2 / 3):
    v = rng.choice(np.array([-1.0, 1.0], np.float32), size=shape)
    v[rng.random(shape) >= p] = 0.0
    return v


def test_kind_is_registered_and_priced_as_its_module_says():
    k = kind("gated_mac")
    assert k.fires == "both" and k.required_actions() == ("gate_check", "mult", "add", "rest")
    assert set(ARCH.compute_array().actions) == {"gate_check", "mult", "add", "rest"}


@pytest.mark.parametrize("policy", ["gating", "skipping"])
def test_counts_by_hand_and_against_the_stepper(policy):
    rng = np.random.default_rng(3)
    x, w = _ternary(rng, (3, 70)), _ternary(rng, (70, 5))
    res = layer_costs("gated_mac", policy, 16, 2, x, w, {"type": "dense"})
    nz = int(((x != 0).astype(int) @ (w != 0).astype(int)).sum())
    assert res.actions["gate_check"] == 3 * 5 * 70  # every pair is tested for zeros
    assert res.actions["mult"] == res.actions["add"] == nz  # one MAC per pair of nonzero operands
    ref = reference_costs("gated_mac", policy, 16, 2, x, w, {"type": "dense"})
    assert res.actions == ref["actions"] and res.compute_cycles == ref["compute_cycles"]


def test_observer_energy_by_hand():
    """Energy of a forward pass on the array = gate_check x pairs + (mult + add) x nonzero pairs (rest is free)."""
    rng = np.random.default_rng(4)
    B, n_in, n_out = 8, 300, 20
    info = LayerInfo(0, "fc", "dense", (n_in,), (n_out,), {"units": n_out}, weight_bits=2, weight_count=n_in * n_out,
                     activation_bits=2)
    x, w = _ternary(rng, (B, n_in)), _ternary(rng, (n_in, n_out))
    obs = HardwareObserver(ARCH, [info], B, WeightBits(stored=2), OperandAlphabet(2 / 3, 2 / 3),
                           continuous_input=False)
    obs.observe(OperandRecord(info, "forward", "eval", 0, B, x=x, w=w, x_step=1.0, w_step=1.0))
    r = obs.finish().rows()[0]
    nz = int(((x != 0).astype(int) @ (w != 0).astype(int)).sum())
    assert r["actual_ops"] == nz and r["algorithmic_ops"] == B * n_in * n_out
    assert r["energy_pj_pe_array"] == pytest.approx(B * n_in * n_out * 0.0075 + nz * (0.0075 + 0.05), rel=1e-12)
