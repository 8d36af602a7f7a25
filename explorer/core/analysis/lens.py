"""The lenses every attention view shares: hide special tokens, merge words, keep one block.

They apply in that order to any query × key map (raw weights, rollout, norms): hiding first
so words never mix in special tokens, the block filter last so it only blanks cells. The
default lens returns the map itself, so the default view does no extra work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.analysis.blocks import (
    ALL,
    block_totals,
    filter_block,
    filter_block_row,
    token_segments,
)
from explorer.core.analysis.special import hide_special, hide_special_row
from explorer.core.analysis.words import (
    merge_word_pieces,
    merge_word_pieces_row,
    word_groups,
)
from explorer.core.results import InferenceResult


@dataclass(frozen=True)
class LensSettings:
    """What the user chose in the lens bar."""

    block: str = ALL
    words: bool = False
    hide_special: bool = False

    def caption(self) -> str:
        """Short text for titles, so the display says which lens is on ('' for none)."""
        parts = []
        if self.words:
            parts.append("words")
        if self.hide_special:
            parts.append("special tokens hidden")
        if self.block != ALL:
            parts.append(f"{self.block} only")
        return " · ".join(parts)


@dataclass(frozen=True, eq=False)
class LensedMatrix:
    """A map after the lens, with what each row/column stands for."""

    matrix: np.ndarray  # (R, R) float32, C-contiguous
    labels: tuple[str, ...]  # (R,)
    token_of_row: np.ndarray  # (R,) the first token of each row (its word's first piece)
    row_of_token: np.ndarray  # (T,) the row showing each token
    segments: np.ndarray  # (R,) 0 = A, 1 = B
    totals: np.ndarray  # (2, 2) block totals before the block filter


@dataclass(frozen=True, eq=False)
class LensedRow:
    """One query row after the lens (bar charts: rollout's [CLS] row, flow)."""

    values: np.ndarray  # (R,) float32
    labels: tuple[str, ...]
    token_of_col: np.ndarray  # (R,)


def apply_lens(matrix: np.ndarray, result: InferenceResult, settings: LensSettings) -> LensedMatrix:
    """Hide special tokens, merge words, total the blocks, then blank cells outside the block."""
    segments = token_segments(result.sequence_ids)
    out = np.ascontiguousarray(matrix, dtype=np.float32)
    if settings.hide_special:
        out = hide_special(out, result.special_tokens_mask)
    count = result.num_tokens
    if settings.words:
        groups = word_groups(result)
        out = merge_word_pieces(out, groups.group_of_token)
        labels = groups.labels
        token_of_row = groups.first_token
        row_of_token = groups.group_of_token
        segments = segments[groups.first_token]
    else:
        labels = tuple(str(t) for t in result.tokens)
        token_of_row = row_of_token = np.arange(count)
    totals = block_totals(out, segments)
    out = np.ascontiguousarray(filter_block(out, segments, settings.block), dtype=np.float32)
    return LensedMatrix(out, labels, token_of_row, row_of_token, segments, totals)


def apply_lens_row(
    vector: np.ndarray, query: int, result: InferenceResult, settings: LensSettings
) -> LensedRow:
    """The same lens for one query row (its keys): hide, keep the block, then sum pieces."""
    segments = token_segments(result.sequence_ids)
    special = result.special_tokens_mask
    out = np.asarray(vector, dtype=np.float32)
    if settings.hide_special:
        out = hide_special_row(out, bool(special[query]), special)
    out = filter_block_row(out, int(segments[query]), segments, settings.block)
    if settings.words:
        groups = word_groups(result)
        return LensedRow(
            merge_word_pieces_row(out, groups.group_of_token), groups.labels, groups.first_token
        )
    labels = tuple(str(t) for t in result.tokens)
    return LensedRow(np.ascontiguousarray(out), labels, np.arange(result.num_tokens))
