"""Eager attention that writes each layer's weights straight into the result's own array.

transformers' eager attention allocates the scores, the scaled scores, the masked scores and
the softmax: four (1, H, T, T) tensors per layer, and copying the last into the result would be
a fifth pass over memory. At 512 tokens with base sizes that is 12.6 MB a time, and it is where
a forward pass with attention weights spends much of its time and its peak memory.

``in_place_attention`` runs the very same operations (matmul, scale, mask, softmax, matmul)
in one buffer: the slice of the result that the caller hands it through ``writing_into``.
Without a buffer (any other caller, another thread, training mode) it allocates one, so it is
then eager attention as transformers defines it. Tests compare both against ``eager``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

IN_PLACE_ATTENTION = "explorer_in_place_eager"

BufferFor = Callable[[Any, tuple[int, ...]], Any]
"""(attention module, shape of its weights) → a float32 tensor of that shape, or None."""

_local = threading.local()


@contextmanager
def writing_into(buffer_for: BufferFor) -> Iterator[None]:
    """During this block, this thread's attention layers write into ``buffer_for``'s tensors."""
    previous = getattr(_local, "buffer_for", None)
    _local.buffer_for = buffer_for
    try:
        yield
    finally:
        _local.buffer_for = previous


def in_place_attention(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float | None = None,
    dropout: float = 0.0,
    **_kwargs: Any,
) -> tuple[Any, Any]:
    """The same as transformers' ``eager_attention_forward``, computed in place."""
    import torch

    if scaling is None:
        scaling = query.size(-1) ** -0.5
    shape = (*query.shape[:-1], key.shape[-2])
    buffer_for = getattr(_local, "buffer_for", None)
    weights = None
    if buffer_for is not None and not module.training and query.dtype == torch.float32:
        weights = buffer_for(module, tuple(shape))
    if weights is None:
        weights = torch.matmul(query, key.transpose(2, 3))
    else:
        torch.matmul(query, key.transpose(2, 3), out=weights)
    weights.mul_(scaling)
    if attention_mask is not None:
        weights.add_(attention_mask)
    torch.softmax(weights, dim=-1, out=weights)
    if module.training and dropout > 0.0:
        weights = torch.nn.functional.dropout(weights, p=dropout, training=True)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, weights


def _register() -> None:
    """Make the implementation known to transformers (and give it eager's additive mask)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(IN_PLACE_ATTENTION, in_place_attention)
    AttentionMaskInterface.register(IN_PLACE_ATTENTION, eager_mask)


def use_in_place_attention(model: Any) -> bool:
    """Switch an eager model to the in-place implementation; False when it cannot switch.

    Models whose attention does not go through transformers' AttentionInterface keep eager
    attention, and inference then copies their weights instead.
    """
    _register()
    if not getattr(model, "_can_set_attn_implementation", lambda: False)():
        return False
    try:
        model.set_attn_implementation(IN_PLACE_ATTENTION)
    except (ValueError, ImportError):
        return False
    return getattr(model.config, "_attn_implementation", None) == IN_PLACE_ATTENTION
