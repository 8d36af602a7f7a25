"""Checks every model passes before anything is built from it, each failure a plain message.

A model folder is data from anywhere: its JSON may be huge, deeply nested or of the wrong
types, its sizes may ask for more memory than the machine has, its vocabulary may not fit its
embeddings. transformers and tokenizers answer such files with tracebacks, hangs or gigabytes
of allocation; these checks answer them with a ModelLoadError that says what is wrong, before
transformers reads a byte. They are the one set of checks of the one load path
(``explorer.core.loading.load_model``), whichever way a model arrives.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from explorer.core.checkpoint_dtype import safetensors_header
from explorer.core.errors import ModelLoadError

MB = 1024 * 1024
GB = 1024 * MB
# The largest file of each kind we read (or let transformers read). Real BERT-family files are
# far smaller: config.json is about 1 KB, tokenizer.json of a 250k-piece vocabulary 17 MB.
JSON_LIMITS: Mapping[str, int] = {
    "config.json": 1 * MB,
    "tokenizer_config.json": 4 * MB,
    "special_tokens_map.json": 1 * MB,
    "added_tokens.json": 16 * MB,
    # Read whole by transformers' Python JSON parser (10x its size in memory) and by ours.
    "tokenizer.json": 64 * MB,
}
# Other JSON files the load reads; the rest (trainer_state.json, …) it never opens.
TRANSFORMERS_READS = frozenset(
    {
        "generation_config.json",
        "preprocessor_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
    }
)
OTHER_JSON_LIMIT = 4 * MB  # the other JSON files a load reads, and weight indexes
TEXT_LIMITS: Mapping[str, int] = {
    "vocab.txt": 64 * MB,
    "merges.txt": 64 * MB,
    "vocab.json": 64 * MB,
    "sentencepiece.bpe.model": 64 * MB,
    "spiece.model": 64 * MB,
}
MAX_JSON_DEPTH = 64  # real configs nest 3 deep, tokenizer.json 5; Rust's parser stops at 128

# Integer sizes of a config: (smallest, largest) accepted. The upper bounds are far above any
# published encoder (xlm-roberta-xxl: 48 layers, 32 heads, hidden 4096) but stop configs whose
# size alone makes loading take minutes (100,000 tiny layers).
INT_FIELDS: Mapping[str, tuple[int, int]] = {
    "num_hidden_layers": (1, 256),
    "n_layers": (1, 256),
    "n_layer": (1, 256),  # GPT-2 spells its sizes n_layer, n_head, n_embd, n_inner, n_positions
    "num_attention_heads": (1, 256),
    "n_heads": (1, 256),
    "n_head": (1, 256),
    "hidden_size": (1, 65_536),
    "dim": (1, 65_536),
    "n_embd": (1, 65_536),
    "intermediate_size": (1, 262_144),
    "hidden_dim": (1, 262_144),
    "n_inner": (1, 262_144),
    "embedding_size": (1, 65_536),
    "vocab_size": (1, 4_000_000),
    # A few positions at least: [CLS], a word and [SEP] (RoBERTa reserves two more).
    "max_position_embeddings": (8, 1_048_576),
    "n_positions": (8, 1_048_576),
    # One row at least: every input's token types index it (DistilBERT has no such table);
    # DeBERTa-v2 alone reads 0 as "no table" (see NO_TOKEN_TYPE_TABLE_TYPES).
    "type_vocab_size": (0, 1_024),
    "num_hidden_groups": (1, 256),
    "inner_group_num": (1, 256),
    # Without id2label, transformers makes a label name for each: 10**9 of them fill memory.
    "num_labels": (0, 100_000),
}
NULLABLE_INT_FIELDS = frozenset({"n_inner"})  # GPT-2: null means 4 × n_embd
PROBABILITY_FIELDS = (
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "dropout",
    "attention_dropout",
    "seq_classif_dropout",
    "qa_dropout",
    "classifier_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
    "summary_first_dropout",
)
POSITIVE_FLOAT_FIELDS = ("layer_norm_eps", "layer_norm_epsilon", "initializer_range")
# Token ids a config names: each indexes the word embeddings (pad_token_id even while they
# are built), so each must be a row of them.
TOKEN_ID_FIELDS = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id")
BOOL_FIELDS = (
    "is_decoder",
    "add_cross_attention",
    "tie_word_embeddings",
    "output_attentions",
    "output_hidden_states",
    "use_cache",
    "return_dict",
    "sinusoidal_pos_embds",
    "scale_attn_weights",
    "scale_attn_by_inverse_layer_idx",
    "reorder_and_upcast_attn",
)
MAX_LABELS = 100_000
# Tokens a tokenizer file adds to its vocabulary (BERT adds five special ones).
ADDED_TOKEN_KEYS = ("additional_special_tokens", "extra_special_tokens", "added_tokens_decoder")
MAX_ADDED_TOKENS = 10_000
# DistilBERT's sinusoidal position table is computed in pure Python (about 1 µs a value):
# 512 × 768 takes 0.4 s, 1,048,576 × 768 a quarter of an hour.
MAX_SINUSOIDAL_VALUES = 4_194_304
# Families whose position ids start after pad_token_id (RoBERTa's padding offset).
PADDING_OFFSET_TYPES = frozenset({"roberta", "xlm-roberta", "camembert"})
# Families whose type_vocab_size may be 0: the embeddings then have no token-type table and
# ignore token_type_ids (DeBERTa-v3 ships so); every other family indexes the table.
NO_TOKEN_TYPE_TABLE_TYPES = frozenset({"deberta-v2"})
# Weight files are opened by name as well (and memory-mapped); a pipe or device under such a
# name would hang or fail deep inside torch. Their size is what the memory check bounds.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
BYTES_PER_VALUE = 4  # every model computes in float32, whatever its stored dtype
MEMORY_HEADROOM = 1.5  # a load briefly holds the checkpoint's tensors beside the model's


# --- files ----------------------------------------------------------------------------------
def _regular_file_size(path: Path, what: str) -> int:
    """The size of ``path``, refusing anything but a regular file (a FIFO would hang a read)."""
    try:
        info = path.stat()
    except OSError as err:
        raise ModelLoadError(f"{what} {path} cannot be read: {err.strerror or err}.") from err
    if not stat.S_ISREG(info.st_mode):
        raise ModelLoadError(
            f"{what} {path} is not a regular file (a folder, device or pipe); "
            "a model folder holds plain files."
        )
    return info.st_size


def _limit_for(name: str) -> int | None:
    if name in JSON_LIMITS:
        return JSON_LIMITS[name]
    if name in TEXT_LIMITS:
        return TEXT_LIMITS[name]
    if name.endswith(".index.json") or name in TRANSFORMERS_READS:
        return OTHER_JSON_LIMIT
    return None  # trainer_state.json and the like: nothing the load reads


def _size_text(size: float) -> str:
    return f"{size / GB:,.1f} GB" if size >= GB else f"{size / MB:.1f} MB"


def check_folder_files(folder: Path) -> None:
    """Every JSON and vocabulary file transformers may read is a regular file of sane size.

    Checked before transformers opens any of them: it reads JSON whole, and opens whatever
    the name says, pipes included.
    """
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        raise ModelLoadError(f"The folder {folder} cannot be listed: {err.strerror}.") from err
    for path in entries:
        limit = _limit_for(path.name)
        if limit is None:
            if path.name.endswith(WEIGHT_SUFFIXES):
                _regular_file_size(path, "The weights file")
            continue
        size = _regular_file_size(path, "The file")
        if size > limit:
            raise ModelLoadError(
                f"{path} is {_size_text(size)}, more than the {_size_text(limit)} such a file "
                "can reasonably hold; it is not a model file the explorer reads."
            )


def check_listed_sizes(files: Iterable[tuple[str, int | None]], where: str) -> None:
    """The files a hub repository lists are of sane size, checked before any is downloaded."""
    for name, size in files:
        limit = _limit_for(name.rsplit("/", 1)[-1])
        if limit is not None and size is not None and size > limit:
            raise ModelLoadError(
                f"{where} lists {name} of {_size_text(size)}, more than the {_size_text(limit)} "
                "such a file can reasonably hold; it was not downloaded."
            )


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (iterative: no recursion limit to hit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def read_json_bounded(path: Path, limit: int, what: str) -> Any:
    """Parse a JSON file no larger than ``limit`` bytes and no deeper than MAX_JSON_DEPTH."""
    size = _regular_file_size(path, what)
    if size > limit:
        raise ModelLoadError(
            f"{what} {path} is {_size_text(size)}; the explorer reads at most "
            f"{_size_text(limit)} of it."
        )
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except RecursionError as err:
        raise ModelLoadError(f"{what} {path} nests too deeply to be a model file.") from err
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ModelLoadError(f"{what} {path} is not valid JSON ({err}).") from err
    if _depth(raw) > MAX_JSON_DEPTH:
        raise ModelLoadError(
            f"{what} {path} nests more than {MAX_JSON_DEPTH} levels deep; it is not a model file."
        )
    return raw


# --- config -----------------------------------------------------------------------------------
def _describe(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_config(raw: Mapping[str, Any], where: str) -> None:
    """Types and ranges of the sizes and rates a BERT-family config holds.

    transformers takes a float, NaN or a string for a layer count as it comes and fails
    much later (or allocates without end); here each gets a sentence naming the field.
    """
    fix = f"Fix it in {where}."
    model_type = raw.get("model_type")
    if model_type is not None and not isinstance(model_type, str):
        raise ModelLoadError(f"model_type is {_describe(model_type)}, not a name. {fix}")
    for name, (low, high) in INT_FIELDS.items():
        if name not in raw or (name in NULLABLE_INT_FIELDS and raw[name] is None):
            continue
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelLoadError(
                f"{name} is {_describe(value)}, but it must be a whole number. {fix}"
            )
        if not low <= value <= high:
            raise ModelLoadError(
                f"{name} is {_describe(value)}, outside the {low}–{high:,} the explorer "
                f"accepts. {fix}"
            )
        if name == "type_vocab_size" and value == 0 and model_type not in NO_TOKEN_TYPE_TABLE_TYPES:
            raise ModelLoadError(
                f"type_vocab_size is 0, outside the 1–{high:,} the explorer accepts for a "
                f"{model_type or 'BERT'} model (only DeBERTa-v2 has no token-type table). {fix}"
            )
    for name in PROBABILITY_FIELDS + POSITIVE_FLOAT_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelLoadError(f"{name} is {_describe(value)}, but it must be a number. {fix}")
        if isinstance(value, float) and not math.isfinite(value):  # ints are finite, any size
            raise ModelLoadError(f"{name} is {_describe(value)}; it must be finite. {fix}")
        if name in PROBABILITY_FIELDS and not 0 <= value <= 1:
            raise ModelLoadError(f"{name} is {_describe(value)}; a probability lies in 0–1. {fix}")
        if name in POSITIVE_FLOAT_FIELDS and value <= 0:
            raise ModelLoadError(f"{name} is {_describe(value)}; it must be above 0. {fix}")
    _validate_flags_and_ids(raw, fix)
    _validate_positions(raw, fix)
    hidden = _first(raw, "hidden_size", "dim", "n_embd")
    heads = _first(raw, "num_attention_heads", "n_heads", "n_head")
    if hidden is not None and heads is not None and hidden % heads:
        raise ModelLoadError(
            f"The hidden size {hidden} is not a multiple of the {heads} attention heads, so "
            f"the heads cannot split it. {fix}"
        )
    for name in ("hidden_act", "activation", "activation_function"):
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ModelLoadError(f"{name} is {_describe(value)}, not a function name. {fix}")
        from transformers.activations import ACT2FN

        if value not in ACT2FN:
            raise ModelLoadError(
                f"{name} is the unknown activation {value!r} (known: gelu, relu, silu, "
                f"tanh, …). {fix}"
            )


def _validate_flags_and_ids(raw: Mapping[str, Any], fix: str) -> None:
    """Switches are booleans, token ids rows of the embeddings, labels a small id → name map.

    transformers checks some of these with a one-line error deep in its dataclasses, and
    others not at all (a pad_token_id past the vocabulary fails while building the model).
    """
    for name in BOOL_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, bool):
            raise ModelLoadError(
                f"{name} is {_describe(value)}, but it must be true or false. {fix}"
            )
    vocab = _first(raw, "vocab_size")
    for name in TOKEN_ID_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelLoadError(f"{name} is {_describe(value)}, not a token id. {fix}")
        if value < 0 or (vocab is not None and value >= vocab):
            rows = f"0–{vocab - 1:,}" if vocab is not None else "0 or more"
            raise ModelLoadError(
                f"{name} is {_describe(value)}, but a token id is a row of the word embeddings "
                f"({rows}). {fix}"
            )
    for name, key_kind, value_kind in (("id2label", "number", str), ("label2id", "name", int)):
        labels = raw.get(name)
        if labels is None:
            continue
        if not isinstance(labels, dict):
            raise ModelLoadError(f"{name} is {_describe(labels)}, not a JSON object. {fix}")
        if len(labels) > MAX_LABELS:
            raise ModelLoadError(
                f"{name} has {len(labels):,} labels, more than {MAX_LABELS:,}. {fix}"
            )
        for key, value in labels.items():
            key_ok = key_kind == "name" or _is_whole_number_text(key)
            value_ok = isinstance(value, value_kind) and not isinstance(value, bool)
            if not (key_ok and value_ok):
                raise ModelLoadError(
                    f"{name} maps {_describe(key)} to {_describe(value)}; it maps label "
                    f"{'ids to names' if name == 'id2label' else 'names to ids'}. {fix}"
                )


def _validate_positions(raw: Mapping[str, Any], fix: str) -> None:
    """Every input the explorer sends gets position ids inside the position table.

    RoBERTa-style models count positions from pad_token_id + 1, so a large pad id pushes every
    position past the table's end. Chunked feed-forward layers need inputs whose length is a
    multiple of the chunk, and the explorer sends inputs of any length. A sinusoidal position
    table small in memory can still take transformers minutes to compute.
    """
    chunk = raw.get("chunk_size_feed_forward")
    if chunk is not None and chunk != 0:
        raise ModelLoadError(
            f"chunk_size_feed_forward is {_describe(chunk)}; the explorer runs inputs of any "
            "length, and chunking only accepts multiples of it. Set it to 0 (the same "
            f"result, computed at once). {fix}"
        )
    positions = _first(raw, "max_position_embeddings", "n_positions") or 512
    if raw.get("sinusoidal_pos_embds") is True:
        width = _first(raw, "dim", "hidden_size") or 768
        if positions * width > MAX_SINUSOIDAL_VALUES:
            raise ModelLoadError(
                f"sinusoidal_pos_embds asks for a {positions:,} × {width:,} position table, "
                "which transformers computes value by value in Python (a million values take "
                f"about a second); the explorer accepts at most {MAX_SINUSOIDAL_VALUES:,}. "
                f"Lower max_position_embeddings. {fix}"
            )
    if raw.get("model_type") not in PADDING_OFFSET_TYPES:
        return
    pad = raw.get("pad_token_id", 1)
    if pad is None:
        raise ModelLoadError(
            f"pad_token_id is null, but a {raw['model_type']} model counts positions from it. {fix}"
        )
    if isinstance(pad, int) and pad + 1 + 4 > positions:
        raise ModelLoadError(
            f"pad_token_id is {pad:,}; a {raw['model_type']} model counts positions from "
            f"pad_token_id + 1, which leaves no room in its {positions:,} "
            f"max_position_embeddings. {fix}"
        )


def _is_whole_number_text(text: str) -> bool:
    return text.isascii() and text.lstrip("-").isdigit() and len(text) <= 18


def _first(raw: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = raw.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


# --- memory -----------------------------------------------------------------------------------
def estimate_parameters(raw: Mapping[str, Any]) -> int:
    """How many values the encoder's weights hold, from its config alone (within a few %).

    Embeddings (words, positions, token types, LayerNorm, ALBERT's projection), every layer's
    attention (Q, K, V, O), feed-forward and two LayerNorms, and the pooler.
    """
    hidden = _first(raw, "hidden_size", "dim", "n_embd") or 768
    embedding = _first(raw, "embedding_size") or hidden
    layers = _first(raw, "num_hidden_layers", "n_layers", "n_layer") or 12
    distinct_layers = _first(raw, "num_hidden_groups") if "num_hidden_groups" in raw else None
    inner = _first(raw, "intermediate_size", "hidden_dim", "n_inner") or 4 * hidden
    vocab = _first(raw, "vocab_size") or 30_522
    positions = _first(raw, "max_position_embeddings", "n_positions") or 512
    types = _first(raw, "type_vocab_size") or 0
    embeddings = (vocab + positions + types) * embedding + 2 * embedding
    if embedding != hidden:
        embeddings += embedding * hidden + hidden
    per_layer = 4 * (hidden * hidden + hidden) + 2 * hidden * inner + inner + hidden + 4 * hidden
    stored_layers = distinct_layers or layers
    pooler = hidden * hidden + hidden
    return embeddings + stored_layers * per_layer + pooler


def attention_bytes(raw: Mapping[str, Any], max_tokens: int) -> int:
    """The attention maps of one input of ``max_tokens``: the result holds all of them."""
    layers = _first(raw, "num_hidden_layers", "n_layers", "n_layer") or 12
    heads = _first(raw, "num_attention_heads", "n_heads", "n_head") or 12
    return layers * heads * max_tokens * max_tokens * BYTES_PER_VALUE


def available_memory() -> int | None:
    """Bytes the machine can still give (MemAvailable), or None when it does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(raw: Mapping[str, Any], where: str, available: int | None = None) -> None:
    """Refuse a model whose weights and attention maps the machine cannot hold."""
    available = available_memory() if available is None else available
    if available is None:
        return
    weights = estimate_parameters(raw) * BYTES_PER_VALUE
    positions = _first(raw, "max_position_embeddings", "n_positions") or 512
    maps = attention_bytes(raw, min(positions, 512))
    needed = int(weights * MEMORY_HEADROOM) + maps
    if needed > available:
        raise ModelLoadError(
            f"The model in {where} would need about {_size_text(needed)} of memory "
            f"({_size_text(weights)} for its weights in float32, {_size_text(maps)} for the "
            f"attention maps of one full-length input); this machine has "
            f"{_size_text(available)} available. Check its config.json sizes, or use a "
            "machine with more memory."
        )


# --- checkpoint -------------------------------------------------------------------------------
_LAYER_KEY = re.compile(r"(?:^|\.)(?:(?:encoder|transformer)\.layer|h)\.(\d+)\.")
MAX_SHARDS = 1_000
# (tensor name ending, axis, config fields that give that axis' size)
_SHAPE_FIELDS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("embeddings.word_embeddings.weight", 0, ("vocab_size",)),
    ("embeddings.word_embeddings.weight", 1, ("embedding_size", "hidden_size", "dim")),
    ("layer.0.attention.self.query.weight", 0, ("hidden_size",)),
    ("layer.0.attention.q_lin.weight", 0, ("dim",)),
    ("layer.0.intermediate.dense.weight", 0, ("intermediate_size",)),
    ("layer.0.ffn.lin1.weight", 0, ("hidden_dim",)),
    ("wte.weight", 0, ("vocab_size",)),  # GPT-2
    ("wte.weight", 1, ("n_embd",)),
)


def checkpoint_shapes(folder: Path) -> dict[str, list[int]] | None:
    """Tensor name → shape, from the safetensors headers alone (a few kilobytes per file).

    A pickled ``pytorch_model.bin`` in zip form is memory-mapped as tensors only, the way
    transformers opens it, so no weight is read. None when the folder has neither, or they
    cannot be read: loading the weights then says what is wrong.
    """
    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    if single.is_file():
        files = [single]
    elif index.is_file():
        raw = read_json_bounded(index, OTHER_JSON_LIMIT, "The weights index")
        weight_map = raw.get("weight_map") if isinstance(raw, dict) else None
        if not isinstance(weight_map, dict):
            raise ModelLoadError(f"The weights index {index} has no weight_map object.")
        shards = {str(name) for name in weight_map.values()}
        if len(shards) > MAX_SHARDS:
            raise ModelLoadError(
                f"The weights index {index} names {len(shards):,} shard files, more than the "
                f"{MAX_SHARDS:,} the explorer reads."
            )
        outside = sorted(name for name in shards if Path(name).name != name)
        if outside:
            raise ModelLoadError(
                f"The weights index {index} names shards outside its folder ({outside[0]}); "
                "a model folder keeps its shards beside the index."
            )
        files = [folder / name for name in sorted(shards)]
    else:
        return _pickled_shapes(folder / "pytorch_model.bin")
    shapes: dict[str, list[int]] = {}
    for path in files:
        header = safetensors_header(path) if path.is_file() else None
        if header is None:
            return None
        for name, entry in header.items():
            shape = entry.get("shape") if isinstance(entry, dict) else None
            if isinstance(shape, list) and all(isinstance(n, int) for n in shape):
                shapes[name] = shape
    return shapes


def _pickled_shapes(path: Path) -> dict[str, list[int]] | None:
    """Shapes of a zip-format torch checkpoint, memory-mapped (tensors only, nothing executed)."""
    if not path.is_file() or not zipfile.is_zipfile(path):
        return None  # the legacy format would be read whole: leave it to the load
    import torch

    try:
        state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception:  # refused pickles and broken archives: the load says which
        return None
    if not isinstance(state, dict):
        return None
    return {str(k): list(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}


def check_checkpoint_matches(
    raw: Mapping[str, Any], shapes: Mapping[str, list[int]], where: str
) -> None:
    """The checkpoint's layer count and sizes are the config's, checked from the headers.

    transformers builds the model the config describes first, and initialises every weight
    the checkpoint lacks: a config claiming 256 wide layers over a tiny checkpoint costs
    gigabytes and half a minute before its missing weights can be reported.
    """
    fix = "Fix config.json or re-save the model."
    layers = {int(m.group(1)) for name in shapes if (m := _LAYER_KEY.search(name))}
    wanted = _first(raw, "num_hidden_layers", "n_layers", "n_layer")
    if layers and wanted is not None and wanted > max(layers) + 1:
        raise ModelLoadError(
            f"The checkpoint in {where} does not match its config: config.json asks for "
            f"{wanted} layers, the weights hold {max(layers) + 1}. {fix}"
        )
    for ending, axis, fields in _SHAPE_FIELDS:
        found = [shape for name, shape in shapes.items() if name.endswith(ending)]
        expected = next((v for f in fields if (v := _first(raw, f)) is not None), None)
        if len(found) != 1 or expected is None or len(found[0]) <= axis:
            continue  # absent, ambiguous (a generator beside a discriminator) or not sized
        actual = found[0][axis]
        if actual != expected:
            field = next(f for f in fields if _first(raw, f) is not None)
            raise ModelLoadError(
                f"The checkpoint in {where} does not match its config: config.json says "
                f"{field} {expected:,}, the weights ({ending}) have {actual:,}. {fix}"
            )


# --- tokenizer --------------------------------------------------------------------------------
def validate_tokenizer_config(raw: Any, where: str) -> None:
    """The settings the explorer reads from tokenizer_config.json have usable values.

    ``model_max_length`` is often a huge sentinel (1e30) meaning "no limit": that is fine.
    NaN, a string, zero or a negative length are not.
    """
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{where} does not hold a JSON object.")
    for name in ("model_max_length", "max_len"):
        if name not in raw or raw[name] is None:
            continue
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelLoadError(
                f"{name} in {where} is {_describe(value)}, not a number of tokens."
            )
        if (isinstance(value, float) and math.isnan(value)) or value <= 0:
            raise ModelLoadError(
                f"{name} in {where} is {_describe(value)}; it must be a positive number of tokens."
            )


def check_added_token_count(name: str, raw: Any, where: str) -> None:
    """A tokenizer file adds at most MAX_ADDED_TOKENS tokens of its own.

    transformers registers the special tokens of tokenizer_config.json and
    special_tokens_map.json one by one against all the others: 100,000 of them take a minute
    before any check can run, in a file well under its size limit.
    """
    if not isinstance(raw, dict):
        if name in ("added_tokens.json", "tokenizer.json"):
            raise ModelLoadError(f"{where} does not hold a JSON object.")
        return
    if name == "added_tokens.json":
        lists: list[Any] = [raw]
    elif name == "tokenizer.json":
        lists = [raw.get("added_tokens")]
    else:
        lists = [raw.get(key) for key in ADDED_TOKEN_KEYS]
    count = sum(len(item) for item in lists if isinstance(item, list | dict))
    if count > MAX_ADDED_TOKENS:
        raise ModelLoadError(
            f"{where} adds {count:,} tokens, more than the {MAX_ADDED_TOKENS:,} the explorer "
            "accepts (a BERT tokenizer adds a handful); it is not a model file the explorer reads."
        )


def check_vocabulary(tokenizer: Any, embedding_rows: int, where: str) -> None:
    """The vocabulary has its special tokens and fits the embedding matrix.

    A token id at or past the matrix's last row makes the forward pass index out of range; a
    declared special token missing from the vocabulary makes every input lose it silently.
    """
    vocab: Mapping[str, int] = tokenizer.get_vocab()
    if not vocab:
        raise ModelLoadError(f"The tokenizer in {where} has an empty vocabulary.")
    missing = [token for token in _declared_special_tokens(tokenizer) if token not in vocab]
    if missing:
        raise ModelLoadError(
            f"The vocabulary in {where} lacks the special tokens the tokenizer declares: "
            f"{', '.join(missing)}. Add them to vocab.txt / tokenizer.json, or use the "
            "tokenizer that was trained with this model."
        )
    if getattr(tokenizer, "unk_token", None) is None:
        raise ModelLoadError(
            f"The tokenizer in {where} has no unknown token (like [UNK]), so words outside "
            "its vocabulary cannot be read. Declare it in tokenizer_config.json."
        )
    beyond = sorted((i, t) for t, i in vocab.items() if embedding_rows and i >= embedding_rows)
    if beyond:
        highest, token = beyond[-1]
        declared = set(_declared_special_tokens(tokenizer))
        specials = [t for _i, t in beyond if t in declared]
        why = (
            f" The vocabulary file lacks {', '.join(specials)}, which the tokenizer then adds "
            "past the end."
            if specials
            else ""
        )
        raise ModelLoadError(
            f"The vocabulary in {where} has ids up to {highest} ({token!r}) but the model has "
            f"only {embedding_rows} word embeddings: tokenizer and model do not belong "
            f"together.{why}"
        )


def check_tokenizer_json(raw: Any, where: str, embedding_rows: int | None) -> None:
    """tokenizer.json adds few tokens and lists no more than the model has embeddings.

    Checked before the tokenizers library builds it: a million added tokens take it half a
    minute and gigabytes, and a vocabulary larger than the embeddings cannot be right.
    """
    check_added_token_count("tokenizer.json", raw, where)
    model = raw.get("model")
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if isinstance(vocab, dict | list) and embedding_rows and len(vocab) > embedding_rows:
        raise ModelLoadError(
            f"{where} lists {len(vocab):,} tokens but the model has only {embedding_rows:,} "
            "word embeddings (vocab_size in config.json): tokenizer and model do not belong "
            "together."
        )


def check_vocab_file(path: Path, embedding_rows: int | None = None) -> None:
    """A vocab.txt the tokenizer is built from has one distinct token per line.

    The line number is the token id. A repeated token leaves one of its ids unreachable and
    shows that the file is not the one the model was trained with; an empty file leaves the
    tokenizer nothing but its special tokens; more lines than embedding rows cannot fit.
    """
    size = _regular_file_size(path, "The vocabulary")
    limit = TEXT_LIMITS["vocab.txt"]
    if size > limit:
        raise ModelLoadError(
            f"The vocabulary {path} is {_size_text(size)}; the explorer reads at most "
            f"{_size_text(limit)} of it."
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelLoadError(f"The vocabulary {path} is not UTF-8 text ({err.reason}).") from err
    except OSError as err:
        raise ModelLoadError(f"The vocabulary {path} cannot be read: {err.strerror}.") from err
    tokens = text.split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    if not tokens:
        raise ModelLoadError(f"The vocabulary {path} is empty: it lists no tokens.")
    if embedding_rows and len(tokens) > embedding_rows:
        raise ModelLoadError(
            f"The vocabulary {path} lists {len(tokens):,} tokens but the model has only "
            f"{embedding_rows:,} word embeddings (vocab_size in config.json): tokenizer and "
            "model do not belong together."
        )
    first_line: dict[str, int] = {}
    for line, token in enumerate(tokens, start=1):
        if token in first_line:
            raise ModelLoadError(
                f"The vocabulary {path} lists {token!r} twice (lines {first_line[token]} and "
                f"{line}); each line is one token id, so this is not the vocabulary the model "
                "was trained with."
            )
        first_line[token] = line


def check_token_types(
    tokenizer: Any, type_vocab_size: int | None, where: str, *, unlisted: bool = False
) -> None:
    """The token types the tokenizer gives a sentence pair are rows of the model's type table.

    BERT marks sentence B with type 1; a model with one type row would fail on every pair.
    ``unlisted``: check a tokenizer that does not list token types among its model inputs
    too (ALBERT's), since inference passes them to every model with a type table.
    """
    listed = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    if not type_vocab_size or not (listed or unlisted):
        return
    types = tokenizer("a", "b", return_token_type_ids=True).get("token_type_ids") or [0]
    highest = max(int(t) for t in types)
    if highest >= type_vocab_size:
        raise ModelLoadError(
            f"The tokenizer in {where} marks sentence B with token type {highest}, but the "
            f"model has only {type_vocab_size} token type(s) (type_vocab_size in config.json): "
            "tokenizer and model do not belong together."
        )


def _declared_special_tokens(tokenizer: Any) -> Iterable[str]:
    names = ("unk_token", "cls_token", "sep_token", "pad_token", "mask_token", "bos_token")
    seen: list[str] = []
    for name in names:
        token = getattr(tokenizer, name, None)
        if isinstance(token, str) and token and token not in seen:
            seen.append(token)
    return seen
