"""Frozen, numpy-only results: what the worker hands to the GUI and ``inspect`` writes to disk.

This module imports numpy only, so the GUI thread can use these types without torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import IO, Any

import numpy as np

from explorer.core.atomic import replace_atomically
from explorer.core.finiteness import NonFinite, find_non_finite
from explorer.core.predictions import Predictions

NPZ_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelInfo:
    """What panels need to know about the loaded model, without touching it."""

    source: str
    name_or_path: str
    model_type: str
    num_layers: int
    num_heads: int
    hidden_size: int
    max_length: int
    vocab_size: int
    has_pooler: bool
    attn_implementation: str = "eager"
    # Filled once at load time so the tokenization and anatomy panels never touch the model.
    intermediate_size: int = 0
    max_position_embeddings: int = 0
    type_vocab_size: int = 0
    config_vocab_size: int = 0  # rows of the word-embedding matrix (the tokenizer may know fewer)
    special_tokens: tuple[tuple[str, str, int], ...] = ()  # (roles, token, id), by id
    parameters: tuple[tuple[str, tuple[int, ...]], ...] = ()  # named_parameters(): (name, shape)
    # The dtype the checkpoint's weights are stored in ("bfloat16", "float16", ...); the model
    # always computes in float32, and the status bar says so when the two differ.
    stored_dtype: str = "float32"
    # The checkpoint's own prediction head (explorer.core.heads.choice.HEAD_KINDS) and why a
    # head its config names is not shown; labels, the mask token and the pooling it predicts with.
    head: str = "none"
    head_note: str = ""
    head_labels: tuple[str, ...] = ()
    mask_token: str = ""
    mask_token_id: int = -1
    sentence_pooling: str = ""
    # Family traits the panels draw differently (issue 20): a causal model (GPT-2) attends only
    # to earlier tokens, so the upper triangle is masked, not zero weight; a family without
    # token types (DistilBERT, GPT-2, DeBERTa-v3) has no segment column to show; ALBERT runs
    # one set of layer weights at every depth.
    causal: bool = False
    has_token_types: bool = True
    shared_layers: bool = False
    # How pieces mark words: "WordPiece" (##), "byte-level BPE" (Ġ), "SentencePiece" (▁).
    tokenizer_kind: str = "WordPiece"


def _freeze(array: np.ndarray) -> np.ndarray:
    """Make an array read-only so a panel cannot change what other panels see."""
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class InferenceResult:
    """One tokenizer + forward pass over a sentence or a pair; every tensor as numpy.

    Shapes: T tokens, L layers, H heads, D hidden size.
    """

    text: str
    pair: str | None
    input_ids: np.ndarray  # (T,) int64
    tokens: np.ndarray  # (T,) str
    token_type_ids: np.ndarray  # (T,) int64
    offsets: np.ndarray  # (T, 2) int64, into the sentence the token came from; (0, 0) special
    special_tokens_mask: np.ndarray  # (T,) bool
    sequence_ids: np.ndarray  # (T,) int64: 0 sentence A, 1 sentence B, -1 special
    word_ids: np.ndarray  # (T,) int64: word index within its sentence, -1 special
    unk_mask: np.ndarray  # (T,) bool: the token is the tokenizer's unknown token
    attentions: np.ndarray  # (L, H, T, T) float32, rows sum to 1
    hidden_states: np.ndarray  # (L + 1, T, D) float32, row 0 is the embedding output
    hidden_norms: np.ndarray  # (L + 1, T) float32
    pooler_output: np.ndarray | None  # (D,) float32, None without a trained pooler
    model: ModelInfo
    truncated: bool = False
    tokens_dropped: int = 0
    predictions: Predictions | None = None  # the head's outputs of this same pass
    knocked_out: tuple[tuple[int, int], ...] = ()  # (layer, head) from 0, gated off in the pass

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                _freeze(value)

    @cached_property
    def non_finite(self) -> NonFinite | None:
        """Where the model stopped producing finite values (None: everything is finite).

        Computed once, on first use; inference fills it in the worker thread from the small
        arrays it already has (see inference._find_non_finite), so the window's notices never
        scan the arrays on the GUI thread.
        """
        return find_non_finite(
            self.attentions, self.hidden_states, self.hidden_norms, self.pooler_output
        )

    @property
    def num_tokens(self) -> int:
        """T, the sequence length after truncation."""
        return int(self.input_ids.shape[0])

    @property
    def num_layers(self) -> int:
        """L, the encoder depth."""
        return int(self.attentions.shape[0])

    @property
    def num_heads(self) -> int:
        """H, attention heads per layer."""
        return int(self.attentions.shape[1])

    def sentence_of(self, token: int) -> str | None:
        """The sentence a token's offsets index into, or None for special tokens."""
        seq = int(self.sequence_ids[token])
        if seq == 0:
            return self.text
        if seq == 1:
            return self.pair
        return None

    @property
    def knocked_out_labels(self) -> list[str]:
        """The knocked-out heads as 'L:H', counted from 1 as the window shows them."""
        return [f"{layer + 1}:{head + 1}" for layer, head in self.knocked_out]

    def meta(self) -> dict[str, Any]:
        """The JSON-able description stored under ``meta`` in npz files."""
        return {
            "format_version": NPZ_FORMAT_VERSION,
            "source": self.model.source,
            "name_or_path": self.model.name_or_path,
            "model_type": self.model.model_type,
            "num_layers": self.model.num_layers,
            "num_heads": self.model.num_heads,
            "hidden_size": self.model.hidden_size,
            "max_length": self.model.max_length,
            "stored_dtype": self.model.stored_dtype,
            "causal": self.model.causal,
            "has_token_types": self.model.has_token_types,
            "shared_layers": self.model.shared_layers,
            "truncated": self.truncated,
            "tokens_dropped": self.tokens_dropped,
            "non_finite": self.non_finite.describe() if self.non_finite is not None else None,
            "text": self.text,
            "pair": self.pair,
            **(self.predictions.meta() if self.predictions is not None else {"head": "none"}),
            **({"knocked_out": self.knocked_out_labels} if self.knocked_out else {}),
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz payload; keys are a public format: add keys, never rename them."""
        arrays = {
            "input_ids": self.input_ids.astype(np.int64, copy=False),
            "tokens": np.asarray(self.tokens, dtype=str),
            "token_type_ids": self.token_type_ids.astype(np.int64, copy=False),
            "offsets": self.offsets.astype(np.int64, copy=False),
            "special_tokens_mask": self.special_tokens_mask.astype(bool, copy=False),
            "sequence_ids": self.sequence_ids.astype(np.int64, copy=False),
            "word_ids": self.word_ids.astype(np.int64, copy=False),
            "unk_mask": self.unk_mask.astype(bool, copy=False),
            "attentions": self.attentions,
            "hidden_states": self.hidden_states,
            "hidden_norms": self.hidden_norms,
            "meta": np.asarray(json.dumps(self.meta(), ensure_ascii=False)),
        }
        if self.pooler_output is not None:
            arrays["pooler_output"] = self.pooler_output
        if self.predictions is not None:
            arrays.update(self.predictions.to_arrays())
        return arrays

    def to_npz(self, path: str | Path) -> Path:
        """Write the documented npz format (uncompressed: it loads fastest, pickles nothing)."""
        return save_npz(path, self.to_arrays())


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write an uncompressed npz (loads fastest; nothing in it needs pickle), whole or not."""
    path = Path(path)
    replace_atomically(path, lambda handle: write_npz_into(handle, arrays))
    return path


def write_npz_into(handle: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """The npz format itself, into an open file (callers choose how the file is opened)."""
    payload: dict[str, Any] = dict(arrays)  # keyword names, never savez's own options
    np.savez(handle, **payload)


def model_info_dict(info: ModelInfo) -> dict[str, Any]:
    """ModelInfo as a plain dict (for logs, sessions and tests)."""
    return asdict(info)
