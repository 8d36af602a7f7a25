"""The head's torch modules, found once at load time, and the one place they are called.

Only the worker thread (or a script) holds a HeadRuntime: it references torch modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from explorer.core.heads.choice import NO_HEAD, VOCABULARY_KINDS
from explorer.core.heads.sentence import SentencePooling


@dataclass
class HeadRuntime:
    """The loaded head: its kind, the model whose forward runs encoder and head, its parts."""

    kind: str
    runner: Any  # the head model (BertForMaskedLM, ...) or the encoder itself
    mlm: Callable[[Any], Any] | None = None  # hidden (..., D) → vocabulary logits (..., V)
    decoder: Any = None  # the vocabulary projection, restricted to shown positions in a pass
    # GPT-2 normalises (ln_f) after its last layer only: the logit lens applies it to the
    # states of every earlier depth, whose stored values are not normalised yet.
    final_norm: Any = None
    pooling: SentencePooling | None = None
    note: str = ""


def no_head(encoder: Any, note: str = "") -> HeadRuntime:
    """The encoder alone: nothing is predicted."""
    return HeadRuntime(NO_HEAD, encoder, note=note)


def head_runtime(kind: str, runner: Any, pooling: SentencePooling | None = None) -> HeadRuntime:
    """Find the vocabulary head's parts of ``runner`` (when its kind has one)."""
    if kind not in VOCABULARY_KINDS:
        return HeadRuntime(kind, runner, pooling=pooling)
    decoder = runner.get_output_embeddings()
    mlm = _mlm_function(runner, decoder)
    if decoder is None or mlm is None:
        return no_head(
            runner.base_model,
            f"the vocabulary head of '{runner.config.model_type}' models is not supported",
        )
    final_norm = getattr(getattr(runner, "transformer", None), "ln_f", None)
    return HeadRuntime(kind, runner, mlm=mlm, decoder=decoder, final_norm=final_norm)


def _mlm_function(runner: Any, decoder: Any) -> Callable[[Any], Any] | None:
    """Hidden → logits: the decoder's parent head module, or the family's chain of modules."""
    if decoder is None:
        return None
    for module in runner.modules():
        if module is not runner and any(child is decoder for child in module.children()):
            return module  # BertLMPredictionHead, RobertaLMHead, AlbertMLMHead, ...
    chain_names = {
        "distilbert": ("vocab_transform", "activation", "vocab_layer_norm", "vocab_projector"),
        "electra": ("generator_predictions", "generator_lm_head"),
        "gpt2": ("lm_head",),
    }.get(getattr(runner.config, "model_type", ""))
    if chain_names is None or not all(hasattr(runner, n) for n in chain_names):
        return None
    chain = [getattr(runner, name) for name in chain_names]

    def apply(hidden: Any) -> Any:
        for module in chain:
            hidden = module(hidden)
        return hidden

    return apply


@contextmanager
def vocabulary_at(head: HeadRuntime, positions: list[int]) -> Iterator[None]:
    """Within this block the vocabulary projection runs only at ``positions``.

    At base size the projection is T·D·V multiply-adds (3 G at 128 tokens), mostly for
    positions nobody looks at; the transform before it stays whole (it is T·D·D).
    """
    if head.decoder is None:
        yield
        return
    import torch

    index = torch.tensor(positions, dtype=torch.long)

    def only_positions(_module: Any, args: Any) -> Any:
        hidden = args[0]
        return (hidden.index_select(-2, index), *args[1:])

    handle = head.decoder.register_forward_pre_hook(only_positions)
    try:
        yield
    finally:
        handle.remove()
