"""The analyses ``bert-explorer inspect`` adds to the npz file, under documented keys."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.core.analysis.head_stats import head_statistics_of
from explorer.core.analysis.norm_based import (
    NormAttentionUnavailableError,
    attention_projections,
    norm_attention_of,
)
from explorer.core.analysis.rollout import attention_rollout
from explorer.core.cka import layer_cka
from explorer.core.results import InferenceResult


def analysis_arrays(loaded: Any, result: InferenceResult) -> dict[str, np.ndarray]:
    """``rollout``, ``head_stats``, ``layer_cka`` and, with the model's weights, the norm maps.

    Keys: ``rollout`` (L, T, T) float32, ``head_stats`` (L, H) structured array,
    ``layer_cka`` (L+1, L+1) float32, ``norm_attention`` (L, H, T, T) float32,
    ``norm_attention_summed`` (L, T, T) float32.
    """
    arrays = {
        "rollout": attention_rollout(result.attentions),
        "head_stats": head_statistics_of(result).to_structured(),
        "layer_cka": layer_cka(result.hidden_states),
    }
    if loaded is not None:
        try:
            norms = norm_attention_of(loaded, result)
        except NormAttentionUnavailableError:
            return arrays  # a family whose projections it cannot read: the keys are left out
        arrays["norm_attention"] = norms.per_head
        arrays["norm_attention_summed"] = norms.summed
    return arrays


def not_applicable(loaded: Any) -> dict[str, str]:
    """The analyses ``analysis_arrays`` leaves out for this model, and why (for ``meta``)."""
    if loaded is None:
        return {}
    try:
        attention_projections(loaded.model)
    except NormAttentionUnavailableError as err:
        return {"norm_attention": str(err)}
    return {}
