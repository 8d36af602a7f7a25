"""Model sources and loading failures: each bad source gives a message that says what to do."""

from __future__ import annotations

import json
import shutil

import pytest

from explorer.core.errors import ModelLoadError
from explorer.core.loading import load_model
from explorer.core.sources import ModelSource, SourceKind


def test_parse_sources(tmp_path):
    assert ModelSource.parse("").kind is SourceKind.EMBEDDED
    assert ModelSource.parse("embedded").kind is SourceKind.EMBEDDED
    assert ModelSource.parse("bert-base-uncased") == ModelSource(
        SourceKind.HUB, "bert-base-uncased"
    )
    assert ModelSource.parse("google/bert_uncased_L-4_H-256_A-4").kind is SourceKind.HUB
    assert ModelSource.parse(str(tmp_path)).kind is SourceKind.FOLDER
    assert ModelSource.parse("./not-there").kind is SourceKind.FOLDER
    with pytest.raises(ModelLoadError, match="neither an existing folder nor"):
        ModelSource.parse("bad id with spaces")


def test_tiny_model_loads_with_eager_attention(tiny_model):
    assert tiny_model.info.num_layers == 4
    assert tiny_model.info.num_heads == 4
    assert tiny_model.info.attn_implementation == "eager"
    assert tiny_model.info.has_pooler


def test_missing_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(ModelSource.parse(str(tmp_path / "nope")))


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        load_model(ModelSource.parse(str(tmp_path)))


def test_non_bert_family_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(ModelLoadError, match=r"'t5' model.*BERT-family.*T5, BART"):
        load_model(ModelSource.parse(str(tmp_path)))


def test_custom_code_is_refused(tmp_path, tiny_model_dir):
    shutil.copytree(tiny_model_dir, tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="trust_remote_code"):
        load_model(ModelSource.parse(str(tmp_path / "m")))


def test_missing_vocabulary(tmp_path, tiny_model_dir):
    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    for name in ("vocab.txt", "tokenizer.json"):
        (folder / name).unlink()
    with pytest.raises(ModelLoadError, match="tokenizer"):
        load_model(ModelSource.parse(str(folder)))


def test_layer_count_mismatch(tmp_path, tiny_model_dir):
    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 6
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="does not match its config"):
        load_model(ModelSource.parse(str(folder)))


def test_corrupt_weights(tmp_path, tiny_model_dir):
    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="weights"):
        load_model(ModelSource.parse(str(folder)))


def test_unreachable_hub_id_names_offline_and_cache():
    with pytest.raises(ModelLoadError) as info:
        load_model(ModelSource.parse("bert-base-uncased"))
    message = str(info.value)
    assert "HF_HUB_OFFLINE" in message
    assert "cache" in message


def test_pickled_bin_only_folder_loads_as_tensors_only(tmp_path, tiny_model_dir, tiny_model):
    import torch

    from explorer.core.inference import run_inference

    folder = tmp_path / "bin-only"
    shutil.copytree(tiny_model_dir, folder)
    state = tiny_model.model.state_dict()
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    loaded = load_model(ModelSource.parse(str(folder)))
    expected = run_inference(tiny_model, "same weights")
    got = run_inference(loaded, "same weights")
    assert (got.attentions == expected.attentions).all()


class _Exploit:
    """Unpickling this would run code; weights_only loading must refuse it."""

    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/explorer-pickle-was-executed",))


def test_a_hostile_pickle_is_refused_and_never_run(tmp_path, tiny_model_dir):
    import os
    import pickle

    marker = "/tmp/explorer-pickle-was-executed"
    if os.path.exists(marker):
        os.unlink(marker)
    folder = tmp_path / "evil"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model.safetensors").unlink()
    with (folder / "pytorch_model.bin").open("wb") as handle:
        pickle.dump({"embeddings.word_embeddings.weight": _Exploit()}, handle, protocol=2)
    with pytest.raises(ModelLoadError, match="Nothing was executed"):
        load_model(ModelSource.parse(str(folder)))
    assert not os.path.exists(marker)
