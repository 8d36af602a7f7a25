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
    check_memory,
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
    assert len(CATALOGUE) >= 60
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
