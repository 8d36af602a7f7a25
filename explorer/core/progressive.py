"""A result still being computed, handed over layer by layer (issue 21).

The forward hooks fill the result's arrays one layer after the other (explorer.core.inference).
A ``LayerProgress`` lets another thread see the layers that are done while the pass goes on,
in two counts that only grow:

- ``attention_ready``: layers whose attention weights and mosaic tiles are written for good
  (weights ``[:k]``, mosaic rows ``[:k * tile]``). A layer's weights exist once its attention
  has run, about a quarter of the way through the layer (its feed-forward part is the rest),
  so the attention views paint a layer that early;
- ``layers_ready``: layers complete in every array (also hidden states and norms ``[:k + 1]``);
  it is never above ``attention_ready``.

A reader that keeps below these counts never reads memory that the pass is still writing;
nothing else of the arrays may be read before the final result replaces the progress.

Telling another thread is coalesced: ``tell()`` says whether a new message is needed (none is
on its way), ``claim()`` takes the newest counts and allows the next message. However far the
reader falls behind, at most one message per progress is waiting for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from explorer.core.results import InferenceResult
from explorer.core.views import DisplayViews


class LayerProgress:
    """The layers of one pass that are done: ``result`` and ``views`` up to ``layers_ready``.

    ``result`` is the pass's encoding with read-only views of the arrays being filled; its
    predictions and pooler output are not known yet (None). It is a skeleton, not a result:
    only the complete layers may be read, never the whole arrays (no ``non_finite``, no
    analysis, no export). The final result is a separate object sharing the same arrays.
    """

    def __init__(self, result: InferenceResult, views: DisplayViews) -> None:
        self.result = result
        self.views = views
        self._lock = threading.Lock()
        self._ready = 0
        self._attention_ready = 0
        self._told = False

    @property
    def num_layers(self) -> int:
        """L, the layers the pass will have."""
        return self.result.num_layers

    @property
    def layers_ready(self) -> int:
        """How many layers (from the first) are complete; it only grows."""
        return self._ready

    @property
    def attention_ready(self) -> int:
        """How many layers (from the first) have their attention weights; at least layers_ready."""
        return self._attention_ready

    def advance(self, layers: int) -> None:
        """The pass completed ``layers`` layers (the worker thread's call, in the hooks)."""
        with self._lock:
            self._ready = max(self._ready, min(int(layers), self.num_layers))
            self._attention_ready = max(self._attention_ready, self._ready)

    def advance_attention(self, layers: int) -> None:
        """The attention of ``layers`` layers is written (the worker thread's call)."""
        with self._lock:
            self._attention_ready = max(self._attention_ready, min(int(layers), self.num_layers))

    def tell(self) -> bool:
        """Whether the reader must be sent a message now (none is waiting for it)."""
        with self._lock:
            if self._told:
                return False
            self._told = True
            return True

    def claim(self) -> int:
        """The reader takes the newest count; the next completed layer sends a message again."""
        return self.claim_counts()[0]

    def claim_counts(self) -> tuple[int, int]:
        """``claim`` for both counts at once: (layers_ready, attention_ready)."""
        with self._lock:
            self._told = False
            return self._ready, self._attention_ready


LayerCallback = Callable[[LayerProgress], None]
"""Called on the worker thread each time ``progress.attention_ready`` or ``layers_ready`` grew."""
