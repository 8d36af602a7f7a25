"""Norm-based attention (Kobayashi et al. 2020, "Attention is Not Only a Weight").

A head adds α_ij^h · f_h(x_j) to position i, where f_h(x_j) = (x_j W_V^h + b_V^h) W_O^h is
token j's value pushed through the head's slice of the output projection. A large weight on
a vector of small norm moves little, so ‖α_ij^h f_h(x_j)‖ measures what actually arrives.
Summed over heads, Σ_h Σ_j α_ij^h f_h(x_j) + b_O is exactly the attention block's output
before the residual and LayerNorm.

The per-head norms are cheap (α times a norm per token). The summed norm needs the vector
Σ_h α_ij^h f_h(x_j) for every (i, j), T·T·D numbers per layer (805 MB at 512 tokens and
base size), so it is computed in chunks of query rows that stay within ``CHUNK_BYTES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult

CHUNK_BYTES = 64 * 1024 * 1024


class NormAttentionUnavailableError(ExplorerError):
    """Norm-based attention needs weights this model (or a saved result) does not expose."""


class UnsupportedLayoutError(NormAttentionUnavailableError):
    """A known family in a variant no per-layer view can follow (its message says which)."""


@dataclass(frozen=True, eq=False)
class NormAttention:
    """‖α f‖ per head and ‖Σ_h α f‖ summed over heads, for every layer."""

    per_head: np.ndarray  # (L, H, T, T) float32
    summed: np.ndarray  # (L, T, T) float32


@dataclass(frozen=True, eq=False)
class LayerProjections:
    """One layer's value and output projections (torch tensors, as nn.Linear stores them)."""

    value_weight: Any  # (H·d, D)
    value_bias: Any  # (H·d,)
    output_weight: Any  # (D, H·d)
    output_bias: Any  # (D,)
    num_heads: int
    input_norm: Any = None  # a pre-LayerNorm model's norm before the attention (GPT-2's ln_1)


def attention_projections(model: Any) -> list[LayerProjections]:
    """The value and output projections of every layer of a BERT-family encoder."""
    encoder_layers = getattr(getattr(model, "encoder", None), "layer", None)
    # DeBERTa's encoder.layer computes its values elsewhere (value_proj): not BERT-like.
    if encoder_layers is not None and all(
        hasattr(getattr(layer.attention, "self", None), "value") for layer in encoder_layers
    ):  # BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA
        return [
            LayerProjections(
                value_weight=layer.attention.self.value.weight,
                value_bias=layer.attention.self.value.bias,
                output_weight=layer.attention.output.dense.weight,
                output_bias=layer.attention.output.dense.bias,
                num_heads=int(layer.attention.self.num_attention_heads),
            )
            for layer in encoder_layers
        ]
    distil_layers = getattr(getattr(model, "transformer", None), "layer", None)
    if distil_layers is not None:  # DistilBERT
        return [
            LayerProjections(
                value_weight=layer.attention.v_lin.weight,
                value_bias=layer.attention.v_lin.bias,
                output_weight=layer.attention.out_lin.weight,
                output_bias=layer.attention.out_lin.bias,
                num_heads=int(layer.attention.n_heads),
            )
            for layer in distil_layers
        ]
    groups = getattr(getattr(model, "encoder", None), "albert_layer_groups", None)
    if groups is not None:
        return [
            albert_projections(attention) for attention in albert_attentions(model.config, groups)
        ]
    blocks = getattr(model, "h", None)
    if blocks is not None and all(hasattr(block.attn, "c_attn") for block in blocks):  # GPT-2
        return [gpt2_projections(block) for block in blocks]
    raise NormAttentionUnavailableError(
        f"Norm-based attention does not know where {type(model).__name__} keeps its value "
        "and output projections (it reads encoder.layer[i].attention.self.value and "
        "attention.output.dense, as in BERT, or GPT-2's c_attn and c_proj)."
    )


def albert_attentions(config: Any, groups: Any) -> list[Any]:
    """ALBERT's attention module at every depth, shared ones once per depth they serve.

    Depth l runs group int(l / (L / G)), as AlbertTransformer does.
    """
    layers, count = int(config.num_hidden_layers), len(groups)
    attentions = []
    for depth in range(layers):
        group = groups[int(depth / (layers / count))]
        if len(group.albert_layers) != 1:  # several inner layers per depth: no single input
            raise UnsupportedLayoutError(
                "ALBERT with several inner layers per group is not supported: a depth has no "
                "single attention input."
            )
        attentions.append(group.albert_layers[0].attention)
    return attentions


def albert_projections(attention: Any) -> LayerProjections:
    """An ALBERT attention's value and output projections (``value`` and ``dense``)."""
    return LayerProjections(
        value_weight=attention.value.weight,
        value_bias=attention.value.bias,
        output_weight=attention.dense.weight,
        output_bias=attention.dense.bias,
        num_heads=int(attention.num_attention_heads),
    )


def gpt2_projections(block: Any) -> LayerProjections:
    """A GPT-2 block's value and output projections, as nn.Linear would store them.

    GPT-2's Conv1D keeps its weight as (in, out), the transpose of nn.Linear's, and c_attn
    holds the query, key and value projections side by side. The attention reads
    ``ln_1(x)``, not the residual stream ``x`` that the hidden states record.
    """
    attn = block.attn
    size = int(attn.split_size)
    return LayerProjections(
        value_weight=attn.c_attn.weight[:, 2 * size :].T,
        value_bias=attn.c_attn.bias[2 * size :],
        output_weight=attn.c_proj.weight.T,
        output_bias=attn.c_proj.bias,
        num_heads=int(attn.num_heads),
        input_norm=block.ln_1,
    )


def layer_input(hidden: np.ndarray, input_norm: Any = None) -> Any:
    """The attention's input as torch float32: the hidden state, or its pre-LayerNorm."""
    import torch

    x = torch.from_numpy(np.array(hidden, dtype=np.float32))  # a copy: results are read-only
    if input_norm is None:
        return x
    with torch.inference_mode():
        return input_norm(x).float()


def transformed_vectors(hidden: np.ndarray, projections: LayerProjections) -> Any:
    """(H, T, D) torch float32: f_h(x_j) = (x_j W_V^h + b_V^h) W_O^h for every head and token."""
    import torch

    x = layer_input(hidden, projections.input_norm)
    value_weight = projections.value_weight.detach().float()
    value_bias = projections.value_bias
    value_bias = value_bias.detach().float() if value_bias is not None else None
    output_weight = projections.output_weight.detach().float()
    heads = projections.num_heads
    count, hidden_size = x.shape
    head_size = value_weight.shape[0] // heads
    values = torch.nn.functional.linear(x, value_weight, value_bias)  # (T, H·d)
    values = values.view(count, heads, head_size).transpose(0, 1)  # (H, T, d)
    per_head_output = output_weight.reshape(hidden_size, heads, head_size).permute(1, 2, 0)
    return torch.bmm(values, per_head_output)  # (H, T, D)


def rows_per_chunk(num_tokens: int, hidden_size: int, budget_bytes: int = CHUNK_BYTES) -> int:
    """How many query rows of T × D float32 vectors fit in ``budget_bytes`` (at least one)."""
    per_row = max(1, num_tokens * hidden_size * 4)
    return max(1, min(num_tokens, budget_bytes // per_row))


def norm_based_layer(
    attention: np.ndarray,
    hidden: np.ndarray,
    projections: LayerProjections,
    budget_bytes: int = CHUNK_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """One layer: ((H, T, T) per-head norms, (T, T) summed norms), both float32."""
    import torch

    with torch.inference_mode():
        vectors = transformed_vectors(hidden, projections)  # (H, T, D)
        alpha = torch.from_numpy(np.array(attention, dtype=np.float32))  # (H, T, T), a copy
        per_head = alpha * vectors.norm(dim=-1)[:, None, :]
        count, hidden_size = vectors.shape[1], vectors.shape[2]
        by_key = vectors.transpose(0, 1).contiguous()  # (T_key, H, D)
        summed = torch.empty((count, count), dtype=torch.float32)
        step = rows_per_chunk(count, hidden_size, budget_bytes)
        for start in range(0, count, step):
            stop = min(start + step, count)
            weights = alpha[:, start:stop, :].permute(2, 1, 0)  # (T_key, rows, H)
            mixed = torch.bmm(weights, by_key)  # (T_key, rows, D): Σ_h α_ij^h f_h(x_j)
            summed[start:stop] = mixed.norm(dim=-1).T
            del mixed
        return per_head.numpy(), summed.numpy()


def norm_based_attention(
    attentions: np.ndarray,
    hidden_states: np.ndarray,
    projections: list[LayerProjections],
    budget_bytes: int = CHUNK_BYTES,
) -> NormAttention:
    """Every layer; layer l reads hidden_states[l], the input of encoder layer l."""
    layers, heads, count, _ = attentions.shape
    if len(projections) != layers:
        raise NormAttentionUnavailableError(
            f"The model has {len(projections)} attention layers but the result has {layers}."
        )
    per_head = np.empty((layers, heads, count, count), dtype=np.float32)
    summed = np.empty((layers, count, count), dtype=np.float32)
    for layer in range(layers):
        per_head[layer], summed[layer] = norm_based_layer(
            attentions[layer], hidden_states[layer], projections[layer], budget_bytes
        )
    return NormAttention(per_head=per_head, summed=summed)


def norm_attention_of(loaded: Any, result: InferenceResult) -> NormAttention:
    """Norm-based attention of a result, using the weights of the model that produced it."""
    if loaded is None:
        raise NormAttentionUnavailableError(
            "Norm-based attention needs the model's weights, and no model is loaded."
        )
    return norm_based_attention(
        result.attentions, result.hidden_states, attention_projections(loaded.model)
    )


def norm_attention_analysis(
    loaded: Any, result: InferenceResult, _params: Mapping[str, Any]
) -> NormAttention:
    """All layers at once (cached per result), so switching layers or heads asks nothing."""
    return norm_attention_of(loaded, result)
