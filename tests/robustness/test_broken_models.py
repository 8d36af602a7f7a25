"""Every broken or hostile model folder of the catalogue gets a message: exit 2, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.core.errors import ModelLoadError
from explorer.core.loading import load_model
from explorer.core.model_checks import (
    check_listed_sizes,
    check_memory,
    check_vocab_file,
    estimate_parameters,
    read_json_bounded,
    validate_config,
    validate_tokenizer_config,
)
from explorer.core.sources import ModelSource
from tests.robustness.broken_models import CATALOGUE, LOADABLE, build_folder, nested

REPO = Path(__file__).resolve().parents[2]
PER_CASE_SECONDS = 20  # a hang anywhere shows up as a time-out, not a stuck suite


def test_the_catalogue_covers_every_class():
    assert len(CATALOGUE) >= 45
    assert len({case.name for case in CATALOGUE}) == len(CATALOGUE)


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PYTHONPATH=str(REPO))
    return env


def test_the_cli_says_what_is_wrong_with_every_broken_folder(tmp_path, tiny_model_dir):
    folders = [
        str(build_folder(tiny_model_dir, tmp_path / f"case-{i}", case.build))
        for i, case in enumerate(CATALOGUE)
    ]
    # One process for the whole catalogue, as `bert-explorer inspect` runs each: the same
    # argument parsing and error path, without a Python start-up per case.
    script = (
        "import sys, json, contextlib, io\n"
        "from explorer.cli import main\n"
        "for i, folder in enumerate(json.loads(sys.stdin.read())):\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        f"        out = {str(tmp_path)!r} + '/out.npz'\n"
        "        code = main(['inspect', 'Hello', '--model', folder, '--out', out])\n"
        "    print(json.dumps([i, code, err.getvalue()]), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(folders),
        capture_output=True,
        text=True,
        timeout=PER_CASE_SECONDS * len(CATALOGUE),
        env=_isolated_env(tmp_path),
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[")]
    assert len(answers) == len(CATALOGUE), done.stderr[-3000:]
    wrong = [
        (case.name, code, message.strip())
        for case, (_i, code, message) in zip(CATALOGUE, answers, strict=True)
        if code != 2 or case.message not in message or "Traceback" in message
    ]
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.parametrize("name,build", LOADABLE, ids=[name for name, _ in LOADABLE])
def test_odd_but_valid_folders_still_load(tmp_path, tiny_model_dir, name, build):
    folder = build_folder(tiny_model_dir, tmp_path / "ok", build)
    loaded = load_model(ModelSource.parse(str(folder)))
    assert 4 <= loaded.info.max_length <= 512


def test_roberta_inputs_stop_where_its_positions_end(tmp_path, tiny_model_dir):
    """RoBERTa counts positions from pad_token_id + 1: a large pad id shortens the inputs."""
    from explorer.core.inference import run_inference
    from tests.robustness.broken_models import config

    folder = build_folder(
        tiny_model_dir, tmp_path / "r", config(model_type="roberta", pad_token_id=300)
    )
    loaded = load_model(ModelSource.parse(str(folder)))
    assert loaded.info.max_length == 512 - 301
    result = run_inference(loaded, " ".join(["word"] * 600), None)
    assert result.num_tokens == 211 and result.truncated


def test_a_resource_bomb_is_refused_before_anything_is_built(tmp_path, tiny_model_dir):
    folder = build_folder(
        tiny_model_dir,
        tmp_path / "bomb",
        lambda f: (f / "config.json").write_text(
            json.dumps(
                {**json.loads((f / "config.json").read_text()), "num_hidden_layers": 100_000}
            )
        ),
    )
    started = time.perf_counter()
    with pytest.raises(ModelLoadError, match="num_hidden_layers is 100000"):
        load_model(ModelSource.parse(str(folder)))
    assert time.perf_counter() - started < PER_CASE_SECONDS


def test_json_is_read_only_when_small_and_shallow(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(nested(10))
    assert read_json_bounded(path, 1000, "The file")["a"]["a"]
    with pytest.raises(ModelLoadError, match="at most"):
        read_json_bounded(path, 10, "The file")
    path.write_text(nested(70))
    with pytest.raises(ModelLoadError, match="nests more than 64"):
        read_json_bounded(path, 10_000, "The file")


def test_config_validation_names_the_field():
    validate_config({"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12}, "c")
    with pytest.raises(ModelLoadError, match=r"num_attention_heads is 4\.5"):
        validate_config({"num_attention_heads": 4.5}, "c")
    with pytest.raises(ModelLoadError, match="not a multiple of the 5 attention heads"):
        validate_config({"hidden_size": 768, "num_attention_heads": 5}, "c")
    validate_tokenizer_config({"model_max_length": float("inf")}, "t")
    with pytest.raises(ModelLoadError, match="model_max_length"):
        validate_tokenizer_config({"model_max_length": float("nan")}, "t")


def test_the_memory_estimate_matches_bert_base_and_says_how_much():
    base = {
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
    }
    assert estimate_parameters(base) == 109_482_240  # bert-base-uncased, pooler included
    check_memory(base, "base", available=8 * 1024**3)
    with pytest.raises(ModelLoadError, match=r"would need about .* this machine has 100\.0 MB"):
        check_memory(base, "base", available=100 * 1024**2)


def test_a_vocabulary_file_has_one_distinct_token_per_line(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\nhello\n", encoding="utf-8")
    check_vocab_file(path)
    path.write_text("[PAD]\n[UNK]\nhello\nhello\n", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"'hello' twice \(lines 3 and 4\)"):
        check_vocab_file(path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="is empty"):
        check_vocab_file(path)


def test_flags_token_ids_and_labels_have_their_types():
    validate_config({"vocab_size": 100, "pad_token_id": 0, "is_decoder": False}, "c")
    validate_config({"id2label": {"0": "NEG", "1": "POS"}, "label2id": {"NEG": 0}}, "c")
    with pytest.raises(ModelLoadError, match=r"pad_token_id is 100, .*0–99"):
        validate_config({"vocab_size": 100, "pad_token_id": 100}, "c")
    with pytest.raises(ModelLoadError, match="true or false"):
        validate_config({"tie_word_embeddings": "no"}, "c")
    with pytest.raises(ModelLoadError, match="id2label maps"):
        validate_config({"id2label": {"zero": "NEG"}}, "c")


def test_hub_files_are_sized_before_download_and_checked_before_transformers(
    tmp_path, tiny_model_dir, monkeypatch
):
    """A hub model's config and tokenizer files pass the same checks as a folder's."""
    import huggingface_hub
    from huggingface_hub.file_download import DryRunFileInfo

    def listing(size: int) -> list[DryRunFileInfo]:
        return [DryRunFileInfo("c0ffee", size, "config.json", "", False, True)]

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    fetched: list[bool] = []

    def huge(repo_id, *, allow_patterns, dry_run=False):
        fetched.append(dry_run)
        return listing(2 * 1024**3) if dry_run else str(tiny_model_dir)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", huge)
    with pytest.raises(ModelLoadError, match=r"config\.json of 2\.0 GB.*was not downloaded"):
        load_model(ModelSource.parse("someone/bomb"))
    assert fetched == [True]  # listed, never downloaded

    bad = build_folder(
        tiny_model_dir, tmp_path / "hub", lambda f: (f / "config.json").write_text(nested(500))
    )

    def deep(repo_id, *, allow_patterns, dry_run=False):
        assert "config.json" in allow_patterns and "tokenizer.json" in allow_patterns
        return listing(100) if dry_run else str(bad)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", deep)
    with pytest.raises(ModelLoadError, match="nests more than 64"):
        load_model(ModelSource.parse("someone/deep"))
    assert check_listed_sizes([("onnx/tokenizer.json", 10 * 1024**2)], "r") is None


def test_an_unexpected_error_in_the_cli_is_a_message(monkeypatch, capsys, tmp_path):
    import explorer.core.api as api
    from explorer.cli import main

    def explode(*_args, **_kwargs):
        raise RuntimeError("something nobody foresaw\nsecond line")

    monkeypatch.setattr(api, "inspect_arrays", explode)
    assert main(["inspect", "x", "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    assert "error: unexpected RuntimeError: something nobody foresaw second line" in err
    assert "Traceback" not in err


def test_sizes_expanded_in_python_are_bounded_but_real_ones_pass():
    """num_labels and a sinusoidal position table cost time per value, however small the file."""
    validate_config({"num_labels": 3}, "c")
    validate_config({"model_type": "distilbert", "sinusoidal_pos_embds": True, "dim": 768}, "c")
    with pytest.raises(ModelLoadError, match="num_labels is 1000000000, outside"):
        validate_config({"num_labels": 10**9}, "c")
    with pytest.raises(ModelLoadError, match=r"1,048,576 × 768 position table"):
        validate_config(
            {"sinusoidal_pos_embds": True, "dim": 768, "max_position_embeddings": 1_048_576}, "c"
        )
