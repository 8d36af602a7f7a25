"""Compare: every difference is the direct subtraction, cosines by hand, clear mismatch notes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from explorer.core.analysis.registry import run_analysis
from explorer.core.compare import (
    BY_INDEX,
    BY_TOKENS,
    COMPARE_ANALYSIS,
    CompareError,
    align_tokens,
    compare_results,
    cosine_rows,
)
from explorer.core.inference import run_inference

PYTHON = "I love my pet python"
SNAKE = "I love my pet snake"
ANACONDA = "I love my pet anaconda"  # "ana ##con ##da": two tokens more than "python"


@pytest.fixture(scope="module")
def python_result(tiny_model):
    return run_inference(tiny_model, PYTHON)


@pytest.fixture(scope="module")
def snake_result(tiny_model):
    return run_inference(tiny_model, SNAKE)


@pytest.fixture(scope="module")
def anaconda_result(tiny_model):
    return run_inference(tiny_model, ANACONDA)


def by_hand_cosine(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def test_same_token_count_every_difference_is_the_direct_subtraction(python_result, snake_result):
    a, b = python_result, snake_result
    assert a.num_tokens == b.num_tokens == 7
    comparison = compare_results(a, b)

    assert comparison.same_token_count
    assert comparison.attention_note == ""
    np.testing.assert_array_equal(comparison.attention_diff, b.attentions - a.attentions)
    assert comparison.attention_diff.dtype == np.float32
    np.testing.assert_array_equal(comparison.hidden_norm_diff, b.hidden_norms - a.hidden_norms)
    assert comparison.hidden_norm_diff.dtype == np.float32
    assert comparison.pooled_cosine == pytest.approx(
        by_hand_cosine(a.pooler_output, b.pooler_output), abs=1e-6
    )
    layers = a.num_layers + 1
    assert comparison.cls_cosine.shape == (layers,)
    assert comparison.token_cosine.shape == (layers, 7)
    for layer in range(layers):
        assert comparison.cls_cosine[layer] == pytest.approx(
            by_hand_cosine(a.hidden_states[layer, 0], b.hidden_states[layer, 0]), abs=1e-6
        )
        for token in range(7):
            assert comparison.token_cosine[layer, token] == pytest.approx(
                by_hand_cosine(a.hidden_states[layer, token], b.hidden_states[layer, token]),
                abs=1e-6,
            )
    # Position embeddings are shared, but the word differs: the embeddings of #5 differ,
    # those of [CLS] (same id, same position, same segment) are identical.
    assert comparison.token_cosine[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert comparison.token_cosine[0, 5] < 0.99


def test_same_count_pairs_tokens_by_index_and_names_what_differs(python_result, snake_result):
    alignment = compare_results(python_result, snake_result).alignment
    assert alignment.method == BY_INDEX
    assert alignment.pairs.tolist() == [[i, i] for i in range(7)]
    assert alignment.labels()[5] == "python|snake"
    assert alignment.labels()[1] == "i"
    assert '#5 "python" → "snake"' in alignment.describe()
    assert alignment.partner(5, "a") == 5 and alignment.partner(5, "b") == 5


def test_identical_inputs_give_zero_differences_and_cosine_one(python_result, tiny_model):
    again = run_inference(tiny_model, PYTHON)
    comparison = compare_results(python_result, again)
    assert not comparison.attention_diff.any()
    assert not comparison.hidden_norm_diff.any()
    np.testing.assert_allclose(comparison.token_cosine, 1.0, atol=1e-6)
    assert comparison.pooled_cosine == pytest.approx(1.0, abs=1e-6)
    assert "the tokens are identical" in comparison.alignment.describe()


def test_different_counts_align_identical_tokens_and_explain(python_result, anaconda_result):
    a, b = python_result, anaconda_result
    comparison = compare_results(a, b)
    assert not comparison.same_token_count
    assert comparison.attention_diff is None
    note = comparison.attention_note
    assert "A has 7 tokens and B has 9" in note and "7×7 and 9×9" in note
    assert "6 tokens" in note

    alignment = comparison.alignment
    assert alignment.method == BY_TOKENS
    assert alignment.pairs.tolist() == [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [6, 8]]
    assert alignment.unpaired("a") == (5,)
    assert alignment.unpaired("b") == (5, 6, 7)
    assert alignment.partner(5, "a") == -1
    assert alignment.partner(8, "b") == 6
    # For linking selections an unpaired token maps to the token in its place.
    assert alignment.counterpart(5, "a") == 5  # "python" → "ana"
    assert [alignment.counterpart(t, "b") for t in (5, 6, 7)] == [5, 5, 5]  # → "python"
    assert alignment.counterpart(8, "b") == 6
    assert alignment.counterpart(-1, "a") == -1
    assert '"python" in A' in alignment.describe()
    assert '"ana ##con ##da" in B' in alignment.describe()

    index_a, index_b = alignment.pairs[:, 0], alignment.pairs[:, 1]
    np.testing.assert_array_equal(
        comparison.hidden_norm_diff, b.hidden_norms[:, index_b] - a.hidden_norms[:, index_a]
    )
    assert comparison.token_cosine.shape == (a.num_layers + 1, 6)
    assert comparison.token_cosine[2, 5] == pytest.approx(
        by_hand_cosine(a.hidden_states[2, 6], b.hidden_states[2, 8]), abs=1e-6
    )


def test_align_tokens_without_any_shared_token():
    alignment = align_tokens(["x", "y"], ["p", "q", "r"])
    assert alignment.size == 0
    assert alignment.pairs.shape == (0, 2)
    assert alignment.partner(0, "a") == -1
    assert [alignment.counterpart(t, "b") for t in range(3)] == [0, 1, 1]


def test_a_token_inserted_on_one_side_links_to_the_next_paired_token():
    alignment = align_tokens(["[CLS]", "a", "[SEP]"], ["[CLS]", "a", "very", "[SEP]"])
    assert alignment.pairs.tolist() == [[0, 0], [1, 1], [2, 3]]
    assert alignment.counterpart(2, "b") == 2  # "very" → A's [SEP]
    assert alignment.counterpart(2, "a") == 3
    assert align_tokens(["x"], []).counterpart(0, "a") == -1


def test_cosine_of_a_zero_vector_is_zero_not_nan():
    result = cosine_rows(np.zeros((2, 3)), np.ones((2, 3)))
    assert result.tolist() == [0.0, 0.0]


def test_without_a_pooler_there_is_no_pooled_cosine(python_result, snake_result):
    comparison = compare_results(
        replace(python_result, pooler_output=None), replace(snake_result, pooler_output=None)
    )
    assert comparison.pooled_cosine is None
    assert "pooled_cosine" not in comparison.to_arrays()


def test_results_of_different_models_are_refused(python_result, snake_result):
    other = replace(snake_result, model=replace(snake_result.model, source="bert-base-uncased"))
    with pytest.raises(CompareError, match="same model"):
        compare_results(python_result, other)


def test_npz_holds_both_sides_and_the_differences(tmp_path, python_result, snake_result):
    comparison = compare_results(python_result, snake_result)
    path = comparison.to_npz(tmp_path / "cmp.npz")
    data = np.load(path, allow_pickle=False)
    for key in ("tokens", "attentions", "hidden_norms", "pooler_output", "meta"):
        assert f"a_{key}" in data.files and f"b_{key}" in data.files
    np.testing.assert_array_equal(data["a_attentions"], python_result.attentions)
    np.testing.assert_array_equal(data["b_tokens"], snake_result.tokens)
    np.testing.assert_array_equal(
        data["attention_diff"], snake_result.attentions - python_result.attentions
    )
    np.testing.assert_array_equal(data["aligned_tokens"], comparison.alignment.pairs)
    assert data["aligned_tokens"].dtype == np.int64
    assert data["pooled_cosine"].shape == () and data["pooled_cosine"].dtype == np.float32
    meta = json.loads(str(data["meta"]))
    assert meta["kind"] == "compare" and meta["same_token_count"] is True
    assert meta["text_a"] == PYTHON and meta["text_b"] == SNAKE
    assert meta["alignment"] == BY_INDEX and meta["num_aligned"] == 7


def test_the_compare_analysis_compares_other_with_the_result_on_show(
    python_result, snake_result, anaconda_result
):
    comparison = run_analysis(COMPARE_ANALYSIS, None, snake_result, {"other": python_result})
    assert comparison.a is python_result and comparison.b is snake_result
    assert comparison.attention_diff is None  # the window subtracts the one map on show
    assert comparison.attention_note == ""
    np.testing.assert_array_equal(
        comparison.hidden_norm_diff, snake_result.hidden_norms - python_result.hidden_norms
    )
    mismatched = run_analysis(COMPARE_ANALYSIS, None, anaconda_result, {"other": python_result})
    assert "9×9" in mismatched.attention_note
    with pytest.raises(CompareError, match="no sentence A"):
        run_analysis(COMPARE_ANALYSIS, None, snake_result, {})
