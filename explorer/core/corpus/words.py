"""Every word of a corpus, its occurrences and the sum of its unit vectors, kept on disk.

Ethayarajh's self-similarity of a word needs only its number of occurrences n and the sum Σu
of their unit vectors per layer. Exact for every word, that is a row of (L+1) × D float64 per
distinct word (21.5 KB for MiniLM, 80 KB at base size), so the table grows with the corpus's
vocabulary and lives on disk: RAM holds the word → row index, the counts and a write-back cache
of rows bounded in bytes (``WORD_CACHE_BYTES``). The cache is least-recently-used: frequent
words stay in it, and a batch reads from and writes to disk only the rarer words it meets
again after they were pushed out.

The spill store is a raw file of fixed-size rows: word number i (numbered at its first
occurrence) lives at byte i × row size. That is the whole index, and RAM keeps it anyway for
the counts; sqlite3 would keep a second index (a B-tree) on disk, copy every 20–80 KB row
through its overflow pages and its own page cache, and add nothing a fixed row size needs.
Rows are read and written with plain file I/O, not mmap: touched pages of a mapped file count
in the process's RSS, so RSS would grow with the vocabulary, while written pages sit in the
kernel's page cache, which it reclaims under memory pressure. The file is a
``tempfile.TemporaryFile`` in the folder of the output: on POSIX it has no name, so its disk
space comes back when the process ends, killed or not; beside the output rather than in /tmp,
which is often a RAM disk (tmpfs).

A word never written to the file and not in the cache does not exist: a new word starts at
zero in the cache, and a row leaves the cache only by being written out.
"""

from __future__ import annotations

import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from explorer.core.errors import ExplorerError

WORD_CACHE_BYTES = 32 * 2**20  # the RAM cache of word rows: 1,560 rows for MiniLM, 400 at base
CHUNK_BYTES = 2 * 2**20  # rows streamed at a time when the table is written or read back
MIN_OCCURRENCES = 5  # a word's self-similarity counts from this many occurrences on


class WordStoreError(ExplorerError):
    """The word table's spill file cannot be created, written or read."""


@dataclass(frozen=True)
class WordChunk:
    """Consecutive words of a table (sorted), their counts and, when asked for, their rows."""

    words: list[str]
    counts: np.ndarray  # (n,) int64
    rows: np.ndarray | None  # (n, L+1, D) float64


class SelfSimilarity:
    """Mean over words seen ``minimum`` times of their mean pairwise cosine, added chunk by chunk.

    |Σu|² = n + Σ_{i≠j} uᵢ·uⱼ gives each word's mean over its n(n−1) ordered pairs.
    """

    def __init__(self, layers: int, minimum: int = MIN_OCCURRENCES) -> None:
        self.minimum = minimum
        self.total = np.zeros(layers)
        self.words = 0

    def add(self, counts: np.ndarray, rows: np.ndarray) -> None:
        """A chunk of words: their counts (n,) and unit-vector sums (n, L+1, D)."""
        keep = counts >= self.minimum
        if not keep.any():
            return
        n = counts[keep].astype(np.float64)[:, None]
        squared = np.einsum("wld,wld->wl", rows, rows)[keep]  # no copy of the rows
        means = np.clip((squared - n) / (n * (n - 1)), -1.0, 1.0)  # rounding past ±1
        self.total += means.sum(axis=0)
        self.words += int(keep.sum())

    def mean(self) -> np.ndarray | None:
        """(L+1,) float64, None when no word occurs often enough."""
        return self.total / self.words if self.words else None


class WordStore:
    """word → (occurrences, Σ unit vectors (L+1, D) float64) for every word, rows on disk."""

    def __init__(
        self, shape: tuple[int, int], folder: Path, cache_bytes: int = WORD_CACHE_BYTES
    ) -> None:
        self.shape = shape
        self.row_bytes = shape[0] * shape[1] * 8
        if cache_bytes < self.row_bytes:
            raise ValueError(
                f"a word cache of {cache_bytes} bytes holds no {self.row_bytes}-byte row"
            )
        self.cache_bytes = cache_bytes
        self._capacity = cache_bytes // self.row_bytes
        # np.zeros is calloc: the pages cost RAM once the rows are used, not before.
        self._cache = np.zeros((self._capacity, *shape))
        self._lru: OrderedDict[int, int] = OrderedDict()  # word number → slot, oldest first
        self._ids: dict[str, int] = {}
        self._counts = np.zeros(1024, dtype=np.int64)
        self._on_disk = np.zeros(1024, dtype=bool)
        self.rows_read = 0
        self.rows_written = 0
        self.peak_cached_bytes = 0
        try:
            self._file = tempfile.TemporaryFile(  # noqa: SIM115 (closed by close())
                "w+b", buffering=0, prefix=".bert-explorer-words-", dir=folder
            )
        except OSError as err:
            raise WordStoreError(
                f"Could not write in {folder}, the output's folder (the word table spills to "
                f"disk there): {err.strerror or err}."
            ) from err

    def __enter__(self) -> WordStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Give the spill file's disk space back."""
        self._file.close()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def cached_bytes(self) -> int:
        """Bytes of rows in the RAM cache now (never more than ``cache_bytes``)."""
        return len(self._lru) * self.row_bytes

    def add(self, word: str, unit: np.ndarray, occurrences: int = 1) -> None:
        """Add one occurrence's (L+1, D) unit vectors (or a sum over ``occurrences``)."""
        ident = self._ids.get(word)
        if ident is None:
            ident = self._number(word)
        self._counts[ident] += occurrences
        slot = self._lru.get(ident)
        if slot is None:
            slot = self._load(ident)
        else:
            self._lru.move_to_end(ident)
        self._cache[slot] += unit

    def add_rows(self, chunk: WordChunk) -> None:
        """Add a chunk read from a file (a checkpoint, a shard), past the cache.

        Rows in the cache are added there; the others are read, added and written back in
        runs of consecutive word numbers, so a file's sorted rows stream through sequentially
        and the hot words of the cache stay in it.
        """
        if chunk.rows is None:
            raise ValueError("add_rows needs the chunk's rows")
        on_disk, places = [], []
        for place, word in enumerate(chunk.words):
            ident = self._ids.get(word)
            if ident is None:
                ident = self._number(word)
            self._counts[ident] += int(chunk.counts[place])
            slot = self._lru.get(ident)
            if slot is None:
                on_disk.append(ident)
                places.append(place)
            else:
                self._cache[slot] += chunk.rows[place]
        if on_disk:
            ids = np.asarray(on_disk, dtype=np.int64)
            rows = self._read(ids, self._on_disk[ids])
            rows += chunk.rows[places]
            self._write(ids, rows)

    def sorted_words(self) -> list[str]:
        """Every word, in the order the output lists them (by code point, whatever the run)."""
        return sorted(self._ids)

    def chunks(self, order: Sequence[str], *, rows: bool) -> Iterator[WordChunk]:
        """The table in ``order`` (from ``sorted_words``), ``CHUNK_BYTES`` of rows at a time."""
        step = max(1, CHUNK_BYTES // self.row_bytes)
        for start in range(0, len(order), step):
            words = list(order[start : start + step])
            ids = np.fromiter((self._ids[w] for w in words), dtype=np.int64, count=len(words))
            yield WordChunk(words, self._counts[ids], self._rows(ids) if rows else None)

    def _number(self, word: str) -> int:
        """Number a new word: its row is zero until something is added."""
        ident = len(self._ids)
        self._ids[word] = ident
        if ident == self._counts.shape[0]:
            self._counts = np.concatenate([self._counts, np.zeros_like(self._counts)])
            self._on_disk = np.concatenate([self._on_disk, np.zeros_like(self._on_disk)])
        return ident

    def _load(self, ident: int) -> int:
        """A cache slot with word ``ident``'s row in it, the least recently used one written out."""
        if len(self._lru) < self._capacity:
            slot = len(self._lru)
        else:
            evicted, slot = self._lru.popitem(last=False)
            self._write(np.array([evicted]), self._cache[slot : slot + 1])
        if self._on_disk[ident]:
            self._cache[slot] = self._read(np.array([ident]), np.array([True]))[0]
        else:
            self._cache[slot] = 0.0
        self._lru[ident] = slot
        self.peak_cached_bytes = max(self.peak_cached_bytes, self.cached_bytes)
        return slot

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        """The current rows of words ``ids``: from the cache where they are, else from disk."""
        slots = np.fromiter((self._lru.get(int(i), -1) for i in ids), dtype=np.int64)
        cached = slots >= 0
        rows = self._read(ids, self._on_disk[ids] & ~cached)
        for place in np.flatnonzero(cached).tolist():
            rows[place] = self._cache[slots[place]]
        return rows

    def _runs(self, ids: np.ndarray, wanted: np.ndarray) -> Iterator[tuple[int, int]]:
        """(start, end) of the runs of consecutive word numbers in ``ids`` that are wanted."""
        if not ids.shape[0]:
            return
        breaks = np.flatnonzero((np.diff(ids) != 1) | (wanted[1:] != wanted[:-1])) + 1
        starts, ends = np.r_[0, breaks], np.r_[breaks, ids.shape[0]]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if wanted[start]:
                yield start, end

    def _read(self, ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """Rows of ``ids`` read from the file where ``wanted``, zeros elsewhere."""
        rows = np.zeros((ids.shape[0], *self.shape))
        for start, end in self._runs(ids, wanted):
            self._move(int(ids[start]), rows[start:end].data.cast("B"), write=False)
            self.rows_read += end - start
        return rows

    def _write(self, ids: np.ndarray, rows: np.ndarray) -> None:
        """Write rows of ``ids`` to their places in the file, a run of consecutive ids at once."""
        block = np.ascontiguousarray(rows, dtype=np.float64)
        for start, end in self._runs(ids, np.ones(ids.shape[0], dtype=bool)):
            self._move(int(ids[start]), block[start:end].data.cast("B"), write=True)
            self._on_disk[ids[start:end]] = True
            self.rows_written += end - start

    def _move(self, ident: int, view: memoryview, *, write: bool) -> None:
        """All of ``view`` to (or from) the file, from word ``ident``'s row on."""
        move = self._file.write if write else self._file.readinto
        try:
            self._file.seek(ident * self.row_bytes)
            done = 0
            while done < len(view):
                moved = move(view[done:])
                if not moved:
                    raise OSError("the file ended, or took no bytes")
                done += moved
        except OSError as err:
            hint = " (is the disk full?)" if write else ""
            raise WordStoreError(
                f"Could not {'write' if write else 'read'} the word table's spill file{hint}: "
                f"{err.strerror or err}."
            ) from err
