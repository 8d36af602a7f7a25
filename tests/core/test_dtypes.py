"""Half-precision checkpoints: loaded and computed in float32, their stored dtype reported.

A bfloat16 checkpoint and a float32 checkpoint holding the same (upcast) values must give
identical arrays: the explorer computes in float32 whatever the file stores.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.bench.common import TOKENIZER_FILES
from explorer.cli import main as cli_main
from explorer.core.checkpoint_dtype import stored_dtype
from explorer.core.inference import run_inference
from explorer.core.loading import load_model
from explorer.core.model_text import model_status_text
from explorer.core.results import InferenceResult
from explorer.core.sources import ModelSource
from tests.conftest import save_random_bert

TEXT, PAIR = "I love my pet python", "Is it a snake?"
HALF_DTYPES = ("bfloat16", "float16")


def _save(model: object, source: Path, folder: Path) -> Path:
    """save_pretrained plus the tokenizer files of ``source``."""
    model.save_pretrained(folder)  # type: ignore[attr-defined]
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """For each half dtype: the half checkpoint and a float32 one of the same values upcast."""
    from transformers import BertModel

    root = tmp_path_factory.mktemp("dtypes")
    original = save_random_bert(root / "float32-original")
    folders: dict[str, Path] = {}
    for name in HALF_DTYPES:
        half = BertModel.from_pretrained(original, dtype=torch.float32).to(getattr(torch, name))
        folders[name] = _save(half, original, root / name)
        folders[f"{name}-upcast"] = _save(half.to(torch.float32), original, root / f"{name}-upcast")
    return folders


def _result(folder: Path) -> InferenceResult:
    return run_inference(load_model(ModelSource.parse(str(folder))), TEXT, PAIR)


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_half_checkpoint_computes_in_float32_exactly_like_its_upcast(checkpoints, dtype):
    loaded = load_model(ModelSource.parse(str(checkpoints[dtype])))
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    assert loaded.info.stored_dtype == dtype
    half = run_inference(loaded, TEXT, PAIR)
    upcast = _result(checkpoints[f"{dtype}-upcast"])
    assert upcast.model.stored_dtype == "float32"
    for name in ("attentions", "hidden_states", "hidden_norms", "pooler_output"):
        got, want = getattr(half, name), getattr(upcast, name)
        assert got is not None and got.dtype == np.float32, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert np.isfinite(half.attentions).all()
    assert half.meta()["stored_dtype"] == dtype


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_status_text_says_the_weights_were_upcast(checkpoints, dtype):
    info = load_model(ModelSource.parse(str(checkpoints[dtype]))).info
    text = model_status_text(info)
    assert text == (
        f"{checkpoints[dtype]} · bert · 4 layers · 4 heads · d=32 · "
        f"stored as {dtype}, computed in float32"
    )
    upcast = load_model(ModelSource.parse(str(checkpoints[f"{dtype}-upcast"]))).info
    assert (
        model_status_text(upcast)
        == f"{checkpoints[f'{dtype}-upcast']} · bert · 4 layers · 4 heads · d=32"
    )


def test_inspect_on_a_bfloat16_folder_writes_float32_arrays(checkpoints, tmp_path, capsys):
    out = tmp_path / "bf16.npz"
    code = cli_main(["inspect", TEXT, "--model", str(checkpoints["bfloat16"]), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    data = np.load(out, allow_pickle=False)
    for name in ("attentions", "hidden_states", "hidden_norms", "pooler_output"):
        assert data[name].dtype == np.float32, name
        assert np.isfinite(data[name]).all(), name
    assert json.loads(str(data["meta"]))["stored_dtype"] == "bfloat16"


def test_stored_dtype_falls_back_to_the_config_without_readable_weights(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"torch_dtype": "float16"}))
    assert stored_dtype(str(tmp_path), True) == "float16"
    # A header length past the end of the file: a broken file, never a huge read.
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", 10**12) + b"{}")
    assert stored_dtype(str(tmp_path), True) == "float16"
    (tmp_path / "config.json").write_text(json.dumps({"dtype": "bfloat16"}))
    assert stored_dtype(str(tmp_path), True) == "bfloat16"
    (tmp_path / "config.json").write_text("{}")
    assert stored_dtype(str(tmp_path), True) == "float32"
    assert stored_dtype(str(tmp_path / "missing"), True) == "float32"


def test_stored_dtype_reads_the_weights_over_the_config(tmp_path):
    header = {
        "__metadata__": {"format": "pt"},
        "position_ids": {"dtype": "I64", "shape": [1, 512], "data_offsets": [0, 4096]},
        "big": {"dtype": "BF16", "shape": [8, 8], "data_offsets": [4096, 4224]},
        "norm": {"dtype": "F32", "shape": [8], "data_offsets": [4224, 4256]},
    }
    raw = json.dumps(header).encode()
    payload = struct.pack("<Q", len(raw)) + raw + bytes(4256)
    (tmp_path / "model.safetensors").write_bytes(payload)
    (tmp_path / "config.json").write_text(json.dumps({"dtype": "float32"}))
    assert stored_dtype(str(tmp_path), True) == "bfloat16"  # most float elements are BF16
