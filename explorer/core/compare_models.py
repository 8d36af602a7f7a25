"""Two models on one text: how their layers relate (CKA) and which tokens correspond.

``compare.py`` compares two sentences through one model; here one text goes through two models
(a base model and its fine-tuned version, BERT and GPT-2). Their tokenizers may cut the text
differently, so tokens are aligned by the characters they came from (the offsets), never by
their strings: ``python`` in WordPiece and ``Ġpy`` + ``thon`` in byte-level BPE cover the same
characters. Overlapping tokens are joined into *spans*, the smallest runs of characters both
tokenizations cut at the same places; each span's state is the mean of its tokens' states.

``layer_cka_ab`` is linear CKA between every layer of A and every layer of B over those spans
(or over the tokens, when both tokenize identically): it needs no common width, so BERT's 768
and GPT-2's 32 compare as well as two copies of one model. Attention differences and token
cosines, which need the same tokens and the same shapes, are kept for identical tokenizations.

Pure numpy over two InferenceResults: the CLI and the window's worker compute the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.cka import _centred_grams
from explorer.core.compare import both_sides, cosine_rows
from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult, save_npz

MODEL_COMPARE_FORMAT_VERSION = 1
COMPARE_MODELS_ANALYSIS = "compare_models"
IDENTICAL = "identical tokenization"
BY_SPANS = "character spans"


@dataclass(frozen=True, eq=False)
class SpanAlignment:
    """Which tokens of A and B cover the same characters of the text.

    ``span_a[i]`` is the span token i of A belongs to (-1: special token, or characters B does
    not cover), likewise ``span_b``; ``pairs`` lists every (token of A, token of B) whose
    characters overlap, in order. With identical tokenizations span i is token i on both sides.
    """

    method: str  # IDENTICAL or BY_SPANS
    span_a: np.ndarray  # (T_a,) int64
    span_b: np.ndarray  # (T_b,) int64
    pairs: np.ndarray  # (P, 2) int64
    tokens_a: tuple[str, ...]
    tokens_b: tuple[str, ...]

    @property
    def num_spans(self) -> int:
        """How many aligned spans (units both sides have a state for)."""
        return int(max(self.span_a.max(initial=-1), self.span_b.max(initial=-1)) + 1)

    def members(self, span: int, side: str) -> np.ndarray:
        """The token indices of ``side`` ('a' or 'b') in ``span``."""
        return np.flatnonzero((self.span_a if side == "a" else self.span_b) == span)

    def counterpart(self, token: int, side: str) -> int:
        """The first token on the other side sharing ``token``'s span, or -1."""
        mine, theirs = (self.span_a, self.span_b) if side == "a" else (self.span_b, self.span_a)
        if not 0 <= token < mine.shape[0] or mine[token] < 0:
            return -1
        hits = np.flatnonzero(theirs == mine[token])
        return int(hits[0]) if hits.size else -1

    def describe(self) -> str:
        """One sentence: how the tokens were aligned and what was left out."""
        count_a, count_b = len(self.tokens_a), len(self.tokens_b)
        if self.method == IDENTICAL:
            return f"Both models cut the text into the same {count_a} tokens: token i ↔ token i."
        left_a = int((self.span_a < 0).sum())
        left_b = int((self.span_b < 0).sum())
        return (
            f"The tokenizers differ (A {count_a} tokens, B {count_b}): tokens are aligned by the "
            f"characters they came from into {self.num_spans} spans (each span's state is the "
            f"mean of its tokens'); {left_a} token(s) of A and {left_b} of B cover no shared "
            "characters (special tokens, pieces of a space alone) and are left out."
        )


def _identical(a: InferenceResult, b: InferenceResult) -> bool:
    return (
        a.tokens.shape == b.tokens.shape
        and bool((a.tokens == b.tokens).all())
        and bool((a.offsets == b.offsets).all())
        and bool((a.sequence_ids == b.sequence_ids).all())
    )


def _char_spans(result: InferenceResult) -> list[tuple[int, int, int] | None]:
    """(sentence, start, end) of each token without surrounding spaces (None: no characters).

    Special tokens and pieces of spaces alone have none. GPT-2's offsets include the space a
    piece begins with (``Ġmy`` covers " my"), RoBERTa's do not: trimmed, both say "my".
    """
    spans: list[tuple[int, int, int] | None] = []
    special = result.special_tokens_mask.tolist()
    for token, (sequence, (start, end)) in enumerate(
        zip(result.sequence_ids.tolist(), result.offsets.tolist(), strict=True)
    ):
        sentence = None if special[token] else result.sentence_of(token)
        if sentence is not None:
            while start < end and sentence[start].isspace():
                start += 1
            while end > start and sentence[end - 1].isspace():
                end -= 1
        usable = sentence is not None and end > start
        spans.append((sequence, start, end) if usable else None)
    return spans


def align_spans(a: InferenceResult, b: InferenceResult) -> SpanAlignment:
    """Align two tokenizations of one text by character offsets (see the module docstring)."""
    tokens_a = tuple(str(t) for t in a.tokens.tolist())
    tokens_b = tuple(str(t) for t in b.tokens.tolist())
    if _identical(a, b):
        index = np.arange(a.num_tokens, dtype=np.int64)
        return SpanAlignment(
            IDENTICAL, index, index.copy(), np.stack([index, index], 1), tokens_a, tokens_b
        )
    if (a.text, a.pair) != (b.text, b.pair):
        raise ValueError("Span alignment needs both models to have read the same text.")
    spans_a, spans_b = _char_spans(a), _char_spans(b)
    pairs = [
        (i, j)
        for i, sa in enumerate(spans_a)
        if sa is not None
        for j, sb in enumerate(spans_b)
        if sb is not None and sa[0] == sb[0] and sa[1] < sb[2] and sb[1] < sa[2]
    ]
    # Union-find over A's tokens (0 … T_a − 1) and B's (T_a …): a span is a component.
    parent = list(range(len(spans_a) + len(spans_b)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for i, j in pairs:
        parent[root(len(spans_a) + j)] = root(i)
    span_of_root: dict[int, int] = {}
    for i, _j in pairs:  # numbered in A's order, so spans run left to right
        span_of_root.setdefault(root(i), len(span_of_root))
    span_a = np.array([span_of_root.get(root(i), -1) for i in range(len(spans_a))], dtype=np.int64)
    span_b = np.array(
        [span_of_root.get(root(len(spans_a) + j), -1) for j in range(len(spans_b))],
        dtype=np.int64,
    )
    array = np.asarray(pairs, dtype=np.int64).reshape(len(pairs), 2)
    return SpanAlignment(BY_SPANS, span_a, span_b, array, tokens_a, tokens_b)


def span_states(hidden_states: np.ndarray, span_of_token: np.ndarray, count: int) -> np.ndarray:
    """(L + 1, S, D) float64: each span's state, the mean of its tokens' states, per layer."""
    states = np.zeros((hidden_states.shape[0], count, hidden_states.shape[-1]), np.float64)
    sizes = np.bincount(span_of_token[span_of_token >= 0], minlength=count)
    for token in np.flatnonzero(span_of_token >= 0).tolist():
        states[:, span_of_token[token]] += hidden_states[:, token]
    return states / np.maximum(sizes, 1)[None, :, None]


def layer_cka_ab(states_a: np.ndarray, states_b: np.ndarray) -> np.ndarray:
    """(L_a + 1, L_b + 1) float32 linear CKA of every layer of A against every layer of B.

    ``states_*`` are (layers, n, width) over the same n examples (spans); widths may differ.
    A layer without variance gets 0 against every layer (CKA is undefined there).
    """
    if states_a.shape[1] != states_b.shape[1]:
        raise ValueError("Both sides need states of the same examples (spans or tokens).")
    grams = [_centred_grams(s).reshape(s.shape[0], -1) for s in (states_a, states_b)]
    norms = [np.linalg.norm(g, axis=1) for g in grams]
    units = [g / np.where(n > 0, n, 1.0)[:, None] for g, n in zip(grams, norms, strict=True)]
    cka = units[0] @ units[1].T
    cka[norms[0] == 0, :] = 0.0
    cka[:, norms[1] == 0] = 0.0
    return np.clip(cka, -1.0, 1.0).astype(np.float32)


def linked_layer(layer: int, layers_from: int, layers_to: int) -> int:
    """The layer of the other model at the same relative depth (0-based, over L layers each)."""
    if layers_from <= 1 or layers_to <= 1:
        return min(max(layer, 0), max(layers_to - 1, 0))
    return round(layer * (layers_to - 1) / (layers_from - 1))


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """One text through two models: CKA between their layers and their aligned tokens.

    When the tokens and shapes agree, attention differences and per-token cosines too.
    """

    a: InferenceResult
    b: InferenceResult
    alignment: SpanAlignment
    layer_cka_ab: np.ndarray  # (L_a + 1, L_b + 1) float32
    attention_diff: np.ndarray | None  # (L, H, T, T) B − A; None: see attention_note
    attention_note: str
    token_cosine: np.ndarray | None  # (L + 1, T) cos of each token's states; see cosine_note
    cosine_note: str

    def meta(self) -> dict[str, Any]:
        """The JSON stored under ``meta`` in a two-model compare npz."""
        return {
            "format_version": MODEL_COMPARE_FORMAT_VERSION,
            "kind": "compare-models",
            "text": self.a.text,
            "pair": self.a.pair,
            "model_a": self.a.model.source,
            "model_b": self.b.model.source,
            "model_type_a": self.a.model.model_type,
            "model_type_b": self.b.model.model_type,
            "causal_a": self.a.model.causal,
            "causal_b": self.b.model.causal,
            "alignment": self.alignment.method,
            "num_spans": self.alignment.num_spans,
            "alignment_note": self.alignment.describe(),
            "attention_note": self.attention_note,
            "cosine_note": self.cosine_note,
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Both sides' own keys (``a_*``, ``b_*``), the CKA and the alignment."""
        arrays = both_sides(self.a, self.b)
        arrays["layer_cka_ab"] = self.layer_cka_ab
        arrays["a_span"] = self.alignment.span_a
        arrays["b_span"] = self.alignment.span_b
        arrays["aligned_tokens"] = self.alignment.pairs
        if self.attention_diff is not None:
            arrays["attention_diff"] = self.attention_diff
        if self.token_cosine is not None:
            arrays["token_cosine"] = self.token_cosine
        arrays["meta"] = np.asarray(json.dumps(self.meta(), ensure_ascii=False))
        return arrays

    def to_npz(self, path: str | Path) -> Path:
        """Write the npz (uncompressed, nothing pickled) with the one npz writer."""
        return save_npz(path, self.to_arrays())


def compare_models(a: InferenceResult, b: InferenceResult) -> ModelComparison:
    """Everything the side-by-side view and ``bert-explorer compare --model-b`` show."""
    alignment = align_spans(a, b)
    count = alignment.num_spans
    layer_cka = layer_cka_ab(
        span_states(a.hidden_states, alignment.span_a, count),
        span_states(b.hidden_states, alignment.span_b, count),
    )
    attention_diff, token_cosine = None, None
    identical = alignment.method == IDENTICAL
    if not identical:
        attention_note = cosine_note = (
            "The tokenizers cut the text differently, so attention cells and token states "
            "have no one-to-one counterparts; compare each side's maps, and the layers by CKA."
        )
    else:
        attention_note = cosine_note = ""
        if a.attentions.shape == b.attentions.shape:
            with np.errstate(invalid="ignore"):
                attention_diff = np.ascontiguousarray(np.subtract(b.attentions, a.attentions))
        else:
            attention_note = (
                f"No attention difference: A has {a.num_layers} layers × {a.num_heads} heads, "
                f"B {b.num_layers} × {b.num_heads}."
            )
        if a.hidden_states.shape == b.hidden_states.shape:
            token_cosine = cosine_rows(a.hidden_states, b.hidden_states)
        else:
            cosine_note = (
                "No token cosines: the two models' states differ in shape "
                f"({a.hidden_states.shape[0] - 1} layers of {a.hidden_states.shape[-1]} and "
                f"{b.hidden_states.shape[0] - 1} of {b.hidden_states.shape[-1]}); CKA needs "
                "no common width."
            )
    return ModelComparison(
        a, b, alignment, layer_cka, attention_diff, attention_note, token_cosine, cosine_note
    )


def compare_models_analysis(
    _loaded: Any, result: InferenceResult, params: Mapping[str, Any]
) -> ModelComparison:
    """Model A's result (``params['other']``) against model B's on show, in the worker."""
    other = params.get("other")
    if not isinstance(other, InferenceResult):
        raise ExplorerError("There is no result of model A to compare with.")
    return compare_models(other, result)
