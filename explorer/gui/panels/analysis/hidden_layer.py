"""Which row of (L+1) hidden states a panel shows for the selected (attention) layer."""

from __future__ import annotations


def selected_hidden_layer(layer: int, rows: int) -> int:
    """The output of attention layer ``layer`` (row layer + 1; row 0 is the embeddings)."""
    return max(0, min(layer + 1, rows - 1))
