"""Inference: attentions present and normalised, shapes, the pooler, truncation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.errors import InputTextError
from explorer.core.inference import run_inference


@pytest.fixture(scope="module")
def pet_result(embedded_model):
    return run_inference(embedded_model, "I love my pet python", "Is it a snake?")


def test_attentions_are_present_with_eager_shapes(pet_result):
    count = pet_result.num_tokens
    assert pet_result.model.attn_implementation == "eager"
    assert pet_result.attentions.shape == (6, 12, count, count)
    assert pet_result.attentions.dtype == np.float32
    np.testing.assert_allclose(pet_result.attentions.sum(axis=-1), 1.0, atol=1e-5)


def test_hidden_states_and_norms(pet_result):
    count = pet_result.num_tokens
    assert pet_result.hidden_states.shape == (7, count, 384)
    assert pet_result.hidden_norms.shape == (7, count)
    np.testing.assert_allclose(
        pet_result.hidden_norms, np.linalg.norm(pet_result.hidden_states, axis=-1), rtol=1e-5
    )


def test_pooler_is_tanh_of_dense_over_cls(embedded_model, pet_result):
    dense = embedded_model.model.pooler.dense
    weight = dense.weight.detach().numpy().astype(np.float64)
    bias = dense.bias.detach().numpy().astype(np.float64)
    cls_state = pet_result.hidden_states[-1, 0].astype(np.float64)
    expected = np.tanh(weight @ cls_state + bias)
    np.testing.assert_allclose(pet_result.pooler_output, expected, atol=1e-5)


def test_result_arrays_are_read_only(pet_result):
    with pytest.raises(ValueError):
        pet_result.attentions[0, 0, 0, 0] = 1.0


def test_matches_a_direct_transformers_forward_pass(embedded_model, pet_result):
    tokenizer, model = embedded_model.tokenizer, embedded_model.model
    enc = tokenizer("I love my pet python", "Is it a snake?", return_tensors="pt")
    with torch.inference_mode():
        out = model(**enc, output_attentions=True, output_hidden_states=True)
    assert pet_result.input_ids.tolist() == enc["input_ids"][0].tolist()
    assert pet_result.token_type_ids.tolist() == enc["token_type_ids"][0].tolist()
    direct_attn = torch.stack(out.attentions)[:, 0].numpy()
    np.testing.assert_allclose(pet_result.attentions, direct_attn, atol=1e-6)
    direct_hidden = torch.stack(out.hidden_states)[:, 0].numpy()
    np.testing.assert_allclose(pet_result.hidden_states, direct_hidden, atol=1e-5)
    np.testing.assert_allclose(pet_result.pooler_output, out.pooler_output[0].numpy(), atol=1e-6)


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_input_is_refused_with_a_message(tiny_model, text):
    with pytest.raises(InputTextError, match="Type a sentence"):
        run_inference(tiny_model, text)


def test_only_sentence_b_says_what_to_do(tiny_model):
    with pytest.raises(InputTextError, match="Sentence A is empty"):
        run_inference(tiny_model, " ", "Is it a snake?")


def test_long_input_is_truncated_and_counted(tiny_model):
    text = "word " * 600
    result = run_inference(tiny_model, text)
    assert result.num_tokens == 512
    assert result.truncated
    assert result.tokens_dropped == 600 + 2 - 512
    assert result.attentions.shape[-1] == 512


def test_long_pair_truncates_longest_first(tiny_model):
    result = run_inference(tiny_model, "short one", "long " * 700)
    assert result.num_tokens == 512
    assert result.truncated and result.tokens_dropped == (2 + 700 + 3) - 512
    assert (result.sequence_ids == 0).sum() == 2  # the short sentence is kept whole


def test_lone_surrogate_keeps_offsets_aligned(tiny_model):
    text = "ab \ud800 cd"
    result = run_inference(tiny_model, text)
    last = result.offsets[-2]
    assert text[last[0] : last[1]] == "cd"
