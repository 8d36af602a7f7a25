"""What the difference panels share: the diverging colormap, levels, labels, B − A of the maps.

The state they are views of, ``CompareState``, lives in ``explorer.gui.state.compare_state``;
the panels take it in ``__init__``, subscribe, and keep no copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.compare import attention_mismatch_note
from explorer.gui.panels.analysis.common import displayed_attention
from explorer.gui.panels.plotting.plots import finite_top
from explorer.gui.state.compare_state import CompareState

DIFF_COLORMAP = "CET-D1"  # diverging blue-white-red: 0 is white, the sign is the hue


def symmetric_levels(values: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest |value|, so white is exactly 0 (1 when all are 0)."""
    top = finite_top(np.abs(values))
    return -top, top


def pair_label(label_a: str, label_b: str) -> str:
    """``love`` when both sides agree, ``python|snake`` when they differ."""
    return label_a if label_a == label_b else f"{label_a}|{label_b}"


def cell_pixels(plot_item: object, count: int, axis: int) -> float:
    """On-screen size of one heatmap cell along ``axis`` (0: x, 1: y), from the view's scale."""
    view_box = plot_item.getViewBox()  # type: ignore[attr-defined]
    size = view_box.viewPixelSize()[axis]
    if size > 0 and np.isfinite(size):
        return 1.0 / size
    extent = view_box.width() if axis == 0 else view_box.height()
    return max(float(extent), 200.0) / max(count, 1)


@dataclass(frozen=True, eq=False)
class AttentionDifference:
    """B − A of the maps the two sides show, or the reason there is none."""

    matrix: np.ndarray | None  # (R, R) float32, C-contiguous
    matrix_a: np.ndarray | None
    matrix_b: np.ndarray | None
    labels: tuple[str, ...]
    row_of_token: np.ndarray | None  # A's token → row
    token_of_row: np.ndarray | None  # row → A's token
    message: str  # '' when ``matrix`` is there


def attention_difference(compare: CompareState) -> AttentionDifference:
    """B − A of what each side's Attention panel shows (same layer, head and lens)."""
    alignment, message = compare.alignment, compare.message
    view_a = displayed_attention(compare.a, compare.lens_a)
    view_b = displayed_attention(compare.b, compare.lens_b)
    if view_a is None or view_b is None:
        return AttentionDifference(None, None, None, (), None, None, message)
    if note := compare.two_models_note():  # two models: other tokens or other shapes
        return AttentionDifference(None, None, None, (), None, None, note)
    if alignment is not None and not alignment.same_count:
        note = attention_mismatch_note(
            len(alignment.tokens_a), len(alignment.tokens_b), alignment.size
        )
        return AttentionDifference(None, None, None, (), None, None, note)
    if view_a.matrix.shape != view_b.matrix.shape:
        rows_a, rows_b = view_a.matrix.shape[0], view_b.matrix.shape[0]
        note = (
            f"With words merged, A has {rows_a} rows and B has {rows_b}: the two sentences "
            "split into words differently, so their maps cannot be subtracted cell by "
            "cell. Turn Words off to compare token by token."
        )
        return AttentionDifference(None, None, None, (), None, None, note)
    matrix = np.ascontiguousarray(np.subtract(view_b.matrix, view_a.matrix), dtype=np.float32)
    labels = tuple(pair_label(x, y) for x, y in zip(view_a.labels, view_b.labels, strict=True))
    return AttentionDifference(
        matrix,
        view_a.matrix,
        view_b.matrix,
        labels,
        view_a.row_of_token,
        view_a.token_of_row,
        "",
    )
