"""Heads of every family: RoBERTa's <mask> as well as BERT's [MASK], GPT-2's next token.

Each family's tiny random checkpoint (tests/families/builders.py, a real tokenizer of its
kind) is saved again with a head class, loaded back, and compared with transformers' own
forward pass of that class.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.core.export import inspect_arrays
from explorer.core.heads.masking import masked_text
from explorer.core.inference import run_inference
from explorer.core.loading import load_model
from explorer.core.sources import ModelSource
from tests.families.builders import FAMILY_BY_NAME

MLM_FAMILIES = [
    "BERT",
    "RoBERTa",
    "XLM-R",
    "CamemBERT",
    "DistilBERT",
    "ALBERT",
    "ELECTRA",
    "DeBERTa-v2",
]
TEXT = "the cat sat on the mat"


def _with_head(folder: Path, auto_class: str, **config: object) -> Path:
    """Replace the saved encoder by a random model of ``auto_class`` (tokenizer kept)."""
    import transformers

    loaded_config = transformers.AutoConfig.from_pretrained(folder)
    for key, value in config.items():
        setattr(loaded_config, key, value)
    torch.manual_seed(1)
    model = getattr(transformers, auto_class).from_config(loaded_config)
    for stale in folder.glob("*.safetensors"):
        stale.unlink()
    model.save_pretrained(folder)
    return folder


def _direct(folder: Path, auto_class: str, result) -> object:
    import transformers

    model = getattr(transformers, auto_class).from_pretrained(
        folder, attn_implementation="eager", dtype=torch.float32
    )
    model.eval()
    inputs = {"input_ids": torch.tensor(result.input_ids).unsqueeze(0)}
    if result.model.has_token_types:
        inputs["token_type_ids"] = torch.tensor(result.token_type_ids).unsqueeze(0)
    with torch.inference_mode():
        return model(**inputs, attention_mask=torch.ones_like(inputs["input_ids"]))


@pytest.mark.parametrize("name", MLM_FAMILIES)
def test_masked_lm_of_every_family(tmp_path: Path, name: str) -> None:
    folder = _with_head(FAMILY_BY_NAME[name].build(tmp_path / name), "AutoModelForMaskedLM")
    loaded = load_model(ModelSource.parse(str(folder)))
    assert loaded.info.head == "masked-lm", loaded.info.head_note
    mask = loaded.tokenizer.mask_token
    assert loaded.info.mask_token == mask
    plain = run_inference(loaded, TEXT)
    words = [i for i in range(plain.num_tokens) if not plain.special_tokens_mask[i]]
    text, _ = masked_text(plain, [words[1]], mask)
    assert mask in text
    result = run_inference(loaded, text)
    positions = np.flatnonzero(result.input_ids == loaded.tokenizer.mask_token_id)
    assert positions.size == 1
    arrays = inspect_arrays(loaded, result, lens=True)
    logits = _direct(folder, "AutoModelForMaskedLM", result).logits[0]
    values, ids = torch.topk(torch.softmax(logits, -1), 10, dim=-1)
    np.testing.assert_array_equal(arrays["mlm_top_ids"], ids.numpy())
    np.testing.assert_allclose(arrays["mlm_top_probs"], values.numpy(), atol=1e-5)
    np.testing.assert_array_equal(result.predictions.masked.ids[0], ids.numpy()[positions[0]])
    np.testing.assert_array_equal(arrays["lens_top_ids"][-1], arrays["mlm_top_ids"])


@pytest.mark.parametrize("name", ["RoBERTa", "DistilBERT", "ELECTRA", "ALBERT"])
def test_sequence_classification_of_other_families(tmp_path: Path, name: str) -> None:
    labels = {0: "no", 1: "yes"}
    folder = _with_head(
        FAMILY_BY_NAME[name].build(tmp_path / name),
        "AutoModelForSequenceClassification",
        id2label=labels,
        label2id={"no": 0, "yes": 1},
    )
    loaded = load_model(ModelSource.parse(str(folder)))
    assert loaded.info.head == "sequence-classification"
    result = run_inference(loaded, TEXT)
    logits = _direct(folder, "AutoModelForSequenceClassification", result).logits[0]
    np.testing.assert_allclose(
        result.predictions.class_probs, torch.softmax(logits, -1).numpy(), atol=1e-6
    )
    assert json.loads(str(inspect_arrays(loaded, result)["meta"]))["labels"] == ["no", "yes"]


def test_gpt2_next_token_head_and_its_lens(tmp_path: Path) -> None:
    folder = _with_head(FAMILY_BY_NAME["GPT-2"].build(tmp_path / "gpt2"), "AutoModelForCausalLM")
    loaded = load_model(ModelSource.parse(str(folder)))
    assert loaded.info.head == "causal-lm"
    result = run_inference(loaded, TEXT)
    arrays = inspect_arrays(loaded, result, lens=True)
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager")
    model.eval()
    ids = torch.tensor(result.input_ids).unsqueeze(0)
    with torch.inference_mode():
        out = model(input_ids=ids, output_hidden_states=True)
    values, top = torch.topk(torch.softmax(out.logits[0], -1), 10, dim=-1)
    np.testing.assert_array_equal(arrays["next_token_top_ids"], top.numpy())
    np.testing.assert_allclose(arrays["next_token_top_probs"], values.numpy(), atol=1e-5)
    assert "mlm_top_ids" not in arrays
    # the lens: ln_f then the LM head on every depth but the last (already normalised)
    for layer, state in enumerate(out.hidden_states[:-1]):
        with torch.inference_mode():
            logits = model.lm_head(model.transformer.ln_f(state))[0]
        np.testing.assert_array_equal(
            arrays["lens_top_ids"][layer], torch.topk(logits, 10, dim=-1).indices.numpy()
        )
    np.testing.assert_array_equal(arrays["lens_top_ids"][-1], arrays["next_token_top_ids"])
    meta = json.loads(str(arrays["meta"]))
    assert meta["head"] == "causal-lm"
    # norm-based attention reads GPT-2's ln_1 and Conv1D weights; nothing above the diagonal
    norms = arrays["norm_attention"]
    assert norms.shape[-2:] == (ids.shape[1], ids.shape[1])
    assert not norms[
        ..., np.triu_indices(ids.shape[1], 1)[0], np.triu_indices(ids.shape[1], 1)[1]
    ].any()
    assert "norm_attention" not in meta.get("not_applicable", {})
