"""Writers for what users take out of the window: CSV tables and the inspect-format npz.

Every writer refuses to replace an existing file unless told to (the GUI asks first), and turns
OS errors into ExportError with a message.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult, write_npz_into

TOKEN_COLUMNS = (
    "index",
    "token",
    "id",
    "token_type",
    "sentence",
    "start",
    "end",
    "text",
    "special",
    "unk",
)


class ExportError(ExplorerError):
    """A file could not be written; the message says why and nothing was changed."""


def open_for_writing(path: Path, *, overwrite: bool, binary: bool = False) -> Any:
    """Open ``path`` for writing; exclusive unless ``overwrite`` (the user confirmed)."""
    mode = ("w" if overwrite else "x") + ("b" if binary else "")
    try:
        if binary:
            return path.open(mode)
        return path.open(mode, encoding="utf-8", newline="")
    except FileExistsError as err:
        raise ExportError(f"{path} already exists and was not replaced.") from err
    except OSError as err:
        raise ExportError(f"Could not write {path}: {err.strerror or err}.") from err


def _write_rows(path: Path, rows: Iterable[Iterable[Any]], *, overwrite: bool) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    handle = open_for_writing(path, overwrite=overwrite)
    try:
        with handle:
            handle.write(buffer.getvalue())
    except OSError as err:  # e.g. the disk filled up half way
        raise ExportError(f"Could not write {path}: {err.strerror or err}.") from err
    return path


def token_rows(result: InferenceResult) -> list[list[Any]]:
    """The tokens table as rows, header first."""
    rows: list[list[Any]] = [list(TOKEN_COLUMNS)]
    for i in range(result.num_tokens):
        sentence = result.sentence_of(i)
        start, end = (int(v) for v in result.offsets[i])
        rows.append(
            [
                i,
                str(result.tokens[i]),
                int(result.input_ids[i]),
                int(result.token_type_ids[i]),
                {0: "A", 1: "B"}.get(int(result.sequence_ids[i]), ""),
                start,
                end,
                sentence[start:end] if sentence is not None else "",
                int(bool(result.special_tokens_mask[i])),
                int(bool(result.unk_mask[i])),
            ]
        )
    return rows


def write_tokens_csv(result: InferenceResult, path: str | Path, *, overwrite: bool = False) -> Path:
    """The tokens table as CSV (one row a token)."""
    return _write_rows(Path(path), token_rows(result), overwrite=overwrite)


def matrix_rows(result: InferenceResult, matrix: np.ndarray) -> list[list[Any]]:
    """A T×T matrix with token labels: header row of keys, first column of queries."""
    labels = [f"{i}:{t}" for i, t in enumerate(result.tokens)]
    rows: list[list[Any]] = [["query \\ key", *labels]]
    for i, label in enumerate(labels):
        rows.append([label, *(repr(float(v)) for v in matrix[i])])
    return rows


def write_matrix_csv(
    result: InferenceResult, matrix: np.ndarray, path: str | Path, *, overwrite: bool = False
) -> Path:
    """One head's (or an aggregate's) attention matrix as labelled CSV."""
    return _write_rows(Path(path), matrix_rows(result, matrix), overwrite=overwrite)


def inspect_arrays(
    loaded: Any, result: InferenceResult, *, lens: bool = False, qkv: bool = False
) -> dict[str, np.ndarray]:
    """Everything `bert-explorer inspect` writes, for the GUI's npz export to match it.

    With ``qkv``, also ``queries``, ``keys`` and ``values`` (L, H, T, d_head) float32.
    """
    from explorer.core.analysis.export import analysis_arrays, not_applicable
    from explorer.core.heads.arrays import prediction_arrays

    arrays = result.to_arrays()
    arrays.update(analysis_arrays(loaded, result))
    predicted, meta = prediction_arrays(loaded, result, lens=lens)
    if skipped := not_applicable(loaded):
        meta["not_applicable"] = skipped  # which keys are left out for this model, and why
    arrays.update(predicted)
    if qkv:
        from explorer.core.why.qkv import qkv_arrays

        arrays.update(qkv_arrays(loaded, result))
    if meta:
        arrays["meta"] = np.asarray(json.dumps({**result.meta(), **meta}, ensure_ascii=False))
    return arrays


def write_npz(arrays: Mapping[str, np.ndarray], path: str | Path, *, overwrite: bool) -> Path:
    """Uncompressed npz, exclusive unless ``overwrite``."""
    path = Path(path)
    handle = open_for_writing(path, overwrite=overwrite, binary=True)
    try:
        with handle:
            write_npz_into(handle, arrays)
    except OSError as err:
        raise ExportError(f"Could not write {path}: {err.strerror or err}.") from err
    return path


def write_matrix_job(loaded: Any, result: InferenceResult, params: Mapping[str, Any]) -> str:
    """Worker job: the chosen layer/head matrix as CSV (~0.2 s at 512 tokens, off the GUI)."""
    from explorer.core.analysis.aggregate import aggregate_heads

    matrix = aggregate_heads(
        result.attentions,
        int(params["layer"]),
        int(params["head"]),
        str(params["pool"]),
        bool(params["mean_layers"]),
    )
    path = write_matrix_csv(result, matrix, params["path"], overwrite=bool(params["overwrite"]))
    return str(path)


def write_npz_job(loaded: Any, result: InferenceResult, params: Mapping[str, Any]) -> str:
    """Worker job: compute the inspect arrays (some need the weights) and write them.

    ``loaded`` is None when the model that made ``result`` is no longer the one loaded: its
    norm-based maps cannot be computed, so nothing is written.
    """
    if loaded is None:
        raise ExportError(
            "The model that computed this result is no longer loaded, so its norm-based "
            "attention cannot be computed: run the sentence again, then export."
        )
    path = write_npz(
        inspect_arrays(loaded, result), params["path"], overwrite=bool(params.get("overwrite"))
    )
    return str(path)
