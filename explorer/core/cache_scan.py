"""Find BERT-family models already in the local Hugging Face cache (no network).

Uses huggingface_hub's own cache scan, then reads each snapshot's config.json to keep only the
encoders the explorer can show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from explorer.core.loading import SUPPORTED_MODEL_TYPES


@dataclass(frozen=True)
class CachedModel:
    """One cached hub model: its id (what to type) and its model type."""

    repo_id: str
    model_type: str
    size_on_disk: int


def _model_type(snapshot: Path) -> str | None:
    config = snapshot / "config.json"
    try:
        raw = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or raw.get("auto_map"):
        return None  # custom code is never run, so such repos are not offered
    model_type = raw.get("model_type")
    return model_type if isinstance(model_type, str) else None


def cached_bert_models(cache_dir: str | Path | None = None) -> list[CachedModel]:
    """BERT-family models in the cache, sorted by id; an absent or broken cache gives []."""
    from huggingface_hub import constants, scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        # Resolved per call: huggingface_hub binds its default cache folder at import time.
        info = scan_cache_dir(cache_dir or constants.HF_HUB_CACHE)
    except (CacheNotFound, OSError, ValueError):
        return []
    found: list[CachedModel] = []
    for repo in info.repos:
        if repo.repo_type != "model":
            continue
        for revision in sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True):
            model_type = _model_type(Path(revision.snapshot_path))
            if model_type in SUPPORTED_MODEL_TYPES:
                found.append(CachedModel(repo.repo_id, model_type, repo.size_on_disk))
                break
    return sorted(found, key=lambda m: m.repo_id.lower())
