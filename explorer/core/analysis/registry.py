"""Name → on-demand analysis, run by the worker thread and cached per result.

A function receives the LoadedModel (for analyses that need weights; None when run on a saved
result), the InferenceResult and a dict of parameters, and returns a payload made of numpy
arrays, numbers, strings or frozen dataclasses of those (never torch tensors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult

AnalysisFunction = Callable[[Any, InferenceResult, Mapping[str, Any]], Any]

ANALYSES: dict[str, AnalysisFunction] = {}


def register(name: str) -> Callable[[AnalysisFunction], AnalysisFunction]:
    """Decorator: make ``name`` available to the GUI and the worker."""

    def add(function: AnalysisFunction) -> AnalysisFunction:
        ANALYSES[name] = function
        return function

    return add


class UnknownAnalysisError(ExplorerError):
    """The GUI asked for an analysis no module registered."""


def run_analysis(name: str, loaded: Any, result: InferenceResult, params: Mapping[str, Any]) -> Any:
    """Run one registered analysis."""
    import explorer.core.analysis.builtin  # noqa: F401 - registers the shipped analyses

    try:
        function = ANALYSES[name]
    except KeyError as err:
        raise UnknownAnalysisError(f"There is no analysis called '{name}'.") from err
    return function(loaded, result, params)
