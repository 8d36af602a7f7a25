"""Top-k for one token: where it attends most (its row) and who attends to it most (its column).

Cells that are exactly zero (filtered out by a block or hidden as special) are not ranked.
Ties keep token order, so the lists are stable from one repaint to the next.
"""

from __future__ import annotations

import numpy as np


def top_k(vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, values) of the ``k`` largest non-zero entries, largest first."""
    values = np.asarray(vector)
    order = np.argsort(-values, kind="stable")
    order = order[values[order] > 0][: max(int(k), 0)]
    return order.astype(np.int64), values[order]


def attends_to(matrix: np.ndarray, index: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The keys row ``index`` puts the most weight on."""
    return top_k(matrix[index], k)


def attended_by(matrix: np.ndarray, index: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The queries that put the most weight on column ``index``."""
    return top_k(matrix[:, index], k)
