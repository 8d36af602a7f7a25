"""`bert-explorer context`: exactly the documented keys, and messages instead of tracebacks."""

from __future__ import annotations

import json

import numpy as np

from explorer.cli import main

SENTENCES = ["I sat by the river bank.", "The bank lends money.", "A bank robbery!"]


def test_context_writes_exactly_the_documented_keys(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "bank.npz"
    code = main(["context", "bank", *SENTENCES, "--model", str(tiny_model_dir), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "'bank' in 3 sentences" in capsys.readouterr().out
    with np.load(out) as data:
        assert set(data.files) == {"states", "cosine", "self_similarity", "anisotropy", "meta"}
        layers = 5  # the tiny model's 4 layers and the embeddings
        assert data["states"].shape == (3, layers, 32) and data["states"].dtype == np.float32
        assert data["cosine"].shape == (layers, 3, 3)
        assert data["self_similarity"].shape == data["anisotropy"].shape == (layers,)
        meta = json.loads(str(data["meta"]))
    assert meta["sentences"] == SENTENCES
    assert [len(p) for p in meta["positions"]] == [1, 1, 1]
    assert meta["anisotropy_sampling"]["seed"] == 0
    assert len(meta["anisotropy_sampling"]["tokens"]) == meta["anisotropy_sampling"]["sample_size"]


def test_a_missing_word_is_exit_code_2_naming_the_sentence(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "x.npz"
    code = main(
        [
            "context",
            "bank",
            "A bank.",
            "No such word.",
            "--model",
            str(tiny_model_dir),
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: Sentence 2 does not contain the word 'bank'")
    assert "'No such word.'" in err and "Traceback" not in err
    assert not out.exists()


def test_out_as_a_folder_is_refused(tmp_path, tiny_model_dir, capsys):
    code = main(
        ["context", "a", "a b", "a c", "--model", str(tiny_model_dir), "--out", str(tmp_path)]
    )
    assert code == 2 and "is a folder" in capsys.readouterr().err


def test_notes_are_printed(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "c.npz"
    args = ["context", "cafe", "The café opens.", "A cafe closes.", "--out", str(out)]
    assert main([*args, "--model", str(tiny_model_dir)]) == 0
    assert "note: Matched 'café' as 'cafe'" in capsys.readouterr().out
