"""The table of what the worker may run: pure analyses (cached) and jobs (side effects).

An analysis receives the LoadedModel (for analyses that need weights; None when run on a saved
result), the InferenceResult and a dict of parameters, and returns a payload made of numpy
arrays, numbers, strings or frozen dataclasses of those (never torch tensors). Its answer
depends only on its inputs, so the worker caches it per result.

A job writes something (a file) and returns what it wrote: it is never cached, and every one
asked for runs and is reported.

The tables are written out here, from imports of the functions: the analysis modules know
nothing of this registry (an import-linter contract keeps it so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from explorer.core.analysis.blocks import BLOCK_MOSAIC, block_mosaic_analysis
from explorer.core.analysis.flow import flow_analysis
from explorer.core.analysis.head_stats import head_stats_analysis
from explorer.core.analysis.norm_based import norm_attention_analysis
from explorer.core.analysis.rollout import rollout_analysis
from explorer.core.compare import COMPARE_ANALYSIS, compare_analysis
from explorer.core.compare_models import COMPARE_MODELS_ANALYSIS, compare_models_analysis
from explorer.core.context import CONTEXT_ANALYSIS, context_analysis
from explorer.core.errors import ExplorerError
from explorer.core.export import write_matrix_job, write_npz_job
from explorer.core.geometry import GEOMETRY_ANALYSIS, geometry_analysis
from explorer.core.heads.analyses import (
    LOGIT_LENS,
    MLM_TOP,
    SENTENCE_PAIR,
    logit_lens_analysis,
    mlm_top_analysis,
    sentence_pair_analysis,
)
from explorer.core.results import InferenceResult
from explorer.core.tokenization import (
    NORMALIZED_ANALYSIS,
    VOCABULARY_ANALYSIS,
    normalized_text,
    vocabulary_look_up,
)
from explorer.core.why.attribution import (
    EXPLAIN,
    HEAD_IMPORTANCE,
    explain_analysis,
    head_importance_analysis,
)
from explorer.core.why.gates import knocked_out_heads
from explorer.core.why.qkv import WALK_THROUGH, walk_through_analysis

AnalysisFunction = Callable[[Any, Any, Mapping[str, Any]], Any]
JobFunction = Callable[[Any, InferenceResult, Mapping[str, Any]], str]


@dataclass(frozen=True)
class AnalysisSpec:
    """One pure analysis: its function, and whether it needs a result at all."""

    function: AnalysisFunction
    needs_result: bool = True
    """False for analyses of the model alone (a vocabulary look-up): they may run before
    any sentence has, and are asked with ``result`` None."""


ANALYSES: dict[str, AnalysisSpec] = {
    "rollout": AnalysisSpec(rollout_analysis),
    "flow": AnalysisSpec(flow_analysis),
    "head_stats": AnalysisSpec(head_stats_analysis),
    "norm_attention": AnalysisSpec(norm_attention_analysis),
    BLOCK_MOSAIC: AnalysisSpec(block_mosaic_analysis),
    NORMALIZED_ANALYSIS: AnalysisSpec(normalized_text),
    VOCABULARY_ANALYSIS: AnalysisSpec(vocabulary_look_up, needs_result=False),
    COMPARE_ANALYSIS: AnalysisSpec(compare_analysis),
    COMPARE_MODELS_ANALYSIS: AnalysisSpec(compare_models_analysis),
    CONTEXT_ANALYSIS: AnalysisSpec(context_analysis, needs_result=False),
    GEOMETRY_ANALYSIS: AnalysisSpec(geometry_analysis),
    WALK_THROUGH: AnalysisSpec(walk_through_analysis),
    EXPLAIN: AnalysisSpec(explain_analysis),
    HEAD_IMPORTANCE: AnalysisSpec(head_importance_analysis),
    MLM_TOP: AnalysisSpec(mlm_top_analysis),
    LOGIT_LENS: AnalysisSpec(logit_lens_analysis),
    SENTENCE_PAIR: AnalysisSpec(sentence_pair_analysis),
}
"""Name → pure analysis, cached by the worker per (result, name, params)."""

JOBS: dict[str, JobFunction] = {
    "write_npz": write_npz_job,
    "write_matrix_csv": write_matrix_job,
}
"""Name → job with a side effect (it writes a file and returns its path); never cached."""


class UnknownAnalysisError(ExplorerError):
    """The GUI asked for an analysis (or a job) that is not in the tables."""


def _spec(name: str) -> AnalysisSpec:
    try:
        return ANALYSES[name]
    except KeyError as err:
        raise UnknownAnalysisError(f"There is no analysis called '{name}'.") from err


def needs_result(name: str) -> bool:
    """False for analyses of the model alone (unknown names need a result)."""
    spec = ANALYSES.get(name)
    return spec is None or spec.needs_result


def run_analysis(name: str, loaded: Any, result: Any, params: Mapping[str, Any]) -> Any:
    """Run one analysis of the table (any pass it makes keeps the result's heads knocked out)."""
    with _knock_outs_of(loaded, result):
        return _spec(name).function(loaded, result, params)


def _knock_outs_of(loaded: Any, result: Any) -> Any:
    """The result's knocked-out heads switched off, when the model that made it is loaded."""
    heads = getattr(result, "knocked_out", ())
    if not heads or loaded is None or loaded.info != result.model:
        return nullcontext()
    return knocked_out_heads(loaded, heads)


def run_job(name: str, loaded: Any, result: InferenceResult, params: Mapping[str, Any]) -> str:
    """Run one job of the table; returns what it wrote (a path)."""
    try:
        job = JOBS[name]
    except KeyError as err:
        raise UnknownAnalysisError(f"There is no job called '{name}'.") from err
    with _knock_outs_of(loaded, result):
        return job(loaded, result, params)
