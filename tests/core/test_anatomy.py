"""Model anatomy: named parameters grouped as the lecture does, with correct counts."""

from __future__ import annotations

import pytest

from explorer.core.anatomy import (
    build_anatomy,
    config_summary,
    format_shape,
    parameter_table,
    shape_symbols,
)
from explorer.core.results import ModelInfo

PER_LAYER = (
    "attention.self.query.weight",
    "attention.self.query.bias",
    "attention.self.key.weight",
    "attention.self.key.bias",
    "attention.self.value.weight",
    "attention.self.value.bias",
    "attention.output.dense.weight",
    "attention.output.dense.bias",
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "intermediate.dense.weight",
    "intermediate.dense.bias",
    "output.dense.weight",
    "output.dense.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
)


def expected_values(layers: int, hidden: int, intermediate: int, vocab=30522, positions=512):
    """BERT's parameter count written out the way the lecture derives it."""
    embeddings = (vocab + positions + 2) * hidden + 2 * hidden
    attention = 4 * (hidden * hidden + hidden) + 2 * hidden
    feed_forward = hidden * intermediate + intermediate + intermediate * hidden + hidden
    encoder = attention + feed_forward + 2 * hidden
    pooler = hidden * hidden + hidden
    return embeddings + layers * encoder + pooler


def meta_bert(**config):
    """A BERT of any size without allocating its weights (shapes are all the anatomy needs)."""
    import torch
    from transformers import BertConfig, BertModel

    with torch.device("meta"):
        return BertModel(BertConfig(**config))


def test_bert_base_has_199_named_parameters_and_109482240_values():
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig())  # a real random bert-base, as the lecture counts it
    anatomy = build_anatomy(parameter_table(model))
    assert anatomy.tensors == 199
    assert anatomy.values == 109_482_240 == sum(p.numel() for p in model.parameters())
    titles = [group.title for group in anatomy.groups]
    assert titles == [
        "Embedding layer",
        *[f"Encoder {i}" for i in range(1, 13)],
        "Output layer (pooler)",
    ]
    embeddings = anatomy.groups[0]
    assert [(row.short_name, row.shape) for row in embeddings.rows] == [
        ("word_embeddings.weight", (30522, 768)),
        ("position_embeddings.weight", (512, 768)),
        ("token_type_embeddings.weight", (2, 768)),
        ("LayerNorm.weight", (768,)),
        ("LayerNorm.bias", (768,)),
    ]
    assert embeddings.values == 23_837_184
    for layer, group in enumerate(anatomy.encoder_groups()):
        assert group.layer == layer
        assert tuple(row.short_name for row in group.rows) == PER_LAYER
        assert group.values == 7_087_872
    assert [(r.short_name, r.shape) for r in anatomy.groups[-1].rows] == [
        ("dense.weight", (768, 768)),
        ("dense.bias", (768,)),
    ]


@pytest.mark.parametrize(
    ("layers", "hidden", "heads", "intermediate", "tensors", "values"),
    [
        (12, 768, 12, 3072, 199, 109_482_240),  # bert-base
        (4, 256, 4, 1024, 71, None),  # bert_uncased_L-4_H-256_A-4 sizes
        (24, 1024, 16, 4096, 391, 335_141_888),  # bert-large
        (24, 32, 4, 37, 391, None),  # tiny but deep
    ],
    ids=["base", "4-layer", "24-layer-large", "24-layer-tiny"],
)
def test_counts_for_any_depth(layers, hidden, heads, intermediate, tensors, values):
    model = meta_bert(
        num_hidden_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        intermediate_size=intermediate,
    )
    anatomy = build_anatomy(parameter_table(model))
    assert anatomy.tensors == tensors == 5 + 16 * layers + 2
    assert anatomy.values == expected_values(layers, hidden, intermediate)
    if values is not None:
        assert anatomy.values == values
    assert [g.layer for g in anatomy.encoder_groups()] == list(range(layers))


def test_the_loaded_model_carries_its_parameter_table(tiny_model):
    info = tiny_model.info
    assert info.parameters == parameter_table(tiny_model.model)
    anatomy = build_anatomy(info.parameters)
    assert anatomy.tensors == 5 + 16 * 4 + 2
    assert anatomy.values == sum(p.numel() for p in tiny_model.model.parameters())
    assert hash(info)  # still frozen and hashable with the new fields


def test_other_families_and_unknown_names_are_grouped_too():
    parameters = (
        ("embeddings.word_embeddings.weight", (10, 4)),
        ("transformer.layer.0.attention.q_lin.weight", (4, 4)),
        ("transformer.layer.1.attention.q_lin.weight", (4, 4)),
        ("classifier.weight", (2, 4)),
        ("mystery.weight", (3,)),
    )
    anatomy = build_anatomy(parameters)
    assert [g.title for g in anatomy.groups] == [
        "Embedding layer",
        "Encoder 1",
        "Encoder 2",
        "Output layer",  # a prediction head is the output side too
        "Other parameters",
    ]
    assert anatomy.groups[1].rows[0].short_name == "attention.q_lin.weight"
    assert anatomy.values == 40 + 16 + 16 + 8 + 3


def test_shapes_are_named_after_the_config_and_the_summary_lists_it():
    info = ModelInfo(
        source="x",
        name_or_path="x",
        model_type="bert",
        num_layers=12,
        num_heads=12,
        hidden_size=768,
        max_length=512,
        vocab_size=30522,
        has_pooler=True,
        intermediate_size=3072,
        max_position_embeddings=512,
        type_vocab_size=2,
        config_vocab_size=30522,
    )
    assert shape_symbols((30522, 768), info) == "V × d"
    assert shape_symbols((3072, 768), info) == "d_ff × d"
    assert shape_symbols((2, 768), info) == "types × d"
    assert shape_symbols((7, 768), info) == ""
    assert format_shape((30522, 768)) == "30,522 × 768"
    assert dict(config_summary(info)) == {
        "layers": "12",
        "attention heads": "12",
        "hidden size d": "768",
        "intermediate size d_ff": "3,072",
        "vocabulary V": "30,522",
        "maximum positions P": "512",
        "token type vocabulary": "2",
        "attention implementation": "eager",
    }
