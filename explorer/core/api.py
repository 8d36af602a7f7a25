"""The notebook/CLI entry: one call from text to a frozen result, caching the loaded model."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel, load_model
from explorer.core.results import InferenceResult
from explorer.core.sources import ModelSource


@lru_cache(maxsize=2)
def _cached_model(spec: str) -> LoadedModel:
    return load_model(ModelSource.parse(spec))


def inspect(text: str, pair: str | None = None, model: str | None = None) -> InferenceResult:
    """Run ``text`` (and ``pair``) through ``model`` (default: the embedded BERT).

    Models are cached per source so repeated calls in a notebook pay the load once.
    """
    spec = ModelSource.parse(model).spec
    return run_inference(_cached_model(spec), text, pair)


def inspect_arrays(
    text: str, pair: str | None = None, model: str | None = None
) -> tuple[InferenceResult, dict[str, np.ndarray]]:
    """The result and every npz array: the result's own keys plus the analyses' keys.

    The analyses (rollout, norm-based attention, head statistics) need the model that made
    the result, which only this module holds; the keys are the ones the GUI's export writes.
    """
    from explorer.core.export import inspect_arrays as arrays_of

    spec = ModelSource.parse(model).spec
    loaded = _cached_model(spec)
    result = run_inference(loaded, text, pair)
    return result, arrays_of(loaded, result)
