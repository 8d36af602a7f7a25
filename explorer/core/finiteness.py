"""Where a forward pass stopped producing finite numbers, so the user is told, not misled.

A checkpoint with NaN or infinite weights still runs: every later layer is then NaN and the
panels would draw garbage without a word. This finds the first stage whose hidden state or
attention weights are not finite and names what was found there.

Stages follow the window's numbering: stage 0 is the embedding output (``hidden_states[0]``),
stage k ≥ 1 is encoder layer k ("Layer 1" is the first encoder layer), which produced
``attentions[k - 1]`` and ``hidden_states[k]``. Numpy only (the GUI thread may call it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAN = "NaN"
INFINITY = "infinity"
EMBEDDINGS = 0
POOLER = -1  # only the pooled vector is not finite


@dataclass(frozen=True)
class NonFinite:
    """The first stage with a non-finite value, and which kinds of value it holds there."""

    stage: int  # 0: embeddings, k: encoder layer k (1-based), POOLER: the pooled vector only
    kinds: tuple[str, ...]  # NAN and/or INFINITY, in that order

    @property
    def kind_text(self) -> str:
        """The kinds found, as a phrase: NaN, infinity, or NaN and infinity."""
        return " and ".join(self.kinds)

    @property
    def where(self) -> str:
        """Where, as a phrase: from the embeddings on, from layer 3 on, or in the pooled output."""
        if self.stage == POOLER:
            return "in the pooled output"
        if self.stage == EMBEDDINGS:
            return "from the embeddings on"
        return f"from layer {self.stage} on"

    def describe(self) -> str:
        """One sentence for the message bar and the CLI."""
        if self.stage == POOLER:
            return (
                f"{self.kind_text} in the pooled output: the pooler's weights hold NaN or "
                "infinite values, so the pooled vector means nothing (the layers are finite)."
            )
        return (
            f"{self.kind_text} {self.where}: the model's hidden states or attention weights "
            "stop being finite there, so what is shown from that point on is not meaningful "
            "(the checkpoint's weights probably hold NaN or infinite values)."
        )


def _kinds(arrays: list[np.ndarray]) -> tuple[str, ...]:
    """Which non-finite kinds occur in ``arrays`` (only called on a stage known to have one)."""
    kinds = []
    if any(bool(np.isnan(a).any()) for a in arrays):
        kinds.append(NAN)
    if any(bool(np.isinf(a).any()) for a in arrays):
        kinds.append(INFINITY)
    return tuple(kinds)


def _finite(array: np.ndarray) -> bool:
    return bool(np.isfinite(array).all())


def _stage_arrays(
    stage: int,
    attentions: np.ndarray,
    hidden: np.ndarray,
    norms: np.ndarray | None,
) -> list[np.ndarray]:
    """The arrays stage ``stage`` produced (its attention weights only from layer 1 on)."""
    arrays = [hidden[stage]]
    if norms is not None:
        arrays.append(norms[stage])
    if stage >= 1:
        arrays.insert(0, attentions[stage - 1])
    return arrays


def find_non_finite(
    attentions: np.ndarray,
    hidden_states: np.ndarray,
    hidden_norms: np.ndarray | None = None,
    pooler_output: np.ndarray | None = None,
    *,
    attention_maxima: np.ndarray | None = None,
) -> NonFinite | None:
    """The first stage with NaN or infinity, or None when every value is finite.

    Stage by stage with an early exit. The small arrays screen each stage: a hidden state
    has a non-finite value exactly when its norm is non-finite (NaN and infinity carry into
    the norm; an overflowing norm is itself a non-finite value of the result), and
    ``attention_maxima`` (L, ...), each layer's max-pooled overview, is non-finite exactly when
    that layer's weights are, since max-pooling keeps NaN and +inf and softmax weights are
    never −inf. Only the first flagged stage is then read in full, to name the kinds. Without
    them every array is scanned: about 2 ms a layer at 512 tokens and base size.
    """
    layers = min(attentions.shape[0], hidden_states.shape[0] - 1)
    screen_hidden = hidden_norms if hidden_norms is not None else hidden_states
    screen_attention = attention_maxima if attention_maxima is not None else attentions
    for stage in range(layers + 1):
        screened = _stage_arrays(stage, screen_attention, screen_hidden, None)
        if all(_finite(a) for a in screened):
            continue
        arrays = _stage_arrays(stage, attentions, hidden_states, hidden_norms)
        return NonFinite(stage=stage, kinds=_kinds(arrays))
    if pooler_output is not None and not _finite(pooler_output):
        return NonFinite(stage=POOLER, kinds=_kinds([pooler_output]))
    return None
