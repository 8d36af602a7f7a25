"""Per-head statistics (Clark et al. 2019) against a hand-computed 4-token head."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.core.analysis.head_stats import (
    PATTERNS,
    STATISTICS,
    head_statistics,
    head_statistics_of,
    is_punctuation,
    pattern_labels,
)
from explorer.core.inference import run_inference

TOKENS = np.array(["[CLS]", "hi", ".", "[SEP]"])
SPECIAL = np.array([True, False, False, True])
SEQUENCE = np.array([-1, 0, 0, -1])
HEAD = np.array(
    [
        [0.7, 0.1, 0.1, 0.1],
        [0.1, 0.2, 0.3, 0.4],
        [0.0, 0.5, 0.25, 0.25],
        [0.25, 0.25, 0.25, 0.25],
    ],
    dtype=np.float32,
)


def test_statistics_of_one_head_by_hand():
    stats = head_statistics(HEAD[None, None], TOKENS, SPECIAL, SEQUENCE)
    value = {name: float(stats.values[name][0, 0]) for name in STATISTICS}
    assert value["cls"] == pytest.approx((0.7 + 0.1 + 0.0 + 0.25) / 4)
    assert value["sep"] == pytest.approx((0.1 + 0.4 + 0.25 + 0.25) / 4)
    assert value["punct"] == pytest.approx((0.1 + 0.3 + 0.25 + 0.25) / 4)
    assert value["self"] == pytest.approx((0.7 + 0.2 + 0.25 + 0.25) / 4)
    assert value["prev"] == pytest.approx((0.1 + 0.5 + 0.25) / 3)  # rows 1..3
    assert value["next"] == pytest.approx((0.1 + 0.3 + 0.25) / 3)  # rows 0..2
    # Σ_j a_ij |i − j| per row: .6, 1.2, .75, 1.5
    assert value["distance"] == pytest.approx((0.6 + 1.2 + 0.75 + 1.5) / 4)
    assert value["same"] == pytest.approx(1.0)  # one sentence
    assert value["top_key"] == pytest.approx(1.05 / 4)  # [CLS] and "hi" tie
    smoothed = [[0.9999 * a + 0.0001 / 4 for a in row] for row in HEAD.tolist()]
    entropy = sum(-sum(a * math.log(a) for a in row) for row in smoothed) / 4
    assert value["entropy"] == pytest.approx(entropy, rel=1e-5)
    assert stats.pattern[0, 0] == "vertical"  # .2625 + .25 + .225 ≥ .5


def test_pattern_rules_first_match_wins():
    def values(**shares: float) -> dict[str, np.ndarray]:
        base = dict.fromkeys(STATISTICS, 0.0)
        base.update(shares)
        return {name: np.array([[v]], dtype=np.float32) for name, v in base.items()}

    assert pattern_labels(values(sep=0.5), False)[0, 0] == "vertical"
    assert pattern_labels(values(top_key=0.6, self=0.6), False)[0, 0] == "vertical"
    assert pattern_labels(values(prev=0.2, self=0.1, next=0.2, same=1), True)[0, 0] == "diagonal"
    assert pattern_labels(values(same=0.85), True)[0, 0] == "block"
    assert pattern_labels(values(same=0.85), False)[0, 0] == "heterogeneous"
    assert pattern_labels(values(same=0.5, self=0.2), True)[0, 0] == "heterogeneous"


def test_punctuation_is_unicode_punctuation_only():
    assert [is_punctuation(t) for t in [".", ",", "##.", "?!", "«", "a.", "$", "##s", ""]] == [
        True, True, True, True, True, False, False, False, False,
    ]  # fmt: skip


def test_statistics_of_a_real_pair(embedded_model):
    result = run_inference(embedded_model, "I love my pet python.", "Is it a snake?")
    stats = head_statistics_of(result)
    table = stats.to_structured()
    assert table.shape == (6, 12)
    assert table.dtype.names == (*STATISTICS, "pattern")
    assert set(np.unique(table["pattern"])) <= set(PATTERNS)
    count = result.num_tokens
    assert ((table["entropy"] > 0) & (table["entropy"] <= math.log(count) + 1e-5)).all()
    for name in ("cls", "sep", "punct", "self", "prev", "next", "same", "top_key"):
        assert ((table[name] >= 0) & (table[name] <= 1 + 1e-6)).all(), name
    np.testing.assert_allclose(
        table["self"], np.diagonal(result.attentions, axis1=2, axis2=3).mean(-1), rtol=1e-5
    )
    assert (table["distance"] <= count - 1).all()
