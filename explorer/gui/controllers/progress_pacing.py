"""The pace at which layers of a pass under way reach the panels (issue 21).

The worker sends a message when a layer's attention weights are written and again when the
whole layer is, coalesced: the next one only once this one is claimed. Each message the panels
take costs the GUI thread 5–10 ms at 512 tokens on the base size (the overview's rows so far
rendered and painted again, the norms, their curve), and on two cores that time, and the GIL
it holds, is taken from the forward pass itself.
So every message is claimed at once (the worker keeps telling), but a new count is shown at
most every ``PROGRESS_INTERVAL_MS`` (counted from the start of the pass for its first), except
when it brings the weights of the layer the window shows: those are shown as soon as they
arrive. The newest count held back is shown when the interval ends, unless the request has
gone stale or its final result came first.

Nothing is shown when the rest of the pass is expected to take less than
``MIN_REMAINING_MS`` (the time so far per layer done, a layer's weights counting as half of
it, times the layers left): the final result is about to come, and painting layers now
would only delay it (the GUI's Python holds the GIL the worker's hooks need). Such a message
is not claimed either, so the worker tells nothing more of that pass. Short passes are
painted once, when they end, as before.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

from explorer.core.progressive import LayerProgress
from explorer.gui.state.explorer_state import ExplorerState
from explorer.gui.worker.model_worker import LayersOutcome, ModelClient

PROGRESS_INTERVAL_MS = 250
MIN_REMAINING_MS = 180.0  # base size at 128 tokens (a 120 ms pass) is painted once


class ProgressPacer(QObject):
    """Hands a client's layers to the state: at once for the selected layer, else paced."""

    def __init__(self, state: ExplorerState, client: ModelClient, parent: QObject) -> None:
        super().__init__(parent)
        self._state = state
        self._client = client
        self._held: tuple[LayersOutcome, int, int] | None = None  # (outcome, layers, attention)
        self._shown_at = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_interval_ended)
        client.layers_ready.connect(self.on_layers_ready)
        client.result_ready.connect(self._on_pass_ended)
        client.inference_failed.connect(self._on_pass_failed)
        state.layer_changed.connect(self._on_layer_changed)

    def on_layers_ready(self, outcome: LayersOutcome) -> None:
        """Claim the layers done; show them now or when the interval ends.

        A pass about to end is not claimed: its worker sends nothing more (each message costs
        both threads a little, and a short pass would send two per layer for nothing).
        """
        progress = outcome.progress
        elapsed_ms = (time.perf_counter() - outcome.picked_up_at) * 1000.0
        # Layers done, a layer's weights counting as half of it: its attention is a quarter of
        # the layer, and the pass's start (encoding, embeddings) about as much again. Counted
        # as a quarter, a 70 ms pass (MiniLM at 512 tokens) looked long enough to paint its
        # first layer early, and that made it 25 ms slower.
        done = max(progress.layers_ready, progress.attention_ready - 0.5, 0.5)
        if elapsed_ms / done * (progress.num_layers - done) < MIN_REMAINING_MS:
            self._on_pass_ended()  # the final result is near: it brings every layer
            return
        ready, attention = progress.claim_counts()
        state = self._state
        new = progress is not state.progress
        shown = 0 if new else state.attention_ready
        wanted = shown < state.layer + 1 <= attention  # the selected layer's weights are here
        since = outcome.picked_up_at if new else self._shown_at
        wait_ms = PROGRESS_INTERVAL_MS - (time.perf_counter() - since) * 1000.0
        if wanted or wait_ms <= 0:
            self._show(progress, ready, attention)
            return
        self._held = (outcome, ready, attention)
        if not self._timer.isActive():
            self._timer.start(max(1, int(wait_ms)))

    def _on_layer_changed(self, layer: int) -> None:
        """A layer held back is selected: it is shown now, not when the interval ends."""
        if self._held is not None and self._held[2] >= layer + 1 > self._state.attention_ready:
            self._on_interval_ended()

    def _show(self, progress: LayerProgress, ready: int, attention: int) -> None:
        self._held = None
        self._timer.stop()
        self._shown_at = time.perf_counter()
        self._state.show_progress(progress, ready, attention)

    def _on_interval_ended(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        outcome, ready, attention = held
        if self._client.is_newest(outcome.request_id, outcome.stream):  # never a stale pass
            self._show(outcome.progress, ready, attention)

    def _on_pass_ended(self, *_outcome: object) -> None:
        self._held = None  # the final result replaces the layers
        self._timer.stop()

    def _on_pass_failed(self, *_message: object) -> None:
        self._on_pass_ended()
        self._state.show_progress(None)  # its layers so far go; the result on show stays
