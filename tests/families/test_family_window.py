"""One window loads every family in turn; GPT-2's upper triangle is drawn as masked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from explorer.core.anatomy import build_anatomy
from explorer.core.sources import ModelSource
from explorer.gui.panels.main.tokens import NO_TYPE, NO_TYPE_HEADER
from explorer.gui.panels.plotting.plots import MASKED_GROUND, MASKED_TEXT, causal_mask
from explorer.gui.windows.main_window import MainWindow
from tests.families.builders import FAMILIES, SENTENCE
from tests.gui.conftest import TIMEOUT_MS, wait_for_result


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[..., :3]


def _masked_ground_pixels(widget) -> int:
    """Pixels of the masked cells' ground colour (a warm grey no colormap has)."""
    ground = QColor(MASKED_GROUND)
    bgr = (ground.blue(), ground.green(), ground.red())
    return int(np.all(_pixels(widget) == bgr, axis=-1).sum())


def test_one_window_loads_each_family_in_turn(qtbot, family_dir: Callable[[str], Path]) -> None:
    first = FAMILIES[0]
    window = MainWindow(source=ModelSource.parse(str(family_dir(first.name))), text="")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.show()
    window.resize(1400, 900)
    for family in FAMILIES:
        if family is not first:
            window.input_bar.model_combo.setEditText(str(family_dir(family.name)))
            with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
                window.input_bar.load_button.click()
        text = f"{SENTENCE} ({family.name})"
        window.input_bar.set_inputs(text)
        window.run_now()
        result = wait_for_result(qtbot, window, text)
        info = result.model
        assert info.model_type == family.model_type, family.name
        assert info.causal == family.causal and result.meta()["causal"] == family.causal

        # Attention: GPT-2's later keys are masked cells, never zero-weight cells.
        image = window.attention_panel.image
        count = result.num_tokens
        if family.causal:
            assert image.mask is not None and np.array_equal(image.mask, causal_mask(count))
            assert np.isnan(image.image[causal_mask(count)]).all()
            assert not np.isnan(image.image[~causal_mask(count)]).any()
            views = window.state.views
            overview = window.attention_panel.overview_image
            assert overview.mask is not None and overview.mask.shape == views.mosaic.shape
            tile = views.mosaic_tile
            if views.mosaic_factor == 1:  # one pixel a token: each tile is the causal mask
                np.testing.assert_array_equal(overview.mask[:tile, :tile], causal_mask(count))
            assert (views.mosaic[overview.mask] == 0).all()  # only cells of no weight
            image.cell_hovered.emit(0, count - 1)
            assert MASKED_TEXT in window.attention_panel.readout.text()
            image.cell_hovered.emit(count - 1, 0)
            assert MASKED_TEXT not in window.attention_panel.readout.text()
        else:
            assert image.mask is None and not np.isnan(image.image).any()
            assert window.attention_panel.overview_image.mask is None

        # Tokens: a family without token types says so instead of showing zeros.
        model = window.tokens_panel.table.model()
        header = model.headerData(3, Qt.Orientation.Horizontal)
        types = {row[3] for row in model.rows}
        flags = " ".join(row[6] for row in model.rows)
        if family.tokenizer_kind == "wordpiece":
            assert " cont" not in f" {flags}"
        else:  # "python" is several pieces in these small vocabularies: later ones say so
            assert "cont" in flags.split() and "##cont" not in flags
        if family.token_types:
            assert header == "type" and NO_TYPE not in types
        else:
            assert header == NO_TYPE_HEADER and types == {NO_TYPE}

        # Anatomy: the panel's total is the model's parameter count.
        anatomy = build_anatomy(info.parameters, info.num_layers)
        assert f"{anatomy.values:,} values" in window.anatomy_panel.totals.text()
        shared = [g for g in anatomy.groups if g.depths]
        assert bool(shared) == (family.name == "ALBERT")


def _window_showing_sentence(qtbot, folder: Path):
    """A window on ``folder`` that has run SENTENCE: (window, result)."""
    window = MainWindow(source=ModelSource.parse(str(folder)), text="")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.show()
    window.input_bar.set_inputs(SENTENCE)
    window.run_now()
    return window, wait_for_result(qtbot, window, SENTENCE)


def _shown_heatmap(qtbot, folder: Path):
    """A window on ``folder`` showing SENTENCE: its attention heatmap widget."""
    window, _ = _window_showing_sentence(qtbot, folder)
    qtbot.waitExposed(window.attention_panel.heatmap)
    return window.attention_panel.heatmap


def test_the_masked_triangle_is_painted_grey(qtbot, family_dir: Callable[[str], Path]) -> None:
    assert _masked_ground_pixels(_shown_heatmap(qtbot, family_dir("GPT-2"))) > 500
    # A stray antialiased pixel at most in a bidirectional model's map.
    assert _masked_ground_pixels(_shown_heatmap(qtbot, family_dir("BERT"))) < 20


def test_rollout_says_what_a_causal_model_changes(qtbot, family_dir: Callable[[str], Path]) -> None:
    from explorer.core.analysis.rollout import attention_rollout, causal_note, summary_position
    from explorer.core.inference import run_inference
    from explorer.core.loading import load_model
    from explorer.gui.panels.analysis.rollout import RolloutPanel

    window, result = _window_showing_sentence(qtbot, family_dir("GPT-2"))
    rollout = attention_rollout(result.attentions)
    count = result.num_tokens
    assert (rollout[:, causal_mask(count)] == 0).all()  # still lower-triangular
    assert summary_position(result) == count - 1  # the bars: the last token, not a [CLS]
    panel = window.findChild(RolloutPanel)
    panel._draw(rollout)  # what the worker's answer draws
    assert causal_note(result, "rollout") in panel.message.text()
    assert np.array_equal(panel.heatmap.image.mask, causal_mask(count))
    assert causal_note(result, "flow")
    bert = run_inference(load_model(ModelSource.parse(str(family_dir("BERT")))), SENTENCE)
    assert causal_note(bert, "rollout") == causal_note(bert, "flow") == ""
    assert summary_position(bert) == 0


def test_a_pooled_overview_masks_only_tiles_wholly_above_the_diagonal() -> None:
    from explorer.gui.panels.plotting.plots import causal_mosaic_mask

    tokens, factor, tile = 10, 3, 4
    mask = causal_mosaic_mask(2, 3, tokens, factor, tile)
    assert mask.shape == (2 * tile, 3 * tile)
    full = causal_mask(tokens)
    for row in range(tile):
        for col in range(tile):
            block = full[row * factor : (row + 1) * factor, col * factor : (col + 1) * factor]
            assert mask[row, col] == bool(block.all()), (row, col)
    np.testing.assert_array_equal(mask[tile:, 2 * tile :], mask[:tile, :tile])


def test_gpt2_walk_through_shows_the_causal_mask(qtbot, family_dir: Callable[[str], Path]) -> None:
    from explorer.core.why.qkv import WALK_THROUGH

    window, result = _window_showing_sentence(qtbot, family_dir("GPT-2"))
    window.state.set_layer(1)
    window.state.set_head(0)
    window.state.set_token(2)
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == WALK_THROUGH,
    ):
        window.docks["walk_through"].raise_()
    panel = window.analysis_panels["walk_through"]
    weights = panel.bars["weights"].opts["height"]
    np.testing.assert_allclose(weights, result.attentions[1, 0, 2], atol=1e-6)
    scores = np.asarray(panel.bars["scores"].opts["height"])
    assert np.isfinite(scores).all() and not scores[3:].any()  # masked keys: no bar
    panel.images["values"].cell_clicked.emit(0, 4, Qt.KeyboardModifier.NoModifier)
    assert MASKED_TEXT in panel.readout.text()
    panel.images["values"].cell_clicked.emit(0, 1, Qt.KeyboardModifier.NoModifier)
    assert "q·k/√d + mask" in panel.readout.text()
