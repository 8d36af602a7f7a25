"""Each head kind, from a tiny random checkpoint saved and loaded back, equals transformers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.core.export import inspect_arrays
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource
from tests.conftest import save_random_bert

TEXT = "Paris is the [MASK] of France."
PAIR = "It is a big [MASK] with many people."
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def _load(folder: Path) -> LoadedModel:
    return load_model(ModelSource.parse(str(folder)))


def _direct(folder: Path, architecture: str, loaded: LoadedModel, result) -> object:
    """The same class run by transformers itself on the same ids."""
    import transformers

    model = getattr(transformers, architecture).from_pretrained(
        folder, attn_implementation="eager", dtype=torch.float32
    )
    model.eval()
    ids = torch.tensor(result.input_ids).unsqueeze(0)
    with torch.inference_mode():
        return model(
            input_ids=ids,
            token_type_ids=torch.tensor(result.token_type_ids).unsqueeze(0),
            attention_mask=torch.ones_like(ids),
            output_hidden_states=True,
            output_attentions=True,
        )


@pytest.fixture(scope="module")
def head_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("heads")
    folders = {}
    for architecture in (
        "BertForPreTraining",
        "BertForMaskedLM",
        "BertForNextSentencePrediction",
        "BertForSequenceClassification",
        "BertForTokenClassification",
        "BertForQuestionAnswering",
    ):
        extra = {"id2label": LABELS, "label2id": {v: k for k, v in LABELS.items()}}
        labelled = architecture.endswith(("SequenceClassification", "TokenClassification"))
        folders[architecture] = save_random_bert(
            root / architecture, architecture=architecture, **(extra if labelled else {})
        )
    return folders


def _top10(logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    values, ids = torch.topk(torch.softmax(logits.float(), dim=-1), 10, dim=-1)
    return ids.numpy(), values.numpy()


@pytest.mark.parametrize("architecture", ["BertForPreTraining", "BertForMaskedLM"])
def test_masked_lm_top10_equals_transformers(head_folders, architecture: str) -> None:
    loaded = _load(head_folders[architecture])
    expected_kind = "pretraining" if architecture == "BertForPreTraining" else "masked-lm"
    assert loaded.info.head == expected_kind
    result = run_inference(loaded, TEXT, PAIR)
    arrays = inspect_arrays(loaded, result)
    direct = _direct(head_folders[architecture], architecture, loaded, result)
    logits = direct.prediction_logits if architecture == "BertForPreTraining" else direct.logits
    ids, probs = _top10(logits[0])
    np.testing.assert_array_equal(arrays["mlm_top_ids"], ids)
    np.testing.assert_allclose(arrays["mlm_top_probs"], probs, atol=1e-6)
    assert arrays["mlm_top_ids"].dtype == np.int64 and arrays["mlm_top_probs"].dtype == np.float32
    # the pass itself predicted every [MASK], from the same encoder states
    masks = np.flatnonzero(result.input_ids == loaded.tokenizer.mask_token_id)
    assert masks.size == 2
    np.testing.assert_array_equal(result.predictions.masked.positions, masks)
    np.testing.assert_array_equal(result.predictions.masked.ids, ids[masks])
    np.testing.assert_allclose(
        result.attentions, np.stack([a[0] for a in direct.attentions]), atol=1e-6
    )
    if architecture == "BertForPreTraining":
        nsp = torch.softmax(direct.seq_relationship_logits[0], -1).numpy()
        np.testing.assert_allclose(arrays["nsp_probs"], nsp, atol=1e-6)
        assert result.pooler_output is not None
    meta = json.loads(str(arrays["meta"]))
    assert meta["head"] == expected_kind


def test_logit_lens_rows_are_the_head_on_each_layer(head_folders) -> None:
    folder = head_folders["BertForMaskedLM"]
    loaded = _load(folder)
    result = run_inference(loaded, TEXT)
    arrays = inspect_arrays(loaded, result, lens=True)
    direct = _direct(folder, "BertForMaskedLM", loaded, result)
    import transformers

    model = transformers.BertForMaskedLM.from_pretrained(folder, attn_implementation="eager")
    assert arrays["lens_top_ids"].shape == (result.num_layers + 1, result.num_tokens, 10)
    for layer, state in enumerate(direct.hidden_states):
        with torch.inference_mode():
            ids, probs = _top10(model.cls(state)[0])
        np.testing.assert_array_equal(arrays["lens_top_ids"][layer], ids)
        np.testing.assert_allclose(arrays["lens_top_probs"][layer], probs, atol=1e-6)
    np.testing.assert_array_equal(arrays["lens_top_ids"][-1], arrays["mlm_top_ids"])
    np.testing.assert_allclose(arrays["lens_top_probs"][-1], arrays["mlm_top_probs"], atol=1e-6)


def test_next_sentence_head(head_folders) -> None:
    folder = head_folders["BertForNextSentencePrediction"]
    loaded = _load(folder)
    result = run_inference(loaded, "I went to the shop.", "I bought some milk.")
    direct = _direct(folder, "BertForNextSentencePrediction", loaded, result)
    assert loaded.info.head == "next-sentence"
    expected = torch.softmax(direct.logits[0], -1).numpy()
    np.testing.assert_allclose(result.to_arrays()["nsp_probs"], expected, atol=1e-6)
    assert "mlm_top_ids" not in inspect_arrays(loaded, result)


def test_sequence_classification_names_labels(head_folders) -> None:
    folder = head_folders["BertForSequenceClassification"]
    loaded = _load(folder)
    result = run_inference(loaded, "What a lovely day.")
    arrays = inspect_arrays(loaded, result)
    direct = _direct(folder, "BertForSequenceClassification", loaded, result)
    np.testing.assert_allclose(
        arrays["class_probs"], torch.softmax(direct.logits[0], -1).numpy(), atol=1e-6
    )
    meta = json.loads(str(arrays["meta"]))
    assert meta["labels"] == ["negative", "neutral", "positive"]
    assert meta["head"] == "sequence-classification"


def test_token_classification(head_folders) -> None:
    folder = head_folders["BertForTokenClassification"]
    loaded = _load(folder)
    result = run_inference(loaded, "Sinan lives in Istanbul.")
    direct = _direct(folder, "BertForTokenClassification", loaded, result)
    arrays = inspect_arrays(loaded, result)
    assert arrays["token_class_probs"].shape == (result.num_tokens, 3)
    np.testing.assert_allclose(
        arrays["token_class_probs"], torch.softmax(direct.logits[0], -1).numpy(), atol=1e-6
    )
    assert loaded.info.head_labels == ("negative", "neutral", "positive")


def test_question_answering_best_span_inside_b(head_folders) -> None:
    folder = head_folders["BertForQuestionAnswering"]
    loaded = _load(folder)
    question, context = "Where does Sinan live?", "Sinan lives in a small town near the sea."
    result = run_inference(loaded, question, context)
    direct = _direct(folder, "BertForQuestionAnswering", loaded, result)
    arrays = inspect_arrays(loaded, result)
    start = torch.softmax(direct.start_logits[0], -1).numpy()
    end = torch.softmax(direct.end_logits[0], -1).numpy()
    np.testing.assert_allclose(arrays["qa_start_probs"], start, atol=1e-6)
    np.testing.assert_allclose(arrays["qa_end_probs"], end, atol=1e-6)
    answer = json.loads(str(arrays["meta"]))["answer"]
    # an independent brute force over every allowed span
    inside = result.sequence_ids == 1
    best = max(
        (start[i] * end[j], i, j)
        for i in range(result.num_tokens)
        for j in range(i, min(i + 30, result.num_tokens))
        if inside[i] and inside[j]
    )
    assert (answer["start"], answer["end"]) == (best[1], best[2])
    assert answer["score"] == pytest.approx(float(best[0]), rel=1e-6)
    first, last = result.offsets[best[1]][0], result.offsets[best[2]][1]
    assert answer["text"] == context[first:last]


def test_bert_model_has_no_head(tiny_model: LoadedModel) -> None:
    result = run_inference(tiny_model, "Paris is the [MASK] of France.")
    arrays = inspect_arrays(tiny_model, result)
    assert json.loads(str(arrays["meta"]))["head"] == "none"
    assert not {"mlm_top_ids", "nsp_probs", "class_probs"} & set(arrays)


def test_named_head_without_its_weights_is_never_shown(tmp_path: Path) -> None:
    folder = save_random_bert(tmp_path / "bare")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (folder / "config.json").write_text(json.dumps(config))
    loaded = _load(folder)
    assert loaded.info.head == "none"
    assert "no trained masked-LM head" in loaded.info.head_note
    result = run_inference(loaded, TEXT)
    arrays = inspect_arrays(loaded, result)
    assert "mlm_top_ids" not in arrays
    meta = json.loads(str(arrays["meta"]))
    assert meta["head"] == "none" and "masked-LM" in meta["head_note"]


def test_masked_lm_checkpoint_with_nsp_weights_loads_both(tmp_path: Path) -> None:
    """bert-base-uncased says BertForMaskedLM yet ships the next-sentence weights."""
    folder = save_random_bert(tmp_path / "both", architecture="BertForPreTraining")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (folder / "config.json").write_text(json.dumps(config))
    assert _load(folder).info.head == "pretraining"


def _count_encoder_passes(loaded: LoadedModel) -> list[int]:
    calls: list[int] = []
    loaded.model.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_one_forward_pass_per_input(head_folders) -> None:
    loaded = _load(head_folders["BertForPreTraining"])
    calls = _count_encoder_passes(loaded)
    result = run_inference(loaded, TEXT, PAIR)
    assert len(calls) == 1
    inspect_arrays(loaded, result, lens=True)
    assert len(calls) == 1  # every position's top 10 and the lens reuse the stored states


def test_sentence_embedding_pair_encodes_each_alone(embedded_model: LoadedModel) -> None:
    loaded = load_model(ModelSource.embedded())
    calls = _count_encoder_passes(loaded)
    result = run_inference(loaded, "A man is eating food.", "A man is eating a meal.")
    assert len(calls) == 1
    inspect_arrays(loaded, result)
    assert len(calls) == 3  # the pair, then A alone and B alone
    del embedded_model


def test_a_typed_mask_token_is_no_warning_for_a_masked_lm(head_folders, tiny_model) -> None:
    from explorer.core.notices import input_notices

    text = "Paris is the [MASK] of France [SEP] really."
    with_head = run_inference(_load(head_folders["BertForMaskedLM"]), text)
    said = " ".join(n.text for n in input_notices(with_head))
    assert "[SEP]" in said and "[MASK]" not in said
    bare = " ".join(n.text for n in input_notices(run_inference(tiny_model, text)))
    assert "[MASK]" in bare  # no head fills it: typing it is still worth a word


def test_pretraining_config_without_nsp_weights_shows_its_masked_lm(tmp_path: Path) -> None:
    """A BertForMaskedLM checkpoint whose config says BertForPreTraining keeps its trained half."""
    folder = save_random_bert(tmp_path / "mlm", architecture="BertForMaskedLM")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForPreTraining"]
    (folder / "config.json").write_text(json.dumps(config))
    loaded = _load(folder)
    assert loaded.info.head == "masked-lm" and loaded.info.mask_token == "[MASK]"


def test_next_sentence_is_for_a_pair_only(head_folders) -> None:
    loaded = _load(head_folders["BertForPreTraining"])
    assert run_inference(loaded, TEXT).predictions.nsp_probs is None
    assert run_inference(loaded, TEXT, PAIR).predictions.nsp_probs.shape == (2,)


def test_the_pass_projects_onto_the_vocabulary_only_at_the_masks(head_folders) -> None:
    """T·D·V multiply-adds for positions nobody looks at are skipped (other rows on demand)."""
    loaded = _load(head_folders["BertForMaskedLM"])
    rows: list[int] = []
    loaded.head.decoder.register_forward_hook(lambda _m, args, _out: rows.append(args[0].shape[-2]))
    result = run_inference(loaded, TEXT, PAIR)
    assert rows == [2]  # the two [MASK] tokens, of 18 positions
    assert result.num_tokens > 10
    inspect_arrays(loaded, result)
    assert rows[-1] == result.num_tokens  # inspect asks for every position, on demand
