"""Layers handed over during the pass (issue 21) in every family: in order, final, the same."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from explorer.core.inference import run_inference_with_views
from explorer.core.loading import LoadedModel
from explorer.core.progressive import LayerProgress
from tests.families.builders import FAMILY_BY_NAME

TEXT = "The old man watched the boats"
RECORDED = {"DeBERTa-v2"}  # families whose layout the capture's hooks do not take


@pytest.mark.parametrize("name", sorted(FAMILY_BY_NAME))
def test_each_family_hands_over_its_layers_in_order_as_they_end(
    name: str, family_model: Callable[[str], LoadedModel]
) -> None:
    loaded = family_model(name)
    counts: list[tuple[int, int]] = []
    weights_copies: dict[int, np.ndarray] = {}
    norms_copies: dict[int, np.ndarray] = {}

    def on_layer(progress: LayerProgress) -> None:
        ready, weights = progress.layers_ready, progress.attention_ready
        counts.append((ready, weights))
        weights_copies[weights - 1] = progress.result.attentions[weights - 1].copy()
        norms_copies[ready] = progress.result.hidden_norms[ready].copy()

    result, _ = run_inference_with_views(loaded, TEXT, on_layer=on_layer)
    plain, _ = run_inference_with_views(loaded, TEXT)
    if name in RECORDED:  # the model's own recorder: every layer comes with the final result
        assert counts == []
    else:  # each layer's weights, then all of it (ALBERT's one shared layer counted by depth)
        layers = result.num_layers
        assert counts == [(k - 1 + full, k) for k in range(1, layers + 1) for full in (0, 1)]
    # What was handed over is final: GPT-2's last hidden state (after ln_f) included.
    for layer, weights in weights_copies.items():
        assert weights.tobytes() == result.attentions[layer].tobytes(), layer
    for row, norms in norms_copies.items():
        assert norms.tobytes() == result.hidden_norms[row].tobytes(), row
    for field in ("attentions", "hidden_states", "hidden_norms"):
        assert getattr(plain, field).tobytes() == getattr(result, field).tobytes(), field
