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
    counts: list[int] = []
    copies: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def on_layer(progress: LayerProgress) -> None:
        ready = progress.layers_ready
        counts.append(ready)
        copies[ready - 1] = (
            progress.result.attentions[ready - 1].copy(),
            progress.result.hidden_norms[ready].copy(),
        )

    result, _ = run_inference_with_views(loaded, TEXT, on_layer=on_layer)
    plain, _ = run_inference_with_views(loaded, TEXT)
    if name in RECORDED:  # the model's own recorder: every layer comes with the final result
        assert counts == []
    else:  # ALBERT's one shared layer is counted by depth
        assert counts == list(range(1, result.num_layers + 1))
    for layer, (weights, norms) in copies.items():
        # What was handed over is final: GPT-2's last hidden state (after ln_f) included.
        assert weights.tobytes() == result.attentions[layer].tobytes(), layer
        assert norms.tobytes() == result.hidden_norms[layer + 1].tobytes(), layer
    for field in ("attentions", "hidden_states", "hidden_norms"):
        assert getattr(plain, field).tobytes() == getattr(result, field).tobytes(), field
