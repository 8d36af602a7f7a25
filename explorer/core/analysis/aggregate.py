"""Aggregations of per-head maps: one head, the mean or max over heads, the mean over layers.

Heads with the same index in different layers are unrelated, so "mean over layers" averages
whatever the head choice gives in each layer (the mean of heads in every layer, say).
"""

from __future__ import annotations

import numpy as np

MEAN = "mean"
MAX = "max"
HEAD_POOLS = (MEAN, MAX)


def pool_heads(maps: np.ndarray, head: int, pool: str = MEAN) -> np.ndarray:
    """(…, T, T) from (…, H, T, T): head ``head``, or all heads pooled when ``head`` < 0."""
    if head >= 0:
        return maps[..., head, :, :]
    if pool == MEAN:
        return maps.mean(axis=-3, dtype=np.float32)
    if pool == MAX:
        return maps.max(axis=-3)
    raise ValueError(f"Unknown head pooling '{pool}'; choose mean or max.")


def aggregate_heads(
    maps: np.ndarray, layer: int, head: int, pool: str = MEAN, mean_layers: bool = False
) -> np.ndarray:
    """(T, T) float32 from (L, H, T, T): pick or pool the heads, in one layer or all layers."""
    if mean_layers:
        return np.ascontiguousarray(pool_heads(maps, head, pool).mean(axis=0, dtype=np.float32))
    return np.ascontiguousarray(pool_heads(maps[layer], head, pool), dtype=np.float32)


def aggregate_layers(maps: np.ndarray, layer: int, mean_layers: bool = False) -> np.ndarray:
    """(T, T) float32 from (L, T, T): one layer, or the mean over layers."""
    if mean_layers:
        return np.ascontiguousarray(maps.mean(axis=0, dtype=np.float32))
    return np.ascontiguousarray(maps[layer], dtype=np.float32)
