"""The compare window with two models: BERT beside GPT-2 on one sentence, in one worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from explorer.core.compare_models import BY_SPANS, linked_layer
from explorer.core.sources import ModelSource
from explorer.gui.panels.plotting.plots import causal_mask
from explorer.gui.windows.compare_window import CompareWindow
from explorer.gui.windows.main_window import MainWindow
from tests.families.builders import SENTENCE
from tests.families.conftest import settle_loader_threads
from tests.gui.conftest import TIMEOUT_MS


def _windows_on_bert(qtbot, family_dir: Callable[[str], Path]):
    """The main window on the tiny BERT (model loaded) and a compare window on its worker."""
    main = MainWindow(source=ModelSource.parse(str(family_dir("BERT"))), text="")
    qtbot.addWidget(main)
    with qtbot.waitSignal(main.controller.model_loaded, timeout=TIMEOUT_MS):
        main.show()
    window = CompareWindow(main.controller.client(), SENTENCE, "ignored with two models")
    qtbot.addWidget(window)
    window.show()
    return main, window


def test_bert_beside_gpt2_on_one_sentence(qtbot, family_dir: Callable[[str], Path]) -> None:
    main, window = _windows_on_bert(qtbot, family_dir)
    bert_worker_model = main.controller.worker._loaded

    window.model_b_input.setText(str(family_dir("GPT-2")))
    compare = window.compare
    with qtbot.waitSignal(
        compare.comparison_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda: compare.model_comparison is not None,
    ):
        window.model_b_button.click()
    comparison = compare.model_comparison
    a, b = compare.a.result, compare.b.result
    assert a.model.model_type == "bert" and b.model.model_type == "gpt2"
    assert a.text == b.text == SENTENCE  # both models read sentence A
    assert not window.input_b.isEnabled()
    assert main.controller.worker._loaded is bert_worker_model  # A was not loaded again

    # Layer CKA (L_a + 1) × (L_b + 1), drawn; the alignment by character spans.
    assert comparison.layer_cka_ab.shape == (a.num_layers + 1, b.num_layers + 1)
    np.testing.assert_array_equal(window.cka_panel.image.image, comparison.layer_cka_ab)
    assert comparison.alignment.method == BY_SPANS
    assert "spans" in window.cka_panel.readout.text()
    # No cell-by-cell attention difference between other tokenizations: said, not drawn.
    assert window.attention_diff_panel.image.image is None
    assert "different tokens" in window.attention_diff_panel.message.text()
    # Each side draws its own family: GPT-2's side masks its upper triangle.
    count_b = b.num_tokens
    assert np.array_equal(window.side_b.attention_panel.image.mask, causal_mask(count_b))
    assert window.side_a.attention_panel.image.mask is None
    # The status bar says how much memory the two models take.
    assert "A " in window.model_label.text() and "MB of weights" in window.model_label.text()

    # Layers link by relative depth (3 layers against 2); a CKA cell selects both.
    compare.a.set_layer(2)
    assert compare.b.layer == linked_layer(2, a.num_layers, b.num_layers) == 1
    compare.a.set_layer(0)
    assert compare.b.layer == 0
    window.cka_panel.image.cell_clicked.emit(3, 1, None)
    assert (compare.a.layer, compare.b.layer) == (2, 0)
    # Tokens link through the character spans: "python" selects its first GPT-2 piece.
    python = int(np.flatnonzero(a.offsets[:, 0] == SENTENCE.index("python"))[0])
    compare.a.set_token(python)
    assert compare.b.token == comparison.alignment.counterpart(python, "a") >= 0

    # Back to one model: an empty Model B field.
    window.model_b_input.setText("")
    with qtbot.waitSignal(
        compare.comparison_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda: compare.comparison is not None,
    ):
        window.model_b_button.click()
    assert compare.b.result.model.model_type == "bert" and window.input_b.isEnabled()
    window.close()


def test_a_base_model_beside_its_fine_tuned_version(
    qtbot, family_dir: Callable[[str], Path], tmp_path: Path
) -> None:
    """Same tokenizer and shapes: attention differences and token cosines as for sentences."""
    import shutil

    import torch
    from transformers import BertModel

    tuned = shutil.copytree(family_dir("BERT"), tmp_path / "bert-tuned")
    model = BertModel.from_pretrained(tuned)
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in model.encoder.layer[-1].parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))  # "fine-tuned": the last layer
    model.save_pretrained(tuned)
    settle_loader_threads()

    _main, window = _windows_on_bert(qtbot, family_dir)
    compare = window.compare
    window.model_b_input.setText(str(tuned))
    with qtbot.waitSignal(
        compare.comparison_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda: None not in (compare.comparison, compare.model_comparison),
    ):
        window.model_b_button.click()
    a, b = compare.a.result, compare.b.result
    assert a.model.source != b.model.source and list(a.tokens) == list(b.tokens)
    cosine = compare.comparison.token_cosine
    assert cosine.shape == (a.num_layers + 1, a.num_tokens)
    np.testing.assert_allclose(cosine[:-1], 1.0, atol=1e-5)  # untouched below the last layer
    assert (cosine[-1] < 0.9999).any()
    cka = compare.model_comparison.layer_cka_ab
    np.testing.assert_allclose(np.diag(cka)[:-1], 1.0, atol=1e-5)
    compare.a.set_layer(a.num_layers - 1)
    expected = compare.b.views.head_mean(a.num_layers - 1) - compare.a.views.head_mean(
        a.num_layers - 1
    )
    np.testing.assert_allclose(window.attention_diff_panel.image.image, expected, atol=1e-6)
    assert window.attention_diff_panel.image.image.any()
    window.close()
