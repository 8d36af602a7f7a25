"""Cosine similarity helpers shared by the context measures and the corpus statistics."""

from __future__ import annotations

import numpy as np


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 in float64 (a zero row stays zero: cosine 0 with everything)."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def mean_cosine_from_sum(unit_sum: np.ndarray, count: int) -> np.ndarray:
    """Mean cosine over the n(n−1) ordered pairs of n unit vectors, from their sum (per row).

    |Σu|² = n + Σ_{i≠j} uᵢ·uⱼ: no n × n matrix is formed, and the sums of parts (shards,
    batches) add up to the sum of the whole. NaN with fewer than two vectors (no pair).
    Rounding can push identical vectors a hair past 1: the result is clipped to a cosine's range.
    """
    if count < 2:
        return np.full(unit_sum.shape[:-1], np.nan)
    mean = ((unit_sum * unit_sum).sum(-1) - count) / (count * (count - 1))
    return np.clip(mean, -1.0, 1.0)
