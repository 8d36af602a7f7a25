"""The corpus npz files: the output (statistics, raw sums, meta), checkpoints, and merging shards.

Every write goes to a temporary file beside the target and is renamed over it, so a run killed
while writing leaves the previous checkpoint (or no output), never half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.corpus.sums import CorpusSums
from explorer.core.errors import ExplorerError
from explorer.core.results import write_npz_into

CORPUS_FORMAT_VERSION = 1
# What must agree for two files to be parts of one run (shards) or one run and its checkpoint.
RUN_IDENTITY = (
    "format_version",
    "corpus_sha256",
    "model",
    "max_length",
    "batch_size",
    "chunk_batches",
    "js",
    "word_capacity",
    "shards",
)


class CorpusFileError(ExplorerError):
    """A corpus output or checkpoint cannot be read, merged or written."""


def checkpoint_path(out: Path) -> Path:
    """Where a run writing ``out`` keeps its partial sums: beside it."""
    stem = out.name[: -len(".npz")] if out.name.endswith(".npz") else out.name
    return out.with_name(f"{stem}.partial.npz")


def write_atomically(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write the npz to a temporary file beside ``path`` and rename it into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as handle:
            write_npz_into(handle, arrays)
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise CorpusFileError(f"Could not write {path}: {err.strerror or err}.") from err


def meta_array(meta: Mapping[str, Any]) -> np.ndarray:
    """Meta as the 0-d string array every explorer npz uses (no pickle needed)."""
    return np.asarray(json.dumps(meta, ensure_ascii=False))


def output_arrays(sums: CorpusSums, meta: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The output file: the statistics, the sums and counts behind them, and ``meta``."""
    _, words = sums.words.self_similarity()
    meta = {**meta, "words_with_enough_occurrences": words}
    return {**sums.statistics(), **sums.raw_arrays(), "meta": meta_array(meta)}


def read_corpus_file(path: Path) -> tuple[CorpusSums, dict[str, Any]]:
    """The sums and meta of an output or checkpoint file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        meta = json.loads(str(arrays.pop("meta")))
        sums = CorpusSums.from_arrays(
            arrays, js=bool(meta["js"]), capacity=int(meta["word_capacity"])
        )
    except FileNotFoundError as err:
        raise CorpusFileError(f"{path} does not exist.") from err
    except OSError as err:
        raise CorpusFileError(f"Could not read {path}: {err.strerror or err}.") from err
    except KeyError as err:
        raise CorpusFileError(
            f"{path} is not a bert-explorer corpus file: it has no {err} entry."
        ) from err
    except (ValueError, TypeError) as err:
        raise CorpusFileError(
            f"{path} is not a bert-explorer corpus file (not an .npz that 'bert-explorer "
            "corpus' wrote)."
        ) from err
    return sums, meta


def same_run(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The identity fields in which two files' meta differ (empty: parts of one run)."""
    return [key for key in RUN_IDENTITY if a.get(key) != b.get(key)]


def merge_corpus_files(paths: Sequence[Path]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Add up the shards' sums: the output one run over the whole corpus would have written.

    The shards must come from the same corpus, model and options, each shard at most once.
    ``meta["shards_merged"]`` lists the shards found; a missing one is reported, not refused.
    """
    if not paths:
        raise CorpusFileError("Name the shard files to merge.")
    parts = [(path, *read_corpus_file(path)) for path in paths]
    first_path, total, meta = parts[0]
    seen: dict[int, Path] = {}
    for path, sums, part_meta in parts:
        differ = same_run(meta, part_meta)
        if differ:
            raise CorpusFileError(
                f"{path} and {first_path} are not shards of one run: their "
                f"{', '.join(differ)} differ."
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
    return output_arrays(total, merged_meta), merged_meta


def missing_shards(meta: Mapping[str, Any]) -> list[int]:
    """Shards of the run not among those merged into a file."""
    return sorted(set(range(1, int(meta["shards"]) + 1)) - set(meta["shards_merged"]))
