"""Linear CKA: the invariances Kornblith et al. (2019) prove, and the inspect key."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from explorer.core.analysis.export import analysis_arrays
from explorer.core.cka import layer_cka, linear_cka
from explorer.core.inference import run_inference


@pytest.fixture
def states():
    return np.random.default_rng(0).standard_normal((20, 16))


def test_cka_of_a_representation_with_itself_is_one(states):
    assert linear_cka(states, states) == pytest.approx(1.0, abs=1e-12)


def test_cka_is_invariant_to_orthogonal_transforms_and_isotropic_scaling(states):
    other = np.tanh(states @ np.random.default_rng(1).standard_normal((16, 8)))
    rotation = ortho_group.rvs(8, random_state=2)
    before = linear_cka(states, other)
    assert 0.05 < before < 0.99  # a value that could move
    assert linear_cka(states, other @ rotation) == pytest.approx(before, rel=1e-10)
    assert linear_cka(states, 7.5 * other) == pytest.approx(before, rel=1e-10)
    assert linear_cka(3.0 * states @ ortho_group.rvs(16, random_state=3), other) == pytest.approx(
        before, rel=1e-10
    )


def test_cka_is_not_invariant_to_a_non_isotropic_scaling(states):
    other = np.tanh(states[:, :8])
    stretched = other * np.array([10.0, 1, 1, 1, 1, 1, 1, 0.1])
    assert abs(linear_cka(states, stretched) - linear_cka(states, other)) > 1e-3


def test_layer_cka_matches_pairwise_linear_cka(states):
    rng = np.random.default_rng(4)
    layers = np.stack([states + rng.standard_normal(states.shape) * s for s in (0, 0.5, 2)])
    grid = layer_cka(layers.astype(np.float32))
    assert grid.dtype == np.float32 and grid.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            assert grid[i, j] == pytest.approx(linear_cka(layers[i], layers[j]), abs=1e-5)
    np.testing.assert_allclose(np.diag(grid), 1.0, atol=1e-6)
    np.testing.assert_allclose(grid, grid.T)


def test_a_layer_without_variance_gets_zero_not_nan():
    layers = np.zeros((2, 1, 4), dtype=np.float32)
    assert np.array_equal(layer_cka(layers), np.zeros((2, 2), np.float32))


def test_inspect_arrays_hold_layer_cka(tiny_model):
    result = run_inference(tiny_model, "The river bank flooded.")
    grid = analysis_arrays(None, result)["layer_cka"]
    assert grid.shape == (result.num_layers + 1,) * 2 and grid.dtype == np.float32
    np.testing.assert_allclose(grid, layer_cka(result.hidden_states))
    assert grid[0, -1] == pytest.approx(
        linear_cka(result.hidden_states[0], result.hidden_states[-1]), abs=1e-5
    )
