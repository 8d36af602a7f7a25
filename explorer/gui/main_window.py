"""The main window: input bar on top, four linked panels below, the model in a worker thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolBar,
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
from explorer.gui.state import AnalysisFailure, ExplorerState
from explorer.gui.worker import AnalysisOutcome, InferenceOutcome, ModelController

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
        self.docks: dict[str, QDockWidget] = {}
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
        self.controller.analysis_ready.connect(self._on_analysis_ready)
        self.controller.analysis_failed.connect(self._on_analysis_failed)
        self.state.analysis_requested.connect(self.controller.request_analysis)

        self.input_bar.blockSignals(True)
        self.input_bar.set_inputs(text, pair)
        self.input_bar.blockSignals(False)
        self.load_model(source or ModelSource.embedded())
        self.run_now()

    # --- construction ------------------------------------------------------------------
    def _build_layout(self) -> None:
        """Input on top (spanning the window), every panel a dock so any can fill the window."""
        for row, widget in enumerate((self.input_bar, self.message_bar)):
            bar = QToolBar()
            bar.setObjectName(f"top-bar-{row}")
            bar.setMovable(False)
            bar.setFloatable(False)
            bar.addWidget(widget)
            if row:
                self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
            self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.setDockNestingEnabled(True)
        self.add_panel("tokens", "Tokens", self.tokens_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_panel(
            "attention", "Attention", self.attention_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.add_panel(
            "norms", "Hidden-state norms", self.norms_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.add_panel(
            "pooled", "Pooled vector", self.pooled_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.splitDockWidget(
            self.docks["attention"], self.docks["norms"], Qt.Orientation.Horizontal
        )
        self.splitDockWidget(self.docks["norms"], self.docks["pooled"], Qt.Orientation.Vertical)
        self.resizeDocks(
            [self.docks["tokens"], self.docks["attention"], self.docks["norms"]],
            [330, 760, 410],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [self.docks["norms"], self.docks["pooled"]], [3, 2], Qt.Orientation.Vertical
        )

    def add_panel(
        self,
        key: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
        tabify_with: str | None = None,
    ) -> QDockWidget:
        """Put a panel in a dock; ``tabify_with`` stacks it as a tab over an existing panel."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{key}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        if tabify_with is not None:
            self.tabifyDockWidget(self.docks[tabify_with], dock)
        self.docks[key] = dock
        return dock

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_folder = QAction("Open model &folder…", self)
        open_folder.triggered.connect(self.input_bar.browse_button.click)
        file_menu.addAction(open_folder)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.view_menu = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            self.view_menu.addAction(dock.toggleViewAction())
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

    def _on_analysis_ready(self, outcome: AnalysisOutcome) -> None:
        self.state.set_analysis(outcome.name, outcome.params, outcome.payload)

    def _on_analysis_failed(self, name: str, message: str) -> None:
        self.state.set_analysis(name, {}, AnalysisFailure(message))

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
