"""The Context panel in the real window: the worker runs the sentences, the panel draws them."""

from __future__ import annotations

import numpy as np

from explorer.core.context import CONTEXT_ANALYSIS, EXAMPLE_SETS, ContextResult, context_of
from tests.gui.conftest import TIMEOUT_MS, wait_for_result


def _compare(qtbot, window):
    panel = window.docks["context"].widget()
    window.docks["context"].raise_()
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == CONTEXT_ANALYSIS,
    ):
        panel.compare()
    return panel


def test_the_context_panel_draws_what_the_core_computes(qtbot, window, tiny_model):
    panel = window.docks["context"].widget()
    index = panel.examples.findData("bank: of a river, and one that lends")
    panel.examples.activated.emit(index)
    word, sentences = EXAMPLE_SETS["bank: of a river, and one that lends"]
    assert panel.word_edit.text() == word and panel.sentences == sentences
    _compare(qtbot, window)
    params, payload = window.state.analysis(CONTEXT_ANALYSIS)
    assert params == {"word": "bank", "sentences": sentences}
    assert isinstance(payload, ContextResult)
    expected = context_of(tiny_model, word, sentences)
    np.testing.assert_allclose(payload.states, expected.states, rtol=1e-5, atol=1e-6)
    n, layers = len(sentences), tiny_model.info.num_layers + 1
    layer = window.state.layer + 1
    np.testing.assert_allclose(panel.cosine_image.image, expected.cosine[layer], atol=1e-5)
    _, ys = panel.self_curve.getData()
    np.testing.assert_allclose(ys, expected.self_similarity, atol=1e-5)
    assert len(panel.pair_curves) == n * (n - 1) // 2
    assert len(panel.trajectories) == 2 * n
    path_x, _ = panel.trajectories[0].getData()
    assert path_x.shape == (layers,)
    assert "'bank' in 4 sentences" in panel.message.text()
    rows = panel.cosine_plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [label for _, label in rows] == [str(i + 1) for i in range(n)]  # sentence numbers
    key = panel.sentences_key.text()  # which colour is which sentence
    assert all(f"{i + 1} {sentence[:20]}" in key for i, sentence in enumerate(sentences))

    window.state.set_layer(0)  # redrawn from the payload, layer 0's output
    np.testing.assert_allclose(panel.cosine_image.image, expected.cosine[1], atol=1e-5)
    assert panel.layer_line.value() == 1


def test_a_sentence_without_the_word_is_named_in_the_panel(qtbot, window):
    panel = window.docks["context"].widget()
    panel.set_inputs("bank", ["The bank lends.", "A cat sleeps."])
    _compare(qtbot, window)
    assert "Sentence 2 does not contain the word 'bank'" in panel.message.text()


def test_from_a_and_b_takes_the_sentences_and_the_selected_word(qtbot, window):
    window.input_bar.set_inputs("I love my pet python", "Is it a snake?")
    window.run_now()
    result = wait_for_result(qtbot, window, "I love my pet python")
    window.state.set_token(int(np.flatnonzero(result.tokens == "python")[0]))
    panel = window.docks["context"].widget()
    panel.fill_from_inputs()
    assert panel.word_edit.text() == "python"
    assert panel.sentences == ("I love my pet python", "Is it a snake?")


def test_too_few_sentences_ask_for_nothing(window):
    panel = window.docks["context"].widget()
    asked = []
    window.state.analysis_requested.connect(lambda name, _params: asked.append(name))
    panel.set_inputs("bank", ["Only one bank."])
    panel.compare()
    assert not asked and "at least two sentences" in panel.message.text()


def test_the_panel_starts_with_an_example_to_compare(window):
    panel = window.docks["context"].widget()
    word, sentences = next(iter(EXAMPLE_SETS.values()))
    assert panel.word_edit.text() == word and panel.sentences == sentences
