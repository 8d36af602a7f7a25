"""The step-by-step walk-through and ``inspect --qkv`` reproduce the pass's own attention."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.analysis.norm_based import norm_attention_of
from explorer.core.analysis.registry import run_analysis
from explorer.core.export import inspect_arrays
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel
from explorer.core.why.qkv import WALK_THROUGH, WalkThroughUnavailableError, walk_through

TEXT = "The cat sat on the mat because it was warm."
PAIR = "Then it slept."


@pytest.fixture(scope="module")
def embedded_result(embedded_model: LoadedModel):
    return run_inference(embedded_model, TEXT, PAIR)


def test_walk_through_identity_on_the_embedded_default(embedded_model, embedded_result):
    result = embedded_result
    norms = norm_attention_of(embedded_model, result).per_head
    for layer, head, query in [(0, 0, 0), (2, 5, 3), (5, 11, result.num_tokens - 1)]:
        steps = walk_through(embedded_model, result, layer, head, query)
        np.testing.assert_allclose(steps.weights, result.attentions[layer, head, query], atol=1e-6)
        # step by step: each follows from the one before
        np.testing.assert_allclose(steps.products, steps.q[None, :] * steps.keys, rtol=1e-6)
        np.testing.assert_allclose(
            steps.scores, steps.products.sum(-1) * steps.scaling + steps.mask, atol=1e-5
        )
        assert steps.scaling == pytest.approx(1 / np.sqrt(steps.q.shape[0]))
        np.testing.assert_allclose(steps.mixed, steps.weights @ steps.values, atol=1e-6)
        np.testing.assert_allclose(steps.output, steps.contributions.sum(0), atol=1e-5)
        # step 8's per-key norms are the norm-based view's numbers
        np.testing.assert_allclose(
            np.linalg.norm(steps.contributions, axis=-1),
            norms[layer, head, query],
            rtol=1e-4,
            atol=1e-6,
        )
        assert steps.keys.shape == (result.num_tokens, 384 // 12)
        assert steps.contributions.dtype == np.float32


def test_the_walk_through_is_a_registered_analysis(tiny_model: LoadedModel):
    result = run_inference(tiny_model, TEXT)
    steps = run_analysis(WALK_THROUGH, tiny_model, result, {"layer": 1, "head": 2, "query": 4})
    np.testing.assert_allclose(steps.weights, result.attentions[1, 2, 4], atol=1e-6)
    with pytest.raises(WalkThroughUnavailableError):
        run_analysis(WALK_THROUGH, None, result, {"layer": 0, "head": 0, "query": 0})
    with pytest.raises(WalkThroughUnavailableError):
        walk_through(tiny_model, result, 9, 0, 0)


def test_a_knocked_out_head_contributes_nothing(tiny_model: LoadedModel):
    result = run_inference(tiny_model, TEXT, knocked_out=[(1, 2)])
    steps = walk_through(tiny_model, result, 1, 2, 3)
    assert steps.knocked_out and not steps.output.any()
    np.testing.assert_allclose(steps.weights, result.attentions[1, 2, 3], atol=1e-6)


@pytest.mark.parametrize("name", ["tiny_model", "embedded_model"])
def test_inspect_qkv_reproduces_the_attentions(name, request):
    loaded: LoadedModel = request.getfixturevalue(name)
    result = run_inference(loaded, TEXT, PAIR)
    arrays = inspect_arrays(loaded, result, qkv=True)
    layers, heads, count = result.num_layers, result.num_heads, result.num_tokens
    size = loaded.info.hidden_size // heads
    for key in ("queries", "keys", "values"):
        assert arrays[key].shape == (layers, heads, count, size)
        assert arrays[key].dtype == np.float32
    q, k = torch.from_numpy(arrays["queries"]), torch.from_numpy(arrays["keys"])
    weights = torch.softmax(q @ k.transpose(-1, -2) / np.sqrt(size), dim=-1)
    np.testing.assert_allclose(weights.numpy(), result.attentions, atol=1e-6)
    assert "queries" not in inspect_arrays(loaded, result)
