"""Layers handed over while the pass runs (issue 21): in order, complete, and the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.inference import run_inference_with_views
from explorer.core.progressive import LayerProgress

TEXT, PAIR = "The old man watched the boats on the river", "His dog slept."


def _same_bits(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


class _Recorder:
    """Copies what a reader may read at each call: the weights below ``attention_ready``, the
    rest below ``layers_ready``."""

    def __init__(self) -> None:
        self.counts: list[tuple[int, int]] = []
        self.progresses: list[LayerProgress] = []
        self.weight_copies: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.norm_copies: dict[int, np.ndarray] = {}

    def __call__(self, progress: LayerProgress) -> None:
        ready, weights_ready = progress.layers_ready, progress.attention_ready
        self.counts.append((ready, weights_ready))
        self.progresses.append(progress)
        layer = weights_ready - 1
        tile = progress.views.mosaic_tile
        self.weight_copies[layer] = (
            progress.result.attentions[layer].copy(),
            progress.views.mosaic[layer * tile : weights_ready * tile].copy(),
        )
        self.norm_copies[ready] = progress.result.hidden_norms[ready].copy()


@pytest.mark.parametrize("knocked_out", [(), ((1, 2),)])
def test_a_progressive_pass_delivers_every_layer_in_order_complete(tiny_model, knocked_out):
    recorder = _Recorder()
    result, views = run_inference_with_views(tiny_model, TEXT, PAIR, knocked_out, recorder)
    layers = result.num_layers
    # Each layer twice, in order: its weights (before its feed-forward part), then all of it.
    expected = [(k - 1 + full, k) for k in range(1, layers + 1) for full in (0, 1)]
    assert recorder.counts == expected
    assert len({id(p) for p in recorder.progresses}) == 1  # one progress object per pass
    progress = recorder.progresses[0]
    assert progress.layers_ready == progress.attention_ready == layers
    tile = views.mosaic_tile
    # What a reader copied when a layer was announced is what the final result holds.
    assert sorted(recorder.weight_copies) == list(range(layers))
    for layer, (weights, mosaic_rows) in recorder.weight_copies.items():
        assert _same_bits(weights, result.attentions[layer])
        assert _same_bits(mosaic_rows, views.mosaic[layer * tile : (layer + 1) * tile])
    assert sorted(recorder.norm_copies) == list(range(layers + 1))
    for row, norms in recorder.norm_copies.items():
        assert _same_bits(norms, result.hidden_norms[row])
    # The skeleton shares the final result's arrays and cannot be written through.
    assert np.shares_memory(progress.result.attentions, result.attentions)
    assert progress.views is views
    assert not progress.result.attentions.flags.writeable
    assert progress.result.predictions is None
    assert progress.result.knocked_out == result.knocked_out


def test_final_arrays_equal_the_non_progressive_path_bit_for_bit(tiny_model):
    plain, plain_views = run_inference_with_views(tiny_model, TEXT, PAIR)
    layered, layered_views = run_inference_with_views(tiny_model, TEXT, PAIR, on_layer=_Recorder())
    for name in ("attentions", "hidden_states", "hidden_norms", "pooler_output", "input_ids"):
        assert _same_bits(getattr(plain, name), getattr(layered, name)), name
    assert _same_bits(plain_views.mosaic, layered_views.mosaic)
    assert plain.non_finite == layered.non_finite


def test_a_reader_behind_the_pass_gets_one_message_and_the_newest_count(tiny_model):
    told: list[int] = []

    def on_layer(progress: LayerProgress) -> None:
        if progress.tell():  # a worker sends a message only when none is waiting
            told.append(progress.attention_ready)

    run_inference_with_views(tiny_model, TEXT, on_layer=on_layer)
    assert told == [1]  # nobody claimed the first message: no second one was sent


def test_claim_takes_the_newest_count_and_allows_the_next_message(tiny_model):
    progresses: list[LayerProgress] = []
    messages: list[int] = []

    def on_layer(progress: LayerProgress) -> None:
        progresses.append(progress)
        if progress.tell():
            messages.append(progress.layers_ready)
            if progress.layers_ready == 2:
                return  # this message waits: layers 3 and 4 arrive meanwhile
            messages.append(-progress.claim())  # the reader at once

    result, _ = run_inference_with_views(tiny_model, TEXT, on_layer=on_layer)
    assert result.num_layers == 4
    # Layer 1's weights, layer 1, layer 2's weights, layer 2 (then nobody claims).
    assert messages == [0, 0, 1, -1, 1, -1, 2]
    assert progresses[-1].claim_counts() == (4, 4)  # the reader, late, sees every layer
    assert progresses[-1].tell()  # and a message may be sent again


def test_a_dropped_result_is_freed_at_once_without_the_cyclic_collector(tiny_model):
    """No reference cycle holds a pass's arrays: at 512 tokens they are 170 MB a result."""
    import gc
    import weakref

    seen: list[int] = []
    gc.collect()
    gc.disable()
    try:
        result, views = run_inference_with_views(
            tiny_model, TEXT, PAIR, on_layer=lambda progress: seen.append(progress.layers_ready)
        )
        gone = [weakref.ref(result), weakref.ref(views)]
        del result, views
        assert seen, "the pass handed over no layer: the test would not cover the relay"
        assert [ref() for ref in gone] == [None, None]
    finally:
        gc.enable()
