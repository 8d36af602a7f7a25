"""The why pieces on every family: knock-out and attributions, the walk-through where it applies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource
from explorer.core.why.attribution import explain
from explorer.core.why.gates import GatesUnavailableError
from explorer.core.why.qkv import WalkThroughUnavailableError, qkv_arrays
from tests.families.builders import FAMILY_BY_NAME, SENTENCE
from tests.families.conftest import settle_loader_threads

WALKED = ("BERT", "RoBERTa", "DistilBERT", "ALBERT", "ELECTRA")
GATED = (*WALKED, "XLM-R", "GPT-2")


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory):
    loaded: dict[str, LoadedModel] = {}

    def get(name: str) -> LoadedModel:
        if name not in loaded:
            spec = FAMILY_BY_NAME[name]
            folder = spec.build(tmp_path_factory.mktemp(spec.model_type))
            loaded[name] = load_model(ModelSource.parse(str(folder)))
            settle_loader_threads()
        return loaded[name]

    return get


@pytest.mark.parametrize("name", WALKED)
def test_queries_and_keys_reproduce_the_attentions(family, name):
    loaded = family(name)
    result = run_inference(loaded, SENTENCE)
    arrays = qkv_arrays(loaded, result)
    q, k = torch.from_numpy(arrays["queries"]), torch.from_numpy(arrays["keys"])
    weights = torch.softmax(q @ k.transpose(-1, -2) / np.sqrt(q.shape[-1]), dim=-1)
    np.testing.assert_allclose(weights.numpy(), result.attentions, atol=1e-6)


@pytest.mark.parametrize("name", GATED)
def test_knock_out_and_explain_work(family, name):
    loaded = family(name)
    plain = run_inference(loaded, SENTENCE)
    off = run_inference(loaded, SENTENCE, knocked_out=[(0, 0)])
    assert not np.allclose(plain.attentions[-1], off.attentions[-1])
    found = explain(loaded, SENTENCE, steps=16)
    change = abs(found.target_value - found.baseline_value)
    assert found.ig_completeness_error <= 0.01 * change + 1e-6
    assert np.isfinite(found.head_importance).all()


def test_deberta_says_why_heads_cannot_be_gated(family):
    loaded = family("DeBERTa-v2")
    with pytest.raises(GatesUnavailableError, match="head_mask"):
        run_inference(loaded, SENTENCE, knocked_out=[(0, 0)])
    with pytest.raises(WalkThroughUnavailableError):
        qkv_arrays(loaded, run_inference(loaded, SENTENCE))


def test_a_causal_models_default_target_is_its_last_token(family):
    """GPT-2's first token sees only itself: the norm target reads the last token instead."""
    loaded = family("GPT-2")
    found = explain(loaded, SENTENCE, steps=8)
    assert "last token" in found.target
    assert np.count_nonzero(found.grad_norm) > 1  # more than the first token carries weight
