"""Attention flow (Abnar & Zuidema 2020): maximum flow from each input token to one position.

The layers form a graph: node (l, i) is position i after layer l (level 0 is the input), and
an edge (l-1, j) → (l, i) has capacity Â_l[i, j], the residual-augmented head-mean attention
that rollout uses. Where rollout multiplies weights along paths, flow takes the maximum flow
a path system can carry, so a single thin edge limits what passes through it.

networkx computes each flow (shortest augmenting paths). Capacities are scaled to integers
(rounded down, so no flow exceeds a true capacity), as networkx advises for its flow
algorithms, and one residual network is built once and reused for every source. The cost
grows with L·T² edges per source, so flow is offered up to ``FLOW_MAX_TOKENS`` tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.analysis.rollout import residual_attention
from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult

FLOW_MAX_TOKENS = 40
CAPACITY_SCALE = 1_000_000_000


class FlowUnavailableError(ExplorerError):
    """The input is too long, the attention not finite, or the request malformed."""


@dataclass(frozen=True, eq=False)
class FlowResult:
    """Flow into ``position`` after encoder layer ``layer`` (0-based) from every input token."""

    layer: int
    position: int
    values: np.ndarray  # (T,) float32, non-negative, at most 1


def flow_unavailable_reason(num_tokens: int) -> str | None:
    """Why flow cannot be shown for ``num_tokens`` tokens, or None when it can."""
    if num_tokens > FLOW_MAX_TOKENS:
        return (
            f"Attention flow is offered up to {FLOW_MAX_TOKENS} tokens; this input has "
            f"{num_tokens}. It solves one maximum-flow problem per input token over a graph "
            "of layers × tokens² edges, which takes too long beyond that. "
            "Rollout (its fast cousin) works at any length."
        )
    return None


def _refuse_non_finite(capacities: np.ndarray) -> None:
    """NaN capacities would be cast to arbitrary integers: say why there is no flow instead.

    ``capacities[l]`` comes from encoder layer l + 1, so the message names the window's layer.
    """
    finite = np.isfinite(capacities).reshape(capacities.shape[0], -1).all(axis=1)
    if finite.all():
        return
    first = int(np.flatnonzero(~finite)[0]) + 1
    earlier = f" (flow is defined up to layer {first - 1})" if first > 1 else ""
    raise FlowUnavailableError(
        "Attention flow is undefined when the attention has NaN values: this model's "
        f"attention weights are NaN or infinite from layer {first} on{earlier}. Its "
        "checkpoint's weights probably hold NaN or infinite values."
    )


def max_flow_to(capacities: np.ndarray, position: int) -> np.ndarray:
    """(T,) float32: max flow from each level-0 node to ``position`` at the top level.

    ``capacities[l][i, j]`` is the capacity of the edge from (l, j) to (l + 1, i); there are
    ``len(capacities)`` layers of edges. Only edges that can reach the sink are built.
    """
    import networkx as nx
    from networkx.algorithms.flow import build_residual_network, shortest_augmenting_path

    layers, count = capacities.shape[0], capacities.shape[-1]
    if not 0 <= position < count:
        raise FlowUnavailableError(f"Position {position} is outside the {count} tokens.")
    _refuse_non_finite(capacities)
    scaled = np.floor(np.asarray(capacities, dtype=np.float64) * CAPACITY_SCALE).astype(np.int64)
    graph = nx.DiGraph()
    sink = layers * count + position
    graph.add_node(sink)
    for level in range(1, layers + 1):
        targets = [position] if level == layers else range(count)
        for target in targets:
            row = scaled[level - 1, target]
            for column in np.flatnonzero(row > 0):
                graph.add_edge(
                    (level - 1) * count + int(column),
                    level * count + int(target),
                    capacity=int(row[column]),
                )
    residual = build_residual_network(graph, "capacity")
    values = np.zeros(count, dtype=np.float32)
    for source in range(count):
        if source not in graph:
            continue
        value = nx.maximum_flow_value(
            graph, source, sink, flow_func=shortest_augmenting_path, residual=residual
        )
        values[source] = value / CAPACITY_SCALE
    return values


def attention_flow(attentions: np.ndarray, layer: int, position: int) -> np.ndarray:
    """(T,) float32: flow from each input token to ``position`` after layer ``layer`` (0-based)."""
    count = attentions.shape[-1]
    reason = flow_unavailable_reason(count)
    if reason is not None:
        raise FlowUnavailableError(reason)
    if not 0 <= layer < attentions.shape[0]:
        raise FlowUnavailableError(f"Layer {layer + 1} does not exist in this model.")
    return max_flow_to(residual_attention(attentions[: layer + 1]), position)


def flow_analysis(_loaded: Any, result: InferenceResult, params: Mapping[str, Any]) -> FlowResult:
    """Flow for one (layer, position): the panel asks again when either changes."""
    layer, position = int(params["layer"]), int(params["position"])
    values = attention_flow(result.attentions, layer, position)
    return FlowResult(layer=layer, position=position, values=values)
