"""The why pieces on every family: knock-out and attributions, the walk-through where it applies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.analysis.norm_based import (
    attention_projections,
    norm_attention_of,
    transformed_vectors,
)
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource
from explorer.core.why.attribution import explain
from explorer.core.why.gates import GatesUnavailableError
from explorer.core.why.qkv import WalkThroughUnavailableError, qkv_arrays, walk_through
from tests.families.builders import FAMILY_BY_NAME, SENTENCE
from tests.families.conftest import settle_loader_threads

WALKED = ("BERT", "RoBERTa", "DistilBERT", "ALBERT", "ELECTRA", "GPT-2")
GATED = (*WALKED, "XLM-R")


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory):
    loaded: dict[str, LoadedModel] = {}

    def get(name: str) -> LoadedModel:
        if name not in loaded:
            spec = FAMILY_BY_NAME[name]
            folder = spec.build(tmp_path_factory.mktemp(spec.model_type))
            loaded[name] = load_model(ModelSource.parse(str(folder)))
            settle_loader_threads()
        return loaded[name]

    return get


@pytest.mark.parametrize("name", WALKED)
def test_queries_and_keys_reproduce_the_attentions(family, name):
    loaded = family(name)
    result = run_inference(loaded, SENTENCE)
    arrays = qkv_arrays(loaded, result)
    q, k = torch.from_numpy(arrays["queries"]), torch.from_numpy(arrays["keys"])
    scores = q @ k.transpose(-1, -2) / np.sqrt(q.shape[-1])
    if loaded.info.causal:  # a query sees itself and the keys before it
        later = torch.ones(scores.shape[-2:], dtype=torch.bool).triu(1)
        scores = scores.masked_fill(later, -torch.inf)
    weights = torch.softmax(scores, dim=-1)
    np.testing.assert_allclose(weights.numpy(), result.attentions, atol=1e-6)


@pytest.mark.parametrize("name", GATED)
def test_knock_out_and_explain_work(family, name):
    loaded = family(name)
    plain = run_inference(loaded, SENTENCE)
    off = run_inference(loaded, SENTENCE, knocked_out=[(0, 0)])
    assert not np.allclose(plain.attentions[-1], off.attentions[-1])
    found = explain(loaded, SENTENCE, steps=16)
    change = abs(found.target_value - found.baseline_value)
    assert found.ig_completeness_error <= 0.01 * change + 1e-6
    assert np.isfinite(found.head_importance).all()


def test_deberta_says_why_heads_cannot_be_gated(family):
    loaded = family("DeBERTa-v2")
    with pytest.raises(GatesUnavailableError, match="head_mask"):
        run_inference(loaded, SENTENCE, knocked_out=[(0, 0)])
    with pytest.raises(WalkThroughUnavailableError, match="disentangled"):
        qkv_arrays(loaded, run_inference(loaded, SENTENCE))


def test_a_causal_models_default_target_is_its_last_token(family):
    """GPT-2's first token sees only itself: the norm target reads the last token instead."""
    loaded = family("GPT-2")
    found = explain(loaded, SENTENCE, steps=8)
    assert "last token" in found.target
    assert np.count_nonzero(found.grad_norm) > 1  # more than the first token carries weight


def test_gpt2_walk_through_and_norm_based_rebuild_the_attention_output(family):
    """GPT-2 attends over ln_1 of the residual stream, causally, with Conv1D (in, out) weights.

    Σ_h Σ_j α_ij f_h(x_j) + b_O must equal what the block's attention module returned.
    """
    loaded = family("GPT-2")
    model = loaded.model
    outputs: dict[int, torch.Tensor] = {}
    hooks = [
        block.attn.register_forward_hook(
            lambda _m, _a, out, layer=layer: outputs.__setitem__(layer, out[0][0].detach())
        )
        for layer, block in enumerate(model.h)
    ]
    try:
        result = run_inference(loaded, SENTENCE)
    finally:
        for hook in hooks:
            hook.remove()
    projections = attention_projections(model)
    norms = norm_attention_of(loaded, result).per_head
    for layer in range(result.num_layers):
        vectors = transformed_vectors(result.hidden_states[layer], projections[layer])
        alpha = torch.from_numpy(np.array(result.attentions[layer]))
        bias = projections[layer].output_bias.detach()
        rebuilt = torch.einsum("hij,hjd->id", alpha, vectors) + bias
        np.testing.assert_allclose(rebuilt.numpy(), outputs[layer].numpy(), atol=1e-5)
    last = result.num_tokens - 1
    for layer, head, query in [(0, 0, 0), (1, 1, 2), (result.num_layers - 1, 0, last)]:
        steps = walk_through(loaded, result, layer, head, query)
        np.testing.assert_allclose(steps.weights, result.attentions[layer, head, query], atol=1e-6)
        assert (steps.weights[query + 1 :] == 0).all() and np.isneginf(
            steps.mask[query + 1 :]
        ).all()
        np.testing.assert_allclose(
            np.linalg.norm(steps.contributions, axis=-1), norms[layer, head, query], atol=1e-5
        )


def test_inspect_says_why_norm_based_attention_is_left_out(family):
    from explorer.core.analysis.export import analysis_arrays, not_applicable

    loaded = family("DeBERTa-v2")
    arrays = analysis_arrays(loaded, run_inference(loaded, SENTENCE))
    assert "norm_attention" not in arrays and "layer_cka" in arrays
    assert type(loaded.model).__name__ in not_applicable(loaded)["norm_attention"]


@pytest.mark.parametrize("name", ["ALBERT", "GPT-2", "DistilBERT"])
def test_step_8_norms_are_the_norm_based_numbers(family, name):
    loaded = family(name)
    result = run_inference(loaded, SENTENCE)
    norms = norm_attention_of(loaded, result).per_head
    for layer in range(result.num_layers):
        steps = walk_through(loaded, result, layer, 1, result.num_tokens - 1)
        np.testing.assert_allclose(
            np.linalg.norm(steps.contributions, axis=-1), norms[layer, 1, -1], atol=1e-5
        )
