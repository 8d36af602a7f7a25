"""The head's keys of an ``inspect`` file beyond those of the pass itself (see results)."""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.core.heads import choice
from explorer.core.heads.predict import logit_lens, mlm_top, with_sentence_pair


def prediction_arrays(
    loaded: Any, result: Any, *, lens: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, meta) only a model at hand can add: every position's top 10, the lens, A and B.

    ``mlm_top_ids`` (T, 10) int64 and ``mlm_top_probs`` (T, 10) float32 (a causal LM's
    ``next_token_top_*``: the prediction for the token after each position); with ``lens``,
    ``lens_top_ids`` / ``lens_top_probs`` (L+1, T, 10); for a sentence-embedding model,
    ``sentence_embedding`` of A alone and, with a pair, ``pair_embedding`` and its cosine.
    """
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    if loaded is None or loaded.head is None:
        return arrays, meta
    kind = loaded.head.kind
    if kind in choice.VOCABULARY_KINDS and loaded.head.mlm is not None:
        top = mlm_top(loaded, result.hidden_states[-1], list(range(result.num_tokens)))
        prefix = "next_token" if kind == choice.CAUSAL_LM else "mlm"
        arrays[f"{prefix}_top_ids"], arrays[f"{prefix}_top_probs"] = top.ids, top.probs
        if lens:
            grid = logit_lens(loaded, result.hidden_states)
            arrays["lens_top_ids"], arrays["lens_top_probs"] = grid.ids, grid.probs
    if kind == choice.SENTENCE_EMBEDDING:
        complete = with_sentence_pair(loaded, result).predictions  # A and B each alone
        for key, value in complete.to_arrays().items():
            if key in ("sentence_embedding", "pair_embedding"):
                arrays[key] = value
        if complete.pair_cosine is not None:
            meta["pair_cosine"] = complete.pair_cosine
    return arrays, meta
