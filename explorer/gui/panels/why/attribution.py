"""Which input tokens a prediction rests on: coloured text and bars, one method at a time.

The worker computes every method at once for the result on show (one gradient pass and m
batched integrated-gradient points); choosing another method only redraws. The target
follows the loaded head (see explorer.core.why.targets), or the one typed in.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.core.why.attribution import DEFAULT_STEPS, EXPLAIN, Explanation
from explorer.core.why.targets import TARGET_HELP
from explorer.gui.panels.analysis.common import bind_option, wrapped_label
from explorer.gui.panels.plotting.plots import plot_widget, set_ticks, set_title
from explorer.gui.panels.why.common import (
    TARGET_OPTION,
    WhyPanel,
    attribution_target,
    signed_colors,
)
from explorer.gui.state.explorer_state import ExplorerState

METHODS = {
    "grad_input": "Gradient × input",
    "integrated_gradients": "Integrated gradients",
    "grad_norm": "Gradient norm",
    "relevance": "Relevance (Chefer 2021)",
}
EXPLANATION = (
    "Red raises the target F, blue lowers it. Gradient norm ‖∂F/∂e_t‖; gradient × input "
    "Σ_d ∂F/∂e_td · e_td; integrated gradients from a zero baseline over the word embeddings "
    "(position and token-type embeddings untouched); relevance: row of Chefer's R = "
    "Π(I + mean_h (∇A ⊙ A)⁺) for the selected token."
)


class AttributionPanel(WhyPanel):
    """Method, target and steps on top; the text coloured by attribution; bars per token."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._found: Explanation | None = None
        self.method_combo = QComboBox()
        for key, label in METHODS.items():
            self.method_combo.addItem(label, key)
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("automatic (the head's own prediction)")
        self.target_edit.setToolTip(f"The target F: {TARGET_HELP}. Empty: the head's own.")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 256)
        self.steps_spin.setValue(DEFAULT_STEPS)
        self.steps_spin.setToolTip("Integrated-gradients steps m (batched in the worker)")
        self.text_view = QLabel()
        self.text_view.setWordWrap(True)
        self.text_view.setTextFormat(Qt.TextFormat.RichText)
        self.summary = wrapped_label()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setFormat("%v of %m passes")
        self.plot = plot_widget()
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        item.addItem(self.bars)

        controls = QHBoxLayout()
        for label, widget in (
            ("Method", self.method_combo),
            ("Target", self.target_edit),
            ("Steps", self.steps_spin),
        ):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget, 1 if widget is self.target_edit else 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.text_view)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)
        layout.addWidget(wrapped_label(EXPLANATION))

        options = state.panel_options
        bind_option(
            options,
            "attribution.method",
            lambda: str(self.method_combo.currentData()),
            lambda key: self.method_combo.setCurrentIndex(self.method_combo.findData(key)),
            self.method_combo.currentIndexChanged,
            lambda key: isinstance(key, str) and key in METHODS,
        )
        bind_option(
            options,
            TARGET_OPTION,
            self.target_edit.text,
            lambda text: self.target_edit.setText(str(text)),
            self.target_edit.editingFinished,
            lambda text: isinstance(text, str),
        )
        bind_option(
            options,
            "attribution.steps",
            self.steps_spin.value,
            lambda value: self.steps_spin.setValue(int(value)),
            self.steps_spin.valueChanged,
            lambda value: isinstance(value, int) and 1 <= value <= 256,
        )
        self._ask_for(EXPLAIN)
        options.changed.connect(self._on_option_changed)
        state.token_changed.connect(self.refresh)  # a selected mask is the target; R's row
        state.analysis_progress.connect(self._on_progress)

    @property
    def method(self) -> str:
        """The key of the method on show."""
        return str(self.method_combo.currentData())

    def _params(self) -> dict[str, object]:
        return {"target": attribution_target(self._state), "steps": self.steps_spin.value()}

    def _on_option_changed(self, key: str) -> None:
        if key in (TARGET_OPTION, "attribution.steps"):
            self.refresh()
        elif key == "attribution.method":
            self._redraw()

    def _on_progress(self, name: str, done: int, total: int) -> None:
        """The worker got further: one gradient pass, then each chunk of IG points."""
        if name != EXPLAIN or self._found is not None:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    def _clear(self) -> None:
        self.progress.setVisible(False)
        self._found = None
        self.bars.setOpts(x=[], height=[], brushes=None)
        self.text_view.setText("")
        self.summary.setText("")

    def _on_status(self, text: str) -> None:
        if text.startswith("Computing"):
            steps = self.steps_spin.value()
            text = f"Computing every attribution ({steps} integrated-gradient steps)…"
        super()._on_status(text)

    def _draw(self, found: Explanation) -> None:
        self.progress.setVisible(False)
        self._found = found
        self._redraw()

    def values(self) -> np.ndarray | None:
        """The attribution per token on show (None when nothing is)."""
        found = self._found
        if found is None:
            return None
        if self.method == "relevance":
            row = min(max(self._state.token, 0), len(found.tokens) - 1)
            return found.relevance[row]
        values = getattr(found, self.method)
        return None if values is None else np.asarray(values)

    def _redraw(self, *_: object) -> None:
        found, values = self._found, self.values()
        if found is None or values is None:
            return
        tokens = [str(t) for t in found.tokens]
        colors = signed_colors(values)
        spans = [
            f'<span style="background-color: rgba({r},{g},{b},{a / 255:.2f})">'
            f"{html.escape(token)}</span>"
            for token, (r, g, b, a) in zip(tokens, colors, strict=True)
        ]
        self.text_view.setText(" ".join(spans))
        brushes = [pg.mkBrush(r, g, b, max(a, 60)) for r, g, b, a in colors]
        self.bars.setOpts(x=np.arange(len(values)), height=values, width=0.8, brushes=brushes)
        item = self.plot.getPlotItem()
        set_ticks(item.getAxis("bottom"), [list(enumerate(tokens))])
        set_title(item, f"{METHODS[self.method]} · {found.target}")
        lines = [f"F = {found.target_value:.6g}"]
        if found.baseline_value is not None and found.ig_completeness_error is not None:
            change = abs(found.target_value - found.baseline_value)
            relative = found.ig_completeness_error / change if change > 0 else float("nan")
            lines.append(
                f"F(baseline) = {found.baseline_value:.6g}; completeness error "
                f"|Σ IG − (F(x) − F(0))| = {found.ig_completeness_error:.3g} "
                f"({relative:.2%} of the change) at {found.ig_steps} steps"
            )
        if found.knocked_out:
            lines.append(f"with {len(found.knocked_out)} heads knocked out")
        self.summary.setText(" · ".join(lines))
