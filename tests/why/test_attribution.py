"""Attributions: integrated gradients, gradient × input, Chefer's relevance, the targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.analysis.registry import run_analysis
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel, load_model
from explorer.core.sources import ModelSource
from explorer.core.why.attribution import EXPLAIN, explain, relevance_from
from explorer.core.why.targets import TargetError, choose_target
from tests.conftest import save_random_bert

TEXT = "The cat sat on the mat."
PAIR = "A kitten rested on the rug."


def test_integrated_gradients_completeness_on_the_embedded_default_with_a_pair(
    embedded_model: LoadedModel,
):
    found = explain(embedded_model, TEXT, PAIR, steps=32)
    assert found.target.startswith("cosine")
    change = abs(found.target_value - found.baseline_value)
    assert change > 0.1
    assert found.integrated_gradients is not None
    total = float(found.integrated_gradients.astype(np.float64).sum())
    assert found.ig_completeness_error == pytest.approx(
        abs(total - (found.target_value - found.baseline_value))
    )
    assert found.ig_completeness_error < 0.01 * change
    # A alone, as sentence-transformers encodes it: no [SEP] of a pair, no B tokens
    assert list(found.tokens) == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]"]
    # the target is the cosine of the two sentence embeddings
    from explorer.core.heads.predict import sentence_pair

    assert found.target_value == pytest.approx(sentence_pair(embedded_model, TEXT, PAIR).cosine)


def test_gradient_times_input_equals_an_independent_autograd_computation(
    cls_model: LoadedModel,
):
    found = explain(cls_model, TEXT, None, integrated=False)
    assert found.target.startswith("probability of class")
    result = run_inference(cls_model, TEXT)
    ids = torch.tensor(result.input_ids).unsqueeze(0)
    model = cls_model.runner
    embeds = model.bert.embeddings.word_embeddings(ids).detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(
            inputs_embeds=embeds,
            token_type_ids=torch.tensor(result.token_type_ids).unsqueeze(0),
        ).logits
        probs = torch.softmax(logits, dim=-1)[0]
        value = probs[int(probs.argmax())]
        (grad,) = torch.autograd.grad(value, embeds)
    assert found.target_value == pytest.approx(float(value.detach()), rel=1e-6)
    np.testing.assert_allclose(found.grad_input, (grad * embeds).sum(-1)[0].detach(), atol=1e-7)
    np.testing.assert_allclose(found.grad_norm, grad[0].norm(dim=-1), rtol=1e-5, atol=1e-9)
    assert found.integrated_gradients is None


def test_relevance_with_zero_gradient_is_the_identity_and_one_layer_adds_a_bar():
    rng = np.random.default_rng(0)
    heads, count = 3, 5
    attention = rng.random((heads, count, count)).astype(np.float32)
    attention /= attention.sum(-1, keepdims=True)
    gradient = rng.normal(size=(heads, count, count)).astype(np.float32)
    zero = np.zeros_like(gradient)
    np.testing.assert_array_equal(relevance_from([attention] * 4, [zero] * 4), np.eye(count))
    bar = np.maximum(gradient * attention, 0).mean(0)
    np.testing.assert_allclose(
        relevance_from([attention], [gradient]), np.eye(count) + bar, rtol=1e-6
    )
    two = relevance_from([attention, attention], [gradient, gradient])
    first = np.eye(count) + bar
    np.testing.assert_allclose(two, first + bar @ first, rtol=1e-5)


def test_the_relevance_of_an_explanation_is_built_from_real_attention_gradients(
    tiny_model: LoadedModel,
):
    found = explain(tiny_model, TEXT, None, integrated=False)
    count = len(found.tokens)
    assert found.relevance.shape == (count, count)
    assert np.all(found.relevance >= np.eye(count) - 1e-7)  # I plus non-negative terms
    assert not np.allclose(found.relevance, np.eye(count))


def test_explain_is_a_registered_analysis_that_keeps_knock_outs(cls_model: LoadedModel):
    plain = run_analysis(EXPLAIN, cls_model, run_inference(cls_model, TEXT), {"steps": 4})
    heads = [(0, h) for h in range(4)]
    off_result = run_inference(cls_model, TEXT, knocked_out=heads)
    off = run_analysis(EXPLAIN, cls_model, off_result, {"steps": 4})
    assert off.knocked_out == tuple(heads)
    assert off.target_value != pytest.approx(plain.target_value)
    assert off_result.predictions is not None
    probs = off_result.predictions.class_probs
    assert off.target_value == pytest.approx(float(probs.max()), rel=1e-5)


def test_mask_target_is_the_log_probability_at_the_mask(mlm_model: LoadedModel):
    text = "Paris is the [MASK] of France."
    result = run_inference(mlm_model, text)
    position = int(np.flatnonzero(result.tokens == "[MASK]")[0])
    top = result.predictions.masked
    found = explain(mlm_model, text, None, steps=8)
    assert f"at token {position}" in found.target
    assert found.target_value == pytest.approx(float(np.log(top.probs[0, 0])), rel=1e-5)
    typed = choose_target(mlm_model, text, None, f"mask:{position}:city")
    assert "'city'" in typed.description
    with pytest.raises(TargetError, match="no \\[MASK\\]"):
        choose_target(mlm_model, "no mask here", None, "mask")


def test_default_target_without_a_mask_is_the_first_token_norm(mlm_model: LoadedModel):
    target = choose_target(mlm_model, "no mask here", None, "")
    assert "first token" in target.description or "pooled" in target.description


def test_answer_targets_on_a_question_answering_head(qa_model: LoadedModel):
    question, context = "Where is the cat?", "The cat is on the mat."
    result = run_inference(qa_model, question, context)
    answer = result.predictions.answer
    start = choose_target(qa_model, question, context, "")
    assert "start logit" in start.description and f"token {answer.start}" in start.description
    end = choose_target(qa_model, question, context, "answer-end")
    assert f"token {answer.end}" in end.description


@pytest.mark.parametrize(
    "spec", ["class:nothing", "similarity", "answer-start", "mask", "wrong", "mask:99"]
)
def test_targets_that_do_not_apply_say_why(tiny_model: LoadedModel, spec: str):
    with pytest.raises(TargetError):
        choose_target(tiny_model, TEXT, None, spec)


def test_class_targets_by_name_and_index(cls_model: LoadedModel):
    by_index = choose_target(cls_model, TEXT, None, "class:1")
    by_name = choose_target(cls_model, TEXT, None, "class:neutral")
    assert by_index.description == by_name.description == "probability of class 'neutral'"
    with pytest.raises(TargetError, match="positive"):
        choose_target(cls_model, TEXT, None, "class:angry")


def test_explain_reports_its_progress_to_whoever_runs_it(tiny_model: LoadedModel):
    from explorer.core.progress import reporting_progress

    seen: list[tuple[int, int]] = []
    with reporting_progress(lambda done, total: seen.append((done, total))):
        explain(tiny_model, TEXT, None, steps=6)
    assert seen[0] == (1, 7) and seen[-1] == (7, 7)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    explain(tiny_model, TEXT, None, steps=2)  # outside the block nothing is reported
    assert seen[-1] == (7, 7)


def test_relevance_of_a_one_layer_model_is_identity_plus_the_gradient_weighted_attention(
    tmp_path,
):
    folder = save_random_bert(tmp_path / "one", num_hidden_layers=1)
    loaded = load_model(ModelSource.parse(str(folder)))
    found = explain(loaded, TEXT, None, "pooled-norm", integrated=False)
    ids = torch.tensor(found.input_ids).unsqueeze(0)
    with torch.enable_grad():
        embeds = loaded.model.get_input_embeddings()(ids).detach()
        out = loaded.model(inputs_embeds=embeds, output_attentions=True, return_dict=True)
        value = out.pooler_output[0].norm()
        (attention,) = out.attentions
        (gradient,) = torch.autograd.grad(value, [attention])
    bar = (gradient[0] * attention[0]).clamp(min=0).mean(dim=0).detach().numpy()
    np.testing.assert_allclose(found.relevance, np.eye(len(found.tokens)) + bar, atol=1e-6)
    assert bar.max() > 0


def test_explaining_a_result_of_a_model_no_longer_loaded_says_so(tiny_model, cls_model):
    result = run_inference(tiny_model, TEXT)
    for loaded in (None, cls_model):
        with pytest.raises(TargetError, match="no longer loaded"):
            run_analysis(EXPLAIN, loaded, result, {})
