"""The Predictions panel and the logit lens follow the loaded head and the selection."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from explorer.core.sources import ModelSource
from explorer.gui.windows.main_window import MainWindow
from tests.conftest import save_random_bert
from tests.gui.conftest import TIMEOUT_MS, wait_for_result
from tests.gui.test_window import click_cell

TEXT = "Paris is the capital of France."


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory):
    return save_random_bert(tmp_path_factory.mktemp("mlm"), architecture="BertForPreTraining")


def _window(qtbot, source: ModelSource, text: str, pair: str | None = None) -> MainWindow:
    main = MainWindow(source=source, text=text, pair=pair)
    qtbot.addWidget(main)
    with qtbot.waitSignal(main.controller.result_ready, timeout=TIMEOUT_MS):
        main.show()
    return main


def _wait_analysis(qtbot, window: MainWindow, name: str, params: dict | None = None) -> None:
    """Wait for analysis ``name`` of the result on show (with ``params``, when given)."""

    def arrived(changed: str = name) -> bool:
        stored = window.state.analysis(name)
        return changed == name and stored is not None and params in (None, stored[0])

    if not arrived():
        with qtbot.waitSignal(
            window.state.analysis_changed, timeout=TIMEOUT_MS, check_params_cb=arrived
        ):
            pass


def test_embedded_default_shows_sentence_similarity(qtbot):
    a, b = "A man is playing a guitar.", "Someone is playing an instrument."
    window = _window(qtbot, ModelSource.embedded(), a, b)
    panel = window.analysis_panels["predictions"]
    assert not panel.visibleRegion().isEmpty()  # the tab on top, not a buried one
    assert panel.page is panel.similarity_page
    _wait_analysis(qtbot, window, "sentence_pair")
    payload = window.state.analysis("sentence_pair")[1]
    assert panel.similarity_page.cosine_text == f"{payload.cosine:.3f}"
    assert 0.3 < payload.cosine < 1.0
    assert "mean pooling" in panel.similarity_page.caption.text()


def test_masking_with_m_then_ctrl_z_restores(qtbot, mlm_dir):
    window = _window(qtbot, ModelSource.parse(str(mlm_dir)), TEXT)
    panel = window.analysis_panels["predictions"]
    assert panel.page is panel.masked_page
    position = list(window.state.result.tokens).index("capital")
    window.state.set_token(position)
    _wait_analysis(qtbot, window, "mlm_top", {"position": position})
    assert f"at token {position}" in panel.masked_page.title.text()
    assert panel.masked_page.selected_table.rowCount() == 10
    window.attention_panel.setFocus()
    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_M)
    result = window.state.result
    assert window.input_bar.sentence_a.text() == "Paris is the [MASK] of France."
    assert result.tokens[position] == "[MASK]"
    assert panel.masked_page.masks_table.rowCount() == 1
    assert panel.masked_page.masks_table.item(0, 0).text() == str(position)
    # the selection stays on the mask: its top 10 come from the pass itself
    assert window.state.token == position
    top = result.predictions.masked
    shown = [panel.masked_page.selected_table.item(r, 1).text() for r in range(10)]
    assert shown == [str(t) for t in top.tokens[0]]
    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.input_bar.sentence_a.text() == TEXT
    assert window.state.result.tokens[position] == "capital"


def test_pair_shows_next_sentence_probability(qtbot, mlm_dir):
    window = _window(qtbot, ModelSource.parse(str(mlm_dir)), "I went out.", "It rained.")
    page = window.analysis_panels["predictions"].masked_page
    nsp = window.state.result.predictions.nsp_probs
    assert f"{float(nsp[0]):.3f}" in page.next_sentence.text()


def test_logit_lens_tab_computes_when_shown_and_clicks_select(qtbot, mlm_dir):
    window = _window(qtbot, ModelSource.parse(str(mlm_dir)), TEXT)
    lens = window.analysis_panels["logit_lens"]
    assert window.state.analysis("logit_lens") is None  # hidden tab: nothing asked
    window.docks["logit_lens"].raise_()
    _wait_analysis(qtbot, window, "logit_lens")
    grid = lens.grid
    result = window.state.result
    assert grid.ids.shape == (result.num_layers + 1, result.num_tokens, 10)
    np.testing.assert_allclose(lens.image.image, grid.probs[:, :, 0])
    click_cell(qtbot, lens.widget, lens.image, 3, 2)
    assert window.state.layer == 2 and window.state.token == 2
    assert lens.listing.item(0, 1).text() == str(grid.tokens[3, 2, 0])


def test_bare_encoder_says_it_has_no_head(qtbot, window):
    window.input_bar.set_inputs(TEXT)
    wait_for_result(qtbot, window, TEXT)
    panel = window.analysis_panels["predictions"]
    assert panel.page is panel.none_page
    assert "no prediction head" in panel.none_page.text()
    assert window.docks["predictions"].widget().visibleRegion().isEmpty()  # pooled is raised
    assert not window.docks["pooled"].widget().visibleRegion().isEmpty()


LABELS = {0: "O", 1: "B-PER", 2: "B-LOC"}


def _labelled(tmp_path, architecture: str):
    return save_random_bert(
        tmp_path / architecture,
        architecture=architecture,
        id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()},
    )


def test_token_labels_fill_a_tokens_column_and_the_page(qtbot, tmp_path):
    from explorer.gui.panels.main.tokens import LABEL_COLUMN

    folder = _labelled(tmp_path, "BertForTokenClassification")
    window = _window(qtbot, ModelSource.parse(str(folder)), "Sinan lives in Istanbul.")
    result = window.state.result
    table = window.tokens_panel.table
    assert not table.isColumnHidden(LABEL_COLUMN)
    probs = result.predictions.token_class_probs
    best = int(probs[1].argmax())
    assert table.model().index(1, LABEL_COLUMN).data() == f"{LABELS[best]} {probs[1, best]:.2f}"
    page = window.analysis_panels["predictions"].token_labels_page
    assert page.table.rowCount() == result.num_tokens
    page.table.selectRow(2)
    assert window.state.token == 2


def test_sequence_labels_are_named_bars(qtbot, tmp_path):
    folder = _labelled(tmp_path, "BertForSequenceClassification")
    window = _window(qtbot, ModelSource.parse(str(folder)), "What a lovely day.")
    page = window.analysis_panels["predictions"].classes_page
    probs = window.state.result.predictions.class_probs
    assert LABELS[int(probs.argmax())] in page.verdict.text()
    np.testing.assert_allclose(page.bars.opts["width"], probs)


def test_answer_span_is_marked_in_b(qtbot, tmp_path):
    folder = save_random_bert(tmp_path / "qa", architecture="BertForQuestionAnswering")
    question, context = "Where does Sinan live?", "Sinan lives in a town by the sea."
    window = _window(qtbot, ModelSource.parse(str(folder)), question, context)
    answer = window.state.result.predictions.answer
    page = window.analysis_panels["predictions"].answer_page
    assert answer.text in page.answer.text()
    assert "background" in page.context.text()
    _xs, ys = page.start_curve.getData()
    np.testing.assert_allclose(ys, window.state.result.predictions.qa_start_probs)


def test_tokens_table_menu_masks_the_row(qtbot, mlm_dir):
    window = _window(qtbot, ModelSource.parse(str(mlm_dir)), TEXT)
    position = list(window.state.result.tokens).index("france")
    menu = window.tokens_panel.context_menu(position)
    mask = menu.actions()[0]
    assert mask.isEnabled() and "Mask" in mask.text()
    assert not window.tokens_panel.context_menu(0).actions()[0].isEnabled()  # [CLS]
    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        mask.trigger()
    assert window.input_bar.sentence_a.text() == "Paris is the capital of [MASK]."


def test_one_sentence_on_the_embedded_model_asks_for_no_extra_pass(qtbot):
    window = _window(qtbot, ModelSource.embedded(), "A man is playing a guitar.")
    page = window.analysis_panels["predictions"].similarity_page
    _xs, ys = page.curve_a.getData()
    np.testing.assert_allclose(ys, window.state.result.predictions.sentence_embedding)
    assert "Type sentence B" in page.caption.text()
    assert window.state.analysis("sentence_pair") is None


def test_token_labels_are_coloured_spans_in_the_tokenization_view(qtbot, tmp_path):
    folder = _labelled(tmp_path, "BertForTokenClassification")
    window = _window(qtbot, ModelSource.parse(str(folder)), "Sinan lives in Istanbul.")
    window.docks["tokenization"].raise_()
    panel = window.tokenization_panel
    panel.refresh()
    result = window.state.result
    probs = result.predictions.token_class_probs
    view = panel.spans_view
    first = int(np.flatnonzero(result.sequence_ids == 0)[0])
    label = LABELS[int(probs[first].argmax())]
    assert view.text_of(f"label:{first}") == result.text[slice(*result.offsets[first])]
    assert view.format_of(f"label:{first}").toolTip().startswith(label)
    assert "Labels from the token-classification head" in view.toPlainText()


def test_gpt2_shows_the_next_token_after_the_selected_one(qtbot, tmp_path):
    import transformers

    from tests.families.builders import FAMILY_BY_NAME

    folder = FAMILY_BY_NAME["GPT-2"].build(tmp_path / "gpt2")
    config = transformers.AutoConfig.from_pretrained(folder)
    for stale in folder.glob("*.safetensors"):
        stale.unlink()
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    window = _window(qtbot, ModelSource.parse(str(folder)), "the cat sat on the mat")
    panel = window.analysis_panels["predictions"]
    assert panel.page is panel.masked_page
    page = panel.masked_page
    assert not page.mask_button.isVisibleTo(page)  # no mask token: it predicts what follows
    window.state.set_token(2)
    _wait_analysis(qtbot, window, "mlm_top", {"position": 2})
    assert "after token 2" in page.title.text()
    assert page.selected_table.rowCount() == 10
