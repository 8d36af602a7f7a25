"""Compare mode: two sentences on one model, side by side, linked, with their differences.

The window has no worker of its own: it is a client of the main window's ModelController (one
worker thread, one model for both windows) and follows the model loaded there. The two sides
are two streams of its client (``"a"`` and ``"b"``) and run one after the other: A, then B,
then the ``compare`` analysis of B against A, all in the worker; a newer edit restarts the
chain and the client drops replies it no longer waits for (the main window's requests never
make them stale: latest wins within a client). Both sides are shown together, so no
difference view mixes a new A with an old B. Each side's own analyses (the overview's block
mosaic) are asked of the worker on that side's stream, like the main window's.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core.compare import COMPARE_ANALYSIS
from explorer.core.compare_models import COMPARE_MODELS_ANALYSIS
from explorer.core.errors import ExplorerError
from explorer.core.model_text import model_status_text
from explorer.core.results import InferenceResult, ModelInfo
from explorer.core.sources import ModelSource
from explorer.gui.panels.analysis.common import COMPUTING
from explorer.gui.panels.compare.attention import CompareAttentionPanel
from explorer.gui.panels.compare.cka import CompareCkaPanel
from explorer.gui.panels.compare.norms import CompareNormsPanel
from explorer.gui.panels.compare.similarity import CompareSimilarityPanel
from explorer.gui.panels.main.attention import AttentionPanel
from explorer.gui.panels.main.norms import NormsPanel
from explorer.gui.panels.main.pooled import PooledPanel
from explorer.gui.panels.main.tokens import TokensPanel
from explorer.gui.state.compare_state import SIDES, WAITING_FOR_INPUT, CompareState
from explorer.gui.state.explorer_state import AnalysisFailure, ExplorerState
from explorer.gui.state.settings import Settings
from explorer.gui.style.plot_style import style_plots
from explorer.gui.style.theme import THEMES, Theme
from explorer.gui.widgets.message_bar import Level, MessageBar, add_model_status
from explorer.gui.widgets.paint_batch import PaintBatch
from explorer.gui.widgets.shortcuts import make_action, stepping_shortcuts
from explorer.gui.worker.model_worker import (
    SECOND_MODEL,
    AnalysisOutcome,
    InferenceOutcome,
    ModelClient,
)

DEFAULT_A = "I love my pet python"
DEFAULT_B = "I love my pet snake"
DEBOUNCE_MS = 150


def side_notes(result_a: InferenceResult, result_b: InferenceResult) -> tuple[str, Level] | None:
    """What the message bar should say about a finished pair of sides (None: nothing)."""
    truncated = [
        f"{name} lost {r.tokens_dropped} tokens to the model's maximum of {r.model.max_length}"
        for name, r in (("A", result_a), ("B", result_b))
        if r.truncated
    ]
    if truncated:
        return "Truncated: " + "; ".join(truncated) + ".", Level.WARNING
    if result_a.num_tokens != result_b.num_tokens:
        return (
            f"A has {result_a.num_tokens} tokens and B has {result_b.num_tokens}, so there is no "
            "attention difference (see the middle panel); the norm difference and the cosine "
            "curves pair the tokens whose strings are identical.",
            Level.INFO,
        )
    if result_a.text == result_b.text and result_a.pair == result_b.pair:
        return (
            "A and B are the same sentence, so every difference is 0. Change a word in B to "
            "see what it changes.",
            Level.INFO,
        )
    return None


class SidePanels(QWidget):
    """One side's ordinary panels (each a view of that side's own state), as tabs."""

    def __init__(self, name: str, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._state = state
        self.header = QLabel()
        self.header.setObjectName("compare-side-header")
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.attention_panel = AttentionPanel(state)
        self.tokens_panel = TokensPanel(state)
        self.norms_panel = NormsPanel(state)
        self.pooled_panel = PooledPanel(state)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.attention_panel, "Attention")
        self.tabs.addTab(self.tokens_panel, "Tokens")
        self.tabs.addTab(self.norms_panel, "Hidden-state norms")
        self.tabs.addTab(self.pooled_panel, "Pooled vector")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        state.result_changed.connect(self._on_result_changed)
        self._on_result_changed()

    def _on_result_changed(self) -> None:
        result = self._state.result
        if result is None:
            self.header.setText(f"{self._name}: nothing to show")
            return
        self.header.setText(
            f'{self._name}: "{result.text}" · {result.num_tokens} tokens · '
            f"{result.model.model_type}"
        )


class CompareWindow(QMainWindow):
    """Input A and B → the shared worker, through a client → two linked sides and differences."""

    def __init__(
        self,
        models: ModelClient,
        text_a: str = DEFAULT_A,
        text_b: str = DEFAULT_B,
        parent: QWidget | None = None,
    ) -> None:
        """``models``: this window's channel to the one worker (``controller.client()``).

        ``parent`` (the main window) closes this window, and so its channel, before itself.
        """
        super().__init__(parent)
        if parent is not None:
            self.setWindowFlag(Qt.WindowType.Window, True)
            parent.installEventFilter(self)
        self.setWindowTitle("Compare · BERT Attention Explorer")
        self.resize(1560, 960)
        self.compare = CompareState(self)
        compare = self.compare
        self.paint_batch = PaintBatch(  # before the panels: it must hold them before they change
            self,
            [
                compare.results_changed,
                compare.selection_changed,
                compare.comparison_changed,
                *(
                    signal
                    for side in (compare.a, compare.b)
                    for signal in (
                        side.result_changed,
                        side.token_changed,
                        side.layer_changed,
                        side.head_changed,
                    )
                ),
            ],
        )
        self.controller = models  # this window's client of the shared worker
        if models.parent() is None:
            models.setParent(self)  # the channel goes with the window
        self._model_ready = False
        self._load_error = ""
        self._chain: list[str] = []
        self._waiting: tuple[str, int] | None = None
        self._fresh: dict[str, InferenceOutcome] = {}
        self._shown: dict[str, int] = {}  # side → request id of the result it shows
        self._failures: dict[str, str] = {}
        self._inputs = {"a": "", "b": ""}
        self._model_b: ModelInfo | None = None  # two models on sentence A, when set

        self.input_a = QLineEdit(text_a)
        self.input_b = QLineEdit(text_b)
        self.input_a.setPlaceholderText("Sentence A")
        self.input_b.setPlaceholderText("Sentence B, e.g. A with one word changed")
        self.swap_button = QPushButton("⇄")
        self.swap_button.setToolTip("Swap A and B")
        self.run_button = QPushButton("Compare")
        self.run_button.setToolTip("Run both sentences now (Enter)")
        self.model_b_input = QLineEdit()
        self.model_b_input.setPlaceholderText(
            "Model B (a folder or hub id): run sentence A through two models; empty: one model"
        )
        self.model_b_button = QPushButton("Load B")
        self.model_b_button.setToolTip("Load model B beside the model in use, in the same worker")
        self.message_bar = MessageBar()
        self.side_a = SidePanels("A", self.compare.a)
        self.side_b = SidePanels("B", self.compare.b)
        self.attention_diff_panel = CompareAttentionPanel(self.compare)
        self.similarity_panel = CompareSimilarityPanel(self.compare)
        self.norms_diff_panel = CompareNormsPanel(self.compare)
        self.cka_panel = CompareCkaPanel(self.compare)
        self._build_layout()
        self._build_shortcuts()
        self._build_status_bar()
        settings = Settings()
        self.set_look(THEMES.get(settings.theme, THEMES["light"]), settings.font_scale)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_now)
        self.input_a.textEdited.connect(self._debounce.start)
        self.input_b.textEdited.connect(self._debounce.start)
        self.input_a.returnPressed.connect(self.run_now)
        self.input_b.returnPressed.connect(self.run_now)
        self.run_button.clicked.connect(self.run_now)
        self.swap_button.clicked.connect(self.swap)
        self.model_b_button.clicked.connect(self.load_model_b)
        self.model_b_input.returnPressed.connect(self.load_model_b)
        self.controller.second_model_loaded.connect(self._on_model_b_loaded)
        self.controller.second_model_failed.connect(self._on_model_b_failed)
        self.controller.busy_changed.connect(self._on_busy_changed)
        self.controller.load_started.connect(self._on_load_started)
        self.controller.load_progress.connect(self._on_load_progress)
        self.controller.load_cancelled.connect(self._on_load_cancelled)
        self.controller.model_loaded.connect(self._on_model_loaded)
        self.controller.load_failed.connect(self._on_load_failed)
        self.controller.result_ready.connect(self._on_result_ready)
        self.controller.inference_failed.connect(self._on_inference_failed)
        self.controller.analysis_ready.connect(self._on_analysis_ready)
        self.controller.analysis_failed.connect(self._on_analysis_failed)
        for side in SIDES:
            requested = self.compare.side(side).analysis_requested
            requested.connect(partial(self._on_side_analysis_requested, side))

        self.busy_indicator.set_busy(models.busy)
        info = models.model_info
        if info is not None:  # the usual case: the main window's model is in
            self._show_model(info)
        else:
            self.compare.set_message("Loading the model…")
        self.run_now()

    # --- construction ------------------------------------------------------------------
    def _build_layout(self) -> None:
        inputs = QHBoxLayout()
        inputs.addWidget(QLabel("A"))
        inputs.addWidget(self.input_a, 1)
        inputs.addWidget(self.swap_button)
        inputs.addWidget(QLabel("B"))
        inputs.addWidget(self.input_b, 1)
        inputs.addWidget(self.run_button)
        models = QHBoxLayout()
        models.addWidget(QLabel("Model B"))
        models.addWidget(self.model_b_input, 1)
        models.addWidget(self.model_b_button)

        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self._titled("Attention difference B − A", self.attention_diff_panel))
        middle.addWidget(self._titled("Cosine similarity of A and B", self.similarity_panel))
        middle.addWidget(
            self._titled("Hidden-norm difference ‖h_B‖ − ‖h_A‖", self.norms_diff_panel)
        )
        middle.addWidget(self._titled("Layer CKA of model A and model B", self.cka_panel))
        middle.setSizes([430, 270, 240, 300])
        columns = QSplitter(Qt.Orientation.Horizontal)
        columns.addWidget(self.side_a)
        columns.addWidget(middle)
        columns.addWidget(self.side_b)
        columns.setSizes([470, 660, 470])
        self.columns = columns

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addLayout(inputs)
        layout.addLayout(models)
        layout.addWidget(self.message_bar)
        layout.addWidget(columns, 1)
        self.setCentralWidget(central)

    @staticmethod
    def _titled(title: str, panel: QWidget) -> QWidget:
        box = QWidget()
        label = QLabel(title)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(panel, 1)
        return box

    def _build_shortcuts(self) -> None:
        state = self.compare.a  # the sides are linked, so stepping A steps both
        specs = stepping_shortcuts(state)
        for spec in specs:
            self.addAction(make_action(self, spec))

    def _build_status_bar(self) -> None:
        self.model_label, self.busy_indicator = add_model_status(
            self.statusBar(), "Loading the model…"
        )

    def set_look(self, theme: Theme, font_scale: float) -> None:
        """Style this window's plots and banner like the main window's (theme and font scale)."""
        style_plots(self, theme, font_scale)
        self.message_bar.restyle()

    # --- actions -----------------------------------------------------------------------
    def set_inputs(self, text_a: str, text_b: str) -> None:
        """Put two sentences in the fields and run them at once."""
        self.input_a.setText(text_a)
        self.input_b.setText(text_b)
        self.run_now()

    def swap(self) -> None:
        """A becomes B and B becomes A."""
        self.set_inputs(self.input_b.text(), self.input_a.text())

    def run_now(self) -> None:
        """Run both sentences (A, then B, then their comparison); a newer call restarts."""
        self._debounce.stop()
        text_b = self.input_a.text() if self.two_models else self.input_b.text()
        self._inputs = {"a": self.input_a.text(), "b": text_b}
        self._chain = [side for side in SIDES if self._inputs[side].strip()]
        self._fresh, self._failures, self._waiting = {}, {}, None
        # Older requests of either side go stale, so a late failure is never charged to the
        # side this run waits for.
        self.controller.cancel_inference()
        if not self._chain:
            self._shown = {}
            self.compare.set_results(None, None, WAITING_FOR_INPUT)
            self.message_bar.show_message(WAITING_FOR_INPUT, Level.INFO)
            return
        if not self._model_ready:
            if self._load_error:
                self.message_bar.show_message(self._load_error, Level.ERROR)
            return  # the chain starts when the model is in
        self._run_next()

    def load_model_b(self) -> None:
        """Load the model named in the Model B field (empty: back to one model, two texts)."""
        spec = self.model_b_input.text().strip()
        if not spec:
            self._model_b = None
            self.input_b.setEnabled(True)
            info = self.controller.model_info
            if info is not None:
                self._show_model(info)
            self.run_now()
            return
        try:
            source = ModelSource.parse(spec)
        except ExplorerError as err:
            self.message_bar.show_message(str(err), Level.ERROR)
            return
        self.statusBar().showMessage(f"Loading model B: {source.label}…")
        self.controller.request_second_model(source)

    @property
    def two_models(self) -> bool:
        """Sentence A through model A and model B (instead of two sentences on one model)."""
        return self._model_b is not None

    def _run_next(self) -> None:
        side = self._chain.pop(0)
        two = self.two_models
        text = self._inputs["a"] if two else self._inputs[side]
        model = SECOND_MODEL if two and side == "b" else ""
        request = self.controller.request_inference(text, None, side, model=model)
        self._waiting = (side, request)

    def _finish(self) -> None:
        """Both sides are answered: show them together and ask for their comparison."""
        outcome_a, outcome_b = self._fresh.get("a"), self._fresh.get("b")
        side_a = (outcome_a.result, outcome_a.views) if outcome_a else None
        side_b = (outcome_b.result, outcome_b.views) if outcome_b else None
        self._shown = {side: outcome.request_id for side, outcome in self._fresh.items()}
        if outcome_a is not None and outcome_b is not None:
            self.compare.set_results(side_a, side_b, COMPUTING)
            result_a, result_b = outcome_a.result, outcome_b.result
            two = result_a.model != result_b.model
            other = {"other": result_a}
            if two:  # CKA always; cosines and norms too when tokens and shapes agree
                self.controller.request_analysis(COMPARE_MODELS_ANALYSIS, other, "b")
            same_shapes = result_a.hidden_states.shape == result_b.hidden_states.shape
            if not two or (self.compare.two_models_note() == "" and same_shapes):
                params = {**other, "two_models": True} if two else other
                self.controller.request_analysis(COMPARE_ANALYSIS, params, "b")
            note = side_notes(outcome_a.result, outcome_b.result) if not two else None
            if note is None:
                self.message_bar.clear()
            else:
                self.message_bar.show_message(*note)
            return
        problems = [
            f"Sentence {side.upper()} could not be run: {self._failures[side]}"
            for side in SIDES
            if side in self._failures
        ]
        problems += [
            f"Sentence {side.upper()} is empty: type a sentence there to compare with "
            f"{'B' if side == 'a' else 'A'}."
            for side in SIDES
            if not self._inputs[side].strip()
        ]
        message = " ".join(problems) + " There is nothing to compare until both sides run."
        self.compare.set_results(side_a, side_b, message)
        level = Level.ERROR if self._failures else Level.WARNING
        self.message_bar.show_message(message, level)

    # --- controller → window -----------------------------------------------------------
    def _on_busy_changed(self, busy: bool) -> None:
        self.busy_indicator.set_busy(busy)

    def _on_load_started(self, label: str) -> None:
        self.statusBar().showMessage(f"Loading {label}…")

    def _on_load_progress(self, stage: str, percent: int) -> None:
        self.statusBar().showMessage(f"{stage}… ({percent}%)")

    def _on_load_cancelled(self) -> None:
        self.statusBar().clearMessage()

    def _show_model(self, info: ModelInfo) -> None:
        self._model_ready = True
        self._load_error = ""
        self.compare.set_model_info(info, self._model_b)
        text = model_status_text(info)
        if self._model_b is not None:
            text = f"A: {text} · B: {model_status_text(self._model_b)}"
        self.model_label.setText(f"{text} · {self.controller.memory_text()}")

    def _on_model_b_loaded(self, info: ModelInfo) -> None:
        self.statusBar().clearMessage()
        self._model_b = info
        self.input_b.setEnabled(False)  # both models read sentence A
        shared = self.controller.model_info
        if shared is not None:
            self._show_model(shared)
        self.message_bar.show_message(
            f"Model B is {info.source} ({info.model_type}): sentence A runs through both "
            f"models. {self.controller.memory_text()}.",
            Level.INFO,
        )
        self.run_now()

    def _on_model_b_failed(self, message: str) -> None:
        self.statusBar().clearMessage()
        self.message_bar.show_message(f"Model B did not load: {message}", Level.ERROR)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.statusBar().clearMessage()
        self._show_model(info)
        # Not at once: after this signal the client re-posts its last input for the new
        # model, which would supersede a chain started here. The timer runs after it.
        self._debounce.start()

    def _on_load_failed(self, message: str) -> None:
        self.statusBar().clearMessage()
        info = self.controller.model_info
        if info is not None:  # the worker keeps the model it had: this window goes on with it
            self.statusBar().showMessage(f"The new model did not load; still on {info.source}.")
            return
        self._load_error = (
            f"Model not loaded: {message} Pick a model in the main window: this window follows it."
        )
        self.model_label.setText("No model loaded")
        self.compare.set_message(self._load_error)
        self.message_bar.show_message(self._load_error, Level.ERROR)

    def _on_result_ready(self, outcome: InferenceOutcome) -> None:
        if self._waiting is None or outcome.request_id != self._waiting[1]:
            return  # an answer to a chain that was restarted
        side, self._waiting = self._waiting[0], None
        self._fresh[side] = outcome
        if self._chain:
            self._run_next()
        else:
            self._finish()

    def _on_inference_failed(self, message: str) -> None:
        if self._waiting is None:
            return
        side, self._waiting = self._waiting[0], None
        self._failures[side] = message
        if self._chain:
            self._run_next()
        else:
            self._finish()

    def _on_side_analysis_requested(self, side: str, name: str, params: dict[str, Any]) -> None:
        """A side's panel wants an analysis of that side's result: its stream asks the worker."""
        self.controller.request_analysis(name, params, side)

    def _on_analysis_ready(self, outcome: AnalysisOutcome) -> None:
        if outcome.name == COMPARE_ANALYSIS:
            self.compare.set_comparison(outcome.payload)
        elif outcome.name == COMPARE_MODELS_ANALYSIS:
            self.compare.set_model_comparison(outcome.payload)
        elif self._shown.get(outcome.stream) == outcome.result_id:  # of the result on show
            state = self.compare.side(outcome.stream)
            state.set_analysis(outcome.name, outcome.params, outcome.payload)

    def _on_analysis_failed(self, name: str, message: str, stream: str) -> None:
        if name not in (COMPARE_ANALYSIS, COMPARE_MODELS_ANALYSIS):
            if stream in self._shown:
                self.compare.side(stream).set_analysis(name, {}, AnalysisFailure(message))
            return
        text = f"The comparison failed: {message}"
        self.compare.set_message(text)
        self.message_bar.show_message(text, Level.ERROR)

    # --- lifetime ----------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Close with the main window, and before it: its worker outlives this window's client."""
        if watched is self.parent() and event.type() == QEvent.Type.Close:
            self.close()
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        """Let go of the shared worker (its owner, the main window, goes on using it)."""
        self._debounce.stop()
        self.controller.close()
        parent = self.parent()
        if parent is not None:
            parent.removeEventFilter(self)
        super().closeEvent(event)
