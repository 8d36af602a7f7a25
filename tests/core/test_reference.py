"""The lecture's reference facts, checked on the embedded model and on bert-base sizes."""

from __future__ import annotations

import unicodedata

import numpy as np

from explorer.core.inference import encode, run_inference


def test_lecture_sentence_ids_and_tokens(embedded_model):
    result = run_inference(embedded_model, "Sinan loves a beautiful day")
    assert result.input_ids.tolist() == [101, 8254, 2319, 7459, 1037, 3376, 2154, 102]
    assert result.tokens.tolist() == [
        "[CLS]",
        "sin",
        "##an",
        "loves",
        "a",
        "beautiful",
        "day",
        "[SEP]",
    ]
    assert result.input_ids.dtype == np.int64


def test_pair_token_types_switch_after_first_sep(embedded_model):
    enc = encode(embedded_model, "I love my pet python", "Is it a snake?")
    tokens = enc.tokens.tolist()
    first_sep = tokens.index("[SEP]")
    assert enc.token_type_ids[: first_sep + 1].tolist() == [0] * (first_sep + 1)
    assert enc.token_type_ids[first_sep + 1 :].tolist() == [1] * (len(tokens) - first_sep - 1)
    assert tokens[-1] == "[SEP]"


def test_offsets_point_back_into_each_sentence(embedded_model):
    text, pair = "Café crème, Zürich!", "Is it a snake?"
    enc = encode(embedded_model, text, pair)
    for token, (start, end), seq, special in zip(
        enc.tokens, enc.offsets, enc.sequence_ids, enc.special_tokens_mask, strict=True
    ):
        if special:
            assert (start, end) == (0, 0)
            continue
        sentence = text if seq == 0 else pair
        piece = unicodedata.normalize("NFD", sentence[start:end].lower())
        # The uncased tokenizer strips accents: compare with the accent-free characters.
        plain = "".join(c for c in piece if unicodedata.category(c) != "Mn")
        assert token.removeprefix("##") == plain


def test_bert_base_config_has_199_named_parameters():
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig())
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == 199
    shapes = dict(model.named_parameters())
    assert tuple(shapes["embeddings.word_embeddings.weight"].shape) == (30522, 768)
    assert tuple(shapes["embeddings.position_embeddings.weight"].shape) == (512, 768)
    assert tuple(shapes["embeddings.token_type_embeddings.weight"].shape) == (2, 768)
    assert sum(name.startswith("encoder.layer.0.") for name in names) == 16
    assert "pooler.dense.weight" in names
