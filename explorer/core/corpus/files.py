"""The corpus npz files: the output (statistics, raw sums, meta), checkpoints, and merging shards.

Every write goes to a temporary file beside the target and is renamed over it, so a run killed
while writing leaves the previous checkpoint (or no output), never half a file. The word table
(``WORD_KEYS``: a row per distinct word, as many as the vocabulary has) is streamed between the
files and the disk-backed ``WordStore`` a chunk at a time, sorted by word, so that writing,
resuming and merging never hold it whole in RAM; the other arrays are small and go through
``np.load`` as usual.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from explorer.core.atomic import replace_atomically
from explorer.core.corpus.npz_stream import NpyMember, NpzWriter, open_npz
from explorer.core.corpus.sums import CorpusSums
from explorer.core.corpus.words import (
    CHUNK_BYTES,
    WORD_CACHE_BYTES,
    SelfSimilarity,
    WordChunk,
    WordStore,
)
from explorer.core.errors import ExplorerError

T = TypeVar("T")

CORPUS_FORMAT_VERSION = 3  # 2: every word in the word table; 3: the model by fingerprint
WORD_KEYS = ("words", "word_counts", "word_unit_sums")
# What must agree for two files to be parts of one run (shards) or one run and its checkpoint.
RUN_IDENTITY = (
    "format_version",
    "corpus_sha256",
    "model_sha256",
    "max_length",
    "batch_size",
    "chunk_batches",
    "js",
    "shards",
)


# How a message names each identity field, and what to show of the two files' values.
_IDENTITY_WORDS: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]] = {
    "format_version": ("file format", lambda m: m.get("format_version")),
    "corpus_sha256": ("corpus text", lambda m: m.get("corpus")),
    "model_sha256": ("model (weights or tokenizer)", lambda m: model_label(m.get("model"))),
    "max_length": ("--max-length", lambda m: m.get("max_length")),
    "batch_size": ("--batch-size", lambda m: m.get("batch_size")),
    "chunk_batches": ("batch chunking", lambda m: m.get("chunk_batches")),
    "js": ("--js", lambda m: "on" if m.get("js") else "off"),
    "shards": ("N of --shard K/N", lambda m: m.get("shards")),
    "shard": ("K of --shard K/N", lambda m: m.get("shard")),
}


class CorpusFileError(ExplorerError):
    """A corpus output or checkpoint cannot be read, merged or written."""


def model_label(model: Any) -> str:
    """A model as a reader knows it: 'embedded', a folder's name, a hub id."""
    if not isinstance(model, Mapping):
        return "?"
    source = str(model.get("source") or "")
    if source == "embedded" or not source:
        return source or str(model.get("name_or_path") or "?")
    return Path(source).name if Path(source).is_absolute() else source


def differences(a: Mapping[str, Any], b: Mapping[str, Any], keys: Sequence[str]) -> str:
    """'--max-length (128 vs 64) and corpus text (a.txt vs b.txt)': how two metas differ."""
    parts = []
    for key in keys:
        word, shown = _IDENTITY_WORDS.get(key, (key, lambda m, k=key: m.get(k)))
        first, second = shown(a), shown(b)
        parts.append(f"{word} ({first} vs {second})" if first != second else word)
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def checkpoint_path(out: Path) -> Path:
    """Where a run writing ``out`` keeps its partial sums: beside it."""
    stem = out.name[: -len(".npz")] if out.name.endswith(".npz") else out.name
    return out.with_name(f"{stem}.partial.npz")


def write_atomically(path: Path, write: Callable[[IO[bytes]], T]) -> T:
    """``replace_atomically``, its failure a CorpusFileError that names the file."""
    try:
        return replace_atomically(path, write)
    except OSError as err:
        reason = str(err.strerror or err).rstrip(".")
        raise CorpusFileError(f"Could not write {path}: {reason}.") from err


def write_corpus_file(
    path: Path,
    words: WordStore,
    arrays: Callable[[SelfSimilarity], Mapping[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Stream the word table into ``path``, then the arrays made from its self-similarity.

    The self-similarity is added up while the rows go by, so the table is read once; the
    other arrays (what ``arrays`` returns, also returned here) are small.
    """

    def write(handle: IO[bytes]) -> dict[str, np.ndarray]:
        with open_npz(handle) as archive:
            npz = NpzWriter(archive)
            similarity = _write_words(npz, words)
            rest = dict(arrays(similarity))
            for name, value in rest.items():
                npz.array(name, value)
        return rest

    return write_atomically(path, write)


def _write_words(npz: NpzWriter, store: WordStore) -> SelfSimilarity:
    order = store.sorted_words()
    text = np.dtype(f"<U{max(map(len, order), default=1)}")
    npz.rows(
        "words",
        text,
        (len(order),),
        (np.asarray(c.words, dtype=text) for c in store.chunks(order, rows=False)),
    )
    npz.rows(
        "word_counts",
        np.dtype(np.int64),
        (len(order),),
        (c.counts for c in store.chunks(order, rows=False)),
    )
    similarity = SelfSimilarity(store.shape[0])

    def rows() -> Iterator[np.ndarray]:
        for chunk in store.chunks(order, rows=True):
            assert chunk.rows is not None
            similarity.add(chunk.counts, chunk.rows)
            yield chunk.rows

    npz.rows("word_unit_sums", np.dtype(np.float64), (len(order), *store.shape), rows())
    return similarity


def open_word_store(
    shape: tuple[int, int], beside: Path, cache_bytes: int = WORD_CACHE_BYTES
) -> WordStore:
    """A word table whose spill file is in the folder of ``beside`` (an output file)."""
    return WordStore(shape, beside.resolve().parent, cache_bytes)


def read_word_chunks(path: Path, shape: tuple[int, int]) -> Iterator[WordChunk]:
    """The word table of a file, ``CHUNK_BYTES`` of rows at a time, checked as it goes."""
    step = max(1, CHUNK_BYTES // (shape[0] * shape[1] * 8))
    try:
        with zipfile.ZipFile(path) as archive:
            members = [NpyMember(archive, key) for key in WORD_KEYS]
            try:
                yield from _word_chunks(*members, shape=shape, step=step)
            finally:
                for member in members:
                    member.close()
    except OSError as err:
        raise CorpusFileError(f"Could not read {path}: {err.strerror or err}.") from err
    except (ValueError, KeyError, zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise CorpusFileError(
            f"{path} does not hold a readable word table ({err}): it is damaged or "
            "incomplete; run that corpus or shard again."
        ) from err


def _word_chunks(
    words: NpyMember, counts: NpyMember, rows: NpyMember, *, shape: tuple[int, int], step: int
) -> Iterator[WordChunk]:
    size = words.shape[0]
    if (
        words.dtype.kind != "U"
        or (words.shape, counts.shape, rows.shape) != ((size,), (size,), (size, *shape))
        or (counts.dtype, rows.dtype) != (np.int64, np.float64)
    ):
        raise ValueError("its arrays do not fit each other")
    last: list[str] = []  # the previous chunk's last word
    for _ in range(0, size, step):
        names = words.read(step).tolist()
        if any(a >= b for a, b in pairwise(last + names)):
            raise ValueError("its words are not sorted, or one is there twice")
        last = names[-1:]
        yield WordChunk(names, counts.read(step), rows.read(step))


def meta_array(meta: Mapping[str, Any]) -> np.ndarray:
    """Meta as the 0-d string array every explorer npz uses (no pickle needed)."""
    return np.asarray(json.dumps(meta, ensure_ascii=False))


def output_arrays(
    sums: CorpusSums, similarity: SelfSimilarity, meta: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """The output file but its word table: the statistics, the sums behind them, ``meta``."""
    mean = similarity.mean()
    stats = sums.statistics()
    stats["layer_self_similarity"] = (
        mean if mean is not None else np.full(sums.layers + 1, np.nan)
    ).astype(np.float32)
    meta = {**meta, "words_with_enough_occurrences": similarity.words}
    return {**stats, **sums.raw_arrays(), "meta": meta_array(meta)}


def read_corpus_file(path: Path) -> tuple[CorpusSums, dict[str, Any]]:
    """The sums and meta of an output or checkpoint file (its word table stays on disk)."""
    arrays = read_corpus_arrays(path)
    meta = json.loads(str(arrays.pop("meta")))
    try:
        return CorpusSums.from_arrays(arrays, js=bool(meta["js"])), meta
    except KeyError as err:
        raise CorpusFileError(
            f"{path} is not a bert-explorer corpus file: it has no {err} entry."
        ) from err
    except (ValueError, TypeError) as err:
        raise _foreign(path) from err


def _foreign(path: Path) -> CorpusFileError:
    return CorpusFileError(
        f"{path} is not a bert-explorer corpus file (not an .npz that 'bert-explorer "
        "corpus' wrote)."
    )


def read_corpus_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a checked output or checkpoint but its word table ("meta" included).

    A foreign, damaged or older file is a CorpusFileError that says which.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in ("meta", *WORD_KEYS) if key not in data.files]
            if missing:
                raise KeyError(missing[0])
            arrays = {key: data[key] for key in data.files if key not in WORD_KEYS}
        meta = json.loads(str(arrays["meta"]))
        version = meta.get("format_version")
        if version != CORPUS_FORMAT_VERSION:
            raise CorpusFileError(
                f"{path} is in corpus format {version}, and this bert-explorer reads format "
                f"{CORPUS_FORMAT_VERSION}: run that corpus again (delete it if it is a "
                "checkpoint)."
            )
    except FileNotFoundError as err:
        raise CorpusFileError(f"{path} does not exist.") from err
    except OSError as err:
        raise CorpusFileError(f"Could not read {path}: {err.strerror or err}.") from err
    except KeyError as err:
        raise CorpusFileError(
            f"{path} is not a bert-explorer corpus file: it has no {err} entry."
        ) from err
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise CorpusFileError(
            f"{path} is damaged or incomplete ({err}); a run stopped while it was copied or "
            "written? Run that corpus or shard again (a damaged checkpoint: delete it)."
        ) from err
    except (ValueError, TypeError) as err:
        raise _foreign(path) from err
    return arrays


def same_run(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The identity fields in which two files' meta differ (empty: parts of one run)."""
    return [key for key in RUN_IDENTITY if a.get(key) != b.get(key)]


def merge_corpus_files(
    paths: Sequence[Path], out: Path, cache_bytes: int = WORD_CACHE_BYTES
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Add up the shards' sums into ``out``: the file one run over the whole corpus writes.

    The shards must come from the same corpus, model and options, each shard at most once.
    ``meta["shards_merged"]`` lists the shards found; a missing one is reported, not refused.
    The word tables stream, shard after shard, through a disk-backed store; the arrays
    returned are the file's but its word table.
    """
    if not paths:
        raise CorpusFileError("Name the shard files to merge.")
    parts = [(path, *read_corpus_file(path)) for path in paths]
    first_path, total, meta = parts[0]
    seen: dict[int, Path] = {}
    for path, sums, part_meta in parts:
        if "next_batch" in part_meta:
            raise CorpusFileError(
                f"{path} is the checkpoint of an unfinished run, not a shard's output: run "
                "that shard's command again to finish it, then merge the file its --out names."
            )
        differ = same_run(meta, part_meta)
        if differ:
            raise CorpusFileError(
                f"{path} and {first_path} are not shards of one run: they differ in "
                f"{differences(part_meta, meta, differ)}."
            )
        for shard in part_meta["shards_merged"]:
            if shard in seen:
                raise CorpusFileError(f"Shard {shard} is in both {seen[shard]} and {path}.")
            seen[shard] = path
        if path is not first_path:
            total = total.merged(sums)
    merged_meta = {**meta, "shard": None, "shards_merged": sorted(seen)}
    merged_meta["truncated_segments"] = total.truncated_segments
    merged_meta["tokens_dropped"] = total.tokens_dropped
    with open_word_store((total.layers + 1, total.hidden), out, cache_bytes) as words:
        for path, _, _ in parts:
            for chunk in read_word_chunks(path, words.shape):
                words.add_rows(chunk)
        arrays = write_corpus_file(
            out, words, lambda similarity: output_arrays(total, similarity, merged_meta)
        )
    return arrays, merged_meta


def missing_shards(meta: Mapping[str, Any]) -> list[int]:
    """Shards of the run not among those merged into a file."""
    return sorted(set(range(1, int(meta["shards"]) + 1)) - set(meta["shards_merged"]))
