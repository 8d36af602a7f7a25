"""In-place attention: the same numbers as transformers' eager attention, with no copy."""

from __future__ import annotations

import os
import platform
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import AutoModel
from transformers.models.bert.modeling_bert import eager_attention_forward

from explorer.bench.common import sentence_of_length
from explorer.core.capture import IN_PLACE_ATTENTION, in_place_attention, writing_into
from explorer.core.inference import run_inference, run_inference_with_views
from explorer.core.loading import LoadedModel
from explorer.core.memory import keep_freed_memory, release_freed_memory
from explorer.core.sources import embedded_model_path
from explorer.core.views import build_views, mosaic_cell


def _qkv(heads: int = 3, count: int = 7, size: int = 5) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(1)
    return tuple(torch.randn(1, heads, count, size, generator=generator) for _ in range(3))


def _additive_mask(count: int, masked: int) -> torch.Tensor:
    mask = torch.zeros(1, 1, count, count)
    mask[..., -masked:] = torch.finfo(torch.float32).min
    return mask


@pytest.mark.parametrize("masked", [0, 2])
def test_writes_into_the_given_buffer_and_equals_eager(masked):
    query, key, value = _qkv()
    mask = _additive_mask(7, masked) if masked else None
    module = SimpleNamespace(training=False)
    expected_output, expected_weights = eager_attention_forward(
        module, query, key, value, mask, scaling=0.4
    )
    buffer = torch.full((1, 3, 7, 7), float("nan"))
    asked: list[tuple[int, ...]] = []

    def buffer_for(asking_module, shape):
        assert asking_module is module
        asked.append(shape)
        return buffer

    with writing_into(buffer_for):
        output, weights = in_place_attention(module, query, key, value, mask, scaling=0.4)
    assert asked == [(1, 3, 7, 7)]
    assert weights.data_ptr() == buffer.data_ptr()
    assert torch.equal(weights, expected_weights)
    assert torch.equal(output, expected_output)
    if masked:
        assert torch.all(weights[..., -masked:] == 0)


def test_without_a_buffer_it_is_eager_attention():
    query, key, value = _qkv()
    module = SimpleNamespace(training=False)
    expected = eager_attention_forward(module, query, key, value, None)
    output, weights = in_place_attention(module, query, key, value, None)
    assert torch.equal(weights, expected[1])
    assert torch.equal(output, expected[0])


def test_the_buffer_is_only_used_inside_the_block():
    query, key, value = _qkv()
    module = SimpleNamespace(training=False)
    buffer = torch.zeros(1, 3, 7, 7)
    with writing_into(lambda _module, _shape: buffer):
        pass
    _, weights = in_place_attention(module, query, key, value, None)
    assert weights.data_ptr() != buffer.data_ptr()
    assert torch.all(buffer == 0)


def test_loaded_models_run_in_place(tiny_model: LoadedModel, embedded_model: LoadedModel):
    for loaded in (tiny_model, embedded_model):
        assert loaded.model.config._attn_implementation == IN_PLACE_ATTENTION
        assert loaded.info.attn_implementation == "eager"  # what the user chose: eager math


def test_embedded_result_equals_a_plain_eager_model_exactly(embedded_model: LoadedModel):
    reference = AutoModel.from_pretrained(
        str(embedded_model_path()), attn_implementation="eager", local_files_only=True
    ).eval()
    text, pair = "I love my pet python", "Is it a snake?"
    result = run_inference(embedded_model, text, pair)
    enc = embedded_model.tokenizer(text, pair, return_tensors="pt")
    with torch.inference_mode():
        out = reference(**enc, output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 6
    np.testing.assert_array_equal(result.attentions, torch.stack(out.attentions)[:, 0].numpy())
    np.testing.assert_array_equal(
        result.hidden_states, torch.stack(out.hidden_states)[:, 0].numpy()
    )


def test_an_eager_model_gives_the_same_result_through_copies(tiny_model: LoadedModel):
    text = "the copy path must agree with the in-place path"
    in_place, in_place_views = run_inference_with_views(tiny_model, text)
    tiny_model.model.set_attn_implementation("eager")
    try:
        copied, copied_views = run_inference_with_views(tiny_model, text)
    finally:
        tiny_model.model.set_attn_implementation(IN_PLACE_ATTENTION)
    np.testing.assert_array_equal(in_place.attentions, copied.attentions)
    np.testing.assert_array_equal(in_place_views.mosaic, copied_views.mosaic)


@pytest.mark.parametrize("count", [5, 64, 65, 130, 200, 512])
def test_views_made_during_the_pass_equal_build_views(tiny_model: LoadedModel, count):
    text = sentence_of_length(tiny_model.tokenizer, count)
    result, views = run_inference_with_views(tiny_model, text)
    assert result.num_tokens == count
    expected = build_views(result)
    assert (views.mosaic_factor, views.mosaic_tile) == (
        expected.mosaic_factor,
        expected.mosaic_tile,
    )
    np.testing.assert_array_equal(views.mosaic, expected.mosaic)
    for layer in range(result.num_layers):
        np.testing.assert_allclose(
            views.head_mean(layer), result.attentions[layer].mean(axis=0), atol=1e-6
        )
    assert views.head_mean(0) is views.head_mean(0)  # made once, then kept
    assert views.mosaic.dtype == np.float32 and views.mosaic.flags.c_contiguous
    # Every pixel is the max over the block mosaic_cell names (the block's first token).
    rows, cols = views.mosaic.shape
    for row, col in ((0, 0), (rows - 1, cols - 1), (rows // 2, cols // 3)):
        cell = mosaic_cell(row, col, count)
        factor = views.mosaic_factor
        block = result.attentions[
            cell.layer, cell.head, cell.query : cell.query + factor, cell.key : cell.key + factor
        ]
        assert views.mosaic[row, col] == block.max()


def test_keeping_freed_memory_is_set_once_with_glibc():
    first = keep_freed_memory()
    assert keep_freed_memory() is first
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert first is True
        assert os.environ["MKL_DISABLE_FAST_MM"] == "1"
        assert release_freed_memory() is True


def test_collections_pause_and_resume_as_they_were():
    import gc

    from explorer.core.memory import collections_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), collections_paused():
        assert not gc.isenabled()
        raise RuntimeError("a failed load")
    assert gc.isenabled()  # resumed, even after an error
    gc.disable()
    try:
        with collections_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
