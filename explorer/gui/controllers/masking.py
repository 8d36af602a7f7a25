"""Mask a token (key M, the tokens table's menu) by editing the text; Ctrl+Z takes it back.

The edit goes through the sentence field's own undo stack, so the input shows what was
masked and Ctrl+Z, in the field or anywhere in the window, restores the word.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QTextCursor

from explorer.core.errors import InputTextError
from explorer.core.heads.masking import masked_text
from explorer.gui.state.explorer_state import ExplorerState
from explorer.gui.widgets.input_bar import InputBar, SentenceEdit, utf16_index
from explorer.gui.widgets.message_bar import MessageBar


class MaskController(QObject):
    """Hears ``state.mask_requested``, edits the field, runs; remembers edits for undo."""

    def __init__(
        self,
        state: ExplorerState,
        input_bar: InputBar,
        message_bar: MessageBar,
        run_now: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._input_bar = input_bar
        self._message_bar = message_bar
        self._run_now = run_now
        self._masked: list[SentenceEdit] = []  # fields edited by a mask, newest last
        state.mask_requested.connect(self.mask)

    def mask_selected(self) -> None:
        """Mask the selected token (the M key)."""
        self.mask(self._state.token)

    def mask(self, token: int) -> None:
        """Replace ``token``'s characters by the mask token in its field, then run."""
        result, info = self._state.result, self._state.model_info
        if result is None or token < 0:
            return
        mask_token = info.mask_token if info is not None else ""
        try:
            text, pair = masked_text(result, [token], mask_token)
        except InputTextError as err:
            self._message_bar.show_message(str(err))
            return
        sequence = int(result.sequence_ids[token])
        edit = self._input_bar.sentence_a if sequence == 0 else self._input_bar.sentence_b
        typed = result.text if sequence == 0 else result.pair
        if edit.text() != typed:
            self._message_bar.show_message(
                "The text changed since the last run; mask once the new run is on show."
            )
            return
        if (text, pair) == (result.text, result.pair):
            return  # already the mask token
        start, end = (int(v) for v in result.offsets[token])
        cursor = QTextCursor(edit.document())
        cursor.setPosition(utf16_index(typed, start))
        cursor.setPosition(utf16_index(typed, end), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(mask_token)  # one step on the field's undo stack
        self._masked.append(edit)
        self._run_now()

    @property
    def can_undo(self) -> bool:
        """Whether a mask can still be taken back."""
        return bool(self._masked)

    def undo(self) -> None:
        """Take back the newest mask (the field's own undo, so typing after it comes first)."""
        if not self._masked:
            return
        edit = self._masked.pop()
        if edit.document().isUndoAvailable():
            edit.undo()
            self._run_now()
