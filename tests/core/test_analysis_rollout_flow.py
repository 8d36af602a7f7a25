"""Rollout and flow (Abnar & Zuidema 2020) against hand-computed 3-token examples."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core.analysis.flow import (
    FLOW_MAX_TOKENS,
    FlowResult,
    FlowUnavailableError,
    attention_flow,
    flow_unavailable_reason,
    max_flow_to,
)
from explorer.core.analysis.registry import run_analysis
from explorer.core.analysis.rollout import attention_rollout, residual_attention
from explorer.core.inference import run_inference

# Layer 1: head 1 attends to itself, head 2 to the first token. Layer 2: both uniform.
ATTENTIONS = np.zeros((2, 2, 3, 3), dtype=np.float32)
ATTENTIONS[0, 0] = np.eye(3)
ATTENTIONS[0, 1] = [[1, 0, 0]] * 3
ATTENTIONS[1, :] = 1 / 3
RESIDUAL_1 = np.array([[1, 0, 0], [0.25, 0.75, 0], [0.25, 0, 0.75]])
RESIDUAL_2 = np.full((3, 3), 1 / 6) + np.eye(3) / 2


def random_attentions(seed: int, layers: int, heads: int, count: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(layers, heads, count, count)) * 2
    weights = np.exp(logits)
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32)


def test_residual_attention_by_hand():
    np.testing.assert_allclose(residual_attention(ATTENTIONS), [RESIDUAL_1, RESIDUAL_2])


def test_rollout_by_hand():
    rollout = attention_rollout(ATTENTIONS)
    assert rollout.dtype == np.float32 and rollout.shape == (2, 3, 3)
    np.testing.assert_allclose(rollout[0], RESIDUAL_1, atol=1e-7)
    # R2 = Â2 · Â1, row 0: 2/3·[1,0,0] + 1/6·[.25,.75,0] + 1/6·[.25,0,.75]
    expected = [[0.75, 0.125, 0.125], [0.375, 0.5, 0.125], [0.375, 0.125, 0.5]]
    np.testing.assert_allclose(rollout[1], expected, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=1, max_value=9),
    st.integers(min_value=0, max_value=2**31 - 1),
)
def test_rollout_rows_sum_to_one(layers, heads, count, seed):
    rollout = attention_rollout(random_attentions(seed, layers, heads, count))
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-5)
    assert (rollout >= 0).all()


def test_flow_through_one_layer_is_the_edge_capacity():
    np.testing.assert_allclose(max_flow_to(RESIDUAL_1[None], 1), [0.25, 0.75, 0.0], atol=1e-6)


def test_flow_by_hand_differs_from_rollout():
    # Into (layer 2, token 0): the paths j → (1, i) → (2, 0) share no edge, so the flow is
    # Σ_i min(Â1[i, j], Â2[0, i]); rollout multiplies instead.
    flow = max_flow_to(np.stack([RESIDUAL_1, RESIDUAL_2]), 0)
    np.testing.assert_allclose(flow, [2 / 3 + 1 / 6 + 1 / 6, 1 / 6, 1 / 6], atol=1e-5)
    np.testing.assert_allclose(attention_flow(ATTENTIONS, 1, 0), flow, atol=1e-6)
    np.testing.assert_allclose(attention_flow(ATTENTIONS, 0, 2), [0.25, 0, 0.75], atol=1e-6)


def reference_flow(capacities: np.ndarray, position: int) -> np.ndarray:
    """The plain construction, float capacities, every node and edge, a different algorithm."""
    layers, count = capacities.shape[0], capacities.shape[-1]
    graph = nx.DiGraph()
    for level in range(1, layers + 1):
        for i in range(count):
            for j in range(count):
                graph.add_edge(
                    (level - 1, j), (level, i), capacity=float(capacities[level - 1, i, j])
                )
    return np.array(
        [
            nx.maximum_flow_value(
                graph, (0, j), (layers, position), flow_func=nx.algorithms.flow.edmonds_karp
            )
            for j in range(count)
        ]
    )


@settings(max_examples=15, deadline=None)
@given(
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=2, max_value=7),
    st.integers(min_value=0, max_value=2**31 - 1),
    st.data(),
)
def test_flow_is_non_negative_bounded_by_capacity_and_matches_networkx(layers, count, seed, data):
    attentions = random_attentions(seed, layers, 2, count)
    position = data.draw(st.integers(min_value=0, max_value=count - 1))
    flow = attention_flow(attentions, layers - 1, position)
    residual = residual_attention(attentions)
    assert (flow >= 0).all()
    assert (flow <= residual[0].sum(axis=0) + 1e-6).all()  # what leaves the source
    assert (flow <= residual[-1][position, :].sum() + 1e-6).all()  # what enters the sink: 1
    np.testing.assert_allclose(flow, reference_flow(residual, position), atol=1e-5)


def test_flow_refuses_long_inputs_with_a_reason():
    long = np.full((1, 1, FLOW_MAX_TOKENS + 1, FLOW_MAX_TOKENS + 1), 1 / 41, dtype=np.float32)
    assert flow_unavailable_reason(FLOW_MAX_TOKENS) is None
    with pytest.raises(FlowUnavailableError, match=r"up to 40 tokens; this input has 41"):
        attention_flow(long, 0, 0)
    with pytest.raises(FlowUnavailableError, match="outside"):
        attention_flow(ATTENTIONS, 0, 3)
    with pytest.raises(FlowUnavailableError, match="Layer 3"):
        attention_flow(ATTENTIONS, 2, 0)


def test_registered_analyses_run_on_a_real_result(embedded_model):
    result = run_inference(embedded_model, "Sinan loves a beautiful day")
    rollout = run_analysis("rollout", embedded_model, result, {})
    assert rollout.shape == (6, result.num_tokens, result.num_tokens)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-5)
    flow = run_analysis("flow", embedded_model, result, {"layer": 5, "position": 0})
    assert isinstance(flow, FlowResult) and (flow.layer, flow.position) == (5, 0)
    assert flow.values.shape == (result.num_tokens,)
    assert (flow.values > 0).all() and (flow.values <= 1 + 1e-6).all()
