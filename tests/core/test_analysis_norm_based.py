"""Norm-based attention (Kobayashi et al. 2020): a hand example, the exact identity, chunking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.analysis.norm_based import (
    CHUNK_BYTES,
    LayerProjections,
    NormAttentionUnavailableError,
    attention_projections,
    norm_attention_of,
    norm_based_attention,
    norm_based_layer,
    rows_per_chunk,
    transformed_vectors,
)
from explorer.core.analysis.registry import run_analysis
from explorer.core.inference import run_inference

# Two tokens, hidden size 2, two heads of size 1. W_V = I, b_V = (0, 1); W_O = diag(1, 2).
HAND = LayerProjections(
    value_weight=torch.eye(2),
    value_bias=torch.tensor([0.0, 1.0]),
    output_weight=torch.tensor([[1.0, 0.0], [0.0, 2.0]]),
    output_bias=torch.zeros(2),
    num_heads=2,
)
HIDDEN = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
ALPHA = np.array([[[0.5, 0.5], [1.0, 0.0]], [[0.25, 0.75], [0.5, 0.5]]], dtype=np.float32)


def test_transformed_vectors_by_hand():
    # v = x + b_V = [[1, 1], [0, 3]]; head 0 maps v[:, 0] onto (1, 0), head 1 v[:, 1] onto (0, 2).
    f = transformed_vectors(HIDDEN, HAND).numpy()
    np.testing.assert_allclose(f[0], [[1, 0], [0, 0]])
    np.testing.assert_allclose(f[1], [[0, 2], [0, 6]])


def test_norms_by_hand():
    per_head, summed = norm_based_layer(ALPHA, HIDDEN, HAND)
    # ‖α f‖ = α · ‖f‖ with ‖f_0‖ = (1, 0), ‖f_1‖ = (2, 6)
    np.testing.assert_allclose(per_head[0], [[0.5, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(per_head[1], [[0.5, 4.5], [1.0, 3.0]])
    # (0,0): .5·(1,0) + .25·(0,2) = (.5,.5)   (0,1): .75·(0,6)
    # (1,0): (1,0) + .5·(0,2)                 (1,1): .5·(0,6)
    np.testing.assert_allclose(summed, [[np.sqrt(0.5), 4.5], [np.sqrt(2.0), 3.0]], rtol=1e-6)


def test_chunk_size_does_not_change_the_result(tiny_model):
    result = run_inference(tiny_model, "I love my pet python", "Is it a snake?")
    projections = attention_projections(tiny_model.model)
    whole = norm_based_attention(result.attentions, result.hidden_states, projections)
    one_row = 13 * 32 * 4  # bytes of one query row of T × D float32 vectors
    chunked = norm_based_attention(
        result.attentions, result.hidden_states, projections, budget_bytes=2 * one_row
    )
    np.testing.assert_allclose(chunked.summed, whole.summed, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(chunked.per_head, whole.per_head)
    f = transformed_vectors(result.hidden_states[2], projections[2]).numpy()
    direct = np.linalg.norm(np.einsum("hij,hjd->ijd", result.attentions[2], f), axis=-1)
    np.testing.assert_allclose(whole.summed[2], direct, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model_fixture", ["tiny_model", "embedded_model"])
def test_sum_over_heads_and_tokens_is_the_output_projection(request, model_fixture):
    """Σ_h Σ_j α_ij^h f_h(x_j) + b_O == attention.output.dense(…), before residual + LayerNorm."""
    loaded = request.getfixturevalue(model_fixture)
    text, pair = "Sinan loves a beautiful day", "Is it a snake?"
    result = run_inference(loaded, text, pair)
    captured: dict[int, np.ndarray] = {}
    hooks = [
        layer.attention.output.dense.register_forward_hook(
            lambda _m, _i, out, index=index: captured.__setitem__(index, out[0].numpy().copy())
        )
        for index, layer in enumerate(loaded.model.encoder.layer)
    ]
    try:
        enc = loaded.tokenizer(text, pair, return_tensors="pt")
        with torch.inference_mode():
            loaded.model(**enc)
    finally:
        for hook in hooks:
            hook.remove()
    projections = attention_projections(loaded.model)
    assert len(captured) == result.num_layers
    for layer, projection in enumerate(projections):
        f = transformed_vectors(result.hidden_states[layer], projection).numpy()
        total = np.einsum("hij,hjd->id", result.attentions[layer], f)
        total += projection.output_bias.detach().numpy()
        np.testing.assert_allclose(total, captured[layer], atol=1e-4)


def test_512_tokens_at_base_size_stay_in_chunks(monkeypatch):
    """Base size (D = 768, 12 heads) at 512 tokens: no intermediate exceeds the chunk budget."""
    count, hidden, heads = 512, 768, 12
    generator = torch.Generator().manual_seed(0)
    projections = LayerProjections(
        value_weight=torch.randn(hidden, hidden, generator=generator) * 0.02,
        value_bias=torch.zeros(hidden),
        output_weight=torch.randn(hidden, hidden, generator=generator) * 0.02,
        output_bias=torch.zeros(hidden),
        num_heads=heads,
    )
    rng = np.random.default_rng(0)
    alpha = rng.random((heads, count, count), dtype=np.float32)
    alpha /= alpha.sum(-1, keepdims=True)
    states = rng.normal(size=(count, hidden)).astype(np.float32)
    largest = [0]
    real_bmm = torch.bmm

    def watched_bmm(a, b):
        out = real_bmm(a, b)
        largest[0] = max(largest[0], out.numel() * out.element_size())
        return out

    monkeypatch.setattr(torch, "bmm", watched_bmm)
    _, summed = norm_based_layer(alpha, states, projections)
    monkeypatch.undo()
    assert rows_per_chunk(count, hidden) == CHUNK_BYTES // (count * hidden * 4) == 42
    assert largest[0] <= CHUNK_BYTES  # the whole (T, T, D) would be 805 MB
    assert summed.shape == (count, count) and np.isfinite(summed).all()
    f = transformed_vectors(states, projections).numpy()
    rows = [0, 300, 511]
    direct = np.linalg.norm(np.einsum("hij,hjd->ijd", alpha[:, rows], f), axis=-1)
    np.testing.assert_allclose(summed[rows], direct, rtol=1e-4, atol=1e-5)


def test_registered_analysis_and_clear_failures(tiny_model):
    result = run_inference(tiny_model, "hello world")
    norms = run_analysis("norm_attention", tiny_model, result, {})
    assert norms.per_head.shape == (4, 4, 4, 4) and norms.summed.shape == (4, 4, 4)
    assert norms.per_head.dtype == np.float32 and (norms.per_head >= 0).all()
    with pytest.raises(NormAttentionUnavailableError, match="needs the model's weights"):
        norm_attention_of(None, result)
    with pytest.raises(NormAttentionUnavailableError, match="does not know where"):
        attention_projections(torch.nn.Linear(2, 2))
