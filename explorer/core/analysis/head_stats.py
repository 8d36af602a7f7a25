"""Per-head statistics after Clark et al. (2019), "What Does BERT Look At?".

Every statistic is averaged over query rows, so it reads as "a typical token in this head …":

- ``entropy``: of each row after smoothing a' = 0.9999·a + 0.0001/T (nats; a uniform row
  has log T, a one-hot row about 0).
- ``cls``, ``sep``, ``punct``, ``self``: share of the row on [CLS] (the family's own: RoBERTa's
  ``<s>``; without known ids, the special token at position 0), on [SEP] (every other special
  token: ``</s>``, …), on punctuation tokens, on itself.
- ``prev``, ``next``: weight on the token just before / after, over the rows that have one.
- ``distance``: expected |i − j| under the row, how far from the diagonal a head looks.
- ``same``: share on tokens of the query's own sentence (blocks.token_segments).
- ``top_key``: share on the single key that gets the most attention overall.

``pattern`` labels each head by the first rule that holds (after Kovaleva et al. 2019,
"Revealing the Dark Secrets of BERT"):

1. vertical: cls + sep + punct ≥ 0.5, or top_key ≥ 0.5 (every query looks at the same few
   keys);
2. diagonal: prev + self + next ≥ 0.5 (each token looks at its neighbourhood);
3. block: a sentence pair only, same ≥ 0.8 (each sentence looks at itself);
4. heterogeneous: anything else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.analysis.blocks import token_segments
from explorer.core.results import InferenceResult

SMOOTHING = 1e-4
STATISTICS: dict[str, str] = {
    "entropy": "entropy (nats)",
    "cls": "to [CLS]",
    "sep": "to [SEP]",
    "punct": "to punctuation",
    "self": "to itself",
    "prev": "to previous",
    "next": "to next",
    "distance": "mean |i − j|",
    "same": "within own sentence",
    "top_key": "to top key",
}
VERTICAL, DIAGONAL, BLOCK, HETEROGENEOUS = "vertical", "diagonal", "block", "heterogeneous"
PATTERNS = (VERTICAL, DIAGONAL, BLOCK, HETEROGENEOUS)
VERTICAL_SHARE = 0.5
DIAGONAL_SHARE = 0.5
BLOCK_SHARE = 0.8


@dataclass(frozen=True, eq=False)
class HeadStats:
    """Every statistic as an (L, H) float32 array, plus the (L, H) pattern labels."""

    values: dict[str, np.ndarray]
    pattern: np.ndarray  # (L, H) str

    def to_structured(self) -> np.ndarray:
        """(L, H) structured array, one field a statistic plus ``pattern`` (no pickle needed)."""
        dtype = [(name, np.float32) for name in STATISTICS] + [("pattern", "U13")]
        table = np.zeros(self.pattern.shape, dtype=dtype)
        for name in STATISTICS:
            table[name] = self.values[name]
        table["pattern"] = self.pattern
        return table


def is_punctuation(token: str) -> bool:
    """A word piece made only of punctuation characters (Unicode P* categories)."""
    text = token.removeprefix("##").removeprefix("Ġ").removeprefix("▁")
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def family_role_ids(
    special_tokens: tuple[tuple[str, str, int], ...],
) -> tuple[frozenset[int], frozenset[int]]:
    """(ids in [CLS]'s role, ids in [SEP]'s role) from ModelInfo.special_tokens.

    [CLS]'s role is the cls or bos token (BERT's [CLS], RoBERTa's <s>), [SEP]'s the sep or
    eos token ([SEP], </s>). GPT-2's <|endoftext|> is both: token_roles then goes by position.
    """
    starts, ends = set(), set()
    for roles, _token, token_id in special_tokens:
        names = set(roles.split("/"))
        if token_id >= 0 and names & {"cls", "bos"}:
            starts.add(token_id)
        if token_id >= 0 and names & {"sep", "eos"}:
            ends.add(token_id)
    return frozenset(starts), frozenset(ends)


def role_labels(special_tokens: tuple[tuple[str, str, int], ...]) -> dict[str, str]:
    """STATISTICS with the family's own names for the [CLS] and [SEP] shares ("to <s>")."""
    labels = dict(STATISTICS)
    for key, role in (("cls", "cls"), ("sep", "sep")):
        token = next((t for r, t, _i in special_tokens if role in r.split("/")), None)
        # GPT-2 has neither: its shares stay 0 unless such a token is typed as text.
        labels[key] = f"to {token}" if token is not None else f"{labels[key]} (none here)"
    return labels


def token_roles(
    tokens: np.ndarray,
    special: np.ndarray,
    input_ids: np.ndarray | None = None,
    role_ids: tuple[frozenset[int], frozenset[int]] | None = None,
) -> tuple[np.ndarray, ...]:
    """(cls, sep, punct) boolean masks: the family's [CLS], other specials, punctuation.

    Without ``role_ids`` (or with none for [CLS]), [CLS] is the special token at position 0.
    """
    special = np.asarray(special, dtype=bool)
    first = np.arange(special.size) == 0
    if input_ids is None or role_ids is None or not role_ids[0]:
        cls = special & first
    else:
        ids = np.asarray(input_ids)
        starts, ends = (np.isin(ids, sorted(group)) for group in role_ids)
        cls = special & starts & (~ends | first)  # a token in both roles: [CLS] only at 0
    sep = special & ~cls
    punct = np.array([is_punctuation(str(t)) for t in tokens], dtype=bool) & ~special
    return cls, sep, punct


def pattern_labels(values: Mapping[str, np.ndarray], is_pair: bool) -> np.ndarray:
    """Apply the documented rules, first match wins."""
    to_fixed = values["cls"] + values["sep"] + values["punct"]
    local = values["prev"] + values["self"] + values["next"]
    labels = np.full(values["cls"].shape, HETEROGENEOUS, dtype="U13")
    vertical = (to_fixed >= VERTICAL_SHARE) | (values["top_key"] >= VERTICAL_SHARE)
    diagonal = ~vertical & (local >= DIAGONAL_SHARE)
    block = ~vertical & ~diagonal & (values["same"] >= BLOCK_SHARE) & is_pair
    labels[vertical] = VERTICAL
    labels[diagonal] = DIAGONAL
    labels[block] = BLOCK
    return labels


def head_statistics(
    attentions: np.ndarray,
    tokens: np.ndarray,
    special: np.ndarray,
    sequence_ids: np.ndarray,
    input_ids: np.ndarray | None = None,
    role_ids: tuple[frozenset[int], frozenset[int]] | None = None,
) -> HeadStats:
    """Statistics of every head, one layer at a time (bounded memory at 512 tokens)."""
    layers, heads, count, _ = attentions.shape
    cls, sep, punct = token_roles(tokens, special, input_ids, role_ids)
    segments = token_segments(sequence_ids)
    same = (segments[:, None] == segments[None, :]).astype(np.float32)
    positions = np.arange(count)
    distance = np.abs(positions[:, None] - positions[None, :]).astype(np.float32)
    values = {name: np.zeros((layers, heads), dtype=np.float32) for name in STATISTICS}
    for layer in range(layers):
        a = np.asarray(attentions[layer], dtype=np.float32)  # (H, T, T)
        smoothed = (1.0 - SMOOTHING) * a + SMOOTHING / count
        values["entropy"][layer] = -(smoothed * np.log(smoothed)).sum(-1).mean(-1)
        values["cls"][layer] = a[:, :, cls].sum(-1).mean(-1)
        values["sep"][layer] = a[:, :, sep].sum(-1).mean(-1)
        values["punct"][layer] = a[:, :, punct].sum(-1).mean(-1)
        values["self"][layer] = np.diagonal(a, axis1=1, axis2=2).mean(-1)
        if count > 1:
            values["prev"][layer] = np.diagonal(a, offset=-1, axis1=1, axis2=2).mean(-1)
            values["next"][layer] = np.diagonal(a, offset=1, axis1=1, axis2=2).mean(-1)
        values["distance"][layer] = (a * distance).sum(-1).mean(-1)
        values["same"][layer] = (a * same).sum(-1).mean(-1)
        values["top_key"][layer] = a.mean(axis=1).max(axis=-1)
    is_pair = bool((np.asarray(sequence_ids) == 1).any())
    return HeadStats(values=values, pattern=pattern_labels(values, is_pair))


def head_statistics_of(result: InferenceResult) -> HeadStats:
    """Statistics of a result's heads."""
    return head_statistics(
        result.attentions,
        result.tokens,
        result.special_tokens_mask,
        result.sequence_ids,
        result.input_ids,
        family_role_ids(result.model.special_tokens),
    )


def head_stats_analysis(
    _loaded: Any, result: InferenceResult, _params: Mapping[str, Any]
) -> HeadStats:
    """Every head of every layer: a log over L·H·T² weights, so it runs in the worker."""
    return head_statistics_of(result)
