"""Save and open sessions, the unsaved-changes asterisk, and File → Recent sessions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from explorer.core.session import Session, SessionError, load_session, save_session
from explorer.core.sources import ModelSource
from explorer.gui.state.settings import APPLICATION, MAX_RECENT, ORGANIZATION
from explorer.gui.widgets.message_bar import Level

if TYPE_CHECKING:
    from explorer.gui.windows.main_window import MainWindow

TITLE = "BERT Attention Explorer"


class SessionController:
    """Captures the window's view into a Session and restores one exactly."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self.path: Path | None = None
        self._pending: Session | None = None
        self._store = QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
        )
        self.recent_menu = QMenu("Recent &sessions")
        self.actions: list[QAction] = []
        state = window.state
        for signal in (state.token_changed, state.layer_changed, state.head_changed):
            signal.connect(self.mark_modified)
        window.input_bar.inputs_edited.connect(self.mark_modified)
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
            action = QAction(label, self._window)
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
            self._window.setWindowModified(True)

    def _update_title(self) -> None:
        name = self.path.name if self.path is not None else "untitled"
        self._window.setWindowTitle(f"{name}[*] — {TITLE}")

    # --- capture and save ------------------------------------------------------------------
    def capture(self) -> Session:
        """The window's view as a Session."""
        window, state = self._window, self._window.state
        text, pair = window.input_bar.inputs()
        info = state.model_info
        return Session(
            text=text,
            pair=pair,
            model=info.source if info is not None else "embedded",
            layer=state.layer,
            head=state.head,
            token=max(state.token, 0),
            view=window.view_options(),
        )

    def save(self) -> Path | None:
        """Ctrl+S: save to the current file, or ask for one."""
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path, overwrite=True)

    def save_as(self) -> Path | None:
        """Ask for a file name (the dialog asks before replacing a file)."""
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save session", "session.json", "Sessions (*.json)"
        )
        return self.save_to(Path(path), overwrite=True) if path else None

    def save_to(self, path: Path, *, overwrite: bool = False) -> Path | None:
        """Write the session; on error say so and keep everything as it is."""
        try:
            save_session(self.capture(), path, overwrite=overwrite)
        except SessionError as err:
            self._window.message_bar.show_message(str(err), Level.ERROR)
            return None
        self.path = path
        self._window.setWindowModified(False)
        self._update_title()
        self._remember(path)
        self._window.message_bar.show_message(f"Session saved to {path}", Level.INFO)
        return path

    # --- open ------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """Ctrl+O."""
        path, _ = QFileDialog.getOpenFileName(
            self._window, "Open session", "", "Sessions (*.json);;All files (*)"
        )
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> bool:
        """Read, validate and apply a session; a bad file changes nothing."""
        try:
            session = load_session(path)
        except SessionError as err:
            self._window.message_bar.show_message(
                f"Session not opened: {err} {self._model_hint(err)}", Level.ERROR
            )
            if "model" in str(err):
                self._window.offer_model_picker()
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
        window = self._window
        self._pending = session
        window.apply_view_options(session.view)
        info = window.state.model_info
        if info is None or info.source != session.model:
            window.load_model(ModelSource.parse(session.model))
        window.show_example(session.text, session.pair)
        if window.state.result is not None and window.state.result.text == session.text:
            self.restore_pending_selection()

    def restore_pending_selection(self) -> None:
        """Select the opened session's layer, head and token once its result is on show.

        The window calls this after every panel has shown the result; changing the selection
        from inside ``result_changed`` would reach some panels before the result does.
        """
        session, result = self._pending, self._window.state.result
        if session is None or result is None:
            return
        if result.text != session.text or result.pair != session.pair:
            return
        if result.model.source != session.model:
            return
        state = self._window.state
        state.set_layer(session.layer)
        state.set_head(session.head)
        state.set_token(session.token)
        self._pending = None
        self._window.setWindowModified(False)

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
