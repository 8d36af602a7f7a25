"""The dtype a checkpoint's weights are stored in, read from the files without loading them.

The explorer always computes in float32 (``load_model`` asks transformers for it), whatever
the checkpoint holds: numpy has no bfloat16, and half-precision attention would make two
models' pictures differ by rounding alone. The status bar still says what the file held, so
a user comparing numbers with another tool knows the weights were upcast.

The weights are what counts: a safetensors header lists every tensor's dtype (its first 8
bytes give the length of a JSON header, so this reads a few kilobytes, never the weights).
For a pickled ``.bin`` checkpoint, or when the header cannot be read, the config's ``dtype``
(``torch_dtype`` before transformers 5) is the best guess, and float32 when it says nothing.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from pathlib import Path
from typing import Any

DEFAULT_DTYPE = "float32"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
CONFIG_FILE = "config.json"
# A BERT-family header lists a few hundred tensors in tens of KB; parsing a 100 MB one (the
# safetensors library's own limit) takes seconds and hundreds of MB, twice over.
MAX_HEADER_BYTES = 16_000_000
MAX_JSON_BYTES = 50_000_000  # an index or config larger than this is not worth reading

# safetensors' dtype names → torch's names (the ones the status bar shows).
_SAFETENSORS_FLOATS = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
}


def _local_file(location: str, name: str, local_only: bool) -> Path | None:
    """``name`` in a model folder, or in the hub cache for a hub id (never a download)."""
    folder = Path(location)
    if local_only or folder.is_dir():
        path = folder / name
        return path if path.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    try:
        found = try_to_load_from_cache(location, name)
    except Exception:  # a malformed repo id: no cached file to read
        return None
    return Path(found) if isinstance(found, str) and Path(found).is_file() else None


def safetensors_header(path: Path) -> dict[str, Any] | None:
    """The JSON header of a safetensors file (tensor name → dtype, shape, offsets), or None.

    Bounded: a header length beyond the file or beyond MAX_HEADER_BYTES means a broken file.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) != 8:
                return None
            (length,) = struct.unpack("<Q", prefix)
            if length > min(MAX_HEADER_BYTES, size - 8):
                return None
            header = json.loads(handle.read(length))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return header if isinstance(header, dict) else None


def _read_json(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _count_floats(header: dict[str, Any], counts: Counter[str]) -> None:
    """Add each floating-point tensor's element count under its dtype's torch name."""
    for name, entry in header.items():
        if name == "__metadata__" or not isinstance(entry, dict):
            continue
        dtype = str(entry.get("dtype", ""))
        torch_name = _SAFETENSORS_FLOATS.get(dtype)
        if torch_name is None:
            if not dtype.startswith("F"):
                continue  # integer or boolean buffers (position ids) say nothing
            torch_name = dtype.lower()
        elements = 1
        for extent in entry.get("shape", ()):
            elements *= int(extent)
        counts[torch_name] += max(elements, 1)


def _safetensors_dtype(location: str, local_only: bool) -> str | None:
    """The dtype most of the floating-point weights have, over every safetensors shard."""
    files: list[Path] = []
    single = _local_file(location, SAFETENSORS_FILE, local_only)
    if single is not None:
        files.append(single)
    else:
        index = _read_json(_local_file(location, SAFETENSORS_INDEX, local_only))
        weight_map = index.get("weight_map") if index is not None else None
        if isinstance(weight_map, dict):
            for shard in sorted({str(name) for name in weight_map.values()}):
                path = _local_file(location, shard, local_only)
                if path is not None:
                    files.append(path)
    counts: Counter[str] = Counter()
    for path in files:
        header = safetensors_header(path)
        if header is not None:
            _count_floats(header, counts)
    if not counts:
        return None
    return counts.most_common(1)[0][0]


def _config_dtype(location: str, local_only: bool) -> str | None:
    """The dtype config.json declares (``dtype``, or the older ``torch_dtype``), if any."""
    config = _read_json(_local_file(location, CONFIG_FILE, local_only))
    if config is None:
        return None
    for key in ("dtype", "torch_dtype"):
        value = config.get(key)
        if isinstance(value, str) and value and value != "auto":
            return value.removeprefix("torch.")
    return None


def stored_dtype(location: str, local_only: bool) -> str:
    """The dtype the checkpoint at ``location`` (a folder or a cached hub id) stores.

    Weights first (safetensors headers), then the config, then float32. Never raises: this
    only labels a model that has already loaded.
    """
    return (
        _safetensors_dtype(location, local_only)
        or _config_dtype(location, local_only)
        or DEFAULT_DTYPE
    )
