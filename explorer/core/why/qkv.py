"""How one attention weight is computed, step by step, from the layer's own modules.

Nothing here is stored in a result: queries, keys and values are recomputed on demand from
the layer's input (``hidden_states[layer]``, through GPT-2's ``ln_1`` where the model norms
before attending) with that layer's query, key and value weights, exactly as the attention
did in the pass. The result's sequences have no padding, so the additive mask is zero, except
in a causal model, where a query never sees a later key (−∞: its weight is 0). The
walk-through is the lecture's eight steps for one (layer, head, query) and ``qkv_arrays`` is
``inspect --qkv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.analysis.norm_based import (
    UnsupportedLayoutError,
    albert_attentions,
    albert_projections,
    attention_projections,
    layer_input,
)
from explorer.core.errors import ExplorerError
from explorer.core.results import InferenceResult

WALK_THROUGH = "why_walk_through"


class WalkThroughUnavailableError(ExplorerError):
    """The model keeps its query and key projections where the explorer does not look."""


@dataclass(frozen=True, eq=False)
class LayerParts:
    """One layer's query, key, value and output projections, (weight, bias) as nn.Linear's."""

    query: Any
    key: Any
    value: Any
    output: Any
    num_heads: int
    input_norm: Any = None  # GPT-2's ln_1: the attention reads the normed hidden state
    causal: bool = False  # a query sees only itself and earlier keys
    scaling: float | None = None  # the score's factor when not 1/√d (GPT-2's own ``scaling``)


@dataclass(frozen=True, eq=False)
class WalkThrough:
    """The eight steps for query token ``query`` of (``layer``, ``head``), all float32.

    d is the head size, T the tokens, D the hidden size.
    """

    layer: int
    head: int
    query: int
    q: np.ndarray  # (d,) step 1
    keys: np.ndarray  # (T, d) step 2
    products: np.ndarray  # (T, d) step 3: q ⊙ k_j
    scores: np.ndarray  # (T,) step 4: q·k_j / √d + mask
    mask: np.ndarray  # (T,) the additive mask inside the scores (zero: no padding)
    weights: np.ndarray  # (T,) step 5: softmax, α_ij
    values: np.ndarray  # (T, d) step 6
    mixed: np.ndarray  # (d,) step 7: Σ_j α_ij v_j
    contributions: np.ndarray  # (T, D) step 8 per key: α_ij v_j W_O^h (norms: norm-based)
    output: np.ndarray  # (D,) step 8: the head's contribution Σ_j α_ij v_j W_O^h
    scaling: float  # 1 / √d
    knocked_out: bool = False  # the head is switched off: its step 8 is zero


def layer_parts(model: Any) -> list[LayerParts]:
    """Every depth's projections: BERT-style ``encoder.layer``, DistilBERT's, ALBERT's, GPT-2's."""
    groups = getattr(getattr(model, "encoder", None), "albert_layer_groups", None)
    if groups is not None:
        return _albert_parts(model.config, groups)
    encoder_layers = getattr(getattr(model, "encoder", None), "layer", None)
    if encoder_layers is not None and any(
        hasattr(getattr(layer.attention, "self", None), "pos_att_type") for layer in encoder_layers
    ):  # DeBERTa's DisentangledSelfAttention
        raise UnsupportedLayoutError(
            "DeBERTa's disentangled attention adds content-to-position and position-to-content "
            "terms to q·k; the step-by-step view shows plain scaled dot-product attention only."
        )
    projections = attention_projections(model)
    if getattr(model, "h", None) is not None:
        return [_gpt2_parts(block, proj) for block, proj in zip(model.h, projections, strict=True)]
    if encoder_layers is not None:
        modules = [(lay.attention.self.query, lay.attention.self.key) for lay in encoder_layers]
    else:
        distil = model.transformer.layer
        modules = [(lay.attention.q_lin, lay.attention.k_lin) for lay in distil]
    if len(modules) != len(projections):
        raise WalkThroughUnavailableError("The model's layers could not be matched.")
    return [
        LayerParts(
            query=(query.weight, query.bias),
            key=(key.weight, key.bias),
            value=(proj.value_weight, proj.value_bias),
            output=(proj.output_weight, proj.output_bias),
            num_heads=proj.num_heads,
        )
        for (query, key), proj in zip(modules, projections, strict=True)
    ]


def _albert_parts(config: Any, groups: Any) -> list[LayerParts]:
    """ALBERT's shared layers, one entry per depth (see ``albert_attentions``)."""
    parts = []
    for attention in albert_attentions(config, groups):
        projections = albert_projections(attention)
        parts.append(
            LayerParts(
                query=(attention.query.weight, attention.query.bias),
                key=(attention.key.weight, attention.key.bias),
                value=(projections.value_weight, projections.value_bias),
                output=(projections.output_weight, projections.output_bias),
                num_heads=projections.num_heads,
            )
        )
    return parts


def _gpt2_parts(block: Any, projections: Any) -> LayerParts:
    """A GPT-2 block: c_attn holds W_Q, W_K, W_V side by side, as Conv1D's (in, out)."""
    attn = block.attn
    size = int(attn.split_size)
    weight, bias = attn.c_attn.weight, attn.c_attn.bias
    return LayerParts(
        query=(weight[:, :size].T, bias[:size]),
        key=(weight[:, size : 2 * size].T, bias[size : 2 * size]),
        value=(projections.value_weight, projections.value_bias),
        output=(projections.output_weight, projections.output_bias),
        num_heads=projections.num_heads,
        input_norm=block.ln_1,
        causal=True,
        scaling=float(attn.scaling),
    )


def _parts(loaded: Any, result: InferenceResult) -> list[LayerParts]:
    if loaded is None or loaded.info != result.model:
        raise WalkThroughUnavailableError(
            "The model that computed this result is no longer loaded: run the sentence again."
        )
    try:
        parts = layer_parts(loaded.model)
    except UnsupportedLayoutError as err:
        raise WalkThroughUnavailableError(str(err)) from err
    except (AttributeError, ExplorerError) as err:
        raise WalkThroughUnavailableError(
            f"The step-by-step view does not know where {type(loaded.model).__name__} keeps "
            "its query and key projections (it reads BERT's, DistilBERT's, ALBERT's and GPT-2's "
            "layouts)."
        ) from err
    if len(parts) != result.num_layers:
        raise WalkThroughUnavailableError(
            f"The model has {len(parts)} attention layers but the result has {result.num_layers}."
        )
    return parts


def _linear(x: Any, weight_bias: Any) -> Any:
    import torch

    weight, bias = weight_bias
    return torch.nn.functional.linear(x, weight.detach().float(), _detached(bias))


def _detached(tensor: Any) -> Any:
    return tensor.detach().float() if tensor is not None else None


def layer_qkv(parts: LayerParts, hidden: np.ndarray) -> tuple[Any, Any, Any]:
    """(H, T, d) torch float32 queries, keys and values of one layer, from its input (T, D)."""
    import torch

    with torch.inference_mode():
        x = layer_input(hidden, parts.input_norm)
        count = x.shape[0]
        heads = parts.num_heads

        def split(y: Any) -> Any:
            return y.view(count, heads, -1).transpose(0, 1).contiguous()

        q = split(_linear(x, parts.query))
        k = split(_linear(x, parts.key))
        v = split(_linear(x, parts.value))
        return q, k, v


def walk_through(
    loaded: Any, result: InferenceResult, layer: int, head: int, query: int
) -> WalkThrough:
    """The eight steps for one weight row (layer, head, query token counted from 0)."""
    import torch

    parts = _parts(loaded, result)
    if not (0 <= layer < result.num_layers and 0 <= head < result.num_heads):
        raise WalkThroughUnavailableError(f"There is no head {layer + 1}:{head + 1}.")
    if not 0 <= query < result.num_tokens:
        raise WalkThroughUnavailableError(f"There is no token {query} in this input.")
    part = parts[layer]
    q_all, k_all, v_all = layer_qkv(part, result.hidden_states[layer])
    with torch.inference_mode():
        q, keys, values = q_all[head, query], k_all[head], v_all[head]
        size = q.shape[-1]
        scaling = float(size**-0.5) if part.scaling is None else part.scaling
        products = q.unsqueeze(0) * keys
        mask = torch.zeros(keys.shape[0], dtype=torch.float32)
        if part.causal:
            mask[query + 1 :] = -torch.inf  # transformers adds the dtype's minimum: the same 0
        scores = (keys @ q) * scaling + mask  # the attention's own order: matmul, scale, mask
        weights = torch.softmax(scores, dim=-1)
        mixed = weights @ values
        out_weight = part.output[0].detach().float()  # (D, H·d)
        head_out = out_weight[:, head * size : (head + 1) * size]  # (D, d): W_O^h
        contributions = (weights.unsqueeze(-1) * values) @ head_out.T  # (T, D)
        output = mixed @ head_out.T
        off = (layer, head) in result.knocked_out  # its gate ξ = 0 multiplies step 7's output
        if off:
            contributions, output = contributions * 0.0, output * 0.0
    return WalkThrough(
        layer=layer,
        head=head,
        query=query,
        q=q.numpy(),
        keys=keys.numpy(),
        products=products.numpy(),
        scores=scores.numpy(),
        mask=mask.numpy(),
        weights=weights.numpy(),
        values=values.numpy(),
        mixed=mixed.numpy(),
        contributions=contributions.numpy(),
        output=output.numpy(),
        scaling=scaling,
        knocked_out=off,
    )


def walk_through_analysis(
    loaded: Any, result: InferenceResult, params: Mapping[str, Any]
) -> WalkThrough:
    """The worker's entry: ``layer``, ``head``, ``query`` counted from 0."""
    return walk_through(
        loaded, result, int(params["layer"]), int(params["head"]), int(params["query"])
    )


def qkv_arrays(loaded: Any, result: InferenceResult) -> dict[str, np.ndarray]:
    """``queries``, ``keys``, ``values``: (L, H, T, d) float32, one layer at a time."""
    parts = _parts(loaded, result)
    arrays: dict[str, np.ndarray] = {}
    for layer, layer_part in enumerate(parts):
        tensors = layer_qkv(layer_part, result.hidden_states[layer])
        for name, tensor in zip(("queries", "keys", "values"), tensors, strict=True):
            if name not in arrays:
                shape = (result.num_layers, *tuple(tensor.shape))
                arrays[name] = np.empty(shape, dtype=np.float32)
            arrays[name][layer] = tensor.numpy()
    return arrays
