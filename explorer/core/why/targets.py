"""The number F an attribution explains, chosen from the loaded head (issue 18's table).

| head | F |
|---|---|
| classification | the probability of the predicted class, or of a chosen one |
| masked LM | the log-probability of the top token at a mask, or of a typed token |
| question answering | the start (or end) logit of the best answer |
| sentence embedding, with a pair | cos(A alone, B alone), B's embedding held fixed |
| anything else | ‖pooled vector‖, else ‖first (causal: last) token's last hidden state‖ |

Every target is a function of the word embeddings only (``inputs_embeds``, a batch of
them): the model adds its position and token-type embeddings itself, as in any pass. F keeps
the model's dtype (float32 as loaded; a float64 copy gives exact finite differences).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.heads import choice
from explorer.core.heads.predict import best_answer, embed_alone, mask_positions
from explorer.core.heads.sentence import pool

SIMILARITY = "similarity"
POOLED_NORM = "pooled-norm"
TARGET_HELP = "similarity | class:NAME | mask:POS[:TOKEN] | answer-start | answer-end | pooled-norm"


class TargetError(ExplorerError):
    """The target asked for does not apply to this model or input."""


@dataclass(frozen=True, eq=False)
class Target:
    """F as a function of a batch of word embeddings (B, T, D) → (B,), and its sequence."""

    description: str
    input_ids: np.ndarray  # (T,) int64: the sequence attributed
    tokens: np.ndarray  # (T,) str
    token_type_ids: np.ndarray | None  # (T,) int64, None when the model has no token types
    function: Callable[[dict[str, Any]], Any]  # model inputs → (B,) F

    def __call__(self, embeds: Any) -> Any:
        """F for each row of ``embeds`` (B, T, D)."""
        return self.function(model_inputs(embeds, self.token_type_ids))


def model_inputs(embeds: Any, token_type_ids: np.ndarray | None) -> dict[str, Any]:
    """The keyword arguments of a pass over word embeddings (B, T, D), without padding."""
    import torch

    batch, count = embeds.shape[0], embeds.shape[1]
    inputs: dict[str, Any] = {
        "inputs_embeds": embeds,
        "attention_mask": torch.ones((batch, count), dtype=torch.long),
    }
    if token_type_ids is not None:
        types = torch.from_numpy(np.array(token_type_ids, dtype=np.int64))
        inputs["token_type_ids"] = types.unsqueeze(0).expand(batch, -1)
    return inputs


def word_embeddings(loaded: Any, input_ids: np.ndarray) -> Any:
    """(1, T, D) torch in the model's dtype: the word embeddings alone (no positions, types)."""
    import torch

    table = loaded.model.get_input_embeddings()
    with torch.no_grad():
        return table(torch.from_numpy(np.array(input_ids, dtype=np.int64))[None]).detach()


@dataclass(frozen=True)
class _Sequence:
    """What a target builder needs of the input: its ids, tokens and token types."""

    input_ids: np.ndarray
    tokens: np.ndarray
    token_type_ids: np.ndarray | None

    def at_x(self, loaded: Any, function: Callable[[dict[str, Any]], Any]) -> Any:
        """``function`` at the input itself, without a gradient (to pick a class, a token)."""
        import torch

        with torch.no_grad():
            return function(
                model_inputs(word_embeddings(loaded, self.input_ids), self.token_type_ids)
            )


Builder = tuple[str, Callable[[dict[str, Any]], Any]]


def choose_target(loaded: Any, text: str, pair: str | None, spec: str = "") -> Target:
    """The target named by ``spec`` (see TARGET_HELP), or the first row of the table that fits.

    Run it inside the knock-out context of the pass it explains: the predicted class or token
    is the one the model predicts with those heads switched off.
    """
    from explorer.core.inference import encode

    spec = spec.strip()
    if spec == SIMILARITY or (not spec and _default(loaded, pair, None) == SIMILARITY):
        sequence, built = _similarity(loaded, text, pair)
    else:
        encoding = encode(loaded, text, pair)
        types = encoding.token_type_ids if loaded.info.has_token_types else None
        sequence = _Sequence(encoding.input_ids, encoding.tokens, types)
        built = _token_target(loaded, sequence, spec or _default(loaded, pair, sequence), encoding)
    return Target(built[0], sequence.input_ids, sequence.tokens, sequence.token_type_ids, built[1])


def _token_target(loaded: Any, sequence: _Sequence, spec: str, encoding: Any) -> Builder:
    kind = loaded.head.kind
    name, _, rest = spec.partition(":")
    if name == "class":
        if kind != choice.SEQUENCE_CLASSIFICATION:
            raise TargetError("A class target needs a sequence-classification head.")
        return _class_target(loaded, sequence, rest)
    if name == "mask":
        return _mask_target(loaded, sequence, rest)
    if spec in ("answer-start", "answer-end"):
        if kind != choice.QUESTION_ANSWERING:
            raise TargetError("An answer target needs a question-answering head.")
        return _answer_target(loaded, sequence, encoding, spec == "answer-end")
    if spec == SIMILARITY:
        raise TargetError("The similarity target needs a sentence-embedding model and a pair.")
    if spec == POOLED_NORM:
        return _norm_target(loaded)
    raise TargetError(f"Unknown target '{spec}'. Targets: {TARGET_HELP}.")


def _default(loaded: Any, pair: str | None, sequence: _Sequence | None) -> str:
    """The first row of the table that applies to the model and input."""
    kind = loaded.head.kind
    if kind == choice.SEQUENCE_CLASSIFICATION:
        return "class"
    has_mlm = kind in choice.MLM_KINDS and loaded.head.mlm is not None
    if (
        has_mlm
        and sequence is not None
        and mask_positions(sequence.input_ids, loaded.info.mask_token_id)
    ):
        return "mask"
    if kind == choice.QUESTION_ANSWERING:
        return "answer-start"
    if kind == choice.SENTENCE_EMBEDDING and loaded.head.pooling is not None and pair:
        return SIMILARITY
    return POOLED_NORM


def _encoder(loaded: Any, inputs: dict[str, Any]) -> Any:
    return loaded.model(**inputs, return_dict=True)


def _class_target(loaded: Any, sequence: _Sequence, name: str) -> Builder:
    import torch

    config = loaded.model.config
    count = int(getattr(config, "num_labels", 0) or 0)
    labels = list(choice.head_labels(config, count))
    problem = getattr(config, "problem_type", None) or (
        "regression" if count == 1 else "single_label_classification"
    )

    def scores(inputs: dict[str, Any]) -> Any:
        logits = loaded.runner(**inputs, return_dict=True).logits
        if problem == "regression":
            return logits
        if problem == "multi_label_classification":
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=-1)

    if not name:
        index = int(sequence.at_x(loaded, scores)[0].argmax())
    elif name in labels:
        index = labels.index(name)
    elif name.isdigit() and int(name) < count:
        index = int(name)
    else:
        raise TargetError(f"There is no class '{name}'. Classes: {', '.join(labels)}.")
    what = "value" if problem == "regression" else "probability"
    return f"{what} of class '{labels[index]}'", lambda inputs: scores(inputs)[:, index]


def _mask_target(loaded: Any, sequence: _Sequence, rest: str) -> Builder:
    """'mask', 'mask:POS' or 'mask:POS:TOKEN'; POS is a token index (0 is [CLS])."""
    import torch

    head = loaded.head
    if head.mlm is None:
        note = head.note or "this checkpoint has no masked-LM head"
        raise TargetError(f"A mask target needs a trained masked-LM head: {note}.")
    position_text, _, token = rest.partition(":")
    count = sequence.input_ids.shape[0]
    if position_text:
        if not position_text.isdigit() or int(position_text) >= count:
            raise TargetError(f"'{position_text}' is not a token index below {count}.")
        position = int(position_text)
    else:
        masks = mask_positions(sequence.input_ids, loaded.info.mask_token_id)
        if not masks:
            raise TargetError(f"The input has no {loaded.info.mask_token} token to explain.")
        position = masks[0]

    def log_probs(inputs: dict[str, Any]) -> Any:
        hidden = _encoder(loaded, inputs).last_hidden_state[:, position]
        return torch.log_softmax(head.mlm(hidden), dim=-1)

    token_id = _token_id(loaded.tokenizer, token) if token else None
    if token_id is None:
        token_id = int(sequence.at_x(loaded, log_probs)[0].argmax())
    name = loaded.tokenizer.convert_ids_to_tokens([token_id])[0]
    return (
        f"log-probability of '{name}' at token {position}",
        lambda inputs: log_probs(inputs)[:, token_id],
    )


def _token_id(tokenizer: Any, token: str) -> int:
    """A typed token's id: a vocabulary entry, or a word the tokenizer makes one piece of."""
    found = tokenizer.convert_tokens_to_ids(token)
    if isinstance(found, int) and (found != tokenizer.unk_token_id or token == tokenizer.unk_token):
        return found
    pieces = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(pieces) != 1:
        raise TargetError(f"'{token}' is not one token of the vocabulary ({len(pieces)} pieces).")
    return int(pieces[0])


def _answer_target(loaded: Any, sequence: _Sequence, encoding: Any, end: bool) -> Builder:
    import torch

    key = "end_logits" if end else "start_logits"

    def both(inputs: dict[str, Any]) -> Any:
        out = loaded.runner(**inputs, return_dict=True)
        return torch.stack(
            [out.start_logits, out.end_logits]
        ).float()  # (2, B, T), only to pick the answer

    logits = sequence.at_x(loaded, both)[:, 0]
    probs = torch.softmax(logits, dim=-1).numpy()
    answer = best_answer(probs[0], probs[1], encoding)
    if answer is None:
        raise TargetError("The context holds no answer span to explain.")
    position = answer.end if end else answer.start

    def logit(inputs: dict[str, Any]) -> Any:
        return getattr(loaded.runner(**inputs, return_dict=True), key)[:, position]

    which = "end" if end else "start"
    return f"{which} logit of the answer '{answer.text}' (token {position})", logit


def _norm_target(loaded: Any) -> Builder:
    import torch

    # A causal model's first token sees only itself: its last token is the one that has read
    # the whole input (as rollout's summary position).
    summary = -1 if loaded.info.causal else 0

    def norm(inputs: dict[str, Any]) -> Any:
        out = _encoder(loaded, inputs)
        pooled = getattr(out, "pooler_output", None) if loaded.info.has_pooler else None
        vector = pooled if pooled is not None else out.last_hidden_state[:, summary]
        return torch.linalg.vector_norm(vector, dim=-1)

    if loaded.info.has_pooler:
        return "L2 norm of the pooled vector", norm
    if loaded.info.causal:
        return "L2 norm of the last token's last hidden state (a causal model)", norm
    return "L2 norm of the first token's last hidden state", norm


def _similarity(loaded: Any, text: str, pair: str | None) -> tuple[_Sequence, Builder]:
    """cos(A alone, B alone): A's tokens encoded alone, B's embedding fixed (and computed now)."""
    import torch

    pooling = loaded.head.pooling
    if pooling is None or loaded.head.kind != choice.SENTENCE_EMBEDDING or not pair:
        raise TargetError("The similarity target needs a sentence-embedding model and a pair.")
    fixed = torch.from_numpy(embed_alone(loaded, pair))
    limit = min(pooling.max_seq_length or loaded.info.max_length, loaded.info.max_length)
    encoded = loaded.tokenizer(text, truncation=True, max_length=limit)
    ids = np.asarray(encoded["input_ids"], dtype=np.int64)
    types = np.zeros_like(ids) if loaded.info.has_token_types else None
    tokens = np.asarray(loaded.tokenizer.convert_ids_to_tokens(ids.tolist()), dtype=str)

    def cosine(inputs: dict[str, Any]) -> Any:
        states = _encoder(loaded, inputs).last_hidden_state
        embedded = torch.stack([pool(row, pooling) for row in states])
        return torch.nn.functional.cosine_similarity(embedded, fixed.unsqueeze(0), dim=-1)

    return _Sequence(ids, tokens, types), ("cosine of A's embedding with B's (B fixed)", cosine)
