"""A 2-D map of the heads from their mean Jensen–Shannon divergences (metric MDS, scikit-learn).

Clark et al. (2019) drew BERT's heads this way: heads that attend alike land close together.
JS divergence is not a metric, its square root is (Endres & Schindelin 2003), so the map is
fitted to √JS. Seeded, so the same file always gives the same picture.
"""

from __future__ import annotations

import inspect

import numpy as np

MAP_SEED = 0


def head_map(js: np.ndarray, seed: int = MAP_SEED) -> np.ndarray:
    """(L·H, L·H) mean JS divergences → (L·H, 2) float32 positions."""
    from sklearn.manifold import MDS

    distances = np.sqrt(np.clip((js + js.T) / 2.0, 0.0, None)).astype(np.float64)
    np.fill_diagonal(distances, 0.0)
    if distances.shape[0] < 3:
        return np.zeros((distances.shape[0], 2), dtype=np.float32)
    # scikit-learn 1.8 renamed the options (metric="precomputed", metric_mds, init).
    if "metric_mds" in inspect.signature(MDS).parameters:
        mds = MDS(2, metric="precomputed", init="classical_mds", random_state=seed, n_init=1)
    else:  # pragma: no cover - older scikit-learn
        mds = MDS(2, dissimilarity="precomputed", random_state=seed, n_init=4)
    return np.asarray(mds.fit_transform(distances), dtype=np.float32)
