"""Two models side by side: CKA between their layers and tokens aligned by characters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from explorer.cli import main
from explorer.core.cka import linear_cka
from explorer.core.compare_models import (
    BY_SPANS,
    IDENTICAL,
    align_spans,
    compare_models,
    linked_layer,
    span_states,
)
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel
from tests.families.builders import SENTENCE

TEXT = "I love my pet python, a snake."


def _chars(result, tokens) -> set[int]:
    """The non-space characters of ``tokens`` (GPT-2's offsets include a leading space)."""
    spans = (range(*result.offsets[t].tolist()) for t in tokens.tolist())
    return {c for span in spans for c in span if not result.text[c].isspace()}


def test_layer_cka_of_a_model_against_itself_has_ones_on_its_diagonal(
    family_model: Callable[[str], LoadedModel],
) -> None:
    result = run_inference(family_model("BERT"), TEXT)
    comparison = compare_models(result, result)
    layers = result.num_layers + 1
    assert comparison.layer_cka_ab.shape == (layers, layers)
    np.testing.assert_allclose(np.diag(comparison.layer_cka_ab), 1.0, atol=1e-5)
    assert comparison.alignment.method == IDENTICAL
    assert comparison.attention_diff is not None and not comparison.attention_diff.any()
    np.testing.assert_allclose(comparison.token_cosine, 1.0, atol=1e-5)


def test_wordpiece_and_byte_level_bpe_are_aligned_by_character_spans(
    family_model: Callable[[str], LoadedModel],
) -> None:
    bert = run_inference(family_model("BERT"), TEXT)
    gpt2 = run_inference(family_model("GPT-2"), TEXT)
    alignment = align_spans(bert, gpt2)
    assert alignment.method == BY_SPANS
    assert list(bert.tokens) != list(gpt2.tokens)
    # Every span covers the same characters on both sides, spans do not overlap, and every
    # non-space character of the text is in one span.
    covered: set[int] = set()
    for span in range(alignment.num_spans):
        chars_a = _chars(bert, alignment.members(span, "a"))
        chars_b = _chars(gpt2, alignment.members(span, "b"))
        assert chars_a == chars_b and chars_a and not chars_a & covered
        covered |= chars_a
    assert {i for i, c in enumerate(TEXT) if not c.isspace()} <= covered
    # [CLS] and [SEP] cover no characters: left out. "python": one WordPiece, several BPE pieces.
    assert alignment.span_a[0] == -1 and alignment.span_a[-1] == -1
    # "python": however each vocabulary cuts it, its spans cover the word on both sides, and
    # GPT-2's pieces of them spell it.
    start = TEXT.index("python")
    word = set(range(start, start + len("python")))
    inside = np.flatnonzero((bert.offsets[:, 0] >= start) & (bert.offsets[:, 1] <= max(word) + 1))
    spans = sorted({int(alignment.span_a[t]) for t in inside.tolist()})
    members_a = np.concatenate([alignment.members(span, "a") for span in spans])
    members_b = np.concatenate([alignment.members(span, "b") for span in spans])
    assert _chars(bert, members_a) == _chars(gpt2, members_b) == word
    assert "".join(gpt2.tokens[np.sort(members_b)].tolist()).replace("Ġ", "") == "python"
    assert alignment.counterpart(int(inside[0]), "a") == int(np.sort(members_b)[0])
    for i, j in alignment.pairs.tolist():
        assert alignment.span_a[i] == alignment.span_b[j]

    comparison = compare_models(bert, gpt2)
    assert comparison.layer_cka_ab.shape == (bert.num_layers + 1, gpt2.num_layers + 1)
    assert comparison.attention_diff is None and comparison.token_cosine is None
    states_a = span_states(bert.hidden_states, alignment.span_a, alignment.num_spans)
    states_b = span_states(gpt2.hidden_states, alignment.span_b, alignment.num_spans)
    expected = [[linear_cka(x, y) for y in states_b] for x in states_a]
    np.testing.assert_allclose(comparison.layer_cka_ab, expected, atol=1e-5)


def test_layers_link_by_relative_depth() -> None:
    assert [linked_layer(layer, 12, 6) for layer in range(12)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]
    assert linked_layer(0, 3, 2) == 0 and linked_layer(2, 3, 2) == 1
    assert linked_layer(5, 1, 4) == 3


def test_cli_compares_two_models_on_one_text(
    family_dir: Callable[[str], Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "two.npz"
    code = main(
        [
            "compare",
            SENTENCE,
            "--model",
            str(family_dir("BERT")),
            "--model-b",
            str(family_dir("GPT-2")),
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    with np.load(out) as saved:
        meta = json.loads(str(saved["meta"]))
        assert saved["layer_cka_ab"].shape == (4, 3)  # BERT 3 layers, GPT-2 2 layers
        assert saved["a_span"].shape == saved["a_input_ids"].shape
        assert saved["b_span"].shape == saved["b_input_ids"].shape
        assert "aligned_tokens" in saved and "attention_diff" not in saved
    assert meta["kind"] == "compare-models" and meta["alignment"] == BY_SPANS
    assert meta["causal_a"] is False and meta["causal_b"] is True
    assert "layer CKA" in capsys.readouterr().out
    # The one-model form stays: two texts, one model.
    code = main(
        ["compare", "a cat", "a dog", "--model", str(family_dir("BERT")), "--out", str(out)]
    )
    assert code == 0
    assert main(["compare", "a", "b", "--model-b", str(family_dir("BERT")), "--out", str(out)]) == 2
