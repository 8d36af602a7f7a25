"""Tokenize a sentence (or pair), run one eager forward pass, and keep every tensor as numpy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.errors import InputTextError
from explorer.core.loading import LoadedModel
from explorer.core.results import InferenceResult

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str | None) -> str:
    """Replace lone surrogates (which the Rust tokenizer cannot encode) one-for-one.

    The replacement keeps every index, so offsets still point into what the user typed.
    """
    return _LONE_SURROGATE.sub("\ufffd", text or "")


@dataclass(frozen=True)
class Encoding:
    """The tokenizer's view of the input, before any model runs."""

    text: str
    pair: str | None
    input_ids: np.ndarray
    token_type_ids: np.ndarray
    offsets: np.ndarray
    special_tokens_mask: np.ndarray
    sequence_ids: np.ndarray
    word_ids: np.ndarray
    tokens: np.ndarray
    unk_mask: np.ndarray
    truncated: bool
    tokens_dropped: int


def encode(loaded: LoadedModel, text: str, pair: str | None = None) -> Encoding:
    """Tokenize with longest-first truncation and report how many tokens were dropped."""
    text = clean_text(text)
    pair = clean_text(pair) if pair is not None else None
    if not text.strip():
        if pair is not None and pair.strip():
            raise InputTextError(
                "Sentence A is empty but sentence B is not. Type the first sentence in A; "
                "B is only the second segment of a pair."
            )
        raise InputTextError("Type a sentence to see what the model does with it.")
    if pair is not None and not pair.strip():
        pair = None

    tokenizer = loaded.tokenizer
    max_length = loaded.info.max_length
    full_length = len(tokenizer(text, pair, truncation=False)["input_ids"])
    enc = tokenizer(
        text,
        pair,
        truncation="longest_first" if full_length > max_length else False,
        max_length=max_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        return_token_type_ids=True,
    )
    input_ids = np.asarray(enc["input_ids"], dtype=np.int64)
    count = input_ids.shape[0]
    type_ids = enc.get("token_type_ids") or [0] * count
    seq_ids = np.asarray([-1 if s is None else s for s in enc.sequence_ids()], dtype=np.int64)
    word_ids = np.asarray([-1 if w is None else w for w in enc.word_ids()], dtype=np.int64)
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(count, 2)
    special = np.asarray(enc["special_tokens_mask"], dtype=bool)
    offsets[special] = 0
    unk_id = tokenizer.unk_token_id
    return Encoding(
        text=text,
        pair=pair,
        input_ids=input_ids,
        token_type_ids=np.asarray(type_ids, dtype=np.int64),
        offsets=offsets,
        special_tokens_mask=special,
        sequence_ids=seq_ids,
        word_ids=word_ids,
        tokens=np.asarray(tokenizer.convert_ids_to_tokens(input_ids.tolist()), dtype=str),
        unk_mask=(input_ids == unk_id) if unk_id is not None else np.zeros(count, bool),
        truncated=full_length > count,
        tokens_dropped=max(0, full_length - count),
    )


def _model_inputs(loaded: LoadedModel, encoding: Encoding) -> dict[str, Any]:
    import torch

    ids = torch.from_numpy(encoding.input_ids).unsqueeze(0)
    inputs: dict[str, Any] = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if "token_type_ids" in loaded.tokenizer.model_input_names:
        inputs["token_type_ids"] = torch.from_numpy(encoding.token_type_ids).unsqueeze(0)
    return inputs


def _attention_modules(model: Any) -> list[Any]:
    """The self-attention modules whose forward returns (output, weights), in layer order.

    transformers 5 records ``output_attentions`` through forward hooks on the class named in
    ``_can_record_outputs["attentions"]`` (BertSelfAttention, RobertaSelfAttention, ...); we
    hook the same modules. An empty list means "unknown layout": use the recorder instead.
    """
    spec = (getattr(type(model), "_can_record_outputs", None) or {}).get("attentions")
    if not isinstance(spec, type):
        return []
    return [module for module in model.modules() if isinstance(module, spec)]


class _AttentionSink:
    """Copies each layer's attention weights into one preallocated float32 array as they appear.

    With ``output_attentions=False`` the model drops each layer's (1, H, T, T) tensor right
    after the layer, so at most one of them is alive at a time: the peak is the numpy array
    (L·H·T²·4 bytes) plus one layer, instead of every torch tensor plus their copy.
    """

    def __init__(self, modules: list[Any], heads: int, count: int) -> None:
        self.array = np.empty((len(modules), heads, count, count), dtype=np.float32)
        self.filled = [False] * len(modules)
        self._handles = [
            module.register_forward_hook(self._hook_for(index))
            for index, module in enumerate(modules)
        ]

    def _hook_for(self, index: int) -> Any:
        import torch

        def copy_weights(_module: Any, _args: Any, output: Any) -> None:
            weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if weights is None or tuple(weights.shape[1:]) != self.array.shape[1:]:
                return  # SDPA or an unknown layout: complete() will say so
            torch.from_numpy(self.array[index]).copy_(weights[0])
            self.filled[index] = True

        return copy_weights

    def complete(self) -> bool:
        """Every layer delivered its weights."""
        return bool(self.filled) and all(self.filled)

    def remove(self) -> None:
        """Detach the hooks (the model outlives this one forward pass)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def _copy_layers(tensors: list[Any]) -> np.ndarray:
    """Stack (1, ...) torch tensors into one new float32 array, freeing each after its copy."""
    stacked = np.empty((len(tensors), *tuple(tensors[0].shape[1:])), dtype=np.float32)
    for layer in range(len(tensors)):
        stacked[layer] = tensors[layer][0].numpy()
        tensors[layer] = None
    return stacked


def _forward(loaded: LoadedModel, encoding: Encoding, *, record_attentions: bool) -> Any:
    import torch

    with torch.inference_mode():
        return loaded.model(
            **_model_inputs(loaded, encoding),
            output_attentions=record_attentions,
            output_hidden_states=True,
            return_dict=True,
        )


def run_inference(loaded: LoadedModel, text: str, pair: str | None = None) -> InferenceResult:
    """One forward pass; each tensor is copied once into a preallocated numpy array.

    Attention weights are captured layer by layer through forward hooks (see _AttentionSink),
    so the torch copies never pile up. A model whose layout the hooks do not recognise runs
    with ``output_attentions=True`` instead, and each tensor is copied once afterwards.
    """
    import torch

    encoding = encode(loaded, text, pair)
    modules = _attention_modules(loaded.model)
    attentions: np.ndarray | None = None
    outputs = None
    if modules and len(modules) == loaded.info.num_layers:
        sink = _AttentionSink(modules, loaded.info.num_heads, encoding.input_ids.shape[0])
        try:
            outputs = _forward(loaded, encoding, record_attentions=False)
        finally:
            sink.remove()
        if sink.complete():
            attentions = sink.array
        del sink
    layer_attentions: list[Any] = []
    if attentions is None:
        outputs = None  # free the first attempt before running again
        outputs = _forward(loaded, encoding, record_attentions=True)
        layer_attentions = list(outputs.attentions or ())
        if not layer_attentions or any(a is None for a in layer_attentions):
            raise RuntimeError(
                "The model returned no attention weights (SDPA or flash attention slipped in); "
                "it must be loaded with attn_implementation='eager'."
            )
    layer_states = list(outputs.hidden_states)
    pooled = getattr(outputs, "pooler_output", None)
    del outputs  # the lists above now own the tensors, so each is freed right after its copy

    if attentions is None:
        attentions = _copy_layers(layer_attentions)
    norms = np.stack([torch.linalg.vector_norm(s[0], dim=-1).numpy() for s in layer_states])
    hidden = _copy_layers(layer_states)
    pooler_output = None
    if loaded.info.has_pooler and pooled is not None:
        pooler_output = pooled[0].numpy().astype(np.float32, copy=True)

    return InferenceResult(
        text=encoding.text,
        pair=encoding.pair,
        input_ids=encoding.input_ids,
        tokens=encoding.tokens,
        token_type_ids=encoding.token_type_ids,
        offsets=encoding.offsets,
        special_tokens_mask=encoding.special_tokens_mask,
        sequence_ids=encoding.sequence_ids,
        word_ids=encoding.word_ids,
        unk_mask=encoding.unk_mask,
        attentions=attentions,
        hidden_states=hidden,
        hidden_norms=norms.astype(np.float32, copy=False),
        pooler_output=pooler_output,
        model=loaded.info,
        truncated=encoding.truncated,
        tokens_dropped=encoding.tokens_dropped,
    )
