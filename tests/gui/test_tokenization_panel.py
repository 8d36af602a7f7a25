"""Tokenization inspector: build state, build the panel, change the state, assert on the panel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QTextCharFormat, QTextCursor

from explorer.core.analysis.registry import run_analysis
from explorer.core.inference import run_inference
from explorer.core.loading import load_model
from explorer.core.sources import ModelSource
from explorer.core.tokenization import NORMALIZED_ANALYSIS, VOCABULARY_ANALYSIS, token_spans
from explorer.core.views import build_views
from explorer.gui.panels.main.tokenization import (
    AFTER_BACKGROUND,
    BEFORE_BACKGROUND,
    LOOKUP_NEEDS_MODEL,
    NO_RESULT_TEXT,
    SELECTED_BACKGROUND,
    SPECIAL_BACKGROUND,
    UNK_BACKGROUND,
    WORD_COLORS,
    TokenizationPanel,
)
from explorer.gui.state.explorer_state import AnalysisFailure, ExplorerState
from tests.conftest import save_random_bert
from tests.gui.conftest import TIMEOUT_MS, wait_for_result

SHOWCASE = "Café crème: the ꙮ glyph, 東京, 🙂!"


@pytest.fixture(scope="module")
def showcase(tiny_model):
    return run_inference(tiny_model, SHOWCASE, "Tab\there")


def make_state(result) -> ExplorerState:
    state = ExplorerState()
    state.set_model_info(result.model)
    state.set_result(result, build_views(result))
    return state


@pytest.fixture
def panel(qtbot, showcase):
    view = TokenizationPanel(make_state(showcase))
    qtbot.addWidget(view)
    view.show()  # the panel renders only while it can be seen
    return view


def background(fmt: QTextCharFormat) -> str:
    return fmt.background().color().name()


def test_every_span_covers_exactly_its_characters(panel, showcase):
    for span in token_spans(showcase):
        if span.special:
            assert panel.spans_view.text_of(f"span:{span.index}") == ""
            continue
        sentence = showcase.text if span.sequence == 0 else showcase.pair
        assert panel.spans_view.text_of(f"span:{span.index}") == sentence[span.start : span.end]
    tokens = showcase.tokens.tolist()
    assert panel.spans_view.text_of(f"span:{tokens.index('cafe')}") == "Café"
    assert panel.spans_view.text_of("span:11") == "東" and tokens[11] == "東"
    assert panel.spans_view.text_of("span:14") == "🙂" and tokens[14] == "[UNK]"


def test_special_tokens_stand_apart_in_the_token_row(panel, showcase):
    panel._state.set_token(-1)  # [CLS] starts selected
    sep = showcase.num_tokens - 1
    for index in (0, 16, sep):
        assert panel.spans_view.text_of(f"chip:{index}").strip("\u00a0\u202f") == str(
            showcase.tokens[index]
        )
        assert background(panel.spans_view.format_of(f"chip:{index}")) == SPECIAL_BACKGROUND
    text = panel.spans_view.toPlainText()
    sentence_rows = text[: text.index("Tokens the model sees")]
    assert "[CLS]" not in sentence_rows and "[SEP]" not in sentence_rows


def test_pieces_of_a_word_share_a_colour_and_continuations_are_marked(panel, showcase):
    spans = token_spans(showcase)
    g, ly, ph = (spans[i] for i in (7, 8, 9))
    assert (g.token, ly.token, ph.token) == ("g", "##ly", "##ph")
    first = panel.spans_view.format_of("span:7")
    second = panel.spans_view.format_of("span:8")
    third = panel.spans_view.format_of("span:9")
    word_colour = WORD_COLORS[g.word % len(WORD_COLORS)]
    assert background(first) == background(third) == word_colour
    assert background(second) != word_colour  # a darker shade of the same colour
    assert first.underlineStyle() == QTextCharFormat.UnderlineStyle.NoUnderline
    assert second.underlineStyle() == QTextCharFormat.UnderlineStyle.DotLine
    chips = panel.spans_view.toPlainText()
    assert "g\u202f\u202f##ly\u202f\u202f##ph" in chips  # one word: its pieces touch


def test_unknown_pieces_are_flagged(panel):
    for index in (6, 14):
        assert background(panel.spans_view.format_of(f"span:{index}")) == UNK_BACKGROUND
        assert background(panel.spans_view.format_of(f"chip:{index}")) == UNK_BACKGROUND


def test_selection_follows_the_state_and_restores_the_old_look(panel):
    state = panel._state
    state.set_token(3)
    assert background(panel.spans_view.format_of("span:3")) == SELECTED_BACKGROUND
    assert background(panel.spans_view.format_of("chip:3")) == SELECTED_BACKGROUND
    state.set_token(6)
    assert background(panel.spans_view.format_of("span:3")) != SELECTED_BACKGROUND
    assert background(panel.spans_view.format_of("span:6")) == SELECTED_BACKGROUND
    state.set_token(5)
    assert background(panel.spans_view.format_of("span:6")) == UNK_BACKGROUND


def _anchor_point(view, href: str) -> QPoint:
    document = view.document()
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().anchorHref() == href:
                cursor = QTextCursor(document)
                cursor.setPosition(fragment.position() + 1)
                return view.cursorRect(cursor).center()
            iterator += 1
        block = block.next()
    raise AssertionError(href)


def test_clicking_a_span_selects_its_token(qtbot, panel):
    panel.resize(700, 700)
    panel.show()
    qtbot.waitExposed(panel)
    point = _anchor_point(panel.spans_view, "span:3")
    qtbot.mouseClick(panel.spans_view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert panel._state.token == 3


def test_tab_and_enter_select_a_token_without_a_mouse(qtbot, panel):
    panel.show()
    qtbot.waitExposed(panel)
    view = panel.spans_view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert panel._state.token == 2  # the second link is 'cr', token 2


def test_counts_and_limits(panel):
    assert panel.characters_label.text().startswith(str(len(SHOWCASE) + len("Tab\there")))
    assert panel.words_label.text().startswith("14 ")
    assert panel.tokens_label.text() == "20 (17 from the text + 3 special) · 2 [UNK]"
    pieces = panel.pieces_label.text()
    assert pieces.startswith("1.21 on average")
    assert "“glyph” → g ##ly ##ph (3 pieces)" in pieces
    assert panel.max_length_label.text() == "512 tokens"
    assert panel.usage_bar.maximum() == 512 and panel.usage_bar.value() == 20
    assert panel.usage_bar.text() == "20 of 512 tokens (4 %)"
    assert "[CLS] = 101 (cls)" in panel.special_label.text()
    assert "[PAD] = 0 (pad)" in panel.special_label.text()


def test_truncated_text_is_struck_through_and_counted(qtbot, tmp_path):
    short = load_model(
        ModelSource.parse(str(save_random_bert(tmp_path / "short", max_position_embeddings=8)))
    )
    result = run_inference(short, "one two three four five six seven eight")
    panel = TokenizationPanel(make_state(result))
    qtbot.addWidget(panel)
    panel.show()
    assert result.truncated and result.num_tokens == 8
    assert panel.usage_bar.text() == "8 of 8 tokens (100 %)"
    assert f"{result.tokens_dropped} tokens were dropped" in panel.usage_note.text()
    document = panel.spans_view.document()
    cursor = QTextCursor(document)
    start = document.toPlainText().index("seven")
    cursor.setPosition(start + 1)
    assert cursor.charFormat().fontStrikeOut()


def test_normalized_text_highlights_what_changed(panel, tiny_model, showcase):
    state = panel._state
    payload = run_analysis(NORMALIZED_ANALYSIS, tiny_model, showcase, {})
    state.set_analysis(NORMALIZED_ANALYSIS, {}, payload)
    text = panel.normalized_view.toPlainText()
    assert "cafe creme: the ꙮ glyph,  東  京 , 🙂!" in text
    assert "tab here" in text
    assert "accent stripped (2): é → e, è → e" in text
    assert "space added around CJK character (2): 東 → ␣東␣, 京 → ␣京␣" in text
    assert "whitespace became a space (1): ⇥ → ␣" in text
    assert panel.normalizer_label.text().startswith("Normalizer: BertNormalizer")
    marked = {"before": [], "after": []}
    block = panel.normalized_view.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            colour = background(fragment.charFormat())
            if colour == BEFORE_BACKGROUND:
                marked["before"].append(fragment.text())
            elif colour == AFTER_BACKGROUND:
                marked["after"].append(fragment.text())
            iterator += 1
        block = block.next()
    assert marked["before"] == ["C", "é", "è", "東", "京", "T", "\t"]
    assert marked["after"] == ["c", "e", "e", " 東 ", " 京 ", "t", " "]


def test_a_failed_normalization_says_why(panel):
    panel._state.set_analysis(NORMALIZED_ANALYSIS, {}, AnalysisFailure("no tokenizer here"))
    assert panel.normalizer_label.text() == "no tokenizer here"


def test_look_up_asks_the_worker_and_shows_the_answer(qtbot, panel, tiny_model, showcase):
    state = panel._state
    with qtbot.waitSignal(
        state.analysis_requested,
        check_params_cb=lambda name, params: (
            name == VOCABULARY_ANALYSIS and params == {"query": "99999"}
        ),
    ):
        qtbot.keyClicks(panel.lookup_edit, "99999")
    answer = run_analysis(VOCABULARY_ANALYSIS, tiny_model, showcase, {"query": "99999"})
    state.set_analysis(VOCABULARY_ANALYSIS, {"query": "99999"}, answer)
    assert panel.lookup_answer.text() == (
        "Id 99999 is out of range: this vocabulary has ids 0 to 30521."
    )
    assert panel.lookup_answer.property("answer") == "missing"
    panel.lookup_edit.setText("cafe")
    stale = run_analysis(VOCABULARY_ANALYSIS, tiny_model, showcase, {"query": "caf"})
    state.set_analysis(VOCABULARY_ANALYSIS, {"query": "caf"}, stale)
    assert panel.lookup_answer.text() == "Looking it up…"  # an older answer is not shown
    answer = run_analysis(VOCABULARY_ANALYSIS, tiny_model, showcase, {"query": "cafe"})
    state.set_analysis(VOCABULARY_ANALYSIS, {"query": "cafe"}, answer)
    assert panel.lookup_answer.text() == "'cafe' → id 7668."
    assert panel.lookup_answer.property("answer") == "found"


def test_without_a_model_the_panel_explains_and_keeps_the_query(qtbot, tiny_model, showcase):
    state = ExplorerState()
    panel = TokenizationPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.spans_view.toPlainText() == NO_RESULT_TEXT
    assert panel.usage_bar.text() == "no input"
    requests = []
    state.analysis_requested.connect(lambda name, params: requests.append((name, params)))
    panel.lookup_edit.setText("hello")
    assert panel.lookup_answer.text() == LOOKUP_NEEDS_MODEL
    assert requests == []
    state.set_model_info(tiny_model.info)  # a model, still no sentence: look-ups may run
    assert "[CLS] = 101" in panel.special_label.text()  # limits come with the model
    assert (VOCABULARY_ANALYSIS, {"query": "hello"}) in requests
    state.set_result(showcase, build_views(showcase))
    assert (NORMALIZED_ANALYSIS, {}) in requests


def test_look_up_answers_before_any_sentence_has_run(qtbot, window):
    panel = window.docks["tokenization"].widget()
    assert window.state.result is None
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == VOCABULARY_ANALYSIS,
    ):
        panel.lookup_edit.setText("2023")
    assert "this" in panel.lookup_answer.text()


def test_a_larger_font_makes_the_spans_larger(panel):
    before = panel.spans_view.document().defaultFont().pointSizeF()
    font = QFont(panel.font())
    font.setPointSizeF(font.pointSizeF() * 2)
    panel.setFont(font)
    assert panel.spans_view.document().defaultFont().pointSizeF() == pytest.approx(2 * before)
    assert panel.spans_view.text_of("span:1") == "Café"


# --- in the real window, with the worker ------------------------------------------------
def tokenization_panel(window) -> TokenizationPanel:
    return window.docks["tokenization"].widget()


def test_window_fills_the_inspector_from_the_worker(qtbot, window):
    panel = tokenization_panel(window)
    window.docks["tokenization"].raise_()  # a buried tab renders nothing until raised
    qtbot.waitUntil(lambda: not panel.visibleRegion().isEmpty())
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == NORMALIZED_ANALYSIS,
    ):
        window.input_bar.set_inputs(SHOWCASE)
        wait_for_result(qtbot, window, SHOWCASE)
    assert panel.spans_view.text_of("span:1") == "Café"
    assert "cafe creme" in panel.normalized_view.toPlainText()
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == VOCABULARY_ANALYSIS,
    ):
        panel.lookup_edit.setText("101")
    assert panel.lookup_answer.text().startswith("Id 101 → '[CLS]'.")
    window.state.set_token(3)
    assert background(panel.spans_view.format_of("span:3")) == SELECTED_BACKGROUND
    assert window.input_bar.sentence_a.highlighted_text() == "ème"


def test_a_buried_tab_renders_only_when_raised(qtbot, window):
    panel = tokenization_panel(window)
    window.docks["tokens"].raise_()
    window.input_bar.set_inputs(SHOWCASE)
    window.run_now()
    wait_for_result(qtbot, window, SHOWCASE)
    assert panel.spans_view.text_of("span:1") == ""  # nothing drawn behind the tab
    window.docks["tokenization"].raise_()
    qtbot.waitUntil(lambda: panel.spans_view.text_of("span:1") == "Café")
