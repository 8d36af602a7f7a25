"""The head map: MDS of √JS puts alike heads together, the same way every time."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from explorer.core.corpus.head_map import head_map


def test_a_planar_configuration_is_recovered_up_to_rotation():
    points = np.random.default_rng(0).standard_normal((12, 2))
    js = ((points[:, None] - points[None]) ** 2).sum(-1)  # so that √JS is the plane's distance
    mapped = head_map(js)
    assert mapped.shape == (12, 2) and mapped.dtype == np.float32
    assert np.corrcoef(pdist(mapped), pdist(points))[0, 1] > 0.999
    np.testing.assert_array_equal(mapped, head_map(js))


def test_too_few_heads_sit_at_the_origin():
    assert np.array_equal(head_map(np.zeros((2, 2))), np.zeros((2, 2), np.float32))
