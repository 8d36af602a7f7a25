"""The geometry of the current input's token states: how layers relate and how spread they are.

- ``cka`` (L+1, L+1): linear CKA between every two layers' token states (explorer.core.cka);
- ``cosine`` (L+1, T, T): the cosine between every two tokens at each layer;
- ``anisotropy`` (L+1,): the mean cosine over distinct pairs of the input's non-special tokens
  (Ethayarajh 2019: in upper layers any two tokens point much the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.cka import layer_cka
from explorer.core.results import InferenceResult
from explorer.core.similarity import mean_cosine_from_sum, unit_rows

GEOMETRY_ANALYSIS = "geometry"


@dataclass(frozen=True, eq=False)
class Geometry:
    """The three views of one result's hidden states."""

    cka: np.ndarray  # (L+1, L+1) float32
    cosine: np.ndarray  # (L+1, T, T) float32
    anisotropy: np.ndarray  # (L+1,) float32, NaN with fewer than two non-special tokens


def geometry_of(result: InferenceResult) -> Geometry:
    """CKA between layers, token cosines and anisotropy of one result."""
    units = unit_rows(result.hidden_states)  # (L+1, T, D)
    content = units[:, ~np.asarray(result.special_tokens_mask, dtype=bool)]
    return Geometry(
        cka=layer_cka(result.hidden_states),
        cosine=np.einsum("ltd,lsd->lts", units, units).astype(np.float32),
        anisotropy=mean_cosine_from_sum(content.sum(axis=1), content.shape[1]).astype(np.float32),
    )


def geometry_analysis(
    _loaded: Any, result: InferenceResult, _params: Mapping[str, Any]
) -> Geometry:
    """The worker's analysis (an einsum over L+1 × T² × D: off the GUI thread)."""
    return geometry_of(result)
