"""Property tests on explorer.core over arbitrary Unicode text and pairs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.core.analysis.blocks import block_totals, token_segments
from explorer.core.analysis.rollout import attention_rollout
from explorer.core.analysis.special import hide_special
from explorer.core.analysis.words import group_word_pieces, merge_word_pieces
from explorer.core.errors import InputTextError
from explorer.core.inference import run_inference
from explorer.core.loading import load_model
from explorer.core.sources import ModelSource
from tests.conftest import save_random_bert

# Every code point, lone surrogates included (Python strings can hold them).
ANY_CHAR = st.characters(exclude_categories=())
TEXT = st.text(ANY_CHAR, max_size=120)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def short_model(tmp_path_factory):
    """A tiny BERT with 40 positions, so truncation happens often and runs stay fast."""
    folder = save_random_bert(tmp_path_factory.mktemp("short"), max_position_embeddings=40)
    return load_model(ModelSource.parse(str(folder)))


def run_or_none(model, text, pair):
    try:
        return run_inference(model, text, pair)
    except InputTextError:
        assert not text.strip()  # only empty sentence A is refused
        return None


@SETTINGS
@given(text=TEXT, pair=st.none() | TEXT)
def test_inference_invariants(short_model, text, pair):
    result = run_or_none(short_model, text, pair)
    if result is None:
        return
    count = result.num_tokens
    assert count <= short_model.info.max_length == 40
    for array in (result.input_ids, result.tokens, result.token_type_ids, result.sequence_ids):
        assert array.shape == (count,)
    assert result.offsets.shape == (count, 2)
    assert result.attentions.shape == (4, 4, count, count)
    assert result.hidden_states.shape == (5, count, 32)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
    for i in range(count):
        start, end = (int(v) for v in result.offsets[i])
        sentence = result.sentence_of(i)
        if sentence is None:
            assert (start, end) == (0, 0)
        else:
            assert 0 <= start <= end <= len(sentence)
    assert result.tokens_dropped >= 0 and result.truncated == (result.tokens_dropped > 0)


@SETTINGS
@given(text=TEXT, pair=st.none() | TEXT)
def test_analysis_invariants(short_model, text, pair):
    result = run_or_none(short_model, text, pair)
    if result is None:
        return
    rollout = attention_rollout(result.attentions)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-4)
    matrix = result.attentions[-1, 0]
    groups = group_word_pieces(result.sequence_ids, result.word_ids)
    np.testing.assert_allclose(merge_word_pieces(matrix, groups).sum(-1), 1.0, atol=1e-4)
    hidden = hide_special(matrix, result.special_tokens_mask)
    kept = ~result.special_tokens_mask
    if kept.any():
        np.testing.assert_allclose(hidden[kept].sum(-1), 1.0, atol=1e-4)
    assert np.all(hidden[:, ~kept] == 0) and np.all(hidden[~kept] == 0)
    totals = block_totals(matrix, token_segments(result.sequence_ids))
    assert float(np.sum(totals)) == pytest.approx(float(matrix.sum()), abs=1e-3)  # a partition
