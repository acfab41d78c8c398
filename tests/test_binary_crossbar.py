"""Seed 003 reproduction on scikit-learn's digits (embedded, no download): fast checks of the table logic."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurosim.explore import binary_crossbar as bc

DIGITS = {"name": "digits", "shuffle": True, "train": [0, 1300], "validation": [1300, 1500], "test": [1500, 1797]}


@pytest.fixture(scope="module")
def result() -> dict:
    """One seed of the tables on digits (deterministic in its seed)."""
    return bc.tables(None, epochs=8, seed=0, dataset=DIGITS, crossbar_images=150, lr_start=0.001, lr_fin=1e-5)


@pytest.mark.slow
def test_binarize_in_training_beats_binarize_at_test(result: dict) -> None:
    t1 = result["table1"]
    assert t1["binarize_in_training"] > t1["binarize_at_test"]
    assert t1["reference"] > 85.0


@pytest.mark.slow
def test_stochastic_sampling_recovers_deterministic_input(result: dict) -> None:
    t2 = result["table2"]
    assert t2["stochastic_64"] >= t2["deterministic_input"] - 1.0
    assert t2["stochastic_64"] >= t2["stochastic_8"] - 1.0


@pytest.mark.slow
def test_crossbar_matches_functional_forward(result: dict) -> None:
    cb = result["crossbar"]
    assert cb["agreement_without_ties"] == 1.0 and cb["agreement"] >= 0.99
    assert cb["read_energy_pj_per_image"] > 0 and cb["per_image"]["comparator_decisions"] == 2 * bc.HIDDEN


@pytest.mark.slow
def test_seeded_determinism(result: dict) -> None:
    again = bc.tables(None, epochs=8, seed=0, dataset=DIGITS, crossbar=False, lr_start=0.001, lr_fin=1e-5)
    assert again["table1"] == result["table1"] and again["table2"] == result["table2"]


def test_sample_inputs_statistics() -> None:
    x = np.linspace(-1, 1, 9, dtype=np.float32)
    s = bc.sample_inputs(x, 20000, np.random.default_rng(0))
    assert s.shape == (20000, 9) and set(np.unique(s)) <= {-1.0, 1.0}
    np.testing.assert_allclose(s.mean(axis=0), x, atol=0.03)
    assert np.all(s[:, 0] == -1) and np.all(s[:, -1] == 1)


def test_quantize_is_tie_free() -> None:
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=(30, 7)), rng.normal(size=7) * 3
    q, values = bc.quantize([(w, b)], [1.0], N=4)
    (st, k), = q
    assert k == int(np.ceil(np.abs(b).max()))
    levels = st.astype(np.int64) - 8
    assert np.all(levels.sum(axis=0) % 2 == 1)  # odd: x @ W + b is never exactly 0 for +-1 inputs
    np.testing.assert_allclose(values[0][1], b, atol=k * 1.0 / 8 + 1e-12)


@pytest.mark.slow
def test_reproduce_writes_files(tmp_path: Path, result: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bc, "tables", lambda *a, **k: result)
    r = bc.reproduce(tmp_path, None, epochs=8, seeds=[0])
    assert (tmp_path / "binary_crossbar_tables.csv").exists() and (tmp_path / "binary_crossbar_tables.json").exists()
    text = bc.print_tables(r)
    assert "binarize_at_test" in text and "stochastic_64" in text


@pytest.mark.slow
def test_learning_rate_search_keeps_the_best_validation() -> None:
    net, _, rec = bc.select_lr("reference", DIGITS, None, 3, 0, (0.001, 0.01), 100.0)
    vals = rec["validation"]
    assert set(vals) == {"0.001", "0.01"}
    assert vals[f"{rec['lr_start']:g}"] == max(vals.values()) and rec["lr_fin"] == rec["lr_start"] / 100.0
    assert net is not None


def test_saturation_counts_large_tanh_outputs() -> None:
    w = np.array([[1.0, 0.0], [0.0, 0.1]])
    layers = [(w, np.zeros(2)), (np.ones((2, 1)), np.zeros(1))]
    x = np.array([[5.0, 5.0], [-5.0, 1.0]])  # tanh: (1.0, 0.46), (-1.0, 0.1) -> 2 of 4 above 0.9
    assert bc.saturation(layers, x) == [0.5]
