"""Compare two results of the same model: B − A differences and A·B cosine similarities.

Pure numpy over two InferenceResults, so the CLI (``bert-explorer compare``), a notebook and
the compare window's worker thread (through the ``compare`` analysis) compute the same thing.

Tokens are paired by index when both sides have the same count (the usual "swap one word"
experiment); otherwise by identical token strings with difflib, and whatever has no partner is
left out and named in ``TokenAlignment.describe()``. Attention maps are subtracted only when the
counts match: a query × key cell has no counterpart once the tokens stop lining up one to one.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult, save_npz

COMPARE_FORMAT_VERSION = 1
COMPARE_ANALYSIS = "compare"
BY_INDEX = "index"
BY_TOKENS = "identical tokens"


class CompareError(ExplorerError):
    """Two results that cannot be compared (different models or shapes)."""


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class TokenAlignment:
    """Which token of A is compared with which token of B."""

    pairs: np.ndarray  # (K, 2) int64: (index in A, index in B), increasing in both
    method: str  # BY_INDEX or BY_TOKENS
    tokens_a: tuple[str, ...]
    tokens_b: tuple[str, ...]

    def __post_init__(self) -> None:
        _frozen(self.pairs)

    @property
    def same_count(self) -> bool:
        """Both sides have the same number of tokens (so pairs are i ↔ i)."""
        return len(self.tokens_a) == len(self.tokens_b)

    @property
    def size(self) -> int:
        """K, the number of aligned pairs."""
        return int(self.pairs.shape[0])

    def partner(self, token: int, side: str) -> int:
        """The token on the other side paired with ``token`` of ``side`` ('a' or 'b'), or -1."""
        mine, theirs = (0, 1) if side == "a" else (1, 0)
        hits = np.flatnonzero(self.pairs[:, mine] == token)
        return int(self.pairs[hits[0], theirs]) if hits.size else -1

    def counterpart(self, token: int, side: str) -> int:
        """The partner, or for an unpaired token the token in its place on the other side.

        Selection linking uses this, so picking "python" against "ana ##con ##da" selects
        "ana" rather than nothing; a token in a pure insertion maps to the next paired token.
        -1 only when the other side is empty or ``token`` is -1.
        """
        mine, theirs = (0, 1) if side == "a" else (1, 0)
        other_count = len(self.tokens_b if side == "a" else self.tokens_a)
        if token < 0 or other_count == 0:
            return -1
        paired = self.partner(token, side)
        if paired >= 0:
            return paired
        before = self.pairs[self.pairs[:, mine] < token]
        after = self.pairs[self.pairs[:, mine] > token]
        first_mine = int(before[-1, mine]) + 1 if len(before) else 0
        first_theirs = int(before[-1, theirs]) + 1 if len(before) else 0
        end_theirs = int(after[0, theirs]) if len(after) else other_count
        if end_theirs > first_theirs:  # a replaced span: same offset into it, clamped
            return min(first_theirs + token - first_mine, end_theirs - 1)
        return min(end_theirs, other_count - 1)

    def column_of(self, token_a: int) -> int:
        """The aligned column (0 … K-1) that holds token ``token_a`` of A, or -1."""
        hits = np.flatnonzero(self.pairs[:, 0] == token_a)
        return int(hits[0]) if hits.size else -1

    def labels(self) -> tuple[str, ...]:
        """One label per pair: the token, or ``python|snake`` when the two strings differ."""
        return tuple(
            ta if ta == tb else f"{ta}|{tb}"
            for ta, tb in ((self.tokens_a[i], self.tokens_b[j]) for i, j in self.pairs.tolist())
        )

    def unpaired(self, side: str) -> tuple[int, ...]:
        """Token indices of ``side`` that have no partner."""
        column, count = (0, len(self.tokens_a)) if side == "a" else (1, len(self.tokens_b))
        paired = set(self.pairs[:, column].tolist())
        return tuple(i for i in range(count) if i not in paired)

    def describe(self) -> str:
        """One sentence saying how tokens were paired and what was left out."""
        count_a, count_b = len(self.tokens_a), len(self.tokens_b)
        if self.method == BY_INDEX:
            changed = [
                f'#{i} "{a}" → "{b}"'
                for i, (a, b) in enumerate(zip(self.tokens_a, self.tokens_b, strict=True))
                if a != b
            ]
            what = f"they differ at {', '.join(changed)}" if changed else "the tokens are identical"
            return (
                f"A and B both have {count_a} tokens, so token i of A is paired with token i "
                f"of B ({what})."
            )
        left_a = " ".join(self.tokens_a[i] for i in self.unpaired("a")) or "nothing"
        left_b = " ".join(self.tokens_b[i] for i in self.unpaired("b")) or "nothing"
        return (
            f"A has {count_a} tokens and B has {count_b}, so only the {self.size} tokens with "
            f'identical strings (in order, by difflib) are paired; left out: "{left_a}" in A, '
            f'"{left_b}" in B.'
        )


def align_tokens(tokens_a: Sequence[str], tokens_b: Sequence[str]) -> TokenAlignment:
    """Pair tokens by index when the counts match, else by identical strings (difflib)."""
    tokens_a = tuple(str(t) for t in tokens_a)
    tokens_b = tuple(str(t) for t in tokens_b)
    if len(tokens_a) == len(tokens_b):
        index = np.arange(len(tokens_a), dtype=np.int64)
        return TokenAlignment(np.stack([index, index], axis=1), BY_INDEX, tokens_a, tokens_b)
    matcher = difflib.SequenceMatcher(None, tokens_a, tokens_b, autojunk=False)
    pairs = [
        (block.a + k, block.b + k)
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]
    array = np.asarray(pairs, dtype=np.int64).reshape(len(pairs), 2)
    return TokenAlignment(array, BY_TOKENS, tokens_a, tokens_b)


def align_results(a: InferenceResult, b: InferenceResult) -> TokenAlignment:
    """The alignment of two results' tokens (cheap: the GUI links selections with it)."""
    return align_tokens(a.tokens.tolist(), b.tokens.tolist())


def attention_mismatch_note(count_a: int, count_b: int, aligned: int) -> str:
    """Why there is no attention difference when the token counts differ."""
    return (
        f"No attention difference: A has {count_a} tokens and B has {count_b}, so their "
        f"attention maps ({count_a}×{count_a} and {count_b}×{count_b}) have no cell-by-cell "
        "correspondence (a cell is one query token attending to one key token). Look at each "
        "side's own attention maps instead; the hidden-norm differences and the token cosines "
        f"use the {aligned} tokens whose strings are identical on both sides. For a map "
        "difference, change a word into one with the same number of word pieces."
    )


def cosine_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cosine similarity of matching rows along the last axis (0 where a vector is all zeros).

    Computed in float64 so near-identical vectors give 1.0, not 0.99998. A vector with NaN or
    infinite values (a broken checkpoint) gives NaN, never a made-up 0: the display then
    shows the cell as having no value.
    """
    x64 = np.asarray(x, dtype=np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf · 0 and inf / inf are NaN
        dot = (x64 * y64).sum(axis=-1)
        norms = np.linalg.norm(x64, axis=-1) * np.linalg.norm(y64, axis=-1)
        zero = norms == 0
        cosine = np.where(zero, 0.0, dot / np.where(zero, 1.0, norms))
        cosine = np.where(np.isfinite(norms), cosine, np.nan)
    return np.clip(cosine, -1.0, 1.0).astype(np.float32)  # fresh, so C-contiguous (0-d kept)


def check_comparable(a: InferenceResult, b: InferenceResult, *, two_models: bool = False) -> None:
    """Refuse results of different models: their vectors live in different spaces.

    ``two_models``: one text through two models of one shape (a base model and its fine-tuned
    version), asked for on purpose: only the shapes must agree.
    """
    other_model = a.model.source != b.model.source or a.model.name_or_path != b.model.name_or_path
    if other_model and not two_models:
        raise CompareError(
            f"A was run with {a.model.source} and B with {b.model.source}: comparing needs both "
            "sentences run through the same model."
        )
    shape_a = (a.num_layers, a.num_heads, a.hidden_states.shape[-1])
    shape_b = (b.num_layers, b.num_heads, b.hidden_states.shape[-1])
    if shape_a != shape_b:
        raise CompareError(
            f"A and B come from models of different shapes (layers, heads, hidden size: "
            f"{shape_a} and {shape_b}); run both through the same model."
        )


@dataclass(frozen=True, eq=False)
class Comparison:
    """Every difference (B − A) and similarity between two results of one model.

    K aligned token pairs (``alignment.pairs``); with equal token counts K = T and pair i is
    (i, i), so the arrays are plain elementwise differences.
    """

    a: InferenceResult
    b: InferenceResult
    alignment: TokenAlignment
    attention_diff: np.ndarray | None  # (L, H, T, T) float32 B − A; None: counts differ / skipped
    attention_note: str  # why attention_diff is None ('' when it is there)
    hidden_norm_diff: np.ndarray  # (L + 1, K) float32 ‖h_B‖ − ‖h_A‖ of each aligned pair
    cls_cosine: np.ndarray  # (L + 1,) float32 cosine of the first token's ([CLS]) states
    token_cosine: np.ndarray  # (L + 1, K) float32 cosine of each aligned pair's states
    pooled_cosine: float | None  # cosine of the pooled vectors; None without a trained pooler

    def __post_init__(self) -> None:
        for array in (self.attention_diff, self.hidden_norm_diff, self.cls_cosine):
            if array is not None:
                _frozen(array)
        _frozen(self.token_cosine)

    @property
    def same_token_count(self) -> bool:
        """Both sides have the same number of tokens."""
        return self.alignment.same_count

    def meta(self) -> dict[str, Any]:
        """The JSON stored under ``meta`` in a compare npz."""
        return {
            "format_version": COMPARE_FORMAT_VERSION,
            "kind": "compare",
            "source": self.a.model.source,
            "name_or_path": self.a.model.name_or_path,
            "text_a": self.a.text,
            "pair_a": self.a.pair,
            "text_b": self.b.text,
            "pair_b": self.b.pair,
            "num_tokens_a": self.a.num_tokens,
            "num_tokens_b": self.b.num_tokens,
            "same_token_count": self.same_token_count,
            "alignment": self.alignment.method,
            "num_aligned": self.alignment.size,
            "alignment_note": self.alignment.describe(),
            "attention_note": self.attention_note,
            "pooled_cosine": self.pooled_cosine,
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz payload: both sides' own keys (``a_*``, ``b_*``) plus the comparison's keys."""
        arrays = both_sides(self.a, self.b)
        arrays["aligned_tokens"] = self.alignment.pairs
        arrays["hidden_norm_diff"] = self.hidden_norm_diff
        arrays["cls_cosine"] = self.cls_cosine
        arrays["token_cosine"] = self.token_cosine
        if self.attention_diff is not None:
            arrays["attention_diff"] = self.attention_diff
        if self.pooled_cosine is not None:
            arrays["pooled_cosine"] = np.asarray(self.pooled_cosine, dtype=np.float32)
        arrays["meta"] = np.asarray(json.dumps(self.meta(), ensure_ascii=False))
        return arrays

    def to_npz(self, path: str | Path) -> Path:
        """Write the compare npz (uncompressed, nothing pickled), with the one npz writer."""
        return save_npz(path, self.to_arrays())


def both_sides(a: InferenceResult, b: InferenceResult) -> dict[str, np.ndarray]:
    """Each side's own npz keys, prefixed ``a_`` and ``b_`` (the compare files' common part)."""
    arrays = {f"a_{key}": value for key, value in a.to_arrays().items()}
    arrays.update({f"b_{key}": value for key, value in b.to_arrays().items()})
    return arrays


def compare_results(
    a: InferenceResult, b: InferenceResult, *, with_attention: bool = True, two_models: bool = False
) -> Comparison:
    """B − A and cos(A, B) for everything the explorer shows.

    ``with_attention=False`` skips the (L, H, T, T) difference: the window subtracts the one
    map on show instead, so it never holds a third full attention tensor.
    """
    check_comparable(a, b, two_models=two_models)
    alignment = align_results(a, b)
    index_a, index_b = alignment.pairs[:, 0], alignment.pairs[:, 1]
    attention_diff = None
    note = ""
    # A broken checkpoint's NaN and infinite values propagate (inf − inf is NaN), silently:
    # the result's own notice already says where they start.
    with np.errstate(invalid="ignore"):
        if not alignment.same_count:
            note = attention_mismatch_note(a.num_tokens, b.num_tokens, alignment.size)
        elif with_attention:
            attention_diff = np.ascontiguousarray(np.subtract(b.attentions, a.attentions))
        hidden_norm_diff = np.ascontiguousarray(
            b.hidden_norms[:, index_b] - a.hidden_norms[:, index_a], dtype=np.float32
        )
    token_cosine = cosine_rows(a.hidden_states[:, index_a], b.hidden_states[:, index_b])
    cls_cosine = cosine_rows(a.hidden_states[:, 0], b.hidden_states[:, 0])
    pooled = None
    if a.pooler_output is not None and b.pooler_output is not None:
        pooled = float(cosine_rows(a.pooler_output, b.pooler_output))
    return Comparison(
        a=a,
        b=b,
        alignment=alignment,
        attention_diff=attention_diff,
        attention_note=note,
        hidden_norm_diff=hidden_norm_diff,
        cls_cosine=cls_cosine,
        token_cosine=token_cosine,
        pooled_cosine=pooled,
    )


def compare_analysis(loaded: Any, result: InferenceResult, params: Mapping[str, Any]) -> Comparison:
    """Compare ``params['other']`` (side A) with the result on show (side B), in the worker.

    Listed in ``explorer.core.analysis.registry.ANALYSES``, so the worker's cache and
    stale-reply dropping cover comparisons like any other analysis.
    """
    other = params.get("other")
    if not isinstance(other, InferenceResult):
        raise CompareError("There is no sentence A to compare with.")
    # Two models only when asked for (a comparison of sentences keeps refusing other models).
    two_models: dict[str, bool] = {"two_models": True} if params.get("two_models") else {}
    with_attention = bool(params.get("with_attention", False))
    return compare_results(other, result, with_attention=with_attention, **two_models)
