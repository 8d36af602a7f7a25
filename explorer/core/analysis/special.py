"""Hide special tokens: zero their rows and columns, then renormalize the other rows.

[CLS] and [SEP] soak up much of BERT's attention (Clark et al. 2019 read it as a "no-op");
hiding them shows how the rest is shared among the words. Each remaining row is rescaled to
its original total (1 for attention weights), so the rows stay distributions; a special
token's own row becomes all zeros.
"""

from __future__ import annotations

import numpy as np


def hide_special(matrix: np.ndarray, special: np.ndarray) -> np.ndarray:
    """Zero special rows and columns; rescale each other row to the total it had before."""
    special = np.asarray(special, dtype=bool)
    source = np.asarray(matrix, dtype=np.float32)
    hidden = source.copy()
    hidden[special, :] = 0.0
    hidden[:, special] = 0.0
    before = source.sum(axis=1, dtype=np.float64)
    after = hidden.sum(axis=1, dtype=np.float64)
    scale = np.divide(before, after, out=np.zeros_like(before), where=after > 0)
    hidden *= scale[:, None].astype(np.float32)
    return hidden


def hide_special_row(vector: np.ndarray, query_is_special: bool, special: np.ndarray) -> np.ndarray:
    """One query row with special tokens hidden (all zeros when the query itself is special)."""
    source = np.asarray(vector, dtype=np.float32)
    if query_is_special:
        return np.zeros_like(source)
    hidden = np.where(np.asarray(special, dtype=bool), 0.0, source).astype(np.float32)
    before, after = float(source.sum()), float(hidden.sum())
    return hidden * np.float32(before / after) if after > 0 else hidden
