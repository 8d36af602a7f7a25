"""``bert-explorer explain`` and ``inspect --qkv --knock-out``, run as a user would."""

from __future__ import annotations

import json

import numpy as np

from tests.test_cli import run_cli

TEXT = "The cat sat on the mat."


def test_explain_writes_exactly_the_documented_keys(tmp_path, tiny_model_dir):
    out = tmp_path / "why.npz"
    done = run_cli(
        "explain",
        TEXT,
        "--model",
        str(tiny_model_dir),
        "--steps",
        "8",
        "--knock-out",
        "2:3",
        "--knock-out",
        "4:1",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "L2 norm of the pooled vector" in done.stdout
    with np.load(out) as data:
        assert set(data.files) == {
            "grad_norm",
            "grad_input",
            "integrated_gradients",
            "relevance",
            "head_importance",
            "tokens",
            "input_ids",
            "meta",
        }
        count = len(data["tokens"])
        for key in ("grad_norm", "grad_input", "integrated_gradients"):
            assert data[key].shape == (count,) and data[key].dtype == np.float32
        assert data["relevance"].shape == (count, count)
        assert data["head_importance"].shape == (4, 4)
        assert data["head_importance"].dtype == np.float32
        assert data["input_ids"].dtype == np.int64
        meta = json.loads(str(data["meta"]))
    assert set(meta) == {
        "target",
        "target_value",
        "baseline_value",
        "ig_steps",
        "ig_completeness_error",
        "knocked_out",
    }
    assert meta["knocked_out"] == ["2:3", "4:1"] and meta["ig_steps"] == 8


def test_explain_refuses_what_does_not_apply(tmp_path, tiny_model_dir):
    for extra in (["--target", "similarity"], ["--knock-out", "9:1"], ["--knock-out", "x"]):
        done = run_cli(
            "explain",
            TEXT,
            "--model",
            str(tiny_model_dir),
            *extra,
            "--out",
            str(tmp_path / "x.npz"),
        )
        assert done.returncode == 2, extra
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert not (tmp_path / "x.npz").exists()


def test_inspect_qkv_and_knock_out(tmp_path, tiny_model_dir):
    out = tmp_path / "qkv.npz"
    done = run_cli(
        "inspect",
        TEXT,
        "--model",
        str(tiny_model_dir),
        "--qkv",
        "--knock-out",
        "1:2",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    with np.load(out) as data:
        assert data["queries"].shape == (4, 4, data["input_ids"].shape[0], 8)
        assert {"keys", "values"} <= set(data.files)
        assert json.loads(str(data["meta"]))["knocked_out"] == ["1:2"]
