"""What the in-process runs and the child probes share: model folders and T-token sentences.

Nothing here imports Qt; torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SIZES = (8, 64, 128, 512)
SMOKE_SIZES = (8,)
TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
# A tiny configuration for the smoke run (seconds, not minutes); "base" is BertConfig() itself.
TINY_CONFIG: dict[str, int] = {
    "hidden_size": 32,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 37,
}
_WORDS = tuple(
    " ".join(
        (
            "the old man sat by the river and watched the boats go past while his dog slept in",
            "the sun and the children played a game on the grass near the school where they learn",
            "to read and write every day before they go home for dinner with their family",
        )
    ).split()
)


def save_random_bert(folder: Path, architecture: str = "BertModel", **config: Any) -> Path:
    """Save a randomly initialised BERT (BertConfig defaults unless overridden).

    ``architecture`` names the transformers class (BertForMaskedLM, ...): its head is saved
    with it and named in config.json. The embedded model's tokenizer files go beside it: its
    uncased vocabulary is BERT base's.
    """
    import torch
    import transformers
    from transformers import BertConfig
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the table is the output, not shard progress bars

    from explorer.core.sources import embedded_model_path

    torch.manual_seed(0)
    model = getattr(transformers, architecture)(BertConfig(**config))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    source = embedded_model_path()
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)
    return folder


def sentence_of_length(tokenizer: Any, count: int, variant: int = 0) -> str:
    """An English-looking sentence that tokenizes to exactly ``count`` tokens ([CLS] … [SEP]).

    ``variant`` rotates the words so that consecutive runs never send the same text.
    """
    words = [w for w in dict.fromkeys(_WORDS) if len(tokenizer.tokenize(w)) == 1]
    picked = [words[(variant + i) % len(words)] for i in range(max(count - 2, 1))]
    text = " ".join(picked)
    got = len(tokenizer(text)["input_ids"])
    if got != count:
        raise RuntimeError(f"built a sentence of {got} tokens instead of {count}")
    return text


def isolate_settings() -> Path:
    """Point QSettings at a fresh temporary folder: a benchmark never touches real settings.

    A fresh folder is also what a first start sees: the default model and sentences.
    """
    import tempfile

    from PySide6.QtCore import QSettings

    folder = Path(tempfile.mkdtemp(prefix="explorer-bench-settings-"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder


def at_most(value: float, limit: float) -> dict[str, Any]:
    """A target's verdict as bench-results.json writes it: met when ``value`` ≤ ``limit``."""
    return {"value": value, "limit": limit, "met": value <= limit}


def median(values: Sequence[float]) -> float:
    """The median (never the best run), or NaN when nothing was measured."""
    return float(statistics.median(values)) if values else float("nan")
