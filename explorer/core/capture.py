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
from contextlib import AbstractContextManager, contextmanager
from typing import Any

IN_PLACE_ATTENTION = "explorer_in_place_eager"

BufferFor = Callable[[Any, tuple[int, ...]], Any]
"""(attention module, shape of its weights) → a float32 tensor of that shape, or None."""

_local = threading.local()


@contextmanager
def _this_thread(name: str, value: Any) -> Iterator[None]:
    """Set the calling thread's ``name`` to ``value`` during the block (blocks nest)."""
    previous = getattr(_local, name, None)
    setattr(_local, name, value)
    try:
        yield
    finally:
        setattr(_local, name, previous)


def writing_into(buffer_for: BufferFor) -> AbstractContextManager[None]:
    """During this block, this thread's attention layers write into ``buffer_for``'s tensors."""
    return _this_thread("buffer_for", buffer_for)


HeadOutputHook = Callable[[Any, Any, Any], Any]
"""(attention module, its weights (B, H, T, T), per-head outputs (B, H, T, d)) → outputs.

explorer.core.why gates each head's output here (before W_O): transformers 5 ignores
``head_mask``, so the explorer's own attention is the one place a head can be switched off.
"""


def head_outputs_through(hook: HeadOutputHook) -> AbstractContextManager[None]:
    """During this block, this thread's attention layers pass each head's output to ``hook``."""
    return _this_thread("head_hook", hook)


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
    if weights.requires_grad:  # a gradient is asked for (explorer.core.why): autograd has no out=
        weights = torch.softmax(weights, dim=-1)
    else:
        torch.softmax(weights, dim=-1, out=weights)
    if module.training and dropout > 0.0:
        weights = torch.nn.functional.dropout(weights, p=dropout, training=True)
    head_hook = getattr(_local, "head_hook", None)
    if head_hook is None:
        output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    else:
        output = head_hook(module, weights, torch.matmul(weights, value))
        output = output.transpose(1, 2).contiguous()
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
