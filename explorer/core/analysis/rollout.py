"""Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

Raw weights of a deep layer say how it mixes the previous layer's states, not the input
tokens. Rollout follows the mixing down to the input: each layer's head-mean attention is
averaged with the identity (the residual connection), row-normalized, and the layers are
multiplied, Â_1 first. Row i of R_l says how much of input token j reaches position i after
layer l; every row sums to 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from explorer.core.results import InferenceResult


def residual_attention(attentions: np.ndarray) -> np.ndarray:
    """(L, T, T) float64: Â_l = row-normalize(0.5 · mean_h A_l + 0.5 · I)."""
    mean = attentions.mean(axis=1, dtype=np.float64)
    count = mean.shape[-1]
    augmented = 0.5 * mean + 0.5 * np.eye(count)
    return augmented / augmented.sum(axis=-1, keepdims=True)


def attention_rollout(attentions: np.ndarray) -> np.ndarray:
    """(L, T, T) float32: R_1 = Â_1, R_l = Â_l · R_{l-1}."""
    residual = residual_attention(attentions)
    rollout = np.empty(residual.shape, dtype=np.float32)
    current = residual[0]
    rollout[0] = current
    for layer in range(1, residual.shape[0]):
        current = residual[layer] @ current
        rollout[layer] = current
    return rollout


def summary_position(result: InferenceResult) -> int:
    """The token whose rollout row the bars show: [CLS] (position 0) in an encoder.

    A causal model has no [CLS], and its first token sees only itself; its last token is the
    one that sees the whole input (the one a next-token prediction reads).
    """
    return result.num_tokens - 1 if result.model.causal else 0


def causal_note(result: InferenceResult, lens: str) -> str:
    """What changes on a causal model (GPT-2) for ``lens`` ("rollout" or "flow"); '' otherwise."""
    if not result.model.causal:
        return ""
    if lens == "rollout":
        return (
            "Causal model: each token attends only to itself and earlier tokens, so rollout is "
            "lower-triangular (masked above the diagonal). Rollout still assumes a residual "
            "that keeps half of each token (0.5·A + 0.5·I), as in the encoder; the bars show "
            "the last token, the only one that sees the whole input (there is no [CLS])."
        )
    return (
        "Causal model: flow into a token can come only from it and earlier tokens (later "
        "edges have no capacity); the maximum flow is still defined over the same graph."
    )


def rollout_analysis(
    _loaded: Any, result: InferenceResult, _params: Mapping[str, Any]
) -> np.ndarray:
    """Rollout of every layer at once: the panel then switches layers without asking again."""
    return attention_rollout(result.attentions)
