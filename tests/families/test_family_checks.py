"""The model checks know each family's config names: broken ones get a message, no traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from explorer.core.errors import ModelLoadError
from explorer.core.loading import load_model
from explorer.core.sources import ModelSource
from tests.families.conftest import settle_loader_threads

CASES = [
    ("GPT-2", {"n_layer": 2.5}, "n_layer is 2.5, but it must be a whole number"),
    ("GPT-2", {"n_head": 0}, "n_head is 0, outside"),
    ("GPT-2", {"n_embd": 30}, "not a multiple of the 4 attention heads"),
    ("GPT-2", {"n_layer": 5}, "asks for 5 layers, the weights hold 2"),
    ("GPT-2", {"n_positions": 4}, "n_positions is 4, outside"),
    ("GPT-2", {"activation_function": "nope"}, "unknown activation 'nope'"),
    ("GPT-2", {"resid_pdrop": 2.0}, "a probability lies in 0–1"),
    ("GPT-2", {"n_inner": "wide"}, 'n_inner is "wide", but it must be a whole number'),
    ("ALBERT", {"embedding_size": 8}, "embedding_size 8, the weights"),
    ("DistilBERT", {"type_vocab_size": 0}, "only DeBERTa-v2 has no token-type table"),
    ("BERT", {"model_type": "t5"}, "'t5' model"),
    ("BERT", {"model_type": "vit"}, "vision models are not supported"),
]


@pytest.mark.parametrize(("family", "change", "message"), CASES, ids=[str(c[1]) for c in CASES])
def test_a_broken_config_of_each_family_is_a_message(
    family: str,
    change: dict,
    message: str,
    family_dir: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    folder = shutil.copytree(family_dir(family), tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config.update(change)
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError) as raised:
        load_model(ModelSource.parse(str(folder)))
    assert message in str(raised.value)


def test_gpt2_default_n_inner_null_loads(family_model) -> None:
    info = family_model("GPT-2").info
    assert info.intermediate_size == 4 * info.hidden_size  # n_inner null: 4 × n_embd
    assert info.max_position_embeddings == 64 and info.num_layers == 2


def test_albert_pairs_need_two_token_types(family_dir, tmp_path: Path) -> None:
    """ALBERT's tokenizer lists no token types, yet its model reads them: still checked."""
    import torch
    from transformers import AlbertConfig, AlbertModel

    folder = shutil.copytree(family_dir("ALBERT"), tmp_path / "albert")
    config = AlbertConfig.from_pretrained(folder)
    config.type_vocab_size = 1
    torch.manual_seed(0)
    AlbertModel(config).save_pretrained(folder)
    try:
        with pytest.raises(ModelLoadError, match="marks sentence B with token type 1"):
            load_model(ModelSource.parse(str(folder)))
    finally:
        settle_loader_threads()  # the save's and the load's thread pools
