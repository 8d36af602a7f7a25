"""A bounded table of words and the sums of their unit vectors, for Ethayarajh's self-similarity.

Keeping every word of a corpus would grow without bound (each word holds (L+1) × D sums), so
the table keeps the ``capacity`` distinct words with the smallest hash (a bottom-k sample of the
vocabulary, as in MinHash). The choice depends only on which words occur, never on their
order: a word is admitted at its first occurrence or never, and shards' tables merge into
exactly the table of one run over the whole corpus.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

WORD_CAPACITY = 512  # (L+1)·D float64 sums each: 41 MB at base size, 11 MB for MiniLM
MIN_OCCURRENCES = 5  # a word's self-similarity counts from this many occurrences on


def word_hash(word: str) -> int:
    """A stable 63-bit hash (Python's own hash changes from run to run)."""
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass
class WordTable:
    """word → (hash, occurrences, Σ unit vectors (L+1, D) float64), at most ``capacity`` words."""

    capacity: int = WORD_CAPACITY
    hashes: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, np.ndarray] = field(default_factory=dict)

    _largest: tuple[int, str] | None = field(default=None, init=False, repr=False, compare=False)

    def _admit(self, word: str, shape: tuple[int, ...]) -> bool:
        """Make room for a new word if its hash is among the smallest; False: it stays out."""
        hashed = word_hash(word)
        if len(self.hashes) >= self.capacity:
            if self._largest is None:
                self._largest = max((h, w) for w, h in self.hashes.items())
            if hashed >= self._largest[0]:
                return False
            evicted = self._largest[1]
            for table in (self.hashes, self.counts, self.sums):
                del table[evicted]
            self._largest = None
        self.hashes[word] = hashed
        self.counts[word] = 0
        self.sums[word] = np.zeros(shape, dtype=np.float64)
        return True

    def wants(self, word: str) -> bool:
        """Whether ``add`` could keep the word now (a word refused once is refused for good).

        The corpus run asks first, so the vectors of words the table would drop are never
        computed.
        """
        if word in self.hashes or len(self.hashes) < self.capacity:
            return True
        if self._largest is None:
            self._largest = max((h, w) for w, h in self.hashes.items())
        return word_hash(word) < self._largest[0]

    def add(self, word: str, unit: np.ndarray, occurrences: int = 1) -> None:
        """Add one occurrence's (L+1, D) unit vectors (or a sum over ``occurrences``)."""
        if word in self.hashes or self._admit(word, unit.shape):
            self.counts[word] += occurrences
            self.sums[word] += unit

    def merged(self, other: WordTable) -> WordTable:
        """The table of both parts' occurrences: the union, then the smallest hashes kept."""
        table = WordTable(capacity=min(self.capacity, other.capacity))
        words = sorted(set(self.hashes) | set(other.hashes), key=word_hash)
        for word in words[: table.capacity]:
            table.hashes[word] = word_hash(word)
            table.counts[word] = self.counts.get(word, 0) + other.counts.get(word, 0)
            parts = [t.sums[word] for t in (self, other) if word in t.sums]
            table.sums[word] = parts[0] + parts[1] if len(parts) == 2 else parts[0].copy()
        return table

    def self_similarity(self, minimum: int = MIN_OCCURRENCES) -> tuple[np.ndarray | None, int]:
        """Mean over words seen ``minimum`` times of their mean pairwise cosine, per layer.

        |Σu|² = n + Σ_{i≠j} uᵢ·uⱼ gives each word's mean over its n(n−1) ordered pairs.
        Returns (None, 0) when no word occurs often enough.
        """
        values = [
            ((self.sums[w] ** 2).sum(-1) - n) / (n * (n - 1))
            for w, n in self.counts.items()
            if n >= minimum
        ]
        if not values:
            return None, 0
        return np.mean(values, axis=0), len(values)

    def to_arrays(self, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
        """The table as npz arrays, sorted by hash (``shape`` = (L+1, D) for an empty table)."""
        words = sorted(self.hashes, key=self.hashes.__getitem__)
        return {
            "words": np.asarray(words, dtype=str).reshape(len(words)),
            "word_counts": np.asarray([self.counts[w] for w in words], dtype=np.int64),
            "word_unit_sums": (
                np.stack([self.sums[w] for w in words])
                if words
                else np.zeros((0, *shape), dtype=np.float64)
            ),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], capacity: int) -> WordTable:
        """Read back what ``to_arrays`` wrote."""
        table = cls(capacity=capacity)
        for i, word in enumerate(arrays["words"].tolist()):
            table.hashes[word] = word_hash(word)
            table.counts[word] = int(arrays["word_counts"][i])
            table.sums[word] = np.array(arrays["word_unit_sums"][i], dtype=np.float64)
        return table
