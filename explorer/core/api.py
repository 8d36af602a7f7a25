"""The notebook/CLI entry: one call from text to a frozen result, caching the loaded model."""

from __future__ import annotations

from functools import lru_cache

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
