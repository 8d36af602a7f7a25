"""What model a corpus file was made with, known by content rather than by path.

Shards run on different machines load the same model from different folders (another venv,
another cache, a relative path), so the path names nothing. The fingerprint hashes what decides
every number: each weight of the encoder as it computes (float32, by parameter name) and the
tokenizer's full serialization (vocabulary, normalizer, special tokens).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

_CALL_STATE = ("truncation", "padding")


def model_fingerprint(model: Any, tokenizer: Any) -> str:
    """sha256 of the model's state and its tokenizer (equal for equal models, wherever stored)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        array = np.ascontiguousarray(tensor.detach().float().cpu().numpy())
        digest.update(f"{name}:{array.shape}\n".encode())
        digest.update(array.tobytes())
    digest.update(_tokenizer_text(tokenizer).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _tokenizer_text(tokenizer: Any) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # Truncation and padding are call settings the tokenizer keeps from its last call.
        state = {k: v for k, v in json.loads(backend.to_str()).items() if k not in _CALL_STATE}
        return json.dumps(state, sort_keys=True, ensure_ascii=False)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    return json.dumps({"class": type(tokenizer).__name__, "vocab": vocab}, ensure_ascii=False)
