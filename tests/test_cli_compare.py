"""`bert-explorer compare`: both sides and every difference in one npz, and clean errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from explorer.cli import main

PYTHON = "I love my pet python"
SNAKE = "I love my pet snake"
ANACONDA = "I love my pet anaconda"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=300
    )


def test_compare_with_equal_token_counts_writes_every_difference(tmp_path, tiny_model_dir):
    out = tmp_path / "pet.npz"
    done = run_cli("compare", PYTHON, SNAKE, "--model", str(tiny_model_dir), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "A 7 tokens, B 7 tokens, 4 layers × 4 heads · pooled cosine" in done.stdout
    assert "note:" not in done.stdout
    data = np.load(out, allow_pickle=False)
    assert data["a_tokens"].tolist()[5] == "python" and data["b_tokens"].tolist()[5] == "snake"
    assert data["attention_diff"].shape == (4, 4, 7, 7)
    assert data["attention_diff"].dtype == np.float32
    np.testing.assert_array_equal(
        data["attention_diff"], data["b_attentions"] - data["a_attentions"]
    )
    np.testing.assert_array_equal(
        data["hidden_norm_diff"], data["b_hidden_norms"] - data["a_hidden_norms"]
    )
    assert data["aligned_tokens"].tolist() == [[i, i] for i in range(7)]
    assert data["cls_cosine"].shape == (5,) and data["token_cosine"].shape == (5, 7)
    a, b = data["a_pooler_output"].astype(np.float64), data["b_pooler_output"].astype(np.float64)
    expected = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert float(data["pooled_cosine"]) == pytest.approx(expected, abs=1e-6)
    meta = json.loads(str(data["meta"]))
    assert meta["kind"] == "compare" and meta["same_token_count"] is True
    assert json.loads(str(data["a_meta"]))["text"] == PYTHON
    assert json.loads(str(data["b_meta"]))["text"] == SNAKE


def test_compare_with_different_token_counts_explains_and_aligns(tmp_path, tiny_model_dir):
    out = tmp_path / "pet.npz"
    done = run_cli("compare", PYTHON, ANACONDA, "--model", str(tiny_model_dir), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "A 7 tokens, B 9 tokens" in done.stdout
    assert "note: No attention difference: A has 7 tokens and B has 9" in done.stdout
    assert "no attention_diff" in done.stdout
    assert '"ana ##con ##da" in B' in done.stdout
    data = np.load(out, allow_pickle=False)
    assert "attention_diff" not in data.files
    assert data["aligned_tokens"].tolist() == [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [6, 8]]
    assert data["hidden_norm_diff"].shape == (5, 6)
    meta = json.loads(str(data["meta"]))
    assert meta["same_token_count"] is False and meta["alignment"] == "identical tokens"


def test_compare_uses_the_embedded_model_by_default(tmp_path):
    out = tmp_path / "pet.npz"
    done = run_cli("compare", PYTHON, SNAKE, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "6 layers × 12 heads" in done.stdout
    data = np.load(out, allow_pickle=False)
    assert data["attention_diff"].shape == (6, 12, 7, 7)
    assert 0.0 < float(data["pooled_cosine"]) < 1.0


@pytest.mark.parametrize(
    ("texts", "message"),
    [((PYTHON, "  "), "TEXT_B is empty"), (("", SNAKE), "TEXT_A is empty")],
)
def test_an_empty_sentence_is_refused_clearly(tmp_path, capsys, texts, message):
    assert main(["compare", *texts, "--out", str(tmp_path / "x.npz")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_an_output_folder_is_refused(tmp_path, capsys):
    assert main(["compare", PYTHON, SNAKE, "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_a_missing_model_is_refused_clearly(tmp_path, capsys):
    missing = tmp_path / "no-such-model"
    code = main(
        ["compare", PYTHON, SNAKE, "--model", str(missing), "--out", str(tmp_path / "x.npz")]
    )
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_compare_is_headless_and_loads_the_model_once(tmp_path, tiny_model_dir):
    out = tmp_path / "once.npz"
    probe = (
        "import sys\n"
        "import explorer.core.api as api\n"
        "calls = []\n"
        "real = api.load_model\n"
        "api.load_model = lambda source, **kw: (calls.append(source), real(source, **kw))[1]\n"
        "from explorer.cli import main\n"
        f"code = main(['compare', {PYTHON!r}, {SNAKE!r}, '--model', {str(tiny_model_dir)!r},"
        f" '--out', {str(out)!r}])\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'shiboken6'})\n"
        "print('LOADS', len(calls), 'QT', qt)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LOADS 1 QT []" in done.stdout
