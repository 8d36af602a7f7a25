"""Layers painted as they are computed (issue 21): in order, never stale, the same numbers.

The worker is held after each layer it hands over (a gate in its relay), so what the panels
show between two layers is looked at while the pass is really under way.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer.core.progressive import LayerProgress
from explorer.gui.controllers import progress_pacing
from explorer.gui.worker.model_worker import ModelWorker
from tests.gui.conftest import TIMEOUT_MS, wait_for_result

GATE_S = 30.0


@pytest.fixture
def gate(monkeypatch):
    """Runs ``gate.after_layer(progress)`` on the worker thread after each layer's relay."""

    class Gate:
        after_layer = staticmethod(lambda _progress: None)

    original = ModelWorker._layer_relay

    def gated(self, request, picked_up_at):
        relay = original(self, request, picked_up_at)

        def on_layer(progress: LayerProgress) -> None:
            relay(progress)
            Gate.after_layer(progress)

        return on_layer

    monkeypatch.setattr(ModelWorker, "_layer_relay", gated)
    # A held pass may look about to end: every layer is shown here, however short the rest.
    monkeypatch.setattr(progress_pacing, "MIN_REMAINING_MS", 0.0)
    return Gate


def test_layers_reach_the_panels_in_order_while_the_pass_runs(qtbot, window, gate):
    state, attention, norms = window.state, window.attention_panel, window.norms_panel
    shown: list[tuple[int, int]] = []
    on_screen = threading.Condition()
    checks: list[str] = []
    progresses: list[LayerProgress] = []
    pictures: list[tuple[np.ndarray, np.ndarray]] = []

    def wait_until_shown(progress: LayerProgress) -> None:  # worker thread
        with on_screen:
            counts = (progress.layers_ready, progress.attention_ready)
            on_screen.wait_for(lambda: counts in shown, GATE_S)

    gate.after_layer = wait_until_shown
    state.set_layer(2)  # layer 3 of 4: computed after two messages

    def on_progress() -> None:  # GUI thread, after the panels
        progress, ready, weights = state.progress, state.layers_ready, state.attention_ready
        assert progress is not None and state.result is None
        tile = progress.views.mosaic_tile
        assert attention.overview_image.image.shape[0] == weights * tile  # row by row
        assert norms.image.image.shape[0] == ready + 1  # the embeddings and each layer done
        title = attention.heatmap.getPlotItem().titleLabel.text
        if weights < 3:
            assert title == "Computing layer 3 of 4…", title
            state.set_layer(0)  # a layer that is done paints at once: selections respond
            np.testing.assert_array_equal(
                attention.image.image, progress.views.head_mean(0), strict=True
            )
            state.set_layer(2)
            assert attention.heatmap.getPlotItem().titleLabel.text == "Computing layer 3 of 4…"
        else:
            assert "Computing" not in title
            np.testing.assert_array_equal(attention.image.image, progress.views.head_mean(2))
        checks.append(title)
        progresses.append(progress)
        pictures.append((attention.image.image, attention.overview_image.image))
        with on_screen:
            shown.append((ready, weights))
            on_screen.notify_all()

    state.progress_changed.connect(on_progress)
    window.input_bar.set_inputs("the old man watched the boats")
    window.run_now()
    result = wait_for_result(qtbot, window, "the old man watched the boats")
    # Every layer in order, one message for its weights (its attention has run), one for all
    # of it (its hidden state too).
    assert shown == [(k - 1 + full, k) for k in range(1, 5) for full in (0, 1)]
    assert len(checks) == 8
    assert state.progress is None  # the final result replaced it
    # The final result holds the very arrays whose layers were shown while it was computed,
    # so the pictures made from them are not made again.
    assert np.shares_memory(result.attentions, progresses[-1].result.attentions)
    assert state.views is progresses[-1].views
    assert attention.image.image is pictures[-1][0]
    assert attention.overview_image.image is pictures[-1][1]
    np.testing.assert_array_equal(attention.image.image, state.views.head_mean(2))


def test_a_stale_pass_never_reaches_the_panels(qtbot, window, gate):
    state, worker = window.state, window.controller.worker
    emitted: list[str] = []
    first_layer_sent = threading.Event()
    newer_sent = threading.Event()

    def record(_client: int, outcome) -> None:  # worker thread: what the worker emitted
        emitted.append(outcome.progress.result.text)
        first_layer_sent.set()

    worker.layers_ready.connect(record, Qt.ConnectionType.DirectConnection)

    def hold_the_old_pass(progress: LayerProgress) -> None:  # worker thread
        if progress.result.text == "an old sentence" and progress.layers_ready == 1:
            newer_sent.wait(GATE_S)

    gate.after_layer = hold_the_old_pass
    reached: list[str] = []
    state.progress_changed.connect(
        lambda: reached.append(state.progress.result.text if state.progress else "")
    )
    window.input_bar.set_inputs("an old sentence")
    window.run_now()
    # No event loop while waiting: the old pass's first layer is queued to the GUI thread...
    assert first_layer_sent.wait(GATE_S)
    window.input_bar.set_inputs("a newer sentence")
    window.run_now()  # ...and a newer edit is made before it is delivered.
    newer_sent.set()
    result = wait_for_result(qtbot, window, "a newer sentence")
    assert emitted[0] == "an old sentence"  # the worker did send it
    assert "an old sentence" not in reached  # the panels never saw it
    assert "a newer sentence" in reached
    assert result.text == "a newer sentence" and state.progress is None
    qtbot.wait(50)  # nothing of the old pass comes later either
    assert state.result is result and "an old sentence" not in reached
    worker.layers_ready.disconnect(record)


def test_a_failed_pass_leaves_the_result_on_show(qtbot, window, gate):
    state = window.state
    window.input_bar.set_inputs("first words")
    window.run_now()
    first = wait_for_result(qtbot, window, "first words")

    def fail_after_two(progress: LayerProgress) -> None:
        if progress.layers_ready == 2:
            raise RuntimeError("broken layer")

    gate.after_layer = fail_after_two
    seen: list[int] = []
    state.progress_changed.connect(lambda: seen.append(state.layers_ready))
    with qtbot.waitSignal(window.controller.inference_failed, timeout=TIMEOUT_MS):
        window.input_bar.set_inputs("second words")
        window.run_now()
    qtbot.waitUntil(lambda: state.progress is None, timeout=TIMEOUT_MS)
    assert seen and seen[-1] == 0  # its layers were dropped
    assert state.result is first
    assert window.attention_panel.overview_image.image.shape == state.views.mosaic.shape


def _stage(progress: LayerProgress) -> int:
    """1, 2, … 2L: layer 1's weights, layer 1, layer 2's weights, layer 2, …"""
    return progress.layers_ready + progress.attention_ready


def test_each_layer_handed_over_is_painted_in_one_pass(qtbot, window, gate):
    from tests.gui.test_paint_batch import PassCounter

    released = {k: threading.Event() for k in range(1, 9)}
    gate.after_layer = lambda progress: released[_stage(progress)].wait(GATE_S)
    state = window.state
    state.set_layer(1)  # its weights change the heatmap and the overview
    window.input_bar.set_inputs("the cat sat on the mat")
    window.run_now()
    released[1].set()
    qtbot.waitUntil(lambda: state.layers_ready == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.paint_batch.holding)
    qtbot.wait(100)  # the first layer's paints are over
    attention = window.attention_panel
    viewports = [attention.heatmap.viewport(), attention.overview.viewport()]
    counter = PassCounter(window, viewports)
    released[2].set()
    qtbot.waitUntil(lambda: state.attention_ready == 2, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: all(counter.painted_in.values()))
    qtbot.wait(100)  # a second pass, if one were coming, has come
    passes = list(counter.painted_in.values())
    assert all(len(painted) == 1 for painted in passes), counter.painted_in  # once each
    assert len({painted[0] for painted in passes}) == 1, counter.painted_in  # in one pass
    for event in released.values():
        event.set()
    wait_for_result(qtbot, window, "the cat sat on the mat")


def test_layers_are_paced_but_the_selected_layer_is_shown_at_once(qtbot, window, gate, monkeypatch):
    monkeypatch.setattr(progress_pacing, "PROGRESS_INTERVAL_MS", 60_000)
    released = {k: threading.Event() for k in range(1, 9)}
    gate.after_layer = lambda progress: released[_stage(progress)].wait(GATE_S)
    state, controller = window.state, window.controller
    arrived: list[int] = []
    controller.layers_ready.connect(lambda outcome: arrived.append(_stage(outcome.progress)))
    state.set_layer(2)
    window.input_bar.set_inputs("the cat sat on the mat")
    window.run_now()
    for stage in (1, 2, 3):  # layer 1, then layer 2's weights
        qtbot.waitUntil(lambda stage=stage: stage in arrived, timeout=TIMEOUT_MS)
        released[stage].set()
    qtbot.waitUntil(lambda: 4 in arrived, timeout=TIMEOUT_MS)  # layer 2 complete
    assert state.progress is None  # held back: within the interval, not the selected layer
    state.set_layer(1)  # a layer held back is selected: shown at once
    assert state.attention_ready == 2
    assert "Computing" not in window.attention_panel.heatmap.getPlotItem().titleLabel.text
    state.set_layer(2)
    assert window.attention_panel.heatmap.getPlotItem().titleLabel.text == "Computing layer 3 of 4…"
    released[4].set()
    # Layer 3 is selected: its weights are shown at once, before the rest of the layer.
    qtbot.waitUntil(lambda: state.attention_ready == 3, timeout=TIMEOUT_MS)
    assert state.layers_ready == 2
    assert "Computing" not in window.attention_panel.heatmap.getPlotItem().titleLabel.text
    # A newer edit: what is held of the old pass is never shown when the interval ends.
    released[5].set()
    released[6].set()
    qtbot.waitUntil(lambda: 7 in arrived, timeout=TIMEOUT_MS)
    assert state.attention_ready == 3
    window.input_bar.set_inputs("a newer sentence")
    window.run_now()
    window.progress_pacer._on_interval_ended()
    assert state.attention_ready == 3 and state.progress.result.text == "the cat sat on the mat"
    for event in released.values():
        event.set()
    wait_for_result(qtbot, window, "a newer sentence")
    assert state.progress is None


def test_a_pass_about_to_end_is_painted_once_when_it_ends(qtbot, window, monkeypatch):
    monkeypatch.setattr(progress_pacing, "MIN_REMAINING_MS", 60_000.0)  # every pass "short"
    arrived: list[int] = []
    window.controller.layers_ready.connect(lambda outcome: arrived.append(1))
    shown: list[int] = []
    window.state.progress_changed.connect(lambda: shown.append(window.state.layers_ready))
    window.input_bar.set_inputs("the cat sat on the mat")
    window.run_now()
    wait_for_result(qtbot, window, "the cat sat on the mat")
    # The worker told once; that message was not claimed, so it told nothing more of the pass
    # (it would have sent two per layer otherwise).
    assert arrived == [1]
    assert shown == []  # and no layer was painted before the final result
