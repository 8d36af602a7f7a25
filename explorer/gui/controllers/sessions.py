"""Save and open sessions, the unsaved-changes asterisk, and File → Recent sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from explorer.core.session import Session, SessionError, load_session, save_session
from explorer.core.sources import ModelSource
from explorer.gui.controllers.look import LookController
from explorer.gui.state.explorer_state import ExplorerState
from explorer.gui.state.settings import APPLICATION, MAX_RECENT, ORGANIZATION
from explorer.gui.widgets.input_bar import InputBar
from explorer.gui.widgets.message_bar import Level, MessageBar

TITLE = "BERT Attention Explorer"


class SessionController:
    """Captures the window's view into a Session and restores one exactly.

    It knows the few things a session is made of, not the window: the document window
    (title, unsaved-changes mark, dialogs), the state, the look, the inputs and the message
    bar, and how to load a model, run inputs and point the user at the model picker.
    """

    def __init__(
        self,
        document: QWidget,
        state: ExplorerState,
        look: LookController,
        inputs: InputBar,
        message_bar: MessageBar,
        *,
        load_model: Callable[[ModelSource], None],
        run_inputs: Callable[[str, str | None], None],
        offer_model_picker: Callable[[], None],
    ) -> None:
        self._document = document
        self._state = state
        self._look = look
        self._inputs = inputs
        self._message_bar = message_bar
        self._load_model = load_model
        self._run_inputs = run_inputs
        self._offer_model_picker = offer_model_picker
        self.path: Path | None = None
        self._pending: Session | None = None
        self._store = QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
        )
        self.recent_menu = QMenu("Recent &sessions")
        self.actions: list[QAction] = []
        for signal in (state.token_changed, state.layer_changed, state.head_changed):
            signal.connect(self.mark_modified)
        inputs.inputs_edited.connect(self.mark_modified)
        look.changed.connect(self.mark_modified)
        state.lens.changed.connect(self.mark_modified)
        state.panel_options.changed.connect(self.mark_modified)
        state.model_changed.connect(self.mark_modified)
        self._update_title()

    # --- menu ----------------------------------------------------------------------------
    def build_menu(self, menu: QMenu) -> None:
        """Open / Save / Save as / Recent in the File menu."""
        for label, keys, handler in (
            ("&Open session…", QKeySequence.StandardKey.Open, self.open_dialog),
            ("&Save session", QKeySequence.StandardKey.Save, self.save),
            ("Save session &as…", QKeySequence.StandardKey.SaveAs, self.save_as),
        ):
            action = QAction(label, self._document)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _=False, h=handler: h())
            menu.addAction(action)
            self.actions.append(action)
        menu.addMenu(self.recent_menu)
        self._fill_recent_menu()

    # --- modified flag and title ---------------------------------------------------------
    def mark_modified(self, *_: object) -> None:
        """Something worth saving changed."""
        if self._pending is None:
            self._document.setWindowModified(True)

    def _update_title(self) -> None:
        name = self.path.name if self.path is not None else "untitled"
        self._document.setWindowTitle(f"{name}[*] — {TITLE}")

    # --- capture and save ------------------------------------------------------------------
    def capture(self) -> Session:
        """The window's view as a Session."""
        state = self._state
        text, pair = self._inputs.inputs()
        info = state.model_info
        return Session(
            text=text,
            pair=pair,
            model=info.source if info is not None else "embedded",
            layer=state.layer,
            head=state.head,
            token=max(state.token, 0),
            view={**self._look.options(), **state.view_options()},
        )

    def save(self) -> Path | None:
        """Ctrl+S: save to the current file, or ask for one."""
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path, overwrite=True)

    def save_as(self) -> Path | None:
        """Ask for a file name (the dialog asks before replacing a file)."""
        path, _ = QFileDialog.getSaveFileName(
            self._document, "Save session", "session.json", "Sessions (*.json)"
        )
        return self.save_to(Path(path), overwrite=True) if path else None

    def save_to(self, path: Path, *, overwrite: bool = False) -> Path | None:
        """Write the session; on error say so and keep everything as it is."""
        try:
            save_session(self.capture(), path, overwrite=overwrite)
        except SessionError as err:
            self._message_bar.show_message(str(err), Level.ERROR)
            return None
        self.path = path
        self._document.setWindowModified(False)
        self._update_title()
        self._remember(path)
        self._message_bar.show_message(f"Session saved to {path}", Level.INFO)
        return path

    # --- open ------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """Ctrl+O."""
        path, _ = QFileDialog.getOpenFileName(
            self._document, "Open session", "", "Sessions (*.json);;All files (*)"
        )
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> bool:
        """Read, validate and apply a session; a bad file changes nothing."""
        try:
            session = load_session(path)
        except SessionError as err:
            self._message_bar.show_message(
                f"Session not opened: {err} {self._model_hint(err)}", Level.ERROR
            )
            if "model" in str(err):
                self._offer_model_picker()
            return False
        self.apply(session)
        self.path = path
        self._update_title()
        self._remember(path)
        return True

    @staticmethod
    def _model_hint(err: SessionError) -> str:
        return (
            "Choose a model in the picker, then save the session again."
            if "model" in str(err)
            else ""
        )

    def apply(self, session: Session) -> None:
        """Restore inputs, model and view now, the selection once its result arrives."""
        self._pending = session
        self._look.apply_options(session.view)
        self._state.apply_view_options(session.view)
        info = self._state.model_info
        if info is None or info.source != session.model:
            self._load_model(ModelSource.parse(session.model))
        self._run_inputs(session.text, session.pair)
        result = self._state.result
        if result is not None and result.text == session.text:
            self.restore_pending_selection()

    def restore_pending_selection(self) -> None:
        """Select the opened session's layer, head and token once its result is on show.

        The window calls this after every panel has shown the result; changing the selection
        from inside ``result_changed`` would reach some panels before the result does.
        """
        session, result = self._pending, self._state.result
        if session is None or result is None:
            return
        if result.text != session.text or result.pair != session.pair:
            return
        if result.model.source != session.model:
            return
        state = self._state
        state.set_layer(session.layer)
        state.set_head(session.head)
        state.set_token(session.token)
        self._pending = None
        self._document.setWindowModified(False)

    def waiting_for_model(self) -> bool:
        """True while an opened session still waits for its model."""
        return self._pending is not None

    # --- recent ------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        """The last sessions opened or saved, newest first."""
        value = self._store.value("sessions/recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in value if isinstance(v, str)][:MAX_RECENT]

    def _remember(self, path: Path) -> None:
        entry = str(path.resolve())
        recent = [entry] + [p for p in self.recent() if p != entry]
        self._store.setValue("sessions/recent", recent[:MAX_RECENT])
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = self.recent()
        for entry in entries:
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _=False, p=entry: self.open(Path(p)))
        self.recent_menu.setEnabled(bool(entries))
