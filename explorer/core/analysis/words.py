"""Word-level attention: merge word pieces into words.

Merging follows Clark et al. (2019): for attention *to* a word, sum the weights over its pieces
(the word receives what its pieces receive); for attention *from* a word, average over its
pieces (each piece's row is a distribution, and the mean of distributions is one). So every
merged row still sums to 1. Special tokens stay words of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.results import InferenceResult


@dataclass(frozen=True, eq=False)
class WordGroups:
    """Which word each token belongs to, and what each word is called."""

    group_of_token: np.ndarray  # (T,) int64, word index per token
    first_token: np.ndarray  # (G,) int64, the first piece of each word
    labels: tuple[str, ...]  # (G,) display names

    @property
    def num_groups(self) -> int:
        """G, the number of words (special tokens count as words)."""
        return len(self.first_token)


def group_word_pieces(sequence_ids: np.ndarray, word_ids: np.ndarray) -> np.ndarray:
    """Word index per token: pieces sharing (sentence, word id) share one; specials are alone."""
    groups = np.empty(len(word_ids), dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    count = 0
    for token, (seq, word) in enumerate(zip(sequence_ids, word_ids, strict=True)):
        if word < 0 or seq < 0:
            groups[token] = count
            count += 1
            continue
        key = (int(seq), int(word))
        if key not in seen:
            seen[key] = count
            count += 1
        groups[token] = seen[key]
    return groups


def merge_word_pieces(matrix: np.ndarray, group_of_token: np.ndarray) -> np.ndarray:
    """(G, G) float32: sum over the key pieces of a word, mean over its query pieces."""
    groups = np.asarray(group_of_token)
    count = int(groups.max()) + 1 if groups.size else 0
    member = np.zeros((groups.size, count), dtype=np.float32)
    member[np.arange(groups.size), groups] = 1.0
    summed = member.T @ np.asarray(matrix, dtype=np.float32) @ member
    sizes = member.sum(axis=0)
    return np.ascontiguousarray(summed / sizes[:, None], dtype=np.float32)


def merge_word_pieces_row(vector: np.ndarray, group_of_token: np.ndarray) -> np.ndarray:
    """One query row at word level: sums over the key pieces."""
    groups = np.asarray(group_of_token)
    count = int(groups.max()) + 1 if groups.size else 0
    return np.bincount(groups, weights=vector, minlength=count).astype(np.float32)


def word_groups(result: InferenceResult) -> WordGroups:
    """Word groups of a result, labelled with the characters each word spans in its sentence."""
    groups = group_word_pieces(result.sequence_ids, result.word_ids)
    count = int(groups.max()) + 1 if groups.size else 0
    first = np.full(count, -1, dtype=np.int64)
    last = np.zeros(count, dtype=np.int64)
    for token in range(groups.size - 1, -1, -1):
        first[groups[token]] = token
    for token in range(groups.size):
        last[groups[token]] = token
    labels = []
    for group in range(count):
        start_token, end_token = int(first[group]), int(last[group])
        sentence = result.sentence_of(start_token)
        if sentence is None:
            labels.append(str(result.tokens[start_token]))
            continue
        start = int(result.offsets[start_token, 0])
        end = int(result.offsets[end_token, 1])
        text = sentence[start:end]
        labels.append(text if text.strip() else str(result.tokens[start_token]))
    return WordGroups(group_of_token=groups, first_token=first, labels=tuple(labels))
