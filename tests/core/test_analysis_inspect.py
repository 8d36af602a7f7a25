"""`bert-explorer inspect` writes the analyses under their documented keys."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from explorer.core.analysis.head_stats import STATISTICS, head_statistics_of
from explorer.core.analysis.norm_based import norm_attention_of
from explorer.core.analysis.rollout import attention_rollout
from explorer.core.inference import run_inference


def test_inspect_writes_rollout_norms_and_head_stats(tmp_path, tiny_model_dir, tiny_model):
    out = tmp_path / "pet.npz"
    text, pair = "I love my pet python", "Is it a snake?"
    args = ["inspect", text, "--pair", pair, "--model", str(tiny_model_dir), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "explorer", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data = np.load(out, allow_pickle=False)  # a structured array needs no pickle
    count = 13
    assert {"attentions", "meta", "tokens"} <= set(data.files)  # the old keys stay
    assert data["rollout"].shape == (4, count, count) and data["rollout"].dtype == np.float32
    assert data["norm_attention"].shape == (4, 4, count, count)
    assert data["norm_attention_summed"].shape == (4, count, count)
    stats = data["head_stats"]
    assert stats.shape == (4, 4)
    assert stats.dtype.names == (*STATISTICS, "pattern")

    result = run_inference(tiny_model, text, pair)
    np.testing.assert_allclose(data["rollout"], attention_rollout(result.attentions), atol=1e-6)
    np.testing.assert_allclose(data["rollout"].sum(-1), 1.0, atol=1e-5)
    norms = norm_attention_of(tiny_model, result)
    np.testing.assert_allclose(data["norm_attention"], norms.per_head, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(data["norm_attention_summed"], norms.summed, rtol=1e-4, atol=1e-6)
    expected = head_statistics_of(result)
    np.testing.assert_allclose(stats["entropy"], expected.values["entropy"], rtol=1e-5)
    np.testing.assert_array_equal(stats["pattern"], expected.pattern)
