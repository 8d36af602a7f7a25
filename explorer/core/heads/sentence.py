"""A sentence-transformers folder's pooling, computed the way sentence-transformers does it.

The folder's ``modules.json`` lists Transformer → Pooling (→ Normalize). The pooling modes and
their order follow sentence-transformers' Pooling module (legacy ``pooling_mode_*`` flags or
the newer ``pooling_mode``); importing the library itself costs 5 s, so its arithmetic for one
unpadded sequence is repeated here and a test holds it equal to ``SentenceTransformer.encode``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.core.model_checks import OTHER_JSON_LIMIT, read_json_bounded

# What a hub repository's sentence-transformers pipeline is read from (fetched with the
# config and tokenizer files, so a hub model shows its sentence embedding too).
SENTENCE_FILES = ("modules.json", "sentence_bert_config.json", "*_Pooling/config.json")
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
_LEGACY_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


@dataclass(frozen=True)
class SentencePooling:
    """How a sentence-transformers folder turns token states into one sentence vector."""

    modes: tuple[str, ...]
    normalize: bool
    max_seq_length: int | None  # sentence-transformers truncates each sentence to this

    def describe(self) -> str:
        """'mean pooling, then normalised' and the like, for the panel and meta."""
        text = " + ".join(self.modes) + " pooling"
        return text + (", then L2-normalised" if self.normalize else "")


@dataclass(frozen=True)
class SentenceFolder:
    """What modules.json says: the pooling, or why it cannot be reproduced (``note``)."""

    pooling: SentencePooling | None
    note: str = ""


def read_sentence_folder(folder: Path | None) -> SentenceFolder | None:
    """The folder's sentence-transformers pipeline; None when it is not such a folder."""
    if folder is None or not os.path.lexists(folder / "modules.json"):
        return None
    path = folder / "modules.json"
    try:
        modules = read_json_bounded(path, OTHER_JSON_LIMIT, "The sentence-transformers file")
    except Exception as err:  # a broken modules.json only costs the sentence head
        return SentenceFolder(None, f"{path} could not be read ({err}).")
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        return SentenceFolder(None, f"{path} is not a list of modules.")
    pooling_entries = [m for m in modules if str(m.get("type", "")).endswith(".Pooling")]
    if not pooling_entries:
        return None  # a sentence-transformers folder without pooling is just an encoder
    other = [
        str(m.get("type"))
        for m in modules
        if str(m.get("type", "")).rsplit(".", 1)[-1] not in ("Transformer", "Pooling", "Normalize")
    ]
    if other:
        return SentenceFolder(
            None,
            f"its sentence-transformers pipeline has a module the explorer does not reproduce "
            f"({other[0]}), so no sentence embedding is shown",
        )
    pooling_path = folder / str(pooling_entries[0].get("path", "")) / "config.json"
    try:
        config = read_json_bounded(pooling_path, OTHER_JSON_LIMIT, "The pooling config")
    except Exception as err:
        return SentenceFolder(None, f"the pooling config {pooling_path} could not be read ({err})")
    modes = _pooling_modes(config)
    if isinstance(modes, str):
        return SentenceFolder(None, f"{pooling_path}: {modes}")
    normalize = any(str(m.get("type", "")).endswith(".Normalize") for m in modules)
    return SentenceFolder(SentencePooling(modes, normalize, _max_seq_length(folder)))


def _pooling_modes(config: Any) -> tuple[str, ...] | str:
    """The modes in sentence-transformers' order, or a message saying what is wrong."""
    if not isinstance(config, dict):
        return "not a JSON object"
    stated = config.get("pooling_mode")
    if stated is not None:
        modes = (stated,) if isinstance(stated, str) else stated
        if not isinstance(modes, list | tuple) or not modes:
            return "pooling_mode is neither a name nor a list of names"
    else:
        modes = tuple(mode for key, mode in _LEGACY_FLAGS.items() if config.get(key) is True)
        modes = modes or ("mean",)
    unknown = [m for m in modes if m not in POOLING_MODES]
    if unknown:
        return f"unknown pooling mode {unknown[0]!r} (known: {', '.join(POOLING_MODES)})"
    return tuple(str(m) for m in modes)


def _max_seq_length(folder: Path) -> int | None:
    path = folder / "sentence_bert_config.json"
    if not path.is_file():
        return None
    try:
        config = read_json_bounded(path, OTHER_JSON_LIMIT, "The sentence-transformers config")
    except Exception:  # then sentence-transformers' own default, the model's maximum
        return None
    value = config.get("max_seq_length") if isinstance(config, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def pool(token_states: Any, pooling: SentencePooling) -> Any:
    """One sequence's (T, D) torch states → its (D·modes,) sentence embedding."""
    import torch

    count = token_states.shape[0]
    vectors = []
    for mode in pooling.modes:
        if mode == "cls":
            vectors.append(token_states[0])
        elif mode == "max":
            vectors.append(token_states.max(dim=0).values)
        elif mode == "mean":
            vectors.append(token_states.sum(dim=0) / max(float(count), 1e-9))
        elif mode == "mean_sqrt_len_tokens":
            vectors.append(token_states.sum(dim=0) / torch.sqrt(torch.tensor(float(count))))
        elif mode == "weightedmean":
            weights = torch.arange(1, count + 1, dtype=token_states.dtype).unsqueeze(-1)
            vectors.append((token_states * weights).sum(dim=0) / weights.sum())
        else:  # lasttoken
            vectors.append(token_states[-1])
    embedding = torch.cat(vectors, dim=-1)
    if pooling.normalize:
        embedding = torch.nn.functional.normalize(embedding, p=2, dim=0)
    return embedding
