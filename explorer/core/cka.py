"""Linear CKA (Kornblith et al. 2019, "Similarity of Neural Network Representations Revisited").

CKA compares two sets of representations of the same n examples, whatever their widths:
1 for representations equal up to an orthogonal transform and isotropic scaling, 0 for
unrelated ones. The linear form is computed from centred Gram matrices (n × n), which is cheap
when there are fewer tokens than hidden units, as in one sentence.
"""

from __future__ import annotations

import numpy as np


def _centred_grams(states: np.ndarray) -> np.ndarray:
    """(k, n, D) → (k, n, n): each X Xᵀ of column-centred X, in float64 for stable sums."""
    x = np.asarray(states, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    return np.einsum("knd,kmd->knm", x, x)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """CKA between (n, D1) and (n, D2); 0 when either has no variance (CKA is undefined)."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same examples: {x.shape[0]} rows vs {y.shape[0]}.")
    gx, gy = _centred_grams(x[None])[0], _centred_grams(y[None])[0]
    norm = float(np.linalg.norm(gx) * np.linalg.norm(gy))
    return float((gx * gy).sum() / norm) if norm > 0 else 0.0


def layer_cka(hidden_states: np.ndarray) -> np.ndarray:
    """(L+1, T, D) → (L+1, L+1) float32: linear CKA between every two layers' token states.

    A layer without variance across tokens (one token, or identical states) gets 0 against
    every layer, itself included, rather than NaN.
    """
    grams = _centred_grams(hidden_states).reshape(hidden_states.shape[0], -1)
    norms = np.linalg.norm(grams, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = grams / safe[:, None]
    cka = unit @ unit.T
    cka[norms == 0, :] = 0.0
    cka[:, norms == 0] = 0.0
    return np.clip(cka, -1.0, 1.0).astype(np.float32)
