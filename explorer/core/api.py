"""The notebook/CLI entry: one call from text to a frozen result, caching the loaded model."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from explorer.core.heads.masking import masked_text
from explorer.core.heads.predict import with_sentence_pair
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel, load_model
from explorer.core.results import InferenceResult
from explorer.core.sources import ModelSource
from explorer.core.why.gates import knocked_out_heads


@lru_cache(maxsize=2)
def _cached_model(spec: str) -> LoadedModel:
    return load_model(ModelSource.parse(spec))


def _run(
    loaded: LoadedModel,
    text: str,
    pair: str | None,
    mask: Sequence[int],
    knocked_out: Sequence[tuple[int, int]] = (),
) -> InferenceResult:
    """One pass; with ``mask``, those tokens of the text's own tokenization are masked first.

    A sentence-embedding model's result also carries A and B encoded alone, and their cosine.
    """
    if mask:
        first = run_inference(loaded, text, pair)
        text, pair = masked_text(first, mask, loaded.info.mask_token)
    result = run_inference(loaded, text, pair, knocked_out)
    with knocked_out_heads(loaded, result.knocked_out):
        return with_sentence_pair(loaded, result)


def inspect(
    text: str,
    pair: str | None = None,
    model: str | None = None,
    mask: Sequence[int] = (),
) -> InferenceResult:
    """Run ``text`` (and ``pair``) through ``model`` (default: the embedded BERT).

    ``mask`` lists token positions to replace by the mask token first (a masked-LM head's
    predictions are then in ``result.predictions.masked``). Models are cached per source so
    repeated calls in a notebook pay the load once.
    """
    spec = ModelSource.parse(model).spec
    return _run(_cached_model(spec), text, pair, mask)


def inspect_arrays(
    text: str,
    pair: str | None = None,
    model: str | None = None,
    mask: Sequence[int] = (),
    lens: bool = False,
    qkv: bool = False,
    knocked_out: Sequence[tuple[int, int]] = (),
) -> tuple[InferenceResult, dict[str, np.ndarray]]:
    """The result and every npz array: the result's own keys plus the analyses' keys.

    The analyses (rollout, norm-based attention, head statistics) and the head's keys
    (``mlm_top_*``, with ``lens`` the logit lens, a pair's sentence embeddings) need the model
    that made the result, which only this module holds; the keys are the GUI export's.
    ``qkv`` adds queries, keys and values; ``knocked_out`` heads ((layer, head) from 0) are
    switched off in the pass.
    """
    from explorer.core.export import inspect_arrays as arrays_of

    spec = ModelSource.parse(model).spec
    loaded = _cached_model(spec)
    result = _run(loaded, text, pair, mask, knocked_out)
    with knocked_out_heads(loaded, result.knocked_out):  # a pair's sentences encoded alone too
        return result, arrays_of(loaded, result, lens=lens, qkv=qkv)
