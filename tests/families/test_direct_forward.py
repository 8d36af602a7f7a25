"""Issue 20's table: every family's inspect arrays equal a direct transformers forward pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel
from tests.families.builders import FAMILIES, PAIR, SENTENCE, Family
from tests.families.conftest import settle_loader_threads

NAMES = [family.name for family in FAMILIES]


def direct_forward(folder: Path, result: Any) -> Any:
    """AutoModel with eager attention, asked for every output, on the result's own ids."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    inputs: dict[str, Any] = {"input_ids": torch.from_numpy(result.input_ids.copy())[None]}
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    if result.model.has_token_types:
        inputs["token_type_ids"] = torch.from_numpy(result.token_type_ids.copy())[None]
    with torch.inference_mode():
        outputs = model(**inputs, output_attentions=True, output_hidden_states=True)
    settle_loader_threads()
    return outputs


def _inputs(family: Family) -> tuple[str, str | None]:
    return (SENTENCE, None) if family.causal else (SENTENCE, PAIR)


@pytest.mark.parametrize("family", FAMILIES, ids=NAMES)
def test_inspect_arrays_equal_a_direct_forward_pass(
    family: Family,
    family_dir: Callable[[str], Path],
    family_model: Callable[[str], LoadedModel],
) -> None:
    loaded = family_model(family.name)
    assert loaded.info.model_type == family.model_type
    result = run_inference(loaded, *_inputs(family))
    expected = direct_forward(family_dir(family.name), result)

    attentions = np.stack([a[0].numpy() for a in expected.attentions])
    hidden = np.stack([h[0].numpy() for h in expected.hidden_states])
    assert result.attentions.shape == attentions.shape
    np.testing.assert_allclose(result.attentions, attentions, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.hidden_states, hidden, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        result.hidden_norms, np.linalg.norm(hidden, axis=-1), rtol=1e-5, atol=1e-5
    )
    pooled = getattr(expected, "pooler_output", None)
    assert (result.pooler_output is not None) == family.has_pooler
    if family.has_pooler:
        np.testing.assert_allclose(result.pooler_output, pooled[0].numpy(), rtol=0, atol=1e-6)
    assert result.model.causal == family.causal
    assert result.model.has_token_types == family.token_types


def test_a_pair_has_two_segments_where_the_family_has_token_types(
    family_model: Callable[[str], LoadedModel],
) -> None:
    bert = run_inference(family_model("BERT"), SENTENCE, PAIR)
    assert set(bert.token_type_ids.tolist()) == {0, 1}
    roberta = run_inference(family_model("RoBERTa"), SENTENCE, PAIR)
    # RoBERTa's one segment type: <s> A </s></s> B </s>, every token type 0.
    assert roberta.tokens[0] == "<s>" and list(roberta.tokens).count("</s>") == 3
    assert set(roberta.token_type_ids.tolist()) == {0}


def test_roberta_positions_start_after_the_padding_index(
    family_model: Callable[[str], LoadedModel],
) -> None:
    """The embedding output equals word + position(pad + 1 + i) + type, LayerNormed."""
    import torch

    for name in ("RoBERTa", "XLM-R", "CamemBERT"):
        loaded = family_model(name)
        result = run_inference(loaded, SENTENCE)
        emb = loaded.model.embeddings
        pad = loaded.model.config.pad_token_id
        ids = torch.from_numpy(result.input_ids.copy())
        positions = torch.arange(ids.shape[0]) + pad + 1
        with torch.inference_mode():
            summed = (
                emb.word_embeddings(ids)
                + emb.position_embeddings(positions)
                + emb.token_type_embeddings(torch.zeros_like(ids))
            )
            expected = emb.LayerNorm(summed).numpy()
        np.testing.assert_allclose(result.hidden_states[0], expected, atol=1e-6)


@pytest.mark.parametrize(
    "family", [f for f in FAMILIES if f.name != "DeBERTa-v2"], ids=lambda f: f.name
)
def test_the_hooks_capture_every_family_that_records_through_hooks(
    family: Family, family_model: Callable[[str], LoadedModel]
) -> None:
    """The in-place path, not the fallback: ALBERT's shared layer fires once per depth."""
    from explorer.core.inference import _capture_forward, encode

    loaded = family_model(family.name)
    assert _capture_forward(loaded, encode(loaded, SENTENCE)) is not None


def test_deberta_attention_comes_from_its_own_recorder(
    family_model: Callable[[str], LoadedModel],
) -> None:
    """DeBERTa-v2 names no hook targets; its eager path returns the disentangled weights."""
    from explorer.core.inference import _capture_forward, encode

    loaded = family_model("DeBERTa-v2")
    assert _capture_forward(loaded, encode(loaded, SENTENCE)) is None
    result = run_inference(loaded, SENTENCE)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
