"""Display-ready arrays derived once per result, never on a repaint.

The layers × heads overview is one mosaic image: tile (layer, head) holds that head's T×T map,
max-pooled by an integer factor when T is large so that all heads fit without dropping any.
It is made in the worker, during the forward pass. The mean over heads is made per layer on
first use and kept: most sessions look at a few layers, and all of them at 512 tokens with
base sizes would be 12.6 MB more at the memory peak of every inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from explorer.core.results import InferenceResult

OVERVIEW_MAX_TILE = 64


@dataclass(frozen=True, eq=False)
class DisplayViews:
    """Derived arrays the panels draw directly (float32, C-contiguous).

    NaN only where the model produced NaN (a broken checkpoint): max-pooling propagates it,
    so a tile with any NaN weight shows as such instead of as a plausible maximum.
    """

    mosaic: np.ndarray  # (L * tile, H * tile) overview image
    mosaic_factor: int  # tokens per mosaic pixel along each axis
    mosaic_tile: int  # pixels per tile side
    attentions: np.ndarray  # the result's own (L, H, T, T) weights (shared, not copied)
    _head_means: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def head_mean(self, layer: int) -> np.ndarray:
        """(T, T) mean over the heads of ``layer``: made on first use, then kept."""
        if layer not in self._head_means:
            mean = self.attentions[layer].mean(axis=0, dtype=np.float32)
            mean.flags.writeable = False
            self._head_means[layer] = mean
        return self._head_means[layer]


@dataclass(frozen=True)
class MosaicCell:
    """Where a mosaic pixel comes from; query/key are the first token of its pooled block."""

    layer: int
    head: int
    query: int
    key: int


def mosaic_geometry(num_tokens: int, max_tile: int = OVERVIEW_MAX_TILE) -> tuple[int, int]:
    """Return (factor, tile): tokens per pixel and pixels per tile side."""
    factor = max(1, math.ceil(num_tokens / max_tile))
    return factor, math.ceil(num_tokens / factor)


def attention_mosaic(
    attentions: np.ndarray, max_tile: int = OVERVIEW_MAX_TILE, mask: np.ndarray | None = None
) -> np.ndarray:
    """Lay every head of every layer into one image, rows = layers, columns = heads.

    Max-pooling (not the mean) keeps one-token-wide patterns such as the diagonal visible.
    Rows are pooled first, then columns, and a short last block is pooled on its own, so no
    zero-padded copy of the (L, H, T, T) array is ever made.

    ``mask`` (T × T, True where a weight is kept) zeroes every other weight before pooling,
    one layer at a time: the mosaic equals ``attention_mosaic(np.where(mask, attentions, 0))``
    without that masked copy of the whole array (151 MB at base size and 512 tokens).
    """
    if mask is None:
        return _pooled_mosaic(attentions, max_tile)
    layers, heads, count, _ = attentions.shape
    _, tile = mosaic_geometry(count, max_tile)
    mosaic = np.empty((layers * tile, heads * tile), dtype=np.float32)
    for layer in range(layers):
        masked = np.where(mask, attentions[layer : layer + 1], np.float32(0))
        mosaic[layer * tile : (layer + 1) * tile] = _pooled_mosaic(masked, max_tile)
    return mosaic


def _pooled_mosaic(attentions: np.ndarray, max_tile: int) -> np.ndarray:
    layers, heads, count, _ = attentions.shape
    factor, tile = mosaic_geometry(count, max_tile)
    whole = count // factor
    edge = whole * factor
    rows = np.empty((layers, heads, tile, count), dtype=np.float32)
    rows[:, :, :whole] = (
        attentions[:, :, :edge].reshape(layers, heads, whole, factor, count).max(axis=3)
    )
    if edge < count:
        rows[:, :, whole] = attentions[:, :, edge:].max(axis=2)
    pooled = np.empty((layers, heads, tile, tile), dtype=np.float32)
    pooled[..., :whole] = rows[..., :edge].reshape(layers, heads, tile, whole, factor).max(axis=4)
    if edge < count:
        pooled[..., whole] = rows[..., edge:].max(axis=3)
    mosaic = pooled.transpose(0, 2, 1, 3).reshape(layers * tile, heads * tile)
    return np.ascontiguousarray(mosaic, dtype=np.float32)


def mosaic_cell(
    row: int, col: int, num_tokens: int, max_tile: int = OVERVIEW_MAX_TILE
) -> MosaicCell:
    """Map a mosaic pixel (row, col) back to the (layer, head, query, key) it shows."""
    factor, tile = mosaic_geometry(num_tokens, max_tile)
    return MosaicCell(
        layer=row // tile,
        head=col // tile,
        query=min((row % tile) * factor, num_tokens - 1),
        key=min((col % tile) * factor, num_tokens - 1),
    )


def build_views(result: InferenceResult, max_tile: int = OVERVIEW_MAX_TILE) -> DisplayViews:
    """Compute everything the panels show beyond the raw result, once."""
    factor, tile = mosaic_geometry(result.num_tokens, max_tile)
    return DisplayViews(
        mosaic=attention_mosaic(result.attentions, max_tile),
        mosaic_factor=factor,
        mosaic_tile=tile,
        attentions=result.attentions,
    )
