"""Lenses on a query × key map, each against a hand-computed 4-token example."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core.analysis.aggregate import aggregate_heads, aggregate_layers
from explorer.core.analysis.blocks import (
    BLOCK_MOSAIC,
    BLOCKS,
    block_mask,
    block_mosaic,
    block_totals,
    filter_block,
    filter_block_row,
    token_segments,
)
from explorer.core.analysis.lens import LensSettings, apply_lens, apply_lens_row
from explorer.core.analysis.registry import run_analysis
from explorer.core.analysis.special import hide_special, hide_special_row
from explorer.core.analysis.topk import attended_by, attends_to, top_k
from explorer.core.analysis.words import (
    group_word_pieces,
    merge_word_pieces,
    merge_word_pieces_row,
    word_groups,
)
from explorer.core.inference import run_inference
from explorer.core.views import attention_mosaic, build_views

M = np.array(
    [
        [0.1, 0.2, 0.3, 0.4],
        [0.4, 0.3, 0.2, 0.1],
        [0.2, 0.2, 0.2, 0.4],
        [0.0, 0.5, 0.25, 0.25],
    ],
    dtype=np.float32,
)


def random_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    logits = rng.normal(size=(count, count)).astype(np.float32)
    rows = np.exp(logits)
    return (rows / rows.sum(axis=1, keepdims=True)).astype(np.float32)


# --- sentence-pair blocks -----------------------------------------------------------------
def test_segments_put_special_tokens_in_the_sentence_they_open_or_close():
    # [CLS] a b [SEP] c [SEP]
    assert token_segments(np.array([-1, 0, 0, -1, 1, -1])).tolist() == [0, 0, 0, 0, 1, 1]
    assert token_segments(np.array([-1, 0, -1])).tolist() == [0, 0, 0]


def test_block_totals_by_hand():
    segments = token_segments(np.array([-1, 0, -1, 1]))  # A A A B
    totals = block_totals(M, segments)
    # A→A: .6 + .9 + .6; A→B: .4 + .1 + .4; B→A: 0 + .5 + .25; B→B: .25
    np.testing.assert_allclose(totals, [[2.1, 0.9], [0.75, 0.25]], atol=1e-6)


def test_block_filter_keeps_only_the_block_unchanged():
    segments = np.array([0, 0, 0, 1])
    a_to_b = filter_block(M, segments, "A→B")
    expected = np.zeros_like(M)
    expected[:3, 3] = M[:3, 3]
    np.testing.assert_array_equal(a_to_b, expected)
    assert filter_block(M, segments, "All") is M
    np.testing.assert_array_equal(filter_block_row(M[3], 1, segments, "B→A"), [0.0, 0.5, 0.25, 0.0])
    np.testing.assert_array_equal(filter_block_row(M[0], 0, segments, "B→A"), np.zeros(4))
    with pytest.raises(ValueError, match="Unknown block"):
        filter_block(M, segments, "A→C")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from([-1, 0, 1]), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=2**31 - 1),
)
def test_pair_blocks_partition_the_matrix(sequence_ids, seed):
    segments = token_segments(np.array(sequence_ids))
    matrix = random_rows(np.random.default_rng(seed), len(sequence_ids))
    masks = [block_mask(segments, segments, b) for b in BLOCKS[1:]]
    np.testing.assert_array_equal(np.sum(masks, axis=0), np.ones_like(matrix, dtype=int))
    parts = sum(filter_block(matrix, segments, b) for b in BLOCKS[1:])
    np.testing.assert_allclose(parts, matrix, atol=1e-7)
    np.testing.assert_allclose(block_totals(matrix, segments).sum(), matrix.sum(), rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([-1, 0, 1]), min_size=1, max_size=23),
    st.sampled_from(BLOCKS),
    st.integers(min_value=1, max_value=9),
    st.integers(min_value=0, max_value=2**31 - 1),
)
def test_a_block_mosaic_is_the_mosaic_of_the_masked_weights(sequence_ids, block, max_tile, seed):
    # Signed values and tiles from 1 to 9 pixels: pooled blocks that straddle the block edge,
    # short last blocks, and no help from the weights being non-negative.
    rng = np.random.default_rng(seed)
    count = len(sequence_ids)
    attentions = rng.standard_normal((2, 3, count, count)).astype(np.float32)
    segments = token_segments(np.array(sequence_ids))
    mask = block_mask(segments, segments, block)
    old = attention_mosaic(np.where(mask, attentions, np.float32(0)), max_tile)
    new = block_mosaic(attentions, segments, block, max_tile)
    np.testing.assert_array_equal(new, old)
    assert new.dtype == np.float32 and new.flags.c_contiguous


def test_the_block_mosaic_analysis_filters_the_overview_of_a_result(tiny_model):
    pair = run_inference(tiny_model, "I love my pet python", "Is it a snake?")
    segments = token_segments(pair.sequence_ids)
    for block in BLOCKS:
        mask = block_mask(segments, segments, block)
        expected = attention_mosaic(np.where(mask, pair.attentions, np.float32(0)))
        mosaic = run_analysis(BLOCK_MOSAIC, None, pair, {"block": block})
        np.testing.assert_array_equal(mosaic, expected)
    all_mosaic = run_analysis(BLOCK_MOSAIC, None, pair, {"block": "All"})
    np.testing.assert_array_equal(all_mosaic, build_views(pair).mosaic)


# --- word pieces ---------------------------------------------------------------------------
def test_word_merge_by_hand():
    # [CLS] sin ##an loves → words [CLS] | sinan | loves
    groups = group_word_pieces(np.array([-1, 0, 0, 0]), np.array([-1, 0, 0, 1]))
    assert groups.tolist() == [0, 1, 1, 2]
    merged = merge_word_pieces(M, groups)
    expected = [
        [0.1, 0.5, 0.4],  # [CLS]: keys summed over sin + ##an
        [0.3, 0.45, 0.25],  # sinan: mean of the rows of sin and ##an
        [0.0, 0.75, 0.25],
    ]
    np.testing.assert_allclose(merged, expected, atol=1e-6)
    np.testing.assert_allclose(merge_word_pieces_row(M[0], groups), [0.1, 0.5, 0.4], atol=1e-6)


def test_same_word_id_in_two_sentences_is_two_words():
    groups = group_word_pieces(np.array([-1, 0, -1, 1, -1]), np.array([-1, 0, -1, 0, -1]))
    assert groups.tolist() == [0, 1, 2, 3, 4]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=2**31 - 1),
)
def test_word_merged_rows_sum_to_one(word_lengths, seed):
    word_ids = np.repeat(np.arange(len(word_lengths)), word_lengths)
    sequence = np.zeros_like(word_ids)
    matrix = random_rows(np.random.default_rng(seed), word_ids.size)
    merged = merge_word_pieces(matrix, group_word_pieces(sequence, word_ids))
    assert merged.shape == (len(word_lengths), len(word_lengths))
    np.testing.assert_allclose(merged.sum(axis=1), 1.0, atol=1e-5)


def test_word_groups_of_a_result_are_labelled_with_the_typed_text(tiny_model):
    result = run_inference(tiny_model, "Sinan loves Python", "Is it?")
    groups = word_groups(result)
    assert result.tokens.tolist()[:3] == ["[CLS]", "sin", "##an"]
    assert groups.labels == ("[CLS]", "Sinan", "loves", "Python", "[SEP]", "Is", "it", "?", "[SEP]")
    assert groups.first_token.tolist()[:3] == [0, 1, 3]


# --- special tokens ------------------------------------------------------------------------
def test_hide_special_by_hand():
    hidden = hide_special(M, np.array([True, False, False, False]))
    expected = [
        [0, 0, 0, 0],
        [0, 0.3 / 0.6, 0.2 / 0.6, 0.1 / 0.6],
        [0, 0.25, 0.25, 0.5],
        [0, 0.5, 0.25, 0.25],
    ]
    np.testing.assert_allclose(hidden, expected, atol=1e-6)
    np.testing.assert_allclose(
        hide_special_row(M[1], False, np.array([True, False, False, False])),
        expected[1],
        atol=1e-6,
    )
    np.testing.assert_array_equal(hide_special_row(M[0], True, np.array([1, 0, 0, 0])), 0)


# --- aggregations --------------------------------------------------------------------------
def test_aggregations_by_hand():
    maps = np.zeros((2, 2, 2, 2), dtype=np.float32)
    maps[0, 0] = [[1, 0], [0.5, 0.5]]
    maps[0, 1] = [[0, 1], [0.25, 0.75]]
    maps[1, 0] = [[0.5, 0.5], [1, 0]]
    maps[1, 1] = [[0.5, 0.5], [0, 1]]
    np.testing.assert_array_equal(aggregate_heads(maps, 1, 0), maps[1, 0])
    np.testing.assert_allclose(aggregate_heads(maps, 0, -1, "mean"), [[0.5, 0.5], [0.375, 0.625]])
    np.testing.assert_allclose(aggregate_heads(maps, 0, -1, "max"), [[1, 1], [0.5, 0.75]])
    np.testing.assert_allclose(
        aggregate_heads(maps, 0, -1, "mean", mean_layers=True), [[0.5, 0.5], [0.4375, 0.5625]]
    )
    np.testing.assert_allclose(
        aggregate_heads(maps, 0, 0, mean_layers=True), [[0.75, 0.25], [0.75, 0.25]]
    )
    np.testing.assert_allclose(
        aggregate_layers(maps[:, 0], 0, mean_layers=True), [[0.75, 0.25], [0.75, 0.25]]
    )
    with pytest.raises(ValueError, match="mean or max"):
        aggregate_heads(maps, 0, -1, "median")


# --- top-k ----------------------------------------------------------------------------------
def test_top_k_ranks_rows_and_columns():
    indices, values = top_k(np.array([0.1, 0.4, 0.0, 0.4, 0.1]), 3)
    assert indices.tolist() == [1, 3, 0]  # ties keep token order
    np.testing.assert_allclose(values, [0.4, 0.4, 0.1])
    assert top_k(np.array([0.0, 0.0]), 3)[0].tolist() == []  # filtered cells are not ranked
    assert attends_to(M, 0, 2)[0].tolist() == [3, 2]
    assert attended_by(M, 1, 2)[0].tolist() == [3, 1]
    np.testing.assert_allclose(attended_by(M, 1, 2)[1], [0.5, 0.3])


# --- the lens as a whole -------------------------------------------------------------------
@pytest.fixture(scope="module")
def pet(tiny_model):
    return run_inference(tiny_model, "I love my pet python", "Is it a snake?")


def test_default_lens_is_free(pet):
    matrix = np.ascontiguousarray(pet.attentions[1, 2])
    lensed = apply_lens(matrix, pet, LensSettings())
    assert lensed.matrix is matrix
    assert lensed.labels == tuple(pet.tokens.tolist())
    assert LensSettings().caption() == ""


def test_lens_hides_merges_and_filters_in_that_order(pet):
    matrix = pet.attentions[0, 0]
    lens = LensSettings(block="A→B", words=True, hide_special=True)
    lensed = apply_lens(matrix, pet, lens)
    groups = word_groups(pet)
    unfiltered = merge_word_pieces(
        hide_special(matrix, pet.special_tokens_mask), groups.group_of_token
    )
    np.testing.assert_allclose(lensed.totals.sum(), unfiltered.sum(), rtol=1e-6)
    inside = np.outer(lensed.segments == 0, lensed.segments == 1)
    np.testing.assert_allclose(lensed.matrix[inside], unfiltered[inside])
    assert not lensed.matrix[~inside].any()
    assert lensed.labels == groups.labels
    assert lens.caption() == "words · special tokens hidden · A→B only"
    for label in ("[CLS]", "[SEP]"):
        row = lensed.labels.index(label)
        assert not lensed.matrix[row].any() and not lensed.matrix[:, row].any()
    real_rows = [i for i, t in enumerate(lensed.token_of_row) if not pet.special_tokens_mask[t]]
    rows = merge_word_pieces(hide_special(matrix, pet.special_tokens_mask), groups.group_of_token)
    np.testing.assert_allclose(rows[real_rows].sum(axis=1), 1.0, atol=1e-5)


def test_row_lens_matches_the_matrix_lens(pet):
    matrix = pet.attentions[2, 1]
    assert pet.tokens[1] == "i" and pet.tokens[8] == "it"  # one-piece words: row = word row
    for lens in (
        LensSettings(),
        LensSettings(hide_special=True),
        LensSettings(words=True, block="B→B"),
        LensSettings(words=True, hide_special=True, block="B→A"),
    ):
        whole = apply_lens(matrix, pet, lens)
        for token in (1, 8):
            row = apply_lens_row(matrix[token], token, pet, lens)
            np.testing.assert_allclose(
                row.values, whole.matrix[whole.row_of_token[token]], atol=1e-6
            )
            assert row.labels == whole.labels
