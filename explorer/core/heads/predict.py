"""Turn the head's outputs of one forward pass into numpy Predictions, and the on-demand extras.

The masked-LM head runs on the positions shown (every mask in the pass; the selected token,
the logit lens and ``inspect``'s every position on demand), each from the hidden states the
pass already stored: the head is applied to exactly what the encoder handed it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.heads import choice
from explorer.core.heads.modules import HeadRuntime
from explorer.core.heads.sentence import pool
from explorer.core.predictions import (
    TOP_K,
    Answer,
    LensGrid,
    Predictions,
    SentencePair,
    TopTokens,
)

MAX_ANSWER_TOKENS = 30


class HeadUnavailableError(ExplorerError):
    """The loaded checkpoint has no trained head of the kind asked for."""


def mask_positions(input_ids: np.ndarray, mask_token_id: int | None) -> list[int]:
    """Where the input holds the tokenizer's mask token."""
    if mask_token_id is None:
        return []
    return [int(i) for i in np.flatnonzero(input_ids == mask_token_id)]


def _numpy(tensor: Any) -> np.ndarray:
    import torch

    return np.array(tensor.detach().to(torch.float32).numpy(), dtype=np.float32)


def top_tokens(tokenizer: Any, logits: Any, positions: list[int], k: int = TOP_K) -> TopTokens:
    """Softmax over the vocabulary and its k best entries, per row of ``logits`` (P, V)."""
    import torch

    probs = torch.softmax(logits.to(torch.float32), dim=-1)
    k = min(k, probs.shape[-1])
    values, ids = torch.topk(probs, k, dim=-1)
    id_array = ids.numpy().astype(np.int64)
    names = tokenizer.convert_ids_to_tokens(id_array.reshape(-1).tolist())
    tokens = np.asarray([n if n is not None else "" for n in names], dtype=str)
    return TopTokens(
        positions=np.asarray(positions, dtype=np.int64),
        ids=id_array,
        probs=values.numpy().astype(np.float32),
        tokens=tokens.reshape(id_array.shape),
    )


def predictions_of(
    loaded: Any,
    outputs: Any,
    masks: list[int],
    encoding: Any,
    last_hidden: Any,
) -> Predictions:
    """The Predictions of one pass: ``outputs`` is the head model's output object."""
    head: HeadRuntime = loaded.head
    kind = head.kind
    if kind == choice.NO_HEAD:
        return Predictions(choice.NO_HEAD, note=head.note)
    found: dict[str, Any] = {}
    if kind in choice.MLM_KINDS:
        logits = outputs.get("prediction_logits", outputs.get("logits"))
        if masks and logits is not None:
            found["masked"] = top_tokens(loaded.tokenizer, logits[0], masks)
    if kind in (choice.PRETRAINING, choice.NEXT_SENTENCE) and encoding.pair is not None:
        nsp = outputs.get("seq_relationship_logits", outputs.get("logits"))
        found["nsp_probs"] = _numpy(_softmax(nsp[0]))
    if kind == choice.SEQUENCE_CLASSIFICATION:
        found.update(_classes(loaded, outputs["logits"][0]))
    if kind == choice.TOKEN_CLASSIFICATION:
        logits = outputs["logits"][0]
        found["token_class_probs"] = _numpy(_softmax(logits))
        found["labels"] = loaded.info.head_labels  # read once at load time
    if kind == choice.QUESTION_ANSWERING:
        start = _numpy(_softmax(outputs["start_logits"][0]))
        end = _numpy(_softmax(outputs["end_logits"][0]))
        found.update(
            qa_start_probs=start, qa_end_probs=end, answer=best_answer(start, end, encoding)
        )
    if kind == choice.SENTENCE_EMBEDDING and head.pooling is not None:
        found["pooling"] = head.pooling.describe()
        if encoding.pair is None and _within_sentence_length(loaded, encoding):
            found["sentence_embedding"] = _numpy(pool(last_hidden[0], head.pooling))
    return Predictions(kind, note=head.note, **found)


def _softmax(logits: Any) -> Any:
    import torch

    return torch.softmax(logits.to(torch.float32), dim=-1)


def _classes(loaded: Any, logits: Any) -> dict[str, Any]:
    import torch

    config = loaded.model.config
    count = int(logits.shape[-1])
    problem = getattr(config, "problem_type", None) or (
        "regression" if count == 1 else "single_label_classification"
    )
    values = logits.to(torch.float32)
    if problem == "multi_label_classification":
        probs: Any = torch.sigmoid(values)
    elif problem == "regression":
        probs = None
    else:
        probs = torch.softmax(values, dim=-1)
    return {
        "class_logits": _numpy(values),
        "class_probs": None if probs is None else _numpy(probs),
        "labels": loaded.info.head_labels,
        "problem": problem,
    }


def best_answer(start: np.ndarray, end: np.ndarray, encoding: Any) -> Answer | None:
    """The most probable span with start ≤ end, inside the context, at most 30 tokens.

    The context is B (A is the question); a single sentence is its own context.
    """
    context = 1 if encoding.pair is not None else 0
    inside = np.asarray(encoding.sequence_ids) == context
    count = start.shape[0]
    best: tuple[float, int, int] | None = None
    for length in range(MAX_ANSWER_TOKENS):
        if length >= count:
            break
        first = np.arange(count - length)
        last = first + length
        valid = inside[first] & inside[last]
        if not valid.any():
            continue
        scores = np.where(valid, start[first] * end[last], -1.0)
        where = int(np.argmax(scores))
        if best is None or scores[where] > best[0]:
            best = (float(scores[where]), int(first[where]), int(last[where]))
    if best is None:
        return None
    score, first_token, last_token = best
    sentence = encoding.pair if context == 1 else encoding.text
    offsets = np.asarray(encoding.offsets)
    text = sentence[int(offsets[first_token, 0]) : int(offsets[last_token, 1])]
    return Answer(first_token, last_token, text, score)


def _within_sentence_length(loaded: Any, encoding: Any) -> bool:
    """sentence-transformers truncates to max_seq_length: longer passes are re-encoded alone."""
    pooling = loaded.head.pooling
    limit = pooling.max_seq_length if pooling is not None else None
    return limit is None or (encoding.input_ids.shape[0] <= limit and not encoding.truncated)


def _require_mlm(loaded: Any) -> HeadRuntime:
    head: HeadRuntime = loaded.head
    if head.mlm is None:
        note = head.note or "this checkpoint has no masked-LM or next-token head"
        raise HeadUnavailableError(f"No vocabulary predictions: {note}.")
    return head


def mlm_top(loaded: Any, hidden: np.ndarray, positions: list[int]) -> TopTokens:
    """The masked-LM head on the stored last hidden state at ``positions``."""
    import torch

    head = _require_mlm(loaded)
    assert head.mlm is not None
    with torch.inference_mode():
        states = torch.from_numpy(np.ascontiguousarray(hidden[positions]))
        logits = head.mlm(states)
    return top_tokens(loaded.tokenizer, logits, positions)


def logit_lens(loaded: Any, hidden_states: np.ndarray, k: int = TOP_K) -> LensGrid:
    """The masked-LM head applied to every layer's hidden state, embedding output included.

    One layer at a time, so the (T, V) logits of one layer is the largest temporary.
    """
    import torch

    head = _require_mlm(loaded)
    assert head.mlm is not None
    layers, count = hidden_states.shape[0], hidden_states.shape[1]
    norm = head.final_norm
    ids = np.empty((layers, count, k), dtype=np.int64)
    probs = np.empty((layers, count, k), dtype=np.float32)
    with torch.inference_mode():
        for layer in range(layers):
            state = torch.from_numpy(hidden_states[layer].copy())
            if norm is not None and layer < layers - 1:
                state = norm(state)  # the last row already went through it
            logits = head.mlm(state)
            values, top = torch.topk(torch.softmax(logits.to(torch.float32), dim=-1), k, dim=-1)
            ids[layer], probs[layer] = top.numpy(), values.numpy()
    names = loaded.tokenizer.convert_ids_to_tokens(ids.reshape(-1).tolist())
    tokens = np.asarray([n if n is not None else "" for n in names], dtype=str).reshape(ids.shape)
    return LensGrid(ids=ids, probs=probs, tokens=tokens)


def embed_alone(loaded: Any, text: str) -> np.ndarray:
    """One sentence encoded on its own and pooled, as SentenceTransformer.encode does."""
    import torch

    head: HeadRuntime = loaded.head
    if head.pooling is None:
        raise HeadUnavailableError("This model has no sentence-embedding pooling.")
    limit = head.pooling.max_seq_length or loaded.info.max_length
    limit = min(limit, loaded.info.max_length)
    encoded = loaded.tokenizer(text, truncation=True, max_length=limit, return_tensors="pt")
    inputs = {k: v for k, v in encoded.items() if k in loaded.tokenizer.model_input_names}
    with torch.inference_mode():
        states = loaded.model(**inputs, return_dict=True).last_hidden_state
        return _numpy(pool(states[0], head.pooling))


def sentence_pair(loaded: Any, text: str, pair: str) -> SentencePair:
    """A and B each encoded alone, and the cosine of their embeddings."""
    a, b = embed_alone(loaded, text), embed_alone(loaded, pair)
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    cosine = float(np.dot(a, b) / denominator) if denominator > 0 else float("nan")
    assert loaded.head.pooling is not None
    return SentencePair(a, b, cosine, loaded.head.pooling.describe())


def with_sentence_pair(loaded: Any, result: Any) -> Any:
    """``result`` with A (and B) encoded alone on its predictions, as sentence-transformers does.

    The pass encoded the pair together (or a sentence longer than the pooling's limit); the
    Python API and ``inspect`` add the embeddings of each sentence alone. Other heads, and a
    result that already has them, come back unchanged.
    """
    import dataclasses

    predictions = result.predictions
    head = loaded.head
    if predictions is None or head is None or head.pooling is None:
        return result
    if result.pair is not None and predictions.pair_embedding is None:
        both = sentence_pair(loaded, result.text, result.pair)
        found = {"sentence_embedding": both.a, "pair_embedding": both.b, "pair_cosine": both.cosine}
    elif result.pair is None and predictions.sentence_embedding is None:
        found = {"sentence_embedding": embed_alone(loaded, result.text)}
    else:
        return result
    return dataclasses.replace(result, predictions=dataclasses.replace(predictions, **found))
