"""The main window: input bar on top, four linked panels below, the model in a worker thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.core.results import ModelInfo
from explorer.core.sources import ModelSource
from explorer.gui.input_bar import InputBar
from explorer.gui.message_bar import Level, MessageBar
from explorer.gui.panels.attention import AttentionPanel
from explorer.gui.panels.norms import NormsPanel
from explorer.gui.panels.pooled import PooledPanel
from explorer.gui.panels.tokens import TokensPanel
from explorer.gui.state import ExplorerState
from explorer.gui.worker import InferenceOutcome, ModelController

DEBOUNCE_MS = 150
EMPTY_HINT = "Type a sentence in A (and optionally B) to see what the model does with it."


class MainWindow(QMainWindow):
    """Wires input → controller → worker → state → panels; owns the worker thread."""

    def __init__(
        self,
        source: ModelSource | None = None,
        text: str = "",
        pair: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("BERT Attention Explorer")
        self.resize(1500, 950)
        self.state = ExplorerState(self)
        self.controller = ModelController(self)
        self.input_bar = InputBar(self.state)
        self.message_bar = MessageBar()
        self.tokens_panel = TokensPanel(self.state)
        self.attention_panel = AttentionPanel(self.state)
        self.norms_panel = NormsPanel(self.state)
        self.pooled_panel = PooledPanel(self.state)
        self._build_layout()
        self._build_menus()
        self._build_status_bar()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_now)
        self.input_bar.inputs_edited.connect(self._debounce.start)
        self.input_bar.inputs_submitted.connect(self.run_now)
        self.input_bar.load_requested.connect(self.load_model)
        self.input_bar.source_rejected.connect(self._on_source_rejected)
        self.controller.busy_changed.connect(self._on_busy_changed)
        self.controller.load_started.connect(self._on_load_started)
        self.controller.model_loaded.connect(self._on_model_loaded)
        self.controller.load_failed.connect(self._on_load_failed)
        self.controller.result_ready.connect(self._on_result_ready)
        self.controller.inference_failed.connect(self._on_inference_failed)

        self.input_bar.blockSignals(True)
        self.input_bar.set_inputs(text, pair)
        self.input_bar.blockSignals(False)
        self.load_model(source or ModelSource.embedded())
        self.run_now()

    # --- construction ------------------------------------------------------------------
    def _build_layout(self) -> None:
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.norms_panel)
        right.addWidget(self.pooled_panel)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(self.tokens_panel)
        body.addWidget(self.attention_panel)
        body.addWidget(right)
        body.setStretchFactor(0, 2)
        body.setStretchFactor(1, 6)
        body.setStretchFactor(2, 3)
        body.setSizes([330, 760, 410])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.input_bar)
        layout.addWidget(self.message_bar)
        layout.addWidget(body, 1)
        self.setCentralWidget(central)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_folder = QAction("Open model &folder…", self)
        open_folder.triggered.connect(self.input_bar.browse_button.click)
        file_menu.addAction(open_folder)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About", self)
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        self.model_label = QLabel("No model yet")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.progress)

    # --- actions -----------------------------------------------------------------------
    def run_now(self) -> None:
        """Run the current inputs (Enter, or the debounce expiring)."""
        self._debounce.stop()
        text, pair = self.input_bar.inputs()
        if not text.strip():
            self.controller.cancel_inference()
            self.state.set_result(None, None)
            if pair is not None:
                self.message_bar.show_message(
                    "Sentence A is empty but sentence B is not: type the first sentence in A; "
                    "B is only the second segment of a pair.",
                    Level.WARNING,
                )
            else:
                self.message_bar.show_message(EMPTY_HINT, Level.INFO)
            return
        self.controller.request_inference(text, pair)

    def load_model(self, source: ModelSource) -> None:
        """Ask the worker for a model; the current one stays until the new one is ready."""
        self.controller.request_load(source)

    # --- controller → window -----------------------------------------------------------
    def _on_busy_changed(self, busy: bool) -> None:
        self.progress.setVisible(busy)

    def _on_load_started(self, label: str) -> None:
        self.statusBar().showMessage(f"Loading {label}…")
        if self.state.model_info is None:
            self.model_label.setText(f"Loading {label}…")

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.state.set_model_info(info)
        self.statusBar().showMessage(f"Loaded {info.name_or_path}", 5000)
        self.model_label.setText(
            f"{info.source} · {info.model_type} · {info.num_layers} layers · "
            f"{info.num_heads} heads · d={info.hidden_size}"
        )
        if self.message_bar.level is Level.ERROR:
            self.message_bar.clear()

    def _on_load_failed(self, message: str) -> None:
        info = self.state.model_info
        keeping = f" Still using {info.source}." if info is not None else ""
        self.statusBar().clearMessage()
        if info is None:
            self.model_label.setText("No model loaded")
        self.message_bar.show_message(f"Model not loaded: {message}{keeping}", Level.ERROR)

    def _on_source_rejected(self, message: str) -> None:
        self.message_bar.show_message(message, Level.ERROR)

    def _on_result_ready(self, outcome: InferenceOutcome) -> None:
        result = outcome.result
        self.state.set_result(result, outcome.views)
        if result.truncated:
            how = "longest first across the pair" if result.pair is not None else "from the end"
            self.message_bar.show_message(
                f"The input is longer than this model's maximum of {result.model.max_length} "
                f"tokens: {result.tokens_dropped} tokens were dropped ({how}).",
                Level.WARNING,
            )
        elif self.message_bar.level is not Level.ERROR:
            self.message_bar.clear()

    def _on_inference_failed(self, message: str) -> None:
        self.message_bar.show_message(message, Level.ERROR)

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About BERT Attention Explorer",
            "Tokens, attention, hidden-state norms and the pooled vector of a BERT model, "
            "linked: select a token, layer or head anywhere and every panel follows.",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the worker thread before the window goes (no thread outlives it)."""
        self._debounce.stop()
        self.controller.shutdown()
        super().closeEvent(event)
