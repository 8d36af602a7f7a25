"""Which model is active and what the user is told about loading one.

It starts the window's first load (falling back to the embedded default when the model
remembered from the last run is gone), follows every load's progress, success, failure and
cancellation, and keeps the status bar, the model picker and the message bar in step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStatusBar

from explorer.core.cache_scan import CachedModel
from explorer.core.errors import ModelLoadError
from explorer.core.model_text import model_status_text
from explorer.core.results import ModelInfo
from explorer.core.sources import ModelSource, SourceKind
from explorer.gui.state.explorer_state import ExplorerState
from explorer.gui.state.settings import Settings
from explorer.gui.widgets.input_bar import InputBar
from explorer.gui.widgets.message_bar import Level, MessageBar, add_model_status
from explorer.gui.worker.model_worker import ModelController


class ModelStatusController(QObject):
    """Loads models for one window and tells the user how it went.

    A model remembered from the last run that no longer loads (a deleted folder, a hub id
    that is not cached offline) must not leave the user stuck: the window opens on the
    embedded default instead, with a notice naming what was missing.
    """

    def __init__(
        self,
        controller: ModelController,
        state: ExplorerState,
        settings: Settings,
        inputs: InputBar,
        message_bar: MessageBar,
        status_bar: QStatusBar,
        *,
        waiting_for_session_model: Callable[[], bool],
        offer_model_picker: Callable[[], None],
    ) -> None:
        super().__init__(controller)
        self._controller = controller
        self._state = state
        self._settings = settings
        self._inputs = inputs
        self._message_bar = message_bar
        self._status_bar = status_bar
        self._waiting_for_session_model = waiting_for_session_model
        self._offer_model_picker = offer_model_picker
        self._cached_models: list[CachedModel] = []
        self._remembered: ModelSource | None = None  # the first load, while it came from settings
        self.notice = ""
        """What the user should know about the model on show ('' for nothing)."""
        self._keep_notice = False  # the fallback's notice outlives the fallback's own load
        self._load_error = ""  # the message bar's text of the newest failed load, if shown
        self.model_label, self.busy_indicator = add_model_status(status_bar, "No model yet")
        controller.busy_changed.connect(self.busy_indicator.set_busy)
        controller.load_started.connect(self._on_load_started)
        controller.load_progress.connect(self._on_load_progress)
        controller.load_cancelled.connect(self._on_load_cancelled)
        controller.cached_models_found.connect(self._on_cached_models_found)
        controller.model_loaded.connect(self._on_model_loaded)
        controller.load_failed.connect(self._on_load_failed)

    # --- requests ----------------------------------------------------------------------
    def start(self, source: ModelSource | None) -> None:
        """The window's first load: ``source``, or the model remembered from the last run."""
        if source is not None:
            self.load(source)
            return
        spec = self._settings.model_source
        try:
            remembered = ModelSource.parse(spec)
        except ModelLoadError as err:
            self._fall_back(spec, str(err))
            return
        if remembered.kind is SourceKind.FOLDER and not Path(remembered.location).is_dir():
            self._fall_back(spec, "the folder is no longer there")
            return
        if remembered.kind is not SourceKind.EMBEDDED:
            self._remembered = remembered
        self._request(remembered)

    def load(self, source: ModelSource) -> None:
        """Ask the worker for a model; the current one stays until the new one is ready.

        An explicit request (the picker, a session) replaces the remembered first load: if
        it fails, the user is told so and nothing falls back.
        """
        self._remembered = None
        self._request(source)

    def _request(self, source: ModelSource) -> None:
        self._controller.request_load(source)
        self._inputs.set_loading(True)

    def _fall_back(self, spec: str, why: str) -> None:
        self._remembered = None
        self._keep_notice = True
        self.notice = (
            f"The model you used last, {spec}, could not be opened ({why}); "
            "opened the embedded default instead. Pick another model in the model picker."
        )
        self._message_bar.show_message(self.notice, Level.WARNING)
        self._request(ModelSource.embedded())

    # --- controller → view -------------------------------------------------------------
    def _on_load_started(self, label: str) -> None:
        self._status_bar.showMessage(f"Loading {label}…")
        if self._state.model_info is None:
            self.model_label.setText(f"Loading {label}…")

    def _on_load_progress(self, stage: str, percent: int) -> None:
        self._status_bar.showMessage(f"{stage}… ({percent}%)")

    def _on_load_cancelled(self) -> None:
        self._remembered = None
        self._inputs.set_loading(False)
        info = self._state.model_info
        keeping = f" Still using {info.source}." if info is not None else ""
        self._status_bar.showMessage("Loading cancelled.", 5000)
        self._message_bar.show_message(f"Model loading was cancelled.{keeping}", Level.INFO)
        if info is not None:
            self._inputs.show_model(info.source)

    def _on_cached_models_found(self, models: list[CachedModel]) -> None:
        self._cached_models = list(models)
        self._inputs.set_model_choices(self._cached_models, self._settings.recent_models)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        if not self._keep_notice:
            self.notice = ""
        self._keep_notice = False
        self._remembered = None
        self._state.set_model_info(info)
        self._inputs.set_loading(self._controller.loading)
        self._settings.remember_model(info.source)
        self._inputs.set_model_choices(self._cached_models, self._settings.recent_models)
        self._inputs.show_model(info.source)
        self._status_bar.showMessage(f"Loaded {info.name_or_path}", 5000)
        self.model_label.setText(model_status_text(info))
        # The failure of an earlier load is answered by this one; any other error (a session
        # that was refused, say) stays until the user closes it.
        if self._message_bar.text() == self._load_error:
            self._message_bar.clear()
        self._load_error = ""

    def _on_load_failed(self, message: str) -> None:
        remembered, self._remembered = self._remembered, None
        if remembered is not None and self._state.model_info is None:
            self._fall_back(remembered.spec, message.rstrip("."))
            return
        self._inputs.set_loading(False)
        info = self._state.model_info
        if info is not None:
            self._inputs.show_model(info.source)
        keeping = f" Still using {info.source}." if info is not None else ""
        self._status_bar.clearMessage()
        if info is None:
            self.model_label.setText("No model loaded")
        self._load_error = f"Model not loaded: {message}{keeping}"
        self._message_bar.show_message(self._load_error, Level.ERROR)
        if self._waiting_for_session_model():
            self._offer_model_picker()
