"""The head's on-demand analyses (the worker caches them per result, see analysis.registry).

Each checks that the model at hand made the result: a head applied to another model's
hidden states would predict nonsense.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from explorer.core.heads.predict import (
    HeadUnavailableError,
    embed_alone,
    logit_lens,
    mlm_top,
    sentence_pair,
)
from explorer.core.predictions import LensGrid, SentencePair, TopTokens

MLM_TOP = "mlm_top"
LOGIT_LENS = "logit_lens"
SENTENCE_PAIR = "sentence_pair"


def _same_model(loaded: Any, result: Any) -> None:
    if loaded is None or loaded.info != result.model:
        raise HeadUnavailableError(
            "The model that computed this result is no longer loaded: run the sentence again."
        )


def mlm_top_analysis(loaded: Any, result: Any, params: Mapping[str, Any]) -> TopTokens:
    """The top 10 at one position (``position``), from the stored last hidden state."""
    _same_model(loaded, result)
    position = int(params["position"])
    if not 0 <= position < result.num_tokens:
        raise HeadUnavailableError(f"There is no token {position} in this input.")
    return mlm_top(loaded, result.hidden_states[-1], [position])


def logit_lens_analysis(loaded: Any, result: Any, params: Mapping[str, Any]) -> LensGrid:
    """The masked-LM head on every layer: (L+1)·T·D·V multiply-adds, only when asked."""
    _same_model(loaded, result)
    return logit_lens(loaded, result.hidden_states)


def sentence_pair_analysis(loaded: Any, result: Any, params: Mapping[str, Any]) -> SentencePair:
    """A and B each encoded alone; without B, A alone against itself (cosine 1)."""
    _same_model(loaded, result)
    if result.pair is None:
        alone = embed_alone(loaded, result.text)
        pooling = loaded.head.pooling.describe() if loaded.head.pooling is not None else ""
        return SentencePair(alone, alone, 1.0, pooling)
    return sentence_pair(loaded, result.text, result.pair)
