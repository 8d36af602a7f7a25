"""Tokenization inspector: which characters became which token, and what the tokenizer saw.

Spans, counts and limits are drawn from the result's arrays (no tokenizer in the GUI thread);
the normalized text and vocabulary look-ups are analyses the worker runs with the tokenizer.
"""

from __future__ import annotations

import html
import unicodedata
from collections import Counter

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QFont, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from explorer.core.results import InferenceResult, ModelInfo
from explorer.core.tokenization import (
    NORMALIZED_ANALYSIS,
    VOCABULARY_ANALYSIS,
    Normalization,
    TokenSpan,
    VocabularyAnswer,
    continuation_legend,
    display_token,
    sentence_text,
    token_counts,
    token_spans,
)
from explorer.gui.panels.analysis.common import ShowAware, on_screen
from explorer.gui.state.explorer_state import AnalysisFailure, ExplorerState

# Pastel word colours with black text stay readable on a projector and in either theme.
WORD_COLORS = ("#c6dcff", "#c8ebc8", "#e2d4f7", "#bfe9e6", "#f8d0e3", "#e4e4c4")
PIECE_SHADE = 120  # continuation pieces: the word's colour, this much darker (QColor.darker)
UNK_BACKGROUND = "#d9480f"
SPECIAL_BACKGROUND = "#5c6270"
SELECTED_BACKGROUND = "#ffcf4d"
# A token-classification head's labels (saturated enough to tell from the word colours).
LABEL_COLORS = ("#8ec5ff", "#9be39b", "#f5b3d6", "#ffd27f", "#c3a8f0", "#84e0d6", "#f0a08a")
DROPPED_COLOR = "#8a8a8a"
BEFORE_BACKGROUND = "#ffc9c9"
AFTER_BACKGROUND = "#bdf0bd"
SPAN_FONT_SCALE = 1.6  # the text under inspection is larger than the panel's labels
NORMALIZED_FONT_SCALE = 1.3
_ANSWER_STYLES = {
    "found": "background: #d7f5d7; color: black;",
    "missing": "background: #fff1c2; color: black;",
    "error": "background: #ffd9d9; color: black;",
    "hint": "",
}

NO_RESULT_TEXT = "Type a sentence to see which characters became which token."
NO_NORMALIZATION_TEXT = "Run a sentence to see the text the tokenizer actually saw."
WAITING_TEXT = "Asking the tokenizer…"
LOOKUP_HINT = (
    'Type a token (e.g. ##ing, cafe) or an id (e.g. 2023); put digits in quotes ("2019") '
    "to look them up as a token."
)
LOOKUP_NEEDS_MODEL = (
    "Look-ups run in the worker next to the loaded model and answer once it has loaded: "
    "your query is kept and answered then."
)
NO_NORMALIZER_TEXT = "This tokenizer has no normalizer: it sees the text exactly as typed."


def visible(text: str) -> str:
    """Make whitespace and invisible characters readable in a list of changes."""
    if not text:
        return "∅"
    shown = []
    for char in text:
        if char == " ":
            shown.append("␣")
        elif char == "\t":
            shown.append("⇥")
        elif char in "\n\r":
            shown.append("↵")
        elif unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn"):
            shown.append(f"U+{ord(char):04X}")
        else:
            shown.append(char)
    return "".join(shown)


def span_tooltip(result: InferenceResult, span: TokenSpan) -> str:
    """Rich-text tooltip: the token, its id, its characters and its place in its word."""
    token_id = int(result.input_ids[span.index])
    shown = display_token(span.token, result.model.tokenizer_kind)
    raw = f", written {html.escape(span.token)}" if shown != span.token else ""
    lines = [f"token {span.index}: <b>{html.escape(shown)}</b> (id {token_id}{raw})"]
    if span.special:
        lines.append("special token: added by the tokenizer, it comes from no characters")
    else:
        label = "A" if span.sequence == 0 else "B"
        chars = sentence_text(result, span.sequence)[span.start : span.end]
        lines.append(f"characters {label} {span.start}–{span.end}: “{html.escape(chars)}”")
        if span.pieces > 1:
            kind = " (continuation)" if span.continuation else ""
            lines.append(f"piece {span.piece + 1} of {span.pieces} of one word{kind}")
    if span.unknown:
        lines.append("not in the vocabulary: the model sees [UNK]")
    return "<br>".join(lines)


def change_summary(normalization: Normalization) -> list[str]:
    """One line per kind of change, e.g. 'accent stripped (2): é → e, è → e'."""
    kinds: dict[str, Counter[tuple[str, str]]] = {}
    for sentence in normalization.sentences:
        for change in sentence.changes:
            kinds.setdefault(change.kind, Counter())[(change.before, change.after)] += 1
    lines = []
    for kind, counter in kinds.items():
        examples = [
            f"{visible(before)} → {visible(after)}" + (f" ×{count}" if count > 1 else "")
            for (before, after), count in counter.most_common(8)
        ]
        more = " …" if len(counter) > 8 else ""
        lines.append(f"{kind} ({counter.total()}): {', '.join(examples)}{more}")
    return lines


class SpanView(QTextBrowser):
    """The text with coloured token spans and the token row; links select tokens.

    Tab moves between tokens and Enter selects one, so the view works without a mouse.
    """

    token_activated = Signal(int)
    """The user clicked (or pressed Enter on) a token: its index."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)

    def _on_anchor_clicked(self, url: QUrl) -> None:
        _, _, index = url.toString().partition(":")
        if index.isdigit():
            self.token_activated.emit(int(index))

    def text_of(self, href: str) -> str:
        """All characters linked to ``href`` ('span:3' or 'chip:3'), for tests and read-outs."""
        parts = []
        block = self.document().begin()
        while block.isValid():
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                if fragment.charFormat().anchorHref() == href:
                    parts.append(fragment.text())
                iterator += 1
            block = block.next()
        return "".join(parts)

    def format_of(self, href: str) -> QTextCharFormat | None:
        """The character format of the first fragment linked to ``href``."""
        block = self.document().begin()
        while block.isValid():
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                if fragment.charFormat().anchorHref() == href:
                    return fragment.charFormat()
                iterator += 1
            block = block.next()
        return None


class FittedTextView(QTextBrowser):
    """A read-only text view as tall as its text, so the panel scrolls once, not twice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)

    def _fit(self, *_: object) -> None:
        margins = self.contentsMargins()
        height = self.document().size().height() + margins.top() + margins.bottom()
        self.setFixedHeight(max(40, int(height) + 2))


class TokenizationPanel(ShowAware):
    """Spans over the text, counts, limits, the normalized text and a vocabulary look-up."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stale = False  # a result arrived while hidden: render when shown
        self._state = state
        # Rendering bookkeeping only: document ranges of each token and their unselected look.
        self._ranges: dict[int, list[tuple[int, int, QTextCharFormat]]] = {}
        self._shown_token = -1

        self.spans_view = SpanView()
        self.spans_view.setAccessibleName("Token spans over the input text")

        self.characters_label = QLabel()
        self.words_label = QLabel()
        self.tokens_label = QLabel()
        self.pieces_label = QLabel()
        counts_box = QGroupBox("Counts")
        counts = QFormLayout(counts_box)
        counts.addRow("Characters:", self.characters_label)
        counts.addRow("Words:", self.words_label)
        counts.addRow("Tokens:", self.tokens_label)
        counts.addRow("Pieces per word:", self.pieces_label)

        self.max_length_label = QLabel()
        self.usage_bar = QProgressBar()
        self.usage_bar.setTextVisible(True)
        self.usage_note = QLabel()
        self.special_label = QLabel()
        limits_box = QGroupBox("Limits")
        limits = QFormLayout(limits_box)
        limits.addRow("Maximum length:", self.max_length_label)
        limits.addRow("This input uses:", self.usage_bar)
        limits.addRow("", self.usage_note)
        limits.addRow("Special tokens:", self.special_label)

        self.normalizer_label = QLabel()
        self.normalized_view = FittedTextView()
        self.normalized_view.setAccessibleName("The text the tokenizer saw")
        normalized_box = QGroupBox("Normalized text: what the tokenizer saw")
        normalized = QVBoxLayout(normalized_box)
        normalized.addWidget(self.normalizer_label)
        normalized.addWidget(self.normalized_view)

        self.lookup_edit = QLineEdit()
        self.lookup_edit.setPlaceholderText("a token such as ##ing, or an id such as 2023")
        self.lookup_edit.setClearButtonEnabled(True)
        self.lookup_answer = QLabel()
        lookup_label = QLabel("Loo&k up:")
        lookup_label.setBuddy(self.lookup_edit)
        lookup_box = QGroupBox("Vocabulary look-up")
        lookup = QFormLayout(lookup_box)
        lookup.addRow(lookup_label, self.lookup_edit)
        lookup.addRow("", self.lookup_answer)

        for label in (
            self.characters_label,
            self.words_label,
            self.tokens_label,
            self.pieces_label,
            self.max_length_label,
            self.usage_note,
            self.special_label,
            self.normalizer_label,
            self.lookup_answer,
        ):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lookup_answer.setMargin(4)

        details = QWidget()
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(4, 4, 4, 4)
        for box in (normalized_box, counts_box, lookup_box, limits_box):
            details_layout.addWidget(box)
        details_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(details)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.spans_view)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.spans_view.token_activated.connect(state.set_token)
        self.lookup_edit.textChanged.connect(self._on_lookup_text_changed)
        state.result_changed.connect(self._on_result_changed)
        state.model_changed.connect(self._on_model_changed)
        state.token_changed.connect(self._on_token_changed)
        state.analysis_changed.connect(self._on_analysis_changed)
        self._on_result_changed()

    # --- state → view ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Catch up on a result that arrived while the panel was hidden behind its tab."""
        if self._stale:
            self._on_result_changed()

    def _on_result_changed(self) -> None:
        # Rendering ~2000 spans costs ~25 ms at 512 tokens: only do it when it can be seen.
        self._stale = not on_screen(self)
        if self._stale:
            return
        self._render_spans()
        self._show_counts()
        self._show_limits()
        self._render_normalization()
        if self._state.result is not None:
            self._state.request_analysis(NORMALIZED_ANALYSIS)
        self._on_lookup_text_changed(self.lookup_edit.text())

    def _on_model_changed(self) -> None:
        self._show_limits()
        self._on_lookup_text_changed(self.lookup_edit.text())  # the new tokenizer may differ

    def _on_token_changed(self, token: int) -> None:
        if not self._stale:
            self._select(token, scroll=True)

    def _on_analysis_changed(self, name: str) -> None:
        if name == NORMALIZED_ANALYSIS:
            self._render_normalization()
        elif name == VOCABULARY_ANALYSIS:
            self._show_answer()

    def changeEvent(self, event: QEvent) -> None:
        """Re-render when the font scale changes, since the views size their text from it."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._render_spans()
            self._render_normalization()

    # --- spans -----------------------------------------------------------------------------
    def _point_size(self, scale: float = 1.0) -> float:
        size = self.font().pointSizeF()
        return (size if size > 0 else 10.0) * scale

    def _render_spans(self) -> None:
        cursor = QTextCursor(self.spans_view.document())
        # One edit block: the view lays the document out once, not after each of ~2000
        # insertions (1.5 s at 512 tokens without it).
        cursor.beginEditBlock()
        try:
            self._fill_spans(cursor)
        finally:
            cursor.endEditBlock()
        self._select(self._state.token)

    def _fill_spans(self, cursor: QTextCursor) -> None:
        document = self.spans_view.document()
        document.clear()
        font = QFont(self.font())
        font.setPointSizeF(self._point_size(SPAN_FONT_SCALE))
        document.setDefaultFont(font)
        self._ranges = {}
        self._shown_token = -1
        result = self._state.result
        if result is None:
            cursor.insertText(NO_RESULT_TEXT, self._muted_format())
            return
        spans = token_spans(result)
        sentences = [(0, "A", result.text)]
        if result.pair is not None:
            sentences.append((1, "B", result.pair))
        for row, (sequence, label, text) in enumerate(sentences):
            title = f"Sentence {label} ({len(text)} characters)"
            self._heading(cursor, title, first=row == 0)
            own = [span for span in spans if span.sequence == sequence]
            self._insert_sentence(cursor, result, text, own)
        max_length = result.model.max_length
        self._heading(
            cursor,
            f"Tokens the model sees: {result.num_tokens} of at most {max_length}",
        )
        self._insert_chips(cursor, result, spans)
        self._insert_token_labels(cursor, result, spans)
        self._insert_legend(cursor)

    def _heading(self, cursor: QTextCursor, text: str, first: bool = False) -> None:
        block = QTextBlockFormat()
        block.setTopMargin(0 if first else 10)
        block.setBottomMargin(2)
        if first:
            cursor.setBlockFormat(block)
        else:
            cursor.insertBlock(block)
        fmt = self._muted_format()
        fmt.setFontWeight(QFont.Weight.Bold)
        cursor.insertText(text, fmt)
        body = QTextBlockFormat()
        body.setLineHeight(135, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        cursor.insertBlock(body, QTextCharFormat())

    def _muted_format(self) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setFontPointSize(self._point_size())
        return fmt

    def _insert_sentence(
        self, cursor: QTextCursor, result: InferenceResult, text: str, spans: list[TokenSpan]
    ) -> None:
        """Lay the sentence out character for character, each run under the token it became."""
        owner = [-1] * len(text)
        by_index = {span.index: span for span in spans}
        for span in spans:
            for char in range(max(0, span.start), min(len(text), span.end)):
                owner[char] = span.index
        covered_end = max((span.end for span in spans), default=0)
        start = 0
        while start < len(text):
            end = start + 1
            while end < len(text) and owner[end] == owner[start]:
                end += 1
            segment = text[start:end]
            token = owner[start]
            if token < 0:
                fmt = QTextCharFormat()
                if result.truncated and start >= covered_end and segment.strip():
                    fmt.setForeground(QColor(DROPPED_COLOR))
                    fmt.setFontStrikeOut(True)
                    fmt.setToolTip("dropped: the input is longer than the model's maximum")
                cursor.insertText(segment, fmt)
            else:
                self._insert_token(cursor, segment, result, by_index[token], "span")
            start = end

    def _insert_chips(
        self, cursor: QTextCursor, result: InferenceResult, spans: tuple[TokenSpan, ...]
    ) -> None:
        """Every token in model order; pieces of one word touch, words are a space apart."""
        for position, span in enumerate(spans):
            joined = position > 0 and span.continuation and not spans[position - 1].special
            if position > 0 and not joined:
                cursor.insertText(" ", QTextCharFormat())
            last_piece = span.special or span.piece == span.pieces - 1
            left = "\u202f" if joined else "\u00a0"
            right = "\u00a0" if last_piece else "\u202f"
            shown = display_token(span.token, result.model.tokenizer_kind)
            self._insert_token(cursor, f"{left}{shown}{right}", result, span, "chip")

    def _insert_token_labels(
        self, cursor: QTextCursor, result: InferenceResult, spans: tuple[TokenSpan, ...]
    ) -> None:
        """A token-classification head's labels as coloured spans of the text ('O' plain)."""
        predictions = result.predictions
        if predictions is None or predictions.token_class_probs is None:
            return
        labels = predictions.token_labels()
        names = predictions.labels
        self._heading(cursor, "Labels from the token-classification head")
        sentences = [(0, result.text)] + ([(1, result.pair)] if result.pair is not None else [])
        for sequence, text in sentences:
            done = 0
            for span in (s for s in spans if s.sequence == sequence and not s.special):
                start, end = max(span.start, done), min(span.end, len(text))
                if end <= start:
                    continue
                cursor.insertText(text[done:start], QTextCharFormat())
                label, prob = labels[span.index]
                fmt = QTextCharFormat()
                fmt.setAnchor(True)
                fmt.setAnchorHref(f"label:{span.index}")
                fmt.setToolTip(f"{label} · p = {prob:.3f}")
                if label not in ("O", "0") and label in names:
                    colour = LABEL_COLORS[names.index(label) % len(LABEL_COLORS)]
                    fmt.setBackground(QColor(colour))
                    fmt.setForeground(QColor("black"))
                position = cursor.position()
                cursor.insertText(text[start:end], fmt)
                self._ranges.setdefault(span.index, []).append((position, cursor.position(), fmt))
                done = end
            cursor.insertText(text[done:], QTextCharFormat())
            cursor.insertBlock()
        plain = QTextCharFormat()
        plain.setFontPointSize(self._point_size(0.95))
        for index, name in enumerate(names):
            if name in ("O", "0"):
                continue
            fmt = QTextCharFormat(plain)
            fmt.setBackground(QColor(LABEL_COLORS[index % len(LABEL_COLORS)]))
            fmt.setForeground(QColor("black"))
            cursor.insertText(f"\u00a0{name}\u00a0", fmt)
            cursor.insertText("  ", plain)

    def _insert_token(
        self, cursor: QTextCursor, text: str, result: InferenceResult, span: TokenSpan, kind: str
    ) -> None:
        fmt = self._token_format(result, span, kind)
        start = cursor.position()
        cursor.insertText(text, fmt)
        self._ranges.setdefault(span.index, []).append((start, cursor.position(), fmt))

    @staticmethod
    def _token_format(result: InferenceResult, span: TokenSpan, kind: str) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setAnchor(True)
        fmt.setAnchorHref(f"{kind}:{span.index}")
        fmt.setToolTip(span_tooltip(result, span))
        if span.special:
            fmt.setBackground(QColor(SPECIAL_BACKGROUND))
            fmt.setForeground(QColor("white"))
            fmt.setFontWeight(QFont.Weight.Bold)
        elif span.unknown:
            fmt.setBackground(QColor(UNK_BACKGROUND))
            fmt.setForeground(QColor("white"))
            fmt.setFontWeight(QFont.Weight.Bold)
        else:
            color = QColor(WORD_COLORS[span.word % len(WORD_COLORS)])
            fmt.setBackground(color.darker(PIECE_SHADE) if span.piece % 2 else color)
            fmt.setForeground(QColor("black"))
        if span.continuation and kind == "span":
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
            fmt.setUnderlineColor(QColor("black"))
        return fmt

    def _insert_legend(self, cursor: QTextCursor) -> None:
        block = QTextBlockFormat()
        block.setTopMargin(10)
        cursor.insertBlock(block)
        size = self._point_size(0.95)
        samples = (
            ("word", WORD_COLORS[0], "black", False),
            ("next piece", QColor(WORD_COLORS[0]).darker(PIECE_SHADE).name(), "black", True),
            ("[UNK]", UNK_BACKGROUND, "white", False),
            ("special", SPECIAL_BACKGROUND, "white", False),
            ("selected", SELECTED_BACKGROUND, "black", False),
        )
        plain = QTextCharFormat()
        plain.setFontPointSize(size)
        for name, background, foreground, dotted in samples:
            fmt = QTextCharFormat()
            fmt.setFontPointSize(size)
            fmt.setBackground(QColor(background))
            fmt.setForeground(QColor(foreground))
            if dotted:
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
            cursor.insertText(f"\u00a0{name}\u00a0", fmt)
            cursor.insertText("  ", plain)
        info = self._state.model_info
        kind = info.tokenizer_kind if info is not None else ""
        cursor.insertText(f"{continuation_legend(kind)} · click, or Tab + Enter, selects", plain)

    def _select(self, token: int, scroll: bool = False) -> None:
        """Restore the previously selected token's look and mark ``token`` (in place)."""
        document = self.spans_view.document()
        for start, end, fmt in self._ranges.get(self._shown_token, []):
            cursor = QTextCursor(document)
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            cursor.setCharFormat(fmt)
        self._shown_token = token
        marked = QTextCharFormat()
        marked.setBackground(QColor(SELECTED_BACKGROUND))
        marked.setForeground(QColor("black"))
        marked.setFontWeight(QFont.Weight.Bold)
        ranges = self._ranges.get(token, [])
        for start, end, _ in ranges:
            cursor = QTextCursor(document)
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(marked)
        if ranges and scroll:
            self._scroll_to(ranges[0][0])

    def _scroll_to(self, position: int) -> None:
        cursor = QTextCursor(self.spans_view.document())
        cursor.setPosition(position)
        rect = self.spans_view.cursorRect(cursor)
        viewport = self.spans_view.viewport().rect()
        bar = self.spans_view.verticalScrollBar()
        if rect.top() < viewport.top():
            bar.setValue(bar.value() + rect.top() - viewport.top())
        elif rect.bottom() > viewport.bottom():
            bar.setValue(bar.value() + rect.bottom() - viewport.bottom())

    # --- counts and limits -----------------------------------------------------------------
    def _show_counts(self) -> None:
        result = self._state.result
        labels = (self.characters_label, self.words_label, self.tokens_label, self.pieces_label)
        if result is None:
            for label in labels:
                label.setText("—")
            return
        counts = token_counts(result)
        self.characters_label.setText(f"{counts.characters} (Unicode code points)")
        self.words_label.setText(
            f"{counts.words} (as the pre-tokenizer splits: punctuation and each CJK character "
            "are words of their own)"
        )
        tokens = (
            f"{counts.tokens} ({counts.tokens - counts.special_tokens} from the text + "
            f"{counts.special_tokens} special)"
        )
        if counts.unknown_tokens:
            tokens += f" · {counts.unknown_tokens} [UNK]"
        self.tokens_label.setText(tokens)
        if counts.words:
            self.pieces_label.setText(
                f"{counts.pieces_per_word:.2f} on average · most: “{counts.most_split_word}” → "
                f"{' '.join(counts.most_split_pieces)} ({len(counts.most_split_pieces)} pieces)"
            )
        else:
            self.pieces_label.setText("— (no words)")

    def _model(self) -> ModelInfo | None:
        result = self._state.result
        return result.model if result is not None else self._state.model_info

    def _show_limits(self) -> None:
        info = self._model()
        result = self._state.result
        if info is None:
            self.max_length_label.setText("— (no model loaded yet)")
            self.special_label.setText("—")
            self.usage_bar.setRange(0, 1)
            self.usage_bar.setValue(0)
            self.usage_bar.setFormat("no input")
            self.usage_note.setText("")
            return
        positions = info.max_position_embeddings
        extra = (
            f" (the model has {positions} positions)"
            if positions not in (0, info.max_length)
            else ""
        )
        self.max_length_label.setText(f"{info.max_length} tokens{extra}")
        self.special_label.setText(
            "  ·  ".join(
                f"{token} = {token_id} ({role})" for role, token, token_id in info.special_tokens
            )
            or "— (this tokenizer declares none)"
        )
        self.usage_bar.setRange(0, info.max_length)
        if result is None:
            self.usage_bar.setValue(0)
            self.usage_bar.setFormat("no input")
            self.usage_note.setText("")
            return
        used = result.num_tokens
        self.usage_bar.setValue(min(used, info.max_length))
        self.usage_bar.setFormat(
            f"{used} of {info.max_length} tokens ({100 * used / info.max_length:.0f} %)"
        )
        if result.truncated:
            self.usage_note.setText(
                f"Too long: {result.tokens_dropped} tokens were dropped (struck through above)."
            )
            self.usage_note.setStyleSheet(_ANSWER_STYLES["missing"])
        else:
            self.usage_note.setText(f"{info.max_length - used} tokens to spare.")
            self.usage_note.setStyleSheet("")

    # --- normalization ---------------------------------------------------------------------
    def _render_normalization(self) -> None:
        document = self.normalized_view.document()
        document.clear()
        font = QFont(self.font())
        font.setPointSizeF(self._point_size(NORMALIZED_FONT_SCALE))
        document.setDefaultFont(font)
        cursor = QTextCursor(document)
        result = self._state.result
        entry = self._state.analysis(NORMALIZED_ANALYSIS)
        if result is None or entry is None:
            self.normalizer_label.setText("")
            cursor.insertText(NO_NORMALIZATION_TEXT if result is None else WAITING_TEXT)
            return
        payload = entry[1]
        if isinstance(payload, AnalysisFailure):
            self.normalizer_label.setText(payload.message)
            self.normalizer_label.setStyleSheet(_ANSWER_STYLES["error"])
            cursor.insertText("The normalized text could not be computed (see above).")
            return
        self.normalizer_label.setStyleSheet("")
        self.normalizer_label.setText(
            f"Normalizer: {payload.normalizer}" if payload.normalizer else NO_NORMALIZER_TEXT
        )
        for row, sentence in enumerate(payload.sentences):
            self._heading(cursor, f"Sentence {sentence.label}, as typed", first=row == 0)
            marks = [(c.start, c.end, c) for c in sentence.changes]
            self._insert_marked(cursor, sentence.original, marks, BEFORE_BACKGROUND)
            self._heading(cursor, f"Sentence {sentence.label}, as the tokenizer saw it")
            marks = [(c.norm_start, c.norm_end, c) for c in sentence.changes]
            self._insert_marked(cursor, sentence.normalized, marks, AFTER_BACKGROUND)
        summary = change_summary(payload)
        self._heading(cursor, "Differences" if summary else "No differences")
        fmt = QTextCharFormat()
        fmt.setFontPointSize(self._point_size())
        cursor.insertText(
            "\n".join(summary) if summary else "The tokenizer saw the text exactly as typed.", fmt
        )

    @staticmethod
    def _insert_marked(cursor: QTextCursor, text: str, marks: list, background: str) -> None:
        position = 0
        for start, end, change in marks:
            if start > position:
                cursor.insertText(text[position:start], QTextCharFormat())
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(background))
            fmt.setForeground(QColor("black"))
            fmt.setToolTip(
                html.escape(f"{visible(change.before)} → {visible(change.after)}: {change.kind}")
            )
            if end > start:
                cursor.insertText(text[start:end], fmt)
            position = max(position, end)
        if position < len(text):
            cursor.insertText(text[position:], QTextCharFormat())

    # --- vocabulary look-up ----------------------------------------------------------------
    def _on_lookup_text_changed(self, text: str) -> None:
        if not text.strip():
            self._set_answer(LOOKUP_HINT, "hint")
        elif self._state.model_info is None:
            self._set_answer(LOOKUP_NEEDS_MODEL, "hint")
        else:
            self._state.request_analysis(VOCABULARY_ANALYSIS, query=text)
            entry = self._state.analysis(VOCABULARY_ANALYSIS)
            if entry is None or entry[0].get("query") != text:
                self._set_answer("Looking it up…", "hint")

    def _show_answer(self) -> None:
        entry = self._state.analysis(VOCABULARY_ANALYSIS)
        if entry is None:
            return
        params, payload = entry
        if isinstance(payload, AnalysisFailure):
            self._set_answer(payload.message, "error")
            return
        if params.get("query") != self.lookup_edit.text() or not isinstance(
            payload, VocabularyAnswer
        ):
            return  # a newer look-up is on its way
        self._set_answer(payload.message, "found" if payload.found else "missing")

    def _set_answer(self, text: str, style: str) -> None:
        self.lookup_answer.setText(text)
        self.lookup_answer.setStyleSheet(_ANSWER_STYLES[style])
        self.lookup_answer.setProperty("answer", style)
