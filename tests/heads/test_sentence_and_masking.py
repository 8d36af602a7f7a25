"""The embedded default's sentence embedding equals sentence-transformers'; masking by text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.core.errors import InputTextError
from explorer.core.export import inspect_arrays
from explorer.core.heads.masking import masked_text
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource, embedded_model_path
from tests.conftest import save_random_bert

A, B = "A man is eating food.", "A man is eating a piece of bread."


@pytest.fixture(scope="module")
def sentence_transformer():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedded_model_path()), device="cpu")


def test_sentence_embedding_equals_sentence_transformers(
    embedded_model: LoadedModel, sentence_transformer
) -> None:
    assert embedded_model.info.head == "sentence-embedding"
    assert embedded_model.info.sentence_pooling == "mean pooling, then L2-normalised"
    alone = run_inference(embedded_model, A)
    expected_a = sentence_transformer.encode(A)
    np.testing.assert_allclose(alone.predictions.sentence_embedding, expected_a, atol=1e-5)
    pair = run_inference(embedded_model, A, B)
    arrays = inspect_arrays(embedded_model, pair)
    expected_b = sentence_transformer.encode(B)
    np.testing.assert_allclose(arrays["sentence_embedding"], expected_a, atol=1e-5)
    np.testing.assert_allclose(arrays["pair_embedding"], expected_b, atol=1e-5)
    cosine = float(
        np.dot(expected_a, expected_b) / (np.linalg.norm(expected_a) * np.linalg.norm(expected_b))
    )
    assert json.loads(str(arrays["meta"]))["pair_cosine"] == pytest.approx(cosine, abs=1e-5)


def test_long_sentence_is_embedded_as_sentence_transformers_truncates(
    embedded_model: LoadedModel, sentence_transformer
) -> None:
    """The pass keeps 512 tokens; sentence-transformers cuts at max_seq_length (256)."""
    text = " ".join(["the river runs past the old mill"] * 60)
    result = run_inference(embedded_model, text)
    assert result.num_tokens > 256
    assert result.predictions.sentence_embedding is None
    arrays = inspect_arrays(embedded_model, result)
    np.testing.assert_allclose(
        arrays["sentence_embedding"], sentence_transformer.encode(text), atol=1e-5
    )


@pytest.mark.parametrize("pooling", ["cls", "max", "mean_sqrt_len_tokens", "weightedmean"])
def test_every_pooling_mode_equals_sentence_transformers(tmp_path: Path, pooling: str) -> None:
    """A sentence-transformers folder of each pooling mode, without Normalize."""
    from sentence_transformers import SentenceTransformer

    folder = save_random_bert(tmp_path / "st")
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": 0,
                    "name": "0",
                    "path": "",
                    "type": "sentence_transformers.models.Transformer",
                },
                {
                    "idx": 1,
                    "name": "1",
                    "path": "1_Pooling",
                    "type": "sentence_transformers.models.Pooling",
                },
            ]
        )
    )
    (folder / "1_Pooling").mkdir()
    flag = {
        "cls": "pooling_mode_cls_token",
        "max": "pooling_mode_max_tokens",
        "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
        "weightedmean": "pooling_mode_weightedmean_tokens",
    }[pooling]
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, flag: True})
    )
    loaded = load_model(ModelSource.parse(str(folder)))
    assert loaded.info.sentence_pooling == f"{pooling} pooling"
    result = run_inference(loaded, A)
    expected = SentenceTransformer(str(folder), device="cpu").encode(A)
    np.testing.assert_allclose(result.predictions.sentence_embedding, expected, atol=1e-5)


def test_masking_replaces_the_token_in_the_text(tiny_model: LoadedModel) -> None:
    result = run_inference(tiny_model, "Paris is the capital of France.", "It is big.")
    position = list(result.tokens).index("capital")
    text, pair = masked_text(result, [position], "[MASK]")
    assert text == "Paris is the [MASK] of France." and pair == "It is big."
    again = run_inference(tiny_model, text, pair)
    assert again.tokens[position] == "[MASK]" and again.num_tokens == result.num_tokens


def test_masking_word_pieces_and_both_sentences(tiny_model: LoadedModel) -> None:
    result = run_inference(tiny_model, "Sinan loves tokenization", "so much")
    pieces = [i for i, t in enumerate(result.tokens) if t.startswith("##")]
    in_b = int(np.flatnonzero(result.sequence_ids == 1)[0])
    text, pair = masked_text(result, [*pieces, in_b], "[MASK]")
    again = run_inference(tiny_model, text, pair)
    assert [again.tokens[i] for i in [*pieces, in_b]] == ["[MASK]"] * (len(pieces) + 1)


@pytest.mark.parametrize("position", [0, 99])
def test_masking_refuses_special_and_missing_tokens(tiny_model: LoadedModel, position) -> None:
    result = run_inference(tiny_model, "Paris is nice.")
    with pytest.raises(InputTextError, match=r"special token|There is no token 99"):
        masked_text(result, [position], "[MASK]")


def test_inspect_mask_on_the_command_line(tmp_path: Path) -> None:
    folder = save_random_bert(tmp_path / "mlm", architecture="BertForMaskedLM")
    out = tmp_path / "masked.npz"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "explorer",
            "inspect",
            "Paris is the capital of France.",
            "--model",
            str(folder),
            "--mask",
            "4",
            "--lens",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "mask at token 4:" in done.stdout
    with np.load(out) as data:
        assert str(data["tokens"][4]) == "[MASK]"
        assert data["mlm_top_ids"].shape == (data["tokens"].shape[0], 10)
        assert data["lens_top_ids"].shape[0] == 5
        meta = json.loads(str(data["meta"]))
    assert meta["text"] == "Paris is the [MASK] of France." and meta["head"] == "masked-lm"


def test_inspect_mask_without_a_masked_lm_head_is_one_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "explorer",
            "inspect",
            "Paris is nice.",
            "--mask",
            "1",
            "--out",
            str(tmp_path / "x.npz"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "no masked-LM head" in done.stderr and "Traceback" not in done.stderr


def test_a_hub_models_sentence_pipeline_is_fetched_with_its_config() -> None:
    """The hub fetch asks for modules.json and the Pooling config, so the head is found."""
    from huggingface_hub.utils import filter_repo_objects

    from explorer.core.loading import _HUB_CHECKED_FILES

    listed = ["modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "model.onnx"]
    kept = list(filter_repo_objects(listed, allow_patterns=_HUB_CHECKED_FILES))
    assert kept == listed[:3]


def test_the_python_api_result_carries_a_and_b_alone(sentence_transformer) -> None:
    from explorer import inspect

    result = inspect(A, pair=B)
    predictions = result.predictions
    np.testing.assert_allclose(
        predictions.sentence_embedding, sentence_transformer.encode(A), atol=1e-5
    )
    np.testing.assert_allclose(
        predictions.pair_embedding, sentence_transformer.encode(B), atol=1e-5
    )
    assert result.meta()["pair_cosine"] == pytest.approx(predictions.pair_cosine)
    assert {"sentence_embedding", "pair_embedding"} <= set(result.to_arrays())
