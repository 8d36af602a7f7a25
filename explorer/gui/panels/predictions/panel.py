"""The Predictions panel: the page of the loaded head, following the selection.

Which page shows depends on the head the checkpoint has (explorer.core.heads.choice); a
checkpoint without one says so, with the reason when its config named a head whose weights
are missing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QStackedWidget, QWidget

from explorer.core.heads import choice
from explorer.gui.panels.analysis.common import (
    ShowAware,
    analysis_layout,
    on_screen,
    wrapped_label,
)
from explorer.gui.panels.predictions.answer import AnswerPage
from explorer.gui.panels.predictions.classes import ClassesPage, TokenLabelsPage
from explorer.gui.panels.predictions.masked import MaskedPage
from explorer.gui.panels.predictions.similarity import SimilarityPage
from explorer.gui.state.explorer_state import ExplorerState

TITLES = {
    choice.PRETRAINING: "Masked words and next sentence (the pretraining heads)",
    choice.MASKED_LM: "Masked words (the masked-LM head)",
    choice.NEXT_SENTENCE: "Next sentence",
    choice.SEQUENCE_CLASSIFICATION: "Sequence classification",
    choice.TOKEN_CLASSIFICATION: "A label per token",
    choice.QUESTION_ANSWERING: "Question answering",
    choice.SENTENCE_EMBEDDING: "Sentence similarity",
    choice.CAUSAL_LM: "Next token (the language-model head)",
}
EXPLANATION = (
    "What the checkpoint's own head predicts, from the same forward pass as every other panel. "
    "Heads whose weights are not in the checkpoint are never shown."
)


class PredictionsPanel(ShowAware):
    """One page per head kind; the none page says why nothing is predicted."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.title = wrapped_label()
        self.none_page = wrapped_label()
        self.masked_page = MaskedPage(state)
        self.classes_page = ClassesPage(state)
        self.token_labels_page = TokenLabelsPage(state)
        self.answer_page = AnswerPage(state)
        self.similarity_page = SimilarityPage(state)
        self._pages: dict[str, QWidget] = {
            choice.PRETRAINING: self.masked_page,
            choice.MASKED_LM: self.masked_page,
            choice.NEXT_SENTENCE: self.masked_page,
            choice.CAUSAL_LM: self.masked_page,
            choice.SEQUENCE_CLASSIFICATION: self.classes_page,
            choice.TOKEN_CLASSIFICATION: self.token_labels_page,
            choice.QUESTION_ANSWERING: self.answer_page,
            choice.SENTENCE_EMBEDDING: self.similarity_page,
        }
        self.stack = QStackedWidget()
        self.stack.addWidget(self.none_page)
        for page in dict.fromkeys(self._pages.values()):
            self.stack.addWidget(page)
        # A short dock scrolls the page rather than squeezing its plot to nothing.
        scroller = QScrollArea()
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setWidget(self.stack)
        analysis_layout(self, [self.title], scroller, EXPLANATION)
        for signal in (state.result_changed, state.token_changed, state.model_changed):
            signal.connect(self.refresh)
        self.refresh()

    @property
    def page(self) -> QWidget:
        """The page on show."""
        return self.stack.currentWidget()

    def refresh(self, *_: object) -> None:
        """Show the loaded head's page and let it redraw from the state."""
        result = self._state.result
        info = result.model if result is not None else self._state.model_info
        kind = info.head if info is not None else choice.NO_HEAD
        page = self._pages.get(kind)
        if page is None:
            note = info.head_note if info is not None else ""
            self.title.setText("No prediction head")
            self.none_page.setText(
                "This checkpoint has no prediction head"
                + (f": {note}." if note else " (it is a bare encoder).")
                + " Load a checkpoint with a masked-LM, classification, question-answering "
                "head or a sentence-transformers model to see what it predicts."
            )
            self.stack.setCurrentWidget(self.none_page)
            return
        self.title.setText(f"<b>{TITLES.get(kind, kind)}</b>")
        self.stack.setCurrentWidget(page)
        if on_screen(self):
            page.refresh()  # type: ignore[attr-defined]
            if hasattr(page, "poke"):
                page.poke()
