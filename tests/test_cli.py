"""`bert-explorer inspect`: the npz format, equality with transformers, and clean errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

EXPECTED_KEYS = {
    "input_ids",
    "tokens",
    "token_type_ids",
    "offsets",
    "special_tokens_mask",
    "attentions",
    "hidden_states",
    "hidden_norms",
    "pooler_output",
    "meta",
}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=300
    )


def test_inspect_writes_the_documented_format(tmp_path, tiny_model_dir):
    out = tmp_path / "pet.npz"
    done = run_cli(
        "inspect",
        "I love my pet python",
        "--pair",
        "Is it a snake?",
        "--model",
        str(tiny_model_dir),
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "13 tokens, 4 layers × 4 heads" in done.stdout
    data = np.load(out, allow_pickle=False)
    assert set(data.files) >= EXPECTED_KEYS
    count = 13
    assert data["input_ids"].dtype == np.int64 and data["input_ids"].shape == (count,)
    assert data["tokens"].tolist()[:2] == ["[CLS]", "i"]
    assert data["offsets"].shape == (count, 2) and data["offsets"].dtype == np.int64
    assert data["special_tokens_mask"].dtype == bool
    assert data["attentions"].shape == (4, 4, count, count)
    assert data["attentions"].dtype == np.float32
    assert data["hidden_states"].shape == (5, count, 32)
    assert data["hidden_norms"].shape == (5, count)
    assert data["pooler_output"].shape == (32,)
    meta = json.loads(str(data["meta"]))
    assert meta["num_layers"] == 4 and meta["num_heads"] == 4 and meta["hidden_size"] == 32
    assert meta["max_length"] == 512 and meta["truncated"] is False
    assert meta["tokens_dropped"] == 0 and meta["source"] == str(tiny_model_dir)

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModel.from_pretrained(tiny_model_dir, attn_implementation="eager")
    enc = tokenizer("I love my pet python", "Is it a snake?", return_tensors="pt")
    with torch.inference_mode():
        direct = model(**enc, output_attentions=True, output_hidden_states=True)
    np.testing.assert_array_equal(data["input_ids"], enc["input_ids"][0].numpy())
    np.testing.assert_array_equal(data["token_type_ids"], enc["token_type_ids"][0].numpy())
    np.testing.assert_allclose(
        data["attentions"], torch.stack(direct.attentions)[:, 0].numpy(), atol=1e-6
    )
    np.testing.assert_allclose(
        data["hidden_states"], torch.stack(direct.hidden_states)[:, 0].numpy(), atol=1e-5
    )
    np.testing.assert_allclose(data["pooler_output"], direct.pooler_output[0].numpy(), atol=1e-6)


def test_inspect_reports_truncation_in_meta(tmp_path, tiny_model_dir):
    out = tmp_path / "long.npz"
    done = run_cli("inspect", "word " * 600, "--model", str(tiny_model_dir), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "90 tokens dropped" in done.stdout
    meta = json.loads(str(np.load(out)["meta"]))
    assert meta["truncated"] is True and meta["tokens_dropped"] == 90


def test_inspect_errors_are_messages_not_tracebacks(tmp_path, tiny_model_dir):
    cases = [
        (("inspect", "   ", "--model", str(tiny_model_dir)), "Type a sentence"),
        (("inspect", "hello", "--model", str(tmp_path / "nope")), "does not exist"),
        (("inspect", "hello", "--model", "bert-base-uncased"), "HF_HUB_OFFLINE"),
    ]
    for args, expected in cases:
        done = run_cli(*args, "--out", str(tmp_path / "x.npz"))
        assert done.returncode == 2
        assert expected in done.stderr
        assert "Traceback" not in done.stderr
    done = run_cli("inspect", "hello", "--model", str(tiny_model_dir), "--out", str(tmp_path))
    assert done.returncode == 2 and "is a folder" in done.stderr


def test_unusable_out_paths_are_named_before_any_model_loads(tmp_path, capsys):
    """An empty name, a folder, a missing folder, a name too long: each one message, exit 2."""
    import os

    from explorer.cli import main

    a_file = tmp_path / "a.npz"
    a_file.write_bytes(b"")
    pipe = tmp_path / "pipe.npz"
    os.mkfifo(pipe)  # like /dev/null: renaming over it would replace it
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("One line.\n", encoding="utf-8")
    cases = {
        "": "--out is empty or '.'",
        ".": "--out is empty or '.'",
        str(tmp_path): "is a folder",
        str(tmp_path / "missing" / "x.npz"): "does not exist",
        str(a_file / "x.npz"): f"{a_file} is a file, not a folder",
        str(pipe): "is not a regular file",
        str(tmp_path / "result.txt"): "give a name ending in .npz",
        str(tmp_path / ("a" * 300 + ".npz")): "cannot be used",
    }
    arguments = {
        "inspect": ["one sentence"],
        "compare": ["one", "two"],
        "context": ["python", "a python", "the python"],
        "corpus": [str(corpus)],
    }
    for command, texts in arguments.items():
        for out, expected in cases.items():
            assert main([command, *texts, "--out", out]) == 2
            err = capsys.readouterr().err
            assert expected in err and "Traceback" not in err, (command, out, err)
    assert pipe.exists() and not pipe.is_file()


def test_ctrl_c_before_a_command_can_checkpoint_is_one_line(monkeypatch, capsys):
    """Ctrl-C while the model loads: a line and exit code 130, no traceback."""
    from explorer import cli

    def interrupted(_argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_headless_commands", lambda: {"context": lambda: interrupted})
    assert cli.main(["context", "word", "a", "b", "--out", "x.npz"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("cancelled: interrupted") and "Traceback" not in err


def test_the_help_names_every_headless_command_and_each_answers_help(capsys):
    from explorer.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in ("inspect", "compare", "explain", "context", "corpus"):
        assert name in help_text, name
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        assert f"bert-explorer {name}" in capsys.readouterr().out


def test_a_misplaced_or_misspelt_command_says_so(tmp_path, capsys):
    from explorer.cli import main

    assert main(["--model", "m", "corpus", "f.txt", "--out", "t.npz"]) == 2
    assert "put the command first" in capsys.readouterr().err
    assert main(["contxt", "a", "b"]) == 2
    err = capsys.readouterr().err
    assert "'contxt' is neither a command" in err and "corpus" in err
    assert main(["--text", "corpus", str(tmp_path / "missing")]) == 2  # a value, then no file
    assert "is neither a command" in capsys.readouterr().err
