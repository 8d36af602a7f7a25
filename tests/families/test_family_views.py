"""What the panels' core functions make of every family: anatomy, special tokens, causal maps."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from explorer.core.anatomy import build_anatomy
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel
from tests.families.builders import FAMILIES, SENTENCE, Family

NAMES = [family.name for family in FAMILIES]


@pytest.mark.parametrize("family", FAMILIES, ids=NAMES)
def test_anatomy_groups_every_parameter_and_counts_them_all(
    family: Family, family_model: Callable[[str], LoadedModel]
) -> None:
    loaded = family_model(family.name)
    anatomy = build_anatomy(loaded.info.parameters, loaded.info.num_layers)
    assert anatomy.values == sum(p.numel() for p in loaded.runner.parameters())
    titles = [group.title for group in anatomy.groups]
    assert titles[0] == "Embedding layer"
    assert "Other parameters" not in titles
    encoders = anatomy.encoder_groups()
    if family.name == "ALBERT":
        (shared,) = encoders
        assert shared.depths == (0, 1, 2)
        assert "Shared layer" in shared.title and "depths 1–3" in shared.title
        embedding_names = [row.short_name for row in anatomy.groups[0].rows]
        assert "embedding_hidden_mapping_in.weight" in embedding_names  # E → D, E ≠ D
        assert loaded.info.shared_layers
    else:
        assert [group.layer for group in encoders] == list(range(loaded.info.num_layers))
        assert not loaded.info.shared_layers
    if family.has_pooler:
        assert titles[-1] == "Output layer (pooler)"
    if family.name == "GPT-2":
        assert [row.short_name for row in anatomy.groups[-1].rows] == ["ln_f.weight", "ln_f.bias"]


def test_gpt2_attention_is_zero_above_the_diagonal_and_meta_says_causal(
    family_model: Callable[[str], LoadedModel], tmp_path
) -> None:
    result = run_inference(family_model("GPT-2"), SENTENCE)
    count = result.num_tokens
    above = np.triu(np.ones((count, count), dtype=bool), k=1)
    assert (result.attentions[..., above] == 0).all()
    assert (result.attentions[..., ~above] > 0).all()
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
    with np.load(result.to_npz(tmp_path / "gpt2.npz")) as saved:
        meta = json.loads(str(saved["meta"]))
    assert meta["causal"] is True and meta["has_token_types"] is False
    bert = run_inference(family_model("BERT"), SENTENCE)
    assert bert.meta()["causal"] is False and (bert.attentions > 0).all()


@pytest.mark.parametrize(
    "family", [f for f in FAMILIES if f.tokenizer_kind != "wordpiece"], ids=lambda f: f.name
)
def test_space_marks_are_shown_and_every_piece_maps_back_to_its_characters(
    family: Family, family_model: Callable[[str], LoadedModel]
) -> None:
    from explorer.core.tokenization import (
        BYTE_LEVEL_BPE,
        SENTENCEPIECE,
        SPACE_MARK,
        display_token,
        token_spans,
    )

    loaded = family_model(family.name)
    kind = {"bpe": BYTE_LEVEL_BPE, "unigram": SENTENCEPIECE}[family.tokenizer_kind]
    assert loaded.info.tokenizer_kind == kind
    text = "Café crème, my pet python."
    result = run_inference(loaded, text)
    spans = [span for span in token_spans(result) if not span.special]
    shown = [display_token(span.token, kind) for span in spans]
    assert any(SPACE_MARK in piece for piece in shown)
    assert not any("Ġ" in piece or "▁" in piece for piece in shown)
    covered = set()
    for span in spans:
        assert 0 <= span.start <= span.end <= len(text)
        covered.update(range(span.start, span.end))
    assert {i for i, char in enumerate(text) if not char.isspace()} <= covered
    if kind == BYTE_LEVEL_BPE:  # bytes decode back to the very characters
        joined = "".join(shown).replace(SPACE_MARK, " ")
        assert "<0x" in joined or joined.strip() == text


def test_byte_level_pieces_decode_to_characters() -> None:
    from explorer.core.tokenization import BYTE_LEVEL_BPE, display_token

    assert display_token("ĠcafÃ©", BYTE_LEVEL_BPE) == "␣café"
    assert display_token("Ã", BYTE_LEVEL_BPE) == "<0xC3>"  # half of é: its byte
    assert display_token("Ċ", BYTE_LEVEL_BPE) == "↵"
    assert display_token("##ing", "WordPiece") == "##ing"


def test_head_statistics_use_the_family_special_tokens(
    family_model: Callable[[str], LoadedModel],
) -> None:
    from explorer.core.analysis.head_stats import family_role_ids, head_statistics_of, role_labels
    from tests.families.builders import PAIR

    loaded = family_model("RoBERTa")
    result = run_inference(loaded, SENTENCE, PAIR)
    starts, ends = family_role_ids(loaded.info.special_tokens)
    bos = loaded.tokenizer.convert_tokens_to_ids("<s>")
    eos = loaded.tokenizer.convert_tokens_to_ids("</s>")
    assert starts == {bos} and eos in ends
    stats = head_statistics_of(result)
    ids = result.input_ids
    for layer in range(result.num_layers):
        a = result.attentions[layer]
        np.testing.assert_allclose(
            stats.values["cls"][layer], a[:, :, ids == bos].sum(-1).mean(-1), atol=1e-6
        )
        np.testing.assert_allclose(
            stats.values["sep"][layer], a[:, :, ids == eos].sum(-1).mean(-1), atol=1e-6
        )
    labels = role_labels(loaded.info.special_tokens)
    assert labels["cls"] == "to <s>" and labels["sep"] == "to </s>"
    gpt2 = run_inference(family_model("GPT-2"), SENTENCE)  # GPT-2 adds no special token
    stats = head_statistics_of(gpt2)
    assert (stats.values["cls"] == 0).all() and (stats.values["sep"] == 0).all()
    assert role_labels(family_model("GPT-2").info.special_tokens)["cls"] == "to [CLS] (none here)"
