"""Head gates ξ inside the explorer's attention, and knocking heads out of a pass."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from explorer.core.api import inspect_arrays
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel
from explorer.core.why.attribution import gradient_pass
from explorer.core.why.gates import (
    KnockOutSpecError,
    check_heads,
    gate_tensor,
    gated,
    parse_head_spec,
)
from explorer.core.why.targets import choose_target, model_inputs, word_embeddings

TEXT = "The quick brown fox jumps over the lazy dog."


def _pass(loaded: LoadedModel, ids: np.ndarray):
    with torch.inference_mode():
        out = loaded.model(
            input_ids=torch.tensor(ids).unsqueeze(0),
            output_attentions=True,
            output_hidden_states=True,
            return_dict=True,
        )
    return out


@pytest.mark.parametrize("name", ["tiny_model", "embedded_model"])
def test_gates_of_one_reproduce_the_ungated_model_exactly(name, request):
    loaded: LoadedModel = request.getfixturevalue(name)
    ids = run_inference(loaded, TEXT).input_ids
    plain = _pass(loaded, ids)
    ones = gate_tensor(loaded.info.num_layers, loaded.info.num_heads)
    with gated(loaded, ones) as hook:
        with_gates = _pass(loaded, ids)
    assert hook.calls == loaded.info.num_layers  # every layer went through the gates
    assert torch.equal(plain.last_hidden_state, with_gates.last_hidden_state)
    for a, b in zip(plain.attentions, with_gates.attentions, strict=True):
        assert torch.equal(a, b)


def test_a_zero_gate_changes_the_pass_from_that_layer_on(tiny_model: LoadedModel):
    ids = run_inference(tiny_model, TEXT).input_ids
    plain = _pass(tiny_model, ids)
    gates = gate_tensor(tiny_model.info.num_layers, tiny_model.info.num_heads, [(1, 2)])
    with gated(tiny_model, gates):
        off = _pass(tiny_model, ids)
    assert torch.equal(plain.hidden_states[1], off.hidden_states[1])
    assert not torch.allclose(plain.hidden_states[2], off.hidden_states[2])


def test_gate_gradient_matches_a_finite_difference(tiny_model: LoadedModel):
    """|∂F/∂ξ_h| from one backward pass equals a central difference, in float64."""
    loaded = copy.deepcopy(tiny_model)
    loaded.model.double()
    target = choose_target(loaded, TEXT, None, "pooled-norm")
    importance = gradient_pass(loaded, target).head_importance
    info = loaded.info
    embeds = word_embeddings(loaded, target.input_ids)
    step = 1e-5
    for layer, head in [(0, 0), (1, 3), (3, 1)]:
        values = []
        for sign in (1.0, -1.0):
            gates = gate_tensor(info.num_layers, info.num_heads).double()
            gates[layer, head] += sign * step
            with torch.no_grad(), gated(loaded, gates):
                values.append(float(target(embeds)[0]))
        finite = (values[0] - values[1]) / (2 * step)
        assert importance[layer, head] == pytest.approx(abs(finite), rel=1e-5, abs=1e-9)
    assert importance.shape == (info.num_layers, info.num_heads)
    assert (importance > 0).any()


def test_knocking_out_a_whole_layer_leaves_its_output_projection_bias(tiny_model: LoadedModel):
    layer = 2
    dense = tiny_model.model.encoder.layer[layer].attention.output.dense
    seen = []
    handle = dense.register_forward_hook(lambda _m, _a, out: seen.append(out.detach().clone()))
    try:
        heads = [(layer, h) for h in range(tiny_model.info.num_heads)]
        result = run_inference(tiny_model, TEXT, knocked_out=heads)
    finally:
        handle.remove()
    assert len(seen) == 1
    bias = dense.bias.detach().expand_as(seen[0][0])
    assert torch.equal(seen[0][0], bias)
    assert result.knocked_out == tuple(heads)
    assert result.meta()["knocked_out"] == [f"3:{h + 1}" for h in range(4)]


def test_knock_out_in_inference_changes_later_layers_and_the_prediction(
    cls_model: LoadedModel,
):
    plain = run_inference(cls_model, TEXT)
    off = run_inference(cls_model, TEXT, knocked_out=[(0, 0), (0, 1), (0, 2), (0, 3)])
    assert np.array_equal(plain.attentions[0], off.attentions[0])
    assert not np.allclose(plain.attentions[1], off.attentions[1])
    assert plain.predictions is not None and off.predictions is not None
    assert not np.allclose(plain.predictions.class_probs, off.predictions.class_probs)
    assert "knocked_out" not in plain.meta()


def test_inspect_arrays_knock_out_and_its_meta(tiny_model_dir):
    import json

    result, arrays = inspect_arrays(TEXT, model=str(tiny_model_dir), knocked_out=[(3, 0)])
    assert json.loads(str(arrays["meta"]))["knocked_out"] == ["4:1"]
    assert result.knocked_out == ((3, 0),)


def test_head_specs_are_counted_from_one_and_checked():
    assert parse_head_spec("3:7") == (2, 6)
    for bad in ("3", "a:b", "0:1", "1:0", "1:2:3"):
        with pytest.raises(KnockOutSpecError):
            parse_head_spec(bad)
    with pytest.raises(KnockOutSpecError, match="5:1"):
        check_heads(4, 4, [(4, 0)])
    assert check_heads(4, 4, [(1, 1), (0, 2), (1, 1)]) == ((0, 2), (1, 1))


def test_model_inputs_batch_the_token_types():
    embeds = torch.zeros((3, 5, 2))
    inputs = model_inputs(embeds, np.array([0, 0, 1, 1, 1]))
    assert inputs["token_type_ids"].shape == (3, 5)
    assert inputs["attention_mask"].shape == (3, 5)
    assert "token_type_ids" not in model_inputs(embeds, None)
