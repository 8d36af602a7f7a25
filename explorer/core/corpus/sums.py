"""The corpus statistics as sums and counts: added batch by batch, merged shard by shard.

The output file keeps these raw sums beside the statistics derived from them, so shards merge
by adding sums (never by averaging averages) and a checkpoint is the same arrays half filled.
The word table behind the self-similarity is not here: it grows with the vocabulary and lives
on disk (``words.WordStore``), streamed into the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.core.corpus.batch import MAX_OFFSET, OFFSETS, HeadSums
from explorer.core.similarity import mean_cosine_from_sum

ROLE_KEYS = ("head_cls", "head_sep", "head_punct")
HEAD_KEYS = (
    *ROLE_KEYS,
    "head_self",
    "head_prev",
    "head_next",
    "head_entropy",
    "head_distance",
)
_SELF, _PREV, _NEXT = (MAX_OFFSET + k for k in (0, -1, 1))


@dataclass
class CorpusSums:
    """Everything a corpus run has added up so far (float64 sums, int64 counts)."""

    layers: int
    heads: int
    hidden: int
    js: bool
    segments: int = 0
    truncated_segments: int = 0
    tokens_dropped: int = 0
    unknown_words: int = 0  # word occurrences the tokenizer knows only as [UNK], left out
    rows: int = 0
    offset_rows: np.ndarray = field(init=False)
    roles: np.ndarray = field(init=False)
    entropy: np.ndarray = field(init=False)
    distance: np.ndarray = field(init=False)
    offsets: np.ndarray = field(init=False)
    js_sum: np.ndarray = field(init=False)
    content_tokens: int = 0
    token_unit_sum: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        lh = (self.layers, self.heads)
        self.offset_rows = np.zeros(OFFSETS.size, dtype=np.int64)
        self.roles = np.zeros((*lh, 3))
        self.entropy = np.zeros(lh)
        self.distance = np.zeros(lh)
        self.offsets = np.zeros((*lh, OFFSETS.size))
        heads = self.layers * self.heads if self.js else 0
        self.js_sum = np.zeros((heads, heads))
        self.token_unit_sum = np.zeros((self.layers + 1, self.hidden))

    def add_heads(self, sums: HeadSums) -> None:
        """One batch's head sums."""
        self.rows += sums.rows
        self.offset_rows += sums.offset_rows
        self.roles += sums.roles
        self.entropy += sums.entropy
        self.distance += sums.distance
        self.offsets += sums.offsets
        if self.js and sums.js is not None:
            self.js_sum += sums.js

    def merged(self, other: CorpusSums) -> CorpusSums:
        """The sums of both parts (shards of one corpus, or a run and its continuation)."""
        total = CorpusSums(self.layers, self.heads, self.hidden, self.js)
        for name in (
            "segments",
            "truncated_segments",
            "tokens_dropped",
            "unknown_words",
            "rows",
            "content_tokens",
            "offset_rows",
            "roles",
            "entropy",
            "distance",
            "offsets",
            "js_sum",
            "token_unit_sum",
        ):
            setattr(total, name, getattr(self, name) + getattr(other, name))
        return total

    def statistics(self) -> dict[str, np.ndarray]:
        """The pooled statistics: each sum over the rows it was taken over.

        NaN where there are none: a shard without segments has no statistics, not zero
        attention. All but ``layer_self_similarity``, which comes from the word table as it
        is streamed.
        """
        rows = self.rows if self.rows > 0 else np.nan
        stats = {key: self.roles[..., i] / rows for i, key in enumerate(ROLE_KEYS)}
        offset_rows = np.where(self.offset_rows > 0, self.offset_rows, np.nan)
        mean_offsets = self.offsets / offset_rows
        stats["head_self"] = mean_offsets[..., _SELF]
        stats["head_prev"] = mean_offsets[..., _PREV]
        stats["head_next"] = mean_offsets[..., _NEXT]
        stats["head_entropy"] = self.entropy / rows
        stats["head_distance"] = self.distance / rows
        stats["head_offsets"] = mean_offsets
        if self.js:
            stats["head_js"] = self.js_sum / rows
        stats["layer_anisotropy"] = mean_cosine_from_sum(self.token_unit_sum, self.content_tokens)
        return {key: value.astype(np.float32) for key, value in stats.items()}

    def raw_arrays(self) -> dict[str, np.ndarray]:
        """The sums and counts behind the statistics (what merge and resume read back)."""
        arrays = {
            "segments": np.int64(self.segments),
            "tokens": np.int64(self.rows),
            "count_truncated_segments": np.int64(self.truncated_segments),
            "count_tokens_dropped": np.int64(self.tokens_dropped),
            "count_unknown_words": np.int64(self.unknown_words),
            "count_offset_rows": self.offset_rows,
            "sum_roles": self.roles,
            "sum_entropy": self.entropy,
            "sum_distance": self.distance,
            "sum_offsets": self.offsets,
            "count_content_tokens": np.int64(self.content_tokens),
            "sum_token_units": self.token_unit_sum,
        }
        if self.js:
            arrays["sum_js"] = self.js_sum
        return {key: np.asarray(value) for key, value in arrays.items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], *, js: bool) -> CorpusSums:
        """Read back ``raw_arrays``."""
        layers, heads = arrays["sum_entropy"].shape
        sums = cls(layers, heads, arrays["sum_token_units"].shape[1], js)
        sums.segments = int(arrays["segments"])
        sums.rows = int(arrays["tokens"])
        sums.truncated_segments = int(arrays["count_truncated_segments"])
        sums.tokens_dropped = int(arrays["count_tokens_dropped"])
        sums.unknown_words = int(arrays["count_unknown_words"])
        sums.content_tokens = int(arrays["count_content_tokens"])
        sums.offset_rows = np.array(arrays["count_offset_rows"], dtype=np.int64)
        sums.roles = np.array(arrays["sum_roles"], dtype=np.float64)
        sums.entropy = np.array(arrays["sum_entropy"], dtype=np.float64)
        sums.distance = np.array(arrays["sum_distance"], dtype=np.float64)
        sums.offsets = np.array(arrays["sum_offsets"], dtype=np.float64)
        sums.token_unit_sum = np.array(arrays["sum_token_units"], dtype=np.float64)
        if js:
            sums.js_sum = np.array(arrays["sum_js"], dtype=np.float64)
        return sums
