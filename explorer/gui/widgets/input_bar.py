"""Where the user types: sentence A, optional sentence B, and the model chooser."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QWidget,
)

from explorer.core.cache_scan import CachedModel
from explorer.core.errors import ModelLoadError
from explorer.core.sources import ModelSource
from explorer.gui.state.explorer_state import ExplorerState

HIGHLIGHT = QColor(255, 200, 60, 170)
_NAVIGATION_KEYS = {Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}
_ALT_ARROWS = {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down}


def utf16_index(text: str, index: int) -> int:
    """Python counts code points, Qt counts UTF-16 units: convert so emoji highlight right."""
    return len(text[:index].encode("utf-16-le", "surrogatepass")) // 2


class SentenceEdit(QPlainTextEdit):
    """A short multi-line field: Enter runs now, Shift+Enter adds a line break."""

    submitted = Signal()
    """The user pressed Enter."""

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self._fit_height()

    def _fit_height(self, lines: int = 2) -> None:
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 14)

    def event(self, event: QEvent) -> bool:
        """Leave PageUp/PageDown and Alt+arrows to the window's layer/head/token shortcuts."""
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            alt = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            if event.key() in _NAVIGATION_KEYS or (alt and event.key() in _ALT_ARROWS):
                event.ignore()
                return False
        if event.type() == QEvent.Type.FontChange:
            self._fit_height()
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter submits; Shift+Enter inserts a newline."""
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def text(self) -> str:
        """The plain text as typed."""
        return self.toPlainText()

    def highlight(self, start: int, end: int, reveal: bool = False) -> None:
        """Mark characters [start, end) (Python indices) without moving the cursor.

        ``reveal`` scrolls the field so that the mark is in sight (a long text shows only
        its first lines, and the mark of a token picked elsewhere could sit below them).
        """
        if end <= start:
            self.setExtraSelections([])
            return
        text = self.text()
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(utf16_index(text, start))
        cursor.setPosition(utf16_index(text, end), QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        fmt.setBackground(HIGHLIGHT)
        selection.cursor = cursor
        selection.format = fmt
        self.setExtraSelections([selection])
        if reveal:
            self._scroll_to(cursor)

    def _scroll_to(self, cursor: QTextCursor) -> None:
        """Scroll (the text cursor stays put) until ``cursor``'s line is in the viewport."""
        start = QTextCursor(cursor)
        start.setPosition(cursor.selectionStart())
        line = self.cursorRect(start)
        shown = self.viewport().rect()
        bar = self.verticalScrollBar()
        if line.top() < shown.top():
            bar.setValue(bar.value() - (shown.top() - line.top()))
        elif line.bottom() > shown.bottom():
            bar.setValue(bar.value() + (line.bottom() - shown.bottom()))

    def highlighted_text(self) -> str:
        """The text under the current highlight ('' when none), for tests and read-outs."""
        selections = self.extraSelections()
        return selections[0].cursor.selectedText() if selections else ""


class InputBar(QWidget):
    """Sentence fields and the model chooser; highlights the selected token's characters."""

    inputs_edited = Signal()
    """The text changed (debounce before running)."""
    inputs_submitted = Signal()
    """Enter was pressed (run now)."""
    load_requested = Signal(object)
    """The user asked for a model: ModelSource."""
    cancel_requested = Signal()
    """The user wants the running model load stopped."""
    source_rejected = Signal(str)
    """What the user typed as a model is not a folder or hub id: message."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.sentence_a = SentenceEdit("Sentence A, e.g. I love my pet python (Enter runs)")
        self.sentence_b = SentenceEdit("Optional sentence B, e.g. Is it a snake?")
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_combo.addItem(ModelSource.embedded().label, "embedded")
        self.model_combo.lineEdit().setPlaceholderText("hub id (bert-base-uncased) or folder")
        self.model_combo.setToolTip(
            "The embedded default, a typed hub id such as bert-base-uncased, or a folder path"
        )
        self.model_combo.setMinimumWidth(320)
        self.load_button = QPushButton("Load")
        self.browse_button = QPushButton("Folder…")
        self.cancel_button = QPushButton("Cancel load")
        self.cancel_button.setVisible(False)

        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 0)
        grid.addWidget(QLabel("A"), 0, 0)
        grid.addWidget(self.sentence_a, 0, 1)
        grid.addWidget(QLabel("B"), 1, 0)
        grid.addWidget(self.sentence_b, 1, 1)
        grid.addWidget(QLabel("Model"), 2, 0)
        model_row = QWidget()
        row = QGridLayout(model_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.model_combo, 0, 0)
        row.addWidget(self.browse_button, 0, 1)
        row.addWidget(self.load_button, 0, 2)
        row.addWidget(self.cancel_button, 0, 3)
        row.setColumnStretch(0, 1)
        grid.addWidget(model_row, 2, 1)

        for edit in (self.sentence_a, self.sentence_b):
            edit.textChanged.connect(self.inputs_edited)
            edit.submitted.connect(self.inputs_submitted)
        self.load_button.clicked.connect(self._on_load_clicked)
        self.model_combo.lineEdit().returnPressed.connect(self._on_load_clicked)
        self.model_combo.activated.connect(self._on_model_chosen)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.browse_button.clicked.connect(self._on_browse_clicked)
        state.token_changed.connect(self._on_token_changed)
        state.result_changed.connect(self._on_result_changed)

    def inputs(self) -> tuple[str, str | None]:
        """(sentence A, sentence B or None when B is blank)."""
        pair = self.sentence_b.text()
        return self.sentence_a.text(), pair if pair.strip() else None

    def set_inputs(self, text: str, pair: str | None = None) -> None:
        """Prefill both fields (examples, command line)."""
        self.sentence_a.setPlainText(text)
        self.sentence_b.setPlainText(pair or "")

    def source_text(self) -> str:
        """What the model chooser currently says (item data for listed items)."""
        index = self.model_combo.currentIndex()
        typed = self.model_combo.currentText()
        if index >= 0 and typed == self.model_combo.itemText(index):
            return str(self.model_combo.itemData(index) or typed)
        return typed

    def set_model_choices(self, cached: list[CachedModel], recent: list[str]) -> None:
        """List the embedded default, cached hub models and recent sources in the picker."""
        typed = self.model_combo.currentText()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem(ModelSource.embedded().label, "embedded")
        listed = {"embedded"}
        for model in cached:
            self.model_combo.addItem(f"cached: {model.repo_id} ({model.model_type})", model.repo_id)
            listed.add(model.repo_id)
        for spec in recent:
            if spec not in listed:
                self.model_combo.addItem(f"recent: {spec}", spec)
                listed.add(spec)
        self.model_combo.setEditText(typed)
        self.model_combo.blockSignals(False)

    def show_model(self, spec: str) -> None:
        """Show the active model in the picker without triggering a load."""
        index = self.model_combo.findData(spec)
        self.model_combo.blockSignals(True)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        else:
            self.model_combo.setEditText(spec)
        self.model_combo.blockSignals(False)

    def set_loading(self, loading: bool) -> None:
        """Offer Cancel while a model loads."""
        self.cancel_button.setVisible(loading)
        self.load_button.setEnabled(not loading)

    def _on_model_chosen(self, index: int) -> None:
        if index >= 0:
            self._on_load_clicked()

    def _on_load_clicked(self) -> None:
        try:
            source = ModelSource.parse(self.source_text())
        except ModelLoadError as err:
            self.source_rejected.emit(str(err))
            return
        self.load_requested.emit(source)

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder (with config.json)")
        if folder:
            self.model_combo.setEditText(folder)
            self._on_load_clicked()

    # --- highlight the selected token's characters ----------------------------------------
    def _on_result_changed(self) -> None:
        self._mark_token(self._state.token, reveal=False)  # no scrolling away from typing

    def _on_token_changed(self, token: int) -> None:
        self._mark_token(token, reveal=True)

    def _mark_token(self, token: int, reveal: bool) -> None:
        self.sentence_a.highlight(0, 0)
        self.sentence_b.highlight(0, 0)
        result = self._state.result
        if result is None or token < 0 or token >= result.num_tokens:
            return
        sequence = int(result.sequence_ids[token])
        edit, expected = {0: (self.sentence_a, result.text), 1: (self.sentence_b, result.pair)}.get(
            sequence, (None, None)
        )
        # Only mark the field when it still holds the text this result was computed from.
        if edit is None or edit.text() != expected:
            return
        start, end = (int(v) for v in result.offsets[token])
        edit.highlight(start, end, reveal)
