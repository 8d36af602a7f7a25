"""The main window: input bar on top, four linked panels below, the model in a worker thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QWidget,
)

from explorer.core.heads.masking import with_mask_token
from explorer.core.notices import Notice, input_notices
from explorer.core.sources import ModelSource
from explorer.gui.controllers.exporting import ExportController
from explorer.gui.controllers.look import LookController
from explorer.gui.controllers.masking import MaskController
from explorer.gui.controllers.model_status import ModelStatusController
from explorer.gui.controllers.progress_pacing import ProgressPacer
from explorer.gui.controllers.sessions import SessionController
from explorer.gui.state.explorer_state import AnalysisFailure, ExplorerState
from explorer.gui.state.knock_outs import knocked_out
from explorer.gui.state.settings import Settings
from explorer.gui.widgets.input_bar import InputBar
from explorer.gui.widgets.message_bar import Level, MessageBar
from explorer.gui.widgets.paint_batch import PaintBatch
from explorer.gui.widgets.shortcuts import (
    PanelFocus,
    ShortcutsDialog,
    ShortcutSpec,
    make_action,
    stepping_shortcuts,
)
from explorer.gui.windows.corpus_action import add_corpus_action, hold_close_for_corpus_run
from explorer.gui.worker.model_worker import (
    CLOSE_WAIT_MS,
    AnalysisOutcome,
    InferenceOutcome,
    ModelController,
)
from explorer.resources import load_examples

DEBOUNCE_MS = 150
EMPTY_HINT = "Type a sentence in A (and optionally B) to see what the model does with it."
DEFAULT_TEXT = "I love my pet python"
DEFAULT_PAIR = "Is it a snake?"
PANELS_AT_LATEST_MS = 10_000  # a load that takes longer (a download) gets the panels anyway


class MainWindow(QMainWindow):
    """Wires input → controller → worker → state → panels; owns the worker thread.

    With ``panels_after_load`` the window first shows its input bar, menus and status bar,
    and builds the panels once the first load ends (or after ``PANELS_AT_LATEST_MS``). The
    load holds the GIL for most of its imports: the 0.5 s of Python that pyqtgraph and the
    panels take on the GUI thread would otherwise delay the model by as much.
    """

    def __init__(
        self,
        source: ModelSource | None = None,
        text: str | None = None,
        pair: str | None = None,
        parent: QWidget | None = None,
        *,
        panels_after_load: bool = False,
    ) -> None:
        """``source``/``text`` None means: restore what the last session used."""
        super().__init__(parent)
        self.setWindowTitle("BERT Attention Explorer")
        self.resize(1500, 950)
        self.settings = Settings()
        # Before any widget exists: the look applies to the application as a whole.
        self.look = LookController(
            self, self.settings, lambda: self.panels_built, lambda: self.message_bar.restyle()
        )
        self.state = ExplorerState(self)
        self.controller = ModelController(self)
        self.input_bar = InputBar(self.state)
        self.message_bar = MessageBar()
        self.sessions: SessionController | None = None
        self.model_status = ModelStatusController(
            self.controller,
            self.state,
            self.settings,
            self.input_bar,
            self.message_bar,
            self.statusBar(),
            waiting_for_session_model=lambda: bool(
                self.sessions and self.sessions.waiting_for_model()
            ),
            offer_model_picker=self.offer_model_picker,
        )
        # Asked for first, so that the worker's imports run while this window is being built.
        self.model_status.start(source)
        self.docks: dict[str, QDockWidget] = {}
        self.exporter = ExportController(
            self, self.docks, self.state, self.message_bar, self.controller
        )
        self._build_top_bars()
        self.panel_focus = PanelFocus(self, self.docks, fallback="attention")
        self.shortcut_actions: list[QAction] = []
        self.sessions = SessionController(
            self,
            self.state,
            self.look,
            self.input_bar,
            self.message_bar,
            load_model=self.load_model,
            run_inputs=self.show_example,
            offer_model_picker=self.offer_model_picker,
        )
        self.masking = MaskController(self.state, self.input_bar, self.message_bar, self.run_now)
        self._build_menus()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_now)
        self.input_bar.inputs_edited.connect(self._debounce.start)
        self.input_bar.inputs_submitted.connect(self.run_now)
        self.input_bar.load_requested.connect(self.load_model)
        self.input_bar.source_rejected.connect(self._on_source_rejected)
        self.input_bar.cancel_requested.connect(self.controller.cancel_load)
        state = self.state
        self.paint_batch = PaintBatch(  # before the panels: it must hold them before they change
            self,
            [
                state.result_changed,
                state.progress_changed,
                state.token_changed,
                state.layer_changed,
                state.head_changed,
            ],
        )
        if panels_after_load:
            # Connected first, so the panels exist before the state hears of the model.
            for signal in (
                self.controller.model_loaded,
                self.controller.load_failed,
                self.controller.load_cancelled,
            ):
                signal.connect(self.build_panels)
            QTimer.singleShot(PANELS_AT_LATEST_MS, self, self.build_panels)
            self.setCentralWidget(self._loading_placeholder())
        else:
            self.build_panels()
        self.controller.result_ready.connect(self._on_result_ready)
        # Layers of a pass under way, shown as they are done (issue 21).
        self.progress_pacer = ProgressPacer(self.state, self.controller, self)
        self.controller.inference_failed.connect(self._on_inference_failed)
        self.controller.analysis_ready.connect(self._on_analysis_ready)
        self.controller.analysis_failed.connect(self._on_analysis_failed)
        self.state.analysis_requested.connect(self.controller.request_analysis)

        if text is None:
            text, pair = (
                self.settings.inputs
                if self.settings.has_inputs
                else (
                    DEFAULT_TEXT,
                    DEFAULT_PAIR,
                )
            )
        self.input_bar.blockSignals(True)
        self.input_bar.set_inputs(text, pair)
        self.input_bar.blockSignals(False)
        self.input_bar.set_model_choices([], self.settings.recent_models)
        self.model_status.busy_indicator.set_busy(self.controller.busy)
        self.run_now()
        self.controller.scan_cache()  # after the load: the picker can wait, the model cannot

    @property
    def panels_built(self) -> bool:
        """Whether the panels and their docks exist yet (see ``panels_after_load``)."""
        return bool(self.docks)

    def build_panels(self, *_signal_args: object) -> None:
        """Create the panels and their docks, once; later calls do nothing."""
        if self.panels_built:
            return
        # Imported here, not at the top, so that a window shown before its panels has not
        # paid for pyqtgraph and the panel modules yet (see the class docstring).
        from explorer.gui.windows import panel_factory as panels

        placeholder = self.takeCentralWidget()
        if placeholder is not None:
            placeholder.deleteLater()
        panels.set_plot_defaults(self.look.theme)
        self.tokens_panel = panels.TokensPanel(self.state)
        self.attention_panel = panels.AttentionPanel(self.state)
        self.norms_panel = panels.NormsPanel(self.state)
        self.pooled_panel = panels.PooledPanel(self.state)
        self._build_layout()
        self.tokenization_panel = panels.TokenizationPanel(self.state)
        self.anatomy_panel = panels.AnatomyPanel(self.state)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        self.add_panel("tokenization", "Tokenization", self.tokenization_panel, left, "tokens")
        self.add_panel("anatomy", "Model anatomy", self.anatomy_panel, left, "tokenization")
        # Rollout, flow, norm-based attention, head statistics and top-k, as tabs.
        self.analysis_panels = panels.add_analysis_docks(self)
        self._view_menu.addSeparator()
        for dock in self.docks.values():
            self._view_menu.addAction(dock.toggleViewAction())
            if self.isVisible():  # a widget added to a window already shown stays hidden
                dock.show()
        for key in ("tokens", "attention", "norms"):
            self.docks[key].raise_()  # the original panels are the tabs on top
        panels.raise_predictions(self)  # or the pooled vector, for a model without a head
        panels.style_plots(self, self.look.theme, self.look.font_scale)
        self.paint_batch.find_views()

    def _loading_placeholder(self) -> QLabel:
        label = QLabel("The panels open as soon as the model has loaded.")
        label.setObjectName("loading-placeholder")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setEnabled(False)  # drawn in the palette's muted text colour
        return label

    # --- construction ------------------------------------------------------------------
    def _build_top_bars(self) -> None:
        """The input bar and the message bar, each a fixed toolbar spanning the window."""
        for row, widget in enumerate((self.input_bar, self.message_bar)):
            bar = QToolBar()
            bar.setObjectName(f"top-bar-{row}")
            bar.setMovable(False)
            bar.setFloatable(False)
            action = bar.addWidget(widget)
            if widget is self.message_bar:
                action.setVisible(False)
                self.message_bar.shown_changed.connect(action.setVisible)
            if row:
                self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
            self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def _build_layout(self) -> None:
        """Every panel a dock, so that any of them can fill the window."""
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
        self._size_docks()
        # Once more when the new docks have been laid out in the window: sizes given before
        # that are shares of a layout that does not exist yet, and Qt hands the space out by
        # its own rules (the token table took a third of the window).
        QTimer.singleShot(0, self, self._size_docks)

    def _size_docks(self) -> None:
        """The default shares: a narrow token table, then the square attention map, then norms."""
        width = max(self.width(), 1000)
        self.resizeDocks(
            [self.docks["tokens"], self.docks["attention"], self.docks["norms"]],
            [round(width * share) for share in (0.19, 0.39, 0.42)],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [self.docks["norms"], self.docks["pooled"]], [2, 1], Qt.Orientation.Vertical
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
        self.exporter.add_context_menu(key, widget)
        if tabify_with is not None:
            self.tabifyDockWidget(self.docks[tabify_with], dock)
        self.docks[key] = dock
        return dock

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.sessions.build_menu(file_menu)
        file_menu.addSeparator()
        self.exporter.build_menu(file_menu.addMenu("&Export"))
        file_menu.addSeparator()
        open_folder = QAction("Open model &folder…", self)
        open_folder.triggered.connect(self.input_bar.browse_button.click)
        file_menu.addAction(open_folder)
        self._add_compare_action(file_menu)
        add_corpus_action(self, self.state, file_menu, self.look.style_window)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        examples_menu = self.menuBar().addMenu("&Examples")
        for example in load_examples():
            action = QAction(str(example["name"]), self)
            action.triggered.connect(lambda _=False, e=example: self._show_listed_example(e))
            examples_menu.addAction(action)

        state = self.state
        specs = [
            *stepping_shortcuts(state),
            ShortcutSpec("&View", "Full screen", ("F11",), self.toggle_full_screen),
            ShortcutSpec(
                "&View", "Fill the window with the focused panel", ("F10",), self.toggle_panel_focus
            ),
            ShortcutSpec("&View", "Larger fonts", ("Ctrl+=", "Ctrl++"), self.look.zoom_in),
            ShortcutSpec("&View", "Smaller fonts", ("Ctrl+-",), self.look.zoom_out),
            ShortcutSpec("&View", "Reset font size", ("Ctrl+0",), self.look.reset_font_scale),
            ShortcutSpec("&View", "Dark theme", ("Ctrl+Shift+D",), self.look.toggle_theme),
            ShortcutSpec("&Run", "Run now", ("Ctrl+Return",), self.run_now),
            ShortcutSpec(
                "&Run", "Mask the selected token and run", ("M",), self.masking.mask_selected
            ),
            ShortcutSpec("&Run", "Take back the last mask", ("Ctrl+Z",), self.masking.undo),
            ShortcutSpec(
                "&Run", "Focus sentence A", ("Ctrl+L",), self.input_bar.sentence_a.setFocus
            ),
        ]
        menus: dict[str, QMenu] = {}
        for spec in specs:
            if spec.menu not in menus:
                menus[spec.menu] = self.menuBar().addMenu(spec.menu)
            action = make_action(self, spec)
            menus[spec.menu].addAction(action)
            self.shortcut_actions.append(action)
        self.dark_action = next(a for a in self.shortcut_actions if a.text() == "Dark theme")
        self.dark_action.setCheckable(True)
        self.dark_action.setChecked(self.look.theme.name == "dark")
        self.look.changed.connect(self._on_look_changed)

        self._view_menu: QMenu = menus["&View"]  # type: ignore[assignment]  # docks join later
        self.shortcut_actions += self.sessions.actions + self.exporter.actions
        help_menu = self.menuBar().addMenu("&Help")
        shortcuts = QAction("&Shortcuts", self)
        shortcuts.setShortcut(QKeySequence("F1"))
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(shortcuts)
        self.shortcut_actions.append(shortcuts)
        about = QAction("&About", self)
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    # --- actions -----------------------------------------------------------------------
    def run_now(self) -> None:
        """Run the current inputs (Enter, or the debounce expiring)."""
        self._debounce.stop()
        text, pair = self.input_bar.inputs()
        if not text.strip():
            self.controller.cancel_inference()
            self.state.set_result(None, None)
            # What the user must know about the model (a remembered one that is gone) stays.
            notice = [self.model_status.notice] if self.model_status.notice else []
            if pair is not None:
                self.message_bar.show_message(
                    "\n".join(
                        [
                            *notice,
                            "Sentence A is empty but sentence B is not: type the first sentence "
                            "in A; B is only the second segment of a pair.",
                        ]
                    ),
                    Level.WARNING,
                )
            else:
                level = Level.WARNING if notice else Level.INFO
                self.message_bar.show_message("\n".join([*notice, EMPTY_HINT]), level)
            return
        self.settings.remember_inputs(text, pair)
        heads = knocked_out(self.state.panel_options)  # the worker keeps those the model has
        self.controller.request_inference(text, pair, knocked_out=heads)

    def load_model(self, source: ModelSource) -> None:
        """Ask the worker for a model; the current one stays until the new one is ready."""
        self.model_status.load(source)

    def show_example(self, text: str, pair: str | None) -> None:
        """Put an example into the fields and run it at once."""
        self.input_bar.blockSignals(True)
        self.input_bar.set_inputs(text, pair)
        self.input_bar.blockSignals(False)
        self.run_now()

    def _show_listed_example(self, example: dict[str, str | None]) -> None:
        """An Examples menu entry, its [MASK] written as the loaded model's mask token."""
        info = self.state.model_info
        mask = info.mask_token if info is not None else ""
        text = with_mask_token(example["text"], mask) or ""
        self.show_example(text, with_mask_token(example["pair"], mask))

    # --- lecture mode ------------------------------------------------------------------
    def toggle_full_screen(self) -> None:
        """F11: full screen and back."""
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def toggle_panel_focus(self) -> None:
        """F10: fill the window with the focused panel, and back."""
        self.build_panels()
        self.panel_focus.toggle()

    def _on_look_changed(self) -> None:
        self.dark_action.setChecked(self.look.theme.name == "dark")

    def offer_model_picker(self) -> None:
        """Point the user at the model picker (a session's model could not be found)."""
        self.input_bar.model_combo.setFocus()
        self.input_bar.model_combo.showPopup()

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help → Shortcuts (non-modal, so the demo keeps running behind it)."""
        dialog = ShortcutsDialog(self.shortcut_actions, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # --- controller → window -----------------------------------------------------------
    def _on_source_rejected(self, message: str) -> None:
        self.message_bar.show_message(message, Level.ERROR)

    def _on_result_ready(self, outcome: InferenceOutcome) -> None:
        result = outcome.result
        self.state.set_result(result, outcome.views)
        self.sessions.restore_pending_selection()
        notices = input_notices(result)
        if self.model_status.notice:
            notices.insert(0, Notice(self.model_status.notice, warning=True))
        if notices:
            level = Level.WARNING if any(n.warning for n in notices) else Level.INFO
            self.message_bar.show_message("\n".join(n.text for n in notices), level)
        elif self.message_bar.level is not Level.ERROR:
            self.message_bar.clear()

    def _on_inference_failed(self, message: str) -> None:
        self.message_bar.show_message(message, Level.ERROR)

    def _on_analysis_ready(self, outcome: AnalysisOutcome) -> None:
        self.state.set_analysis(outcome.name, outcome.params, outcome.payload)

    def _on_analysis_failed(self, name: str, message: str, _stream: str = "") -> None:
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
        if hold_close_for_corpus_run(self, event, self.message_bar.show_message):
            return  # closes again once the run has written its checkpoint
        self._debounce.stop()
        self.settings.remember_inputs(*self.input_bar.inputs())
        self.settings.sync()
        self.controller.shutdown(wait_ms=CLOSE_WAIT_MS)
        super().closeEvent(event)

    def _add_compare_action(self, menu: QWidget) -> QAction:
        """Add "Compare two sentences…" to ``menu``: a window on this window's worker and model.

        It gets a client of this window's controller (no second thread, no second model),
        starts on this window's sentences (A and B, or A twice to edit one word), follows the
        model loaded here, and closes before this window does.
        """
        action = QAction("&Compare two sentences…", self)
        action.setStatusTip("Two sentences side by side on this model, with their differences")

        def open_compare(_checked: bool = False) -> None:
            # Imported on first use: it brings pyqtgraph and its panels (see build_panels).
            from explorer.gui.windows.compare_window import DEFAULT_A, DEFAULT_B, CompareWindow

            text, pair = self.input_bar.inputs()
            text_a = text if text.strip() else DEFAULT_A
            text_b = pair if pair else DEFAULT_B if text_a == DEFAULT_A else text_a
            window = CompareWindow(self.controller.client(), text_a, text_b, self)
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            window.set_look(self.look.theme, self.look.font_scale)
            window.show()

        action.triggered.connect(open_compare)
        menu.addAction(action)
        return action
