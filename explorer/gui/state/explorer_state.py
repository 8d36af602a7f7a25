"""The one shared state every panel reads and writes: the result on show and the selection.

Panels keep no copy: they read ``state.result`` / ``state.token`` when a signal fires. Setters
ignore values equal to the current one, which is the re-entry guard that stops a panel's own
echo from looping back through the others.

While a pass runs, ``progress`` holds the layers of the newer result that are done so far
(issue 21): the attention views read it up to ``attention_ready`` (a layer's weights come
before the rest of it), the norms up to ``layers_ready``, and every other panel keeps showing
``result`` until the final one replaces both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.core.progressive import LayerProgress
from explorer.core.results import InferenceResult, ModelInfo
from explorer.core.views import DisplayViews
from explorer.gui.state.lens_options import LensOptions
from explorer.gui.state.panel_options import OptionValue, PanelOptions

MEAN_OF_HEADS = -1
LENS_PREFIX = "attention."  # the session keys of the lens: attention.block, …


@dataclass(frozen=True)
class AnalysisFailure:
    """Stored in place of a payload when an analysis failed, so its panel can say why."""

    message: str


class ExplorerState(QObject):
    """Result + (token, layer, head) selection, shared by all panels of one window."""

    result_changed = Signal()
    """A new result is on show, or the panels were cleared (``result`` is None)."""
    progress_changed = Signal()
    """More layers of the result being computed are ready, or it went (``progress``)."""
    token_changed = Signal(int)
    """The selected token index changed (-1: none)."""
    layer_changed = Signal(int)
    """The selected layer changed (0-based encoder layer)."""
    head_changed = Signal(int)
    """The selected head changed (``MEAN_OF_HEADS`` for the mean over heads)."""
    model_changed = Signal()
    """A different model is now active (``model_info``)."""
    analysis_requested = Signal(str, object)
    """A panel wants an analysis of the result on show: name, params dict."""
    analysis_changed = Signal(str)
    """An analysis of the result on show arrived (or failed): name."""
    analysis_progress = Signal(str, int, int)
    """A long analysis of the result on show got further: name, steps done, steps in all."""
    mask_requested = Signal(int)
    """Someone asked to replace this token by the mask token and run again: token index."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._result: InferenceResult | None = None
        self._views: DisplayViews | None = None
        self._progress: LayerProgress | None = None
        self._layers_ready = 0
        self._attention_ready = 0
        self._model_info: ModelInfo | None = None
        self._token = -1
        self._layer = 0
        self._head = MEAN_OF_HEADS
        self._analyses: dict[str, tuple[dict[str, Any], Any]] = {}
        self.lens = LensOptions(self)
        """The lens and head pooling every attention view shows."""
        self.panel_options = PanelOptions(self)
        """Single panels' own choices (top-k length, …), saved with a session."""

    # --- read side ---------------------------------------------------------------------
    @property
    def result(self) -> InferenceResult | None:
        """The result on show, or None when the panels are cleared."""
        return self._result

    @property
    def views(self) -> DisplayViews | None:
        """Display arrays derived from ``result`` by the worker."""
        return self._views

    @property
    def progress(self) -> LayerProgress | None:
        """The result being computed, newer than ``result``; None when there is none."""
        return self._progress

    @property
    def layers_ready(self) -> int:
        """How many layers of ``progress`` the panels may read, counted when it was shown.

        Layers done since then are not the panels' until the next message claims them.
        """
        return self._layers_ready

    @property
    def attention_ready(self) -> int:
        """How many layers' attention weights of ``progress`` the panels may read (≥ layers_ready).

        Counted when it was shown, as ``layers_ready``.
        """
        return self._attention_ready

    @property
    def model_info(self) -> ModelInfo | None:
        """The active model, or None before the first load finishes."""
        return self._model_info

    @property
    def token(self) -> int:
        """The selected token index, -1 for none."""
        return self._token

    @property
    def layer(self) -> int:
        """The selected encoder layer, 0-based."""
        return self._layer

    @property
    def head(self) -> int:
        """The selected head, 0-based, or ``MEAN_OF_HEADS``."""
        return self._head

    @property
    def num_layers(self) -> int:
        """Depth of the active model (0 before any model is loaded)."""
        info = self._result.model if self._result is not None else self._model_info
        return info.num_layers if info is not None else 0

    @property
    def num_heads(self) -> int:
        """Heads per layer of the active model (0 before any model is loaded)."""
        info = self._result.model if self._result is not None else self._model_info
        return info.num_heads if info is not None else 0

    def analysis(self, name: str) -> tuple[dict[str, Any], Any] | None:
        """(params, payload) of the newest ``name`` analysis of the result on show, or None.

        The payload is an ``AnalysisFailure`` when it failed.
        """
        return self._analyses.get(name)

    def view_options(self) -> dict[str, OptionValue]:
        """The lens and every panel's options as plain values, for a saved session.

        The lens's keys start with ``attention.``, as in session files written before.
        """
        lens = {f"{LENS_PREFIX}{key}": value for key, value in self.lens.options().items()}
        return {**lens, **self.panel_options.values()}

    def apply_view_options(self, options: dict[str, OptionValue]) -> None:
        """Restore ``view_options()``; unknown keys and values of the wrong kind are ignored."""
        lens = {k[len(LENS_PREFIX) :]: v for k, v in options.items() if k.startswith(LENS_PREFIX)}
        self.lens.apply_options(lens)
        self.panel_options.apply(
            {k: v for k, v in options.items() if not k.startswith(LENS_PREFIX) and "." in k}
        )

    # --- write side --------------------------------------------------------------------
    def set_model_info(self, info: ModelInfo | None) -> None:
        """Record the active model; clamps the selection to its depth and width."""
        if info == self._model_info:
            return
        self._model_info = info
        self.model_changed.emit()
        if info is not None:
            self.set_layer(min(self._layer, info.num_layers - 1))
            if self._head >= info.num_heads:
                self.set_head(MEAN_OF_HEADS)

    def set_result(self, result: InferenceResult | None, views: DisplayViews | None) -> None:
        """Show a new result (or clear with None), keeping the selection where it still fits."""
        self._result = result
        self._views = views if result is not None else None
        self._progress, self._layers_ready, self._attention_ready = None, 0, 0  # replaced
        self._analyses.clear()
        if result is not None:
            self._layer = min(self._layer, result.num_layers - 1)
            if self._head >= result.num_heads:
                self._head = MEAN_OF_HEADS
            if self._token >= result.num_tokens or self._token < 0:
                self._token = 0
        else:
            self._token = -1
        self.result_changed.emit()

    def show_progress(
        self, progress: LayerProgress | None, layers_ready: int = 0, attention_ready: int = 0
    ) -> None:
        """Show the first ``layers_ready`` layers of ``progress`` (None: drop it).

        The counts are the ones ``progress.claim_counts()`` gave (``attention_ready`` is raised
        to ``layers_ready`` if below): a panel repainting later reads these, never the live ones,
        so layers of a pass that has gone stale since never reach the panels. Dropping the
        progress leaves ``result`` on show.
        """
        attention_ready = max(attention_ready, layers_ready)
        if progress is None:
            if self._progress is None:
                return
            self._progress, self._layers_ready, self._attention_ready = None, 0, 0
        else:
            if progress is self._progress:
                if layers_ready <= self._layers_ready and attention_ready <= self._attention_ready:
                    return
                layers_ready = max(layers_ready, self._layers_ready)  # counts only grow
                attention_ready = max(attention_ready, self._attention_ready)
            self._progress = progress
            self._layers_ready, self._attention_ready = layers_ready, attention_ready
        self.progress_changed.emit()

    def request_analysis(self, name: str, **params: Any) -> None:
        """Ask (through the window's controller) for an analysis of the result on show.

        Without a result only analyses of the model alone (e.g. vocabulary look-up) answer.
        """
        if self._result is not None or self._model_info is not None:
            self.analysis_requested.emit(name, params)

    def set_analysis(self, name: str, params: dict[str, Any], payload: Any) -> None:
        """Store an analysis of the result on show (the controller already dropped stale ones)."""
        self._analyses[name] = (params, payload)
        self.analysis_changed.emit(name)

    def request_mask(self, token: int) -> None:
        """Ask (through the window's masking controller) to mask ``token`` and run again."""
        if self._result is not None and 0 <= token < self._result.num_tokens:
            self.mask_requested.emit(token)

    def set_token(self, token: int) -> None:
        """Select a token; out-of-range values are clamped, -1 clears."""
        count = self._result.num_tokens if self._result is not None else 0
        token = -1 if count == 0 or token < 0 else min(int(token), count - 1)
        if token != self._token:
            self._token = token
            self.token_changed.emit(token)

    def set_layer(self, layer: int) -> None:
        """Select an encoder layer, clamped to the model's depth."""
        layer = max(0, min(int(layer), max(self.num_layers - 1, 0)))
        if layer != self._layer:
            self._layer = layer
            self.layer_changed.emit(layer)

    def set_head(self, head: int) -> None:
        """Select a head, or ``MEAN_OF_HEADS``."""
        head = MEAN_OF_HEADS if head < 0 else min(int(head), max(self.num_heads - 1, 0))
        if head != self._head:
            self._head = head
            self.head_changed.emit(head)

    def step_token(self, delta: int) -> None:
        """Move the token selection by ``delta`` (keyboard stepping)."""
        self.set_token(max(0, self._token + delta))

    def step_layer(self, delta: int) -> None:
        """Move the layer selection by ``delta``."""
        self.set_layer(self._layer + delta)

    def step_head(self, delta: int) -> None:
        """Move through mean-of-heads, head 1, …, head H."""
        self.set_head(max(MEAN_OF_HEADS, self._head + delta))
