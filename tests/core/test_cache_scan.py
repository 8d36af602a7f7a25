"""The model picker's cache scan: huggingface_hub's scan, filtered to BERT-family encoders."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from explorer.core.cache_scan import cached_bert_models


def add_to_hf_cache(cache: Path, repo_id: str, files: dict[str, bytes]) -> Path:
    """Lay files out the way huggingface_hub caches a model repo (blobs, refs, snapshots)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    for name, content in files.items():
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.write_bytes(content)
        (snapshot / name).symlink_to(Path("../..") / "blobs" / blob.name)
    return snapshot


def add_folder_to_hf_cache(cache: Path, repo_id: str, folder: Path) -> Path:
    """Cache every file of a saved model folder under ``repo_id``."""
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    return add_to_hf_cache(cache, repo_id, files)


def test_scan_lists_only_bert_family_models(tmp_path):
    cache = tmp_path / "hub"
    add_to_hf_cache(cache, "org/tiny-bert", {"config.json": b'{"model_type": "bert"}'})
    add_to_hf_cache(cache, "FacebookAI/roberta-base", {"config.json": b'{"model_type": "roberta"}'})
    add_to_hf_cache(cache, "t5-small", {"config.json": b'{"model_type": "t5"}'})
    custom = json.dumps({"model_type": "bert", "auto_map": {"AutoModel": "x.Y"}}).encode()
    add_to_hf_cache(cache, "evil/custom", {"config.json": custom})
    add_to_hf_cache(cache, "broken/json", {"config.json": b"{not json"})
    found = cached_bert_models(cache)
    assert [(m.repo_id, m.model_type) for m in found] == [
        ("FacebookAI/roberta-base", "roberta"),
        ("org/tiny-bert", "bert"),
    ]


def test_missing_cache_gives_an_empty_list(tmp_path):
    assert cached_bert_models(tmp_path / "nowhere") == []


def test_a_cached_hub_id_loads_offline(tmp_path, tiny_model_dir, monkeypatch):
    from huggingface_hub import constants

    from explorer.core.loading import load_model
    from explorer.core.sources import ModelSource

    cache = tmp_path / "hub"
    add_folder_to_hf_cache(cache, "org/tiny-bert", tiny_model_dir)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    loaded = load_model(ModelSource.parse("org/tiny-bert"))
    assert loaded.info.num_layers == 4
    assert loaded.info.source == "org/tiny-bert"
    shutil.rmtree(cache)
