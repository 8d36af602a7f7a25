"""What the checkpoint's own head predicted, as frozen numpy (the GUI reads these without torch)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

TOP_K = 10


def _freeze_all(item: Any) -> None:
    for f in fields(item):
        value = getattr(item, f.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False


@dataclass(frozen=True, eq=False)
class TopTokens:
    """The top-k vocabulary entries at some positions (descending probability)."""

    positions: np.ndarray  # (P,) int64, token positions
    ids: np.ndarray  # (P, k) int64
    probs: np.ndarray  # (P, k) float32
    tokens: np.ndarray  # (P, k) str

    def __post_init__(self) -> None:
        _freeze_all(self)

    def at(self, position: int) -> int | None:
        """Row of ``position`` (None when it was not computed)."""
        hits = np.flatnonzero(self.positions == position)
        return int(hits[0]) if hits.size else None


@dataclass(frozen=True)
class Answer:
    """The best answer span: token positions (inclusive), its text and p_start · p_end."""

    start: int
    end: int
    text: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        """The ``meta["answer"]`` form."""
        return {"start": self.start, "end": self.end, "text": self.text, "score": self.score}


@dataclass(frozen=True, eq=False)
class Predictions:
    """The head's outputs of one forward pass; the fields of other heads stay None."""

    head: str  # one of explorer.core.heads.choice.HEAD_KINDS
    note: str = ""  # why a head named in the config is not shown
    masked: TopTokens | None = None  # every mask token's top 10
    nsp_probs: np.ndarray | None = None  # (2,) index 0: "B follows A"
    class_probs: np.ndarray | None = None  # (C,) softmax (sigmoid for multi-label)
    class_logits: np.ndarray | None = None  # (C,)
    labels: tuple[str, ...] = ()
    problem: str = ""  # single_label_classification, multi_label_classification, regression
    token_class_probs: np.ndarray | None = None  # (T, C)
    qa_start_probs: np.ndarray | None = None  # (T,)
    qa_end_probs: np.ndarray | None = None  # (T,)
    answer: Answer | None = None
    sentence_embedding: np.ndarray | None = None  # (D,) A alone (this pass, when no pair)
    pooling: str = ""  # how the sentence embedding is pooled
    pair_embedding: np.ndarray | None = None  # (D,) B alone (added by with_sentence_pair)
    pair_cosine: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze_all(self)

    def token_labels(self) -> list[tuple[str, float]]:
        """(label, probability) of each token's most probable class ([] without that head)."""
        probs = self.token_class_probs
        if probs is None:
            return []
        best = probs.argmax(axis=-1).tolist()
        names = self.labels
        return [
            (names[b] if b < len(names) else str(b), float(probs[i, b])) for i, b in enumerate(best)
        ]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The documented npz keys this pass fills (``mlm_top_*`` come from the export)."""
        arrays: dict[str, np.ndarray] = {}
        for name in (
            "nsp_probs",
            "class_probs",
            "class_logits",
            "token_class_probs",
            "qa_start_probs",
            "qa_end_probs",
            "sentence_embedding",
            "pair_embedding",
        ):
            value = getattr(self, name)
            if value is not None:
                arrays[name] = value
        return arrays

    def meta(self) -> dict[str, Any]:
        """``head``, ``head_note``, ``labels``, ``answer`` and the pooling, for npz meta."""
        meta: dict[str, Any] = {"head": self.head}
        if self.note:
            meta["head_note"] = self.note
        if self.labels:
            meta["labels"] = list(self.labels)
        if self.problem:
            meta["problem_type"] = self.problem
        if self.answer is not None:
            meta["answer"] = self.answer.as_dict()
        if self.pooling:
            meta["sentence_pooling"] = self.pooling
        if self.pair_cosine is not None:
            meta["pair_cosine"] = self.pair_cosine
        return meta


@dataclass(frozen=True, eq=False)
class SentencePair:
    """A and B each encoded alone, as sentence-transformers does, and their cosine."""

    a: np.ndarray  # (D,) float32
    b: np.ndarray  # (D,) float32
    cosine: float
    pooling: str

    def __post_init__(self) -> None:
        _freeze_all(self)


@dataclass(frozen=True, eq=False)
class LensGrid:
    """The masked-LM head on every layer's hidden state: (L+1, T, k) top tokens."""

    ids: np.ndarray  # (L+1, T, k) int64
    probs: np.ndarray  # (L+1, T, k) float32
    tokens: np.ndarray  # (L+1, T, k) str

    def __post_init__(self) -> None:
        _freeze_all(self)
