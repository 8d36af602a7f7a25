"""What the analysis views share: the lens controls, names of what is on show, on-demand requests.

The lens itself (pair block, words, hidden special tokens, head pooling) is ``state.lens``,
part of the shared state, so every attention view shows the same lens and any can change it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSize, QTimer, SignalInstance
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from explorer.core.analysis.aggregate import HEAD_POOLS, MEAN, aggregate_heads
from explorer.core.analysis.blocks import ALL, BLOCKS
from explorer.core.analysis.lens import LensedMatrix, LensSettings, apply_lens
from explorer.core.results import InferenceResult
from explorer.core.views import DisplayViews
from explorer.gui.state.explorer_state import MEAN_OF_HEADS, AnalysisFailure, ExplorerState
from explorer.gui.state.lens_options import LensOptions
from explorer.gui.state.panel_options import OptionValue, PanelOptions

COMPUTING = "Computing…"


def bind_option(
    options: PanelOptions,
    key: str,
    read: Callable[[], OptionValue],
    write: Callable[[OptionValue], None],
    edited: SignalInstance,
    accepts: Callable[[object], bool],
) -> None:
    """Keep one widget and the state's option ``key`` in step, both ways.

    The state holds the value (a session saves it); the widget shows it. A value restored
    before the panel existed is shown at once; values the widget cannot take are ignored.
    """

    def on_changed(changed: str) -> None:
        value = options.get(changed, read())
        if changed == key and accepts(value) and value != read():
            write(value)

    options.changed.connect(on_changed)
    edited.connect(lambda *_: options.set(key, read()))
    on_changed(key)
    options.set(key, read())


# --- names of what is on show ------------------------------------------------------------
def head_choice_label(head: int, pool: str = MEAN) -> str:
    """Name a head choice: 'head 7' (1-based), or 'mean of heads' / 'max of heads'."""
    return f"{pool} of heads" if head == MEAN_OF_HEADS else f"head {head + 1}"


def where_label(layer: int, head: int, pool: str = MEAN, mean_layers: bool = False) -> str:
    """Name what is on show, e.g. 'layer 3 · head 7' or 'mean of layers · max of heads'."""
    layers = "mean of layers" if mean_layers else f"layer {layer + 1}"
    return f"{layers} · {head_choice_label(head, pool)}"


def lens_notice(result: InferenceResult | None, settings: LensSettings) -> str:
    """A warning when the lens leaves nothing to see ('' otherwise)."""
    if result is None or settings.block == ALL:
        return ""
    if "B" in settings.block and not (result.sequence_ids == 1).any():
        return (
            f"{settings.block} is empty: this input has no sentence B. "
            "Type a second sentence in B, or choose All or A→A."
        )
    return ""


def hidden_query_notice(result: InferenceResult | None, token: int, settings: LensSettings) -> str:
    """Say so when the selected token's own row is blanked by hiding special tokens."""
    if result is None or not settings.hide_special or token < 0:
        return ""
    if not result.special_tokens_mask[token]:
        return ""
    return (
        f'"{result.tokens[token]}" is a special token and special tokens are hidden, so its '
        "row is empty. Select another token or show special tokens."
    )


def titled(title: str, settings: LensSettings) -> str:
    """A plot title that says which lens is on."""
    caption = settings.caption()
    return f"{title} · {caption}" if caption else title


def displayed_attention(state: ExplorerState, lens: LensOptions) -> LensedMatrix | None:
    """The attention matrix the attention views show: heads pooled, then the lens."""
    result, views = state.result, state.views
    if result is None or views is None:
        return None
    return apply_lens(raw_attention(state, lens), result, lens.settings)


def raw_attention(state: ExplorerState, lens: LensOptions) -> np.ndarray:
    """The selected layer/head (or pooled heads, or the mean over layers), before the lens.

    One head reads the result as it is; the mean of heads is made once per layer and kept
    (DisplayViews.head_mean), so hovering and repainting never recompute it.
    """
    result, views = state.result, state.views
    assert result is not None and views is not None
    return attention_of(result.attentions, views, state.layer, state.head, lens)


def attention_of(
    attentions: np.ndarray, views: DisplayViews, layer: int, head: int, lens: LensOptions
) -> np.ndarray:
    """``raw_attention`` of given arrays: a result's, or the layers of one being computed."""
    if not lens.mean_layers:
        if head >= 0:
            return attentions[layer, head]
        if lens.head_pool == MEAN:
            return views.head_mean(layer)
    return aggregate_heads(attentions, layer, head, lens.head_pool, lens.mean_layers)


def layers_needed(state: ExplorerState, lens: LensOptions) -> int:
    """How many layers the attention on show needs: up to the selected one, or all of them."""
    return state.num_layers if lens.mean_layers else state.layer + 1


def progress_attention(state: ExplorerState, lens: LensOptions) -> LensedMatrix | None:
    """The attention on show from the layers being computed (None: not ready, or none).

    Reads ``state.progress`` only below ``state.attention_ready``: the mean over layers waits
    for every layer, as the final result brings them.
    """
    progress, ready = state.progress, state.attention_ready
    if progress is None or layers_needed(state, lens) > ready or lens.mean_layers:
        return None
    skeleton = progress.result
    matrix = attention_of(skeleton.attentions, progress.views, state.layer, state.head, lens)
    return apply_lens(matrix, skeleton, lens.settings)


# --- controls ----------------------------------------------------------------------------
class LensBar(QWidget):
    """Block filter, word merge and hide-special toggles, bound to the shared LensOptions."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lens = state.lens
        self.block_combo = QComboBox()
        self.block_combo.addItems(list(BLOCKS))
        self.block_combo.setToolTip(
            "Sentence-pair block: keep only queries in one sentence attending to keys in one "
            "sentence ([CLS] and the first [SEP] count as A, the last [SEP] as B)."
        )
        self.words_check = QCheckBox("Words")
        self.words_check.setToolTip(
            "Merge word pieces into words: sum over the key pieces, mean over the query "
            "pieces (rows still sum to 1)."
        )
        self.hide_check = QCheckBox("Hide special tokens")
        self.hide_check.setToolTip(
            "Zero the rows and columns of [CLS], [SEP], … and renormalize every other row."
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Pair block"))
        layout.addWidget(self.block_combo)
        layout.addWidget(self.words_check)
        layout.addWidget(self.hide_check)
        layout.addStretch(1)
        self.block_combo.currentTextChanged.connect(self._lens.set_block)
        self.words_check.toggled.connect(self._lens.set_words)
        self.hide_check.toggled.connect(self._lens.set_hide_special)
        self._lens.changed.connect(self._on_lens_changed)
        self._on_lens_changed()

    def _on_lens_changed(self) -> None:
        settings = self._lens.settings
        for widget, apply in (
            (self.block_combo, lambda: self.block_combo.setCurrentText(settings.block)),
            (self.words_check, lambda: self.words_check.setChecked(settings.words)),
            (self.hide_check, lambda: self.hide_check.setChecked(settings.hide_special)),
        ):
            widget.blockSignals(True)
            apply()
            widget.blockSignals(False)


class CompactComboBox(QComboBox):
    """A combo that shows its whole text when there is room and shrinks when there is not.

    A QComboBox cannot be narrower than its longest item ("Mean of heads"), so a row of them
    set the window's minimum width; this one may be squeezed to a few letters.
    """

    def minimumSizeHint(self) -> QSize:
        """Room for about seven characters, or the full hint if that is smaller."""
        hint = super().minimumSizeHint()
        compact = self.fontMetrics().averageCharWidth() * 7 + 28  # the text, arrow and frame
        return QSize(min(hint.width(), compact), hint.height())


class HeadControls(QWidget):
    """Layer and head combos plus the pooling choices, bound to the state and LensOptions.

    The head combo keeps the state's convention (index 0 = all heads, then head 1 … H); how
    "all heads" combines them (mean or max) and the mean over layers are the lens's.
    """

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._lens = state.lens
        self.layer_combo = CompactComboBox()
        self.layer_combo.setToolTip("Encoder layer (PageUp/PageDown)")
        self.mean_layers_check = QCheckBox("mean of layers")
        self.mean_layers_check.setToolTip("Average the head choice over every layer")
        self.head_combo = CompactComboBox()
        self.head_combo.setToolTip("Attention head, or all heads pooled (Alt+←/→)")
        self.pool_combo = QComboBox()
        self.pool_combo.addItems(list(HEAD_POOLS))
        self.pool_combo.setToolTip("How 'all heads' combines the heads: their mean or maximum")
        # No "Layer"/"Head" captions (the items read "Layer 3", "Head 6") and combos that may
        # shrink to a few letters: this row set the window's minimum width (566 px at 100 %).
        self.layer_combo.setAccessibleName("Layer")
        self.head_combo.setAccessibleName("Head")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layer_combo)
        layout.addWidget(self.mean_layers_check)
        layout.addWidget(self.head_combo)
        layout.addWidget(QLabel("heads by"))
        layout.addWidget(self.pool_combo)
        layout.addStretch(1)

        self.layer_combo.currentIndexChanged.connect(self._on_layer_combo_changed)
        self.head_combo.currentIndexChanged.connect(self._on_head_combo_changed)
        self.pool_combo.currentTextChanged.connect(self._lens.set_head_pool)
        self.mean_layers_check.toggled.connect(self._lens.set_mean_layers)
        state.model_changed.connect(self.refresh)
        state.result_changed.connect(self.refresh)
        state.layer_changed.connect(self.refresh)
        state.head_changed.connect(self.refresh)
        self._lens.changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_: object) -> None:
        """Make the controls show the state and the lens (signals blocked: no echo)."""
        state, lens = self._state, self._lens
        pooled = f"{lens.head_pool.capitalize()} of heads"
        items = {
            self.layer_combo: [f"Layer {i + 1}" for i in range(state.num_layers)],
            self.head_combo: [pooled] + [f"Head {i + 1}" for i in range(state.num_heads)],
        }
        for combo, texts in items.items():
            combo.blockSignals(True)
            if [combo.itemText(i) for i in range(combo.count())] != texts:
                combo.clear()
                combo.addItems(texts)
            combo.blockSignals(False)
        for widget, apply in (
            (self.layer_combo, lambda: self.layer_combo.setCurrentIndex(state.layer)),
            (self.head_combo, lambda: self.head_combo.setCurrentIndex(state.head + 1)),
            (self.pool_combo, lambda: self.pool_combo.setCurrentText(lens.head_pool)),
            (self.mean_layers_check, lambda: self.mean_layers_check.setChecked(lens.mean_layers)),
        ):
            widget.blockSignals(True)
            apply()
            widget.blockSignals(False)
        self.layer_combo.setEnabled(not lens.mean_layers)
        self.pool_combo.setEnabled(state.head == MEAN_OF_HEADS)

    def _on_layer_combo_changed(self, index: int) -> None:
        if index >= 0:
            self._state.set_layer(index)

    def _on_head_combo_changed(self, index: int) -> None:
        if index >= 0:
            self._state.set_head(index - 1)


# --- on-demand analyses ------------------------------------------------------------------
class OnDemand(QObject):
    """Asks the worker for one analysis of the result on show, only while its view is visible.

    ``want(params)`` records what the view needs; the request goes out once per (result,
    params) when the view is visible, so hidden tabs never cost a keystroke anything. A reply
    for other params (an older request) is ignored; a failure is passed on as a message.
    """

    def __init__(
        self,
        state: ExplorerState,
        name: str,
        view: QWidget,
        on_payload: Callable[[Any], None],
        on_message: Callable[[str], None],
    ) -> None:
        super().__init__(view)
        self._state = state
        self._name = name
        self._view = view
        self._on_payload = on_payload
        self._on_message = on_message
        self._wanted: dict[str, Any] | None = None
        self._asked: dict[str, Any] | None = None
        state.result_changed.connect(self._on_result_changed)
        state.analysis_changed.connect(self._on_analysis_changed)

    @property
    def wanted(self) -> dict[str, Any] | None:
        """The params the view needs now (None: nothing)."""
        return self._wanted

    def want(self, params: dict[str, Any] | None) -> None:
        """Need ``params`` now (None: nothing); show the payload at once when it is here."""
        self._wanted = params
        if params is None:
            return
        stored = self._state.analysis(self._name)
        if stored is not None and stored[0] == params:
            self._deliver(stored[1])
            return
        self.poke()

    def poke(self) -> None:
        """Send the request if the view is visible and it was not sent for this result."""
        if self._wanted is None or self._state.result is None or not on_screen(self._view):
            return
        if self._asked == self._wanted:
            return
        self._asked = dict(self._wanted)
        self._on_message(COMPUTING)
        self._state.request_analysis(self._name, **self._wanted)

    def _on_result_changed(self) -> None:
        self._asked = None

    def _on_analysis_changed(self, name: str) -> None:
        if name != self._name or self._wanted is None:
            return
        stored = self._state.analysis(name)
        if stored is None:
            return
        params, payload = stored
        if isinstance(payload, AnalysisFailure):
            self._asked = None  # asking again (after a change) may succeed
            self._on_message(payload.message)
        elif params == self._wanted:
            self._deliver(payload)

    def _deliver(self, payload: Any) -> None:
        if isinstance(payload, AnalysisFailure):
            self._on_message(payload.message)
        else:
            self._on_payload(payload)


def on_screen(view: QWidget) -> bool:
    """True when some of ``view`` can be seen.

    A dock behind another tab stays "visible" to Qt (it is only moved off screen), so the
    visible region is what tells a raised tab from a buried one.
    """
    return view.isVisible() and not view.visibleRegion().isEmpty()


class ShowAware(QWidget):
    """A panel that asks for its analyses when it comes on screen (shown, or its tab raised)."""

    _dock: QDockWidget | None = None

    def showEvent(self, event: QShowEvent) -> None:
        """Qt API: the view was shown; follow its dock's tab from now on."""
        super().showEvent(event)
        self._follow_dock()
        self.refresh()

    def _follow_dock(self) -> None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QDockWidget):
            parent = parent.parentWidget()
        if parent is not None and parent is not self._dock:
            if self._dock is not None:
                self._dock.visibilityChanged.disconnect(self._on_dock_visibility_changed)
            self._dock = parent
            parent.visibilityChanged.connect(self._on_dock_visibility_changed)

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible:
            # The tab bar moves the raised dock on screen after this signal: look then.
            QTimer.singleShot(0, self.refresh)

    def refresh(self) -> None:
        """Redraw from the state (subclasses)."""


def wrapped_label(text: str = "") -> QLabel:
    """A word-wrapped label: notices and explanations under the analysis views."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def analysis_layout(
    owner: QWidget, controls: list[QWidget], body: QWidget, explanation: str
) -> None:
    """The shared shape of an analysis tab: controls, the notice, the view, how to read it."""
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(4, 4, 4, 4)
    for widget in controls:
        layout.addWidget(widget)
    layout.addWidget(body, 1)
    layout.addWidget(wrapped_label(explanation))


class LensedAnalysisPanel(ShowAware):
    """An analysis tab: its controls, the lens bar and a message above one view.

    The worker computes the analysis on demand; the tab redraws on a new result, layer or lens
    (and whatever else ``_set_up`` names). Subclasses make their view, then call ``_set_up``,
    and provide ``refresh``, ``_draw(payload)`` and ``_on_status(text)``.
    """

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._lens = state.lens
        self.lens_bar = LensBar(state)
        self.message = wrapped_label()

    def _set_up(
        self,
        analysis: str,
        controls: list[QWidget],
        view: QWidget,
        explanation: str,
        also_on: tuple[Any, ...] = (),
    ) -> None:
        """Lay the tab out, ask for ``analysis`` on demand, and redraw on the given signals."""
        analysis_layout(self, [*controls, self.lens_bar, self.message], view, explanation)
        self._on_demand = OnDemand(self._state, analysis, self, self._draw, self._on_status)
        state = self._state
        for signal in (state.result_changed, state.layer_changed, *also_on, self._lens.changed):
            signal.connect(self.refresh)
        self.refresh()

    @property
    def message_text(self) -> str:
        """What the tab says above its view ('' when nothing)."""
        return self.message.text() if self.message.isVisibleTo(self) else ""

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _draw(self, payload: Any) -> None:
        raise NotImplementedError

    def _on_status(self, text: str) -> None:
        raise NotImplementedError
