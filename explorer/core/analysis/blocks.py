"""Sentence-pair blocks: which part of a query × key matrix is A→A, A→B, B→A or B→B.

Special tokens join the sentence they open or close, the way ``token_type_ids`` assigns them:
``[CLS]`` and the first ``[SEP]`` belong to A, the final ``[SEP]`` to B. With that rule the
four blocks partition the matrix, so their totals add up to the matrix total.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from explorer.core.results import InferenceResult
from explorer.core.views import OVERVIEW_MAX_TILE, attention_mosaic

ALL = "All"
BLOCK_MOSAIC = "block_mosaic"  # the analysis name: the overview mosaic of one block
BLOCKS = (ALL, "A→A", "A→B", "B→A", "B→B")
SEGMENT_NAMES = ("A", "B")


def token_segments(sequence_ids: np.ndarray) -> np.ndarray:
    """0 (sentence A) or 1 (sentence B) per token; a special token takes the segment before it.

    Leading special tokens (``[CLS]``) belong to A.
    """
    seq = np.asarray(sequence_ids, dtype=np.int64)
    if seq.size == 0:
        return seq.copy()
    index = np.where(seq >= 0, np.arange(seq.size), -1)
    last_real = np.maximum.accumulate(index)
    return np.where(last_real >= 0, seq[np.maximum(last_real, 0)], 0).astype(np.int64)


def parse_block(block: str) -> tuple[int, int] | None:
    """(query segment, key segment) of a block name, or None for ``All``."""
    if block == ALL:
        return None
    if block not in BLOCKS:
        raise ValueError(f"Unknown block '{block}'; choose one of {', '.join(BLOCKS)}.")
    query, key = block.split("→")
    return SEGMENT_NAMES.index(query), SEGMENT_NAMES.index(key)


def block_mask(query_segments: np.ndarray, key_segments: np.ndarray, block: str) -> np.ndarray:
    """Boolean (rows × cols) mask of the cells inside ``block`` (all True for ``All``)."""
    parsed = parse_block(block)
    rows, cols = len(query_segments), len(key_segments)
    if parsed is None:
        return np.ones((rows, cols), dtype=bool)
    query, key = parsed
    return np.outer(np.asarray(query_segments) == query, np.asarray(key_segments) == key)


def filter_block(matrix: np.ndarray, segments: np.ndarray, block: str) -> np.ndarray:
    """Zero every cell outside ``block`` (no renormalization: the weights stay as they are).

    ``All`` returns the matrix itself, so the default view costs nothing.
    """
    if parse_block(block) is None:
        return matrix
    mask = block_mask(segments, segments, block)
    return np.where(mask, matrix, 0).astype(matrix.dtype, copy=False)


def filter_block_row(
    vector: np.ndarray, query_segment: int, segments: np.ndarray, block: str
) -> np.ndarray:
    """The row of one query under ``block``: keys outside it (or a query outside it) become 0."""
    parsed = parse_block(block)
    if parsed is None:
        return vector
    query, key = parsed
    if query_segment != query:
        return np.zeros_like(vector)
    return np.where(np.asarray(segments) == key, vector, 0).astype(vector.dtype, copy=False)


def block_totals(matrix: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """(2, 2) float64: total weight from segment q (rows) to segment k (columns).

    The blocks partition the matrix, so ``block_totals(m, s).sum() == m.sum()``.
    """
    seg = np.asarray(segments)
    onehot = np.stack([seg == 0, seg == 1], axis=1).astype(np.float32)
    by_key = np.asarray(matrix, dtype=np.float32) @ onehot  # (T, 2): no float64 copy of T×T
    return onehot.T.astype(np.float64) @ by_key.astype(np.float64)


def block_mosaic(
    attentions: np.ndarray, segments: np.ndarray, block: str, max_tile: int = OVERVIEW_MAX_TILE
) -> np.ndarray:
    """The layers × heads overview mosaic with every weight outside ``block`` zeroed.

    Equal to ``attention_mosaic(np.where(mask, attentions, 0))``, built a layer at a time (see
    ``attention_mosaic``), so the (L, H, T, T) masked copy is never made.
    """
    if parse_block(block) is None:
        return attention_mosaic(attentions, max_tile)
    return attention_mosaic(attentions, max_tile, mask=block_mask(segments, segments, block))


def block_mosaic_analysis(
    _loaded: Any, result: InferenceResult, params: Mapping[str, Any]
) -> np.ndarray:
    """The overview of one pair block, made in the worker instead of on every lens change."""
    segments = token_segments(result.sequence_ids)
    return block_mosaic(result.attentions, segments, str(params["block"]))
