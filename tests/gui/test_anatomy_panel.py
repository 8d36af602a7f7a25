"""Model anatomy panel: build state, build the panel, change the model or layer, assert."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from explorer.core.anatomy import parameter_table
from explorer.core.loading import load_model
from explorer.core.sources import ModelSource
from explorer.gui.panels.main.anatomy import NO_MODEL_TEXT, SELECTED_BACKGROUND, AnatomyPanel
from explorer.gui.state.explorer_state import ExplorerState
from tests.conftest import save_random_bert


@pytest.fixture(scope="module")
def models_by_depth(tmp_path_factory):
    """Tiny random BERTs of 4, 12 and 24 layers, loaded the way the worker loads them."""
    return {
        depth: load_model(
            ModelSource.parse(
                str(save_random_bert(tmp_path_factory.mktemp(f"d{depth}"), num_hidden_layers=depth))
            )
        )
        for depth in (4, 12, 24)
    }


def make_panel(qtbot, info=None) -> AnatomyPanel:
    state = ExplorerState()
    panel = AnatomyPanel(state)
    qtbot.addWidget(panel)
    if info is not None:
        state.set_model_info(info)
    return panel


def click(qtbot, panel: AnatomyPanel, item) -> None:
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_bert_base_sizes_show_199_parameters_and_109482240_values(qtbot, tiny_model):
    import torch
    from transformers import BertConfig, BertModel

    with torch.device("meta"):  # bert-base shapes without allocating 440 MB
        base = BertModel(BertConfig())
    info = dataclasses.replace(
        tiny_model.info,
        num_layers=12,
        num_heads=12,
        hidden_size=768,
        intermediate_size=3072,
        parameters=parameter_table(base),
    )
    panel = make_panel(qtbot, info)
    assert panel.totals.text() == "199 named parameters · 109,482,240 values (109.5 M)"
    titles = [item.text(0) for item in panel.group_items()]
    assert titles == [
        "Embedding layer",
        *[f"Encoder {i}" for i in range(1, 13)],
        "Output layer (pooler)",
    ]
    embeddings = panel.group_items()[0]
    assert embeddings.isExpanded()
    rows = [
        tuple(embeddings.child(i).text(c) for c in range(3)) for i in range(embeddings.childCount())
    ]
    assert rows[0] == ("word_embeddings.weight", "30,522 × 768  (V × d)", "23,440,896")
    assert rows[1] == ("position_embeddings.weight", "512 × 768  (P × d)", "393,216")
    assert rows[2] == ("token_type_embeddings.weight", "2 × 768  (types × d)", "1,536")
    assert [r[0] for r in rows[3:]] == ["LayerNorm.weight", "LayerNorm.bias"]
    encoder = panel.encoder_item(0)
    assert (encoder.text(1), encoder.text(2)) == ("16 tensors", "7,087,872")
    assert encoder.childCount() == 16 and not encoder.isExpanded()
    assert encoder.child(10).text(1) == "3,072 × 768  (d_ff × d)"
    assert panel.config_rows() == {
        "layers": "12",
        "attention heads": "12",
        "hidden size d": "768",
        "intermediate size d_ff": "3,072",
        "vocabulary V": "30,522",
        "maximum positions P": "512",
        "token type vocabulary": "2",
        "attention implementation": "eager",
    }


@pytest.mark.parametrize("depth", [4, 12, 24])
def test_models_of_any_depth_drive_the_panel(qtbot, models_by_depth, depth):
    loaded = models_by_depth[depth]
    panel = make_panel(qtbot, loaded.info)
    state = panel._state
    values = sum(p.numel() for p in loaded.model.parameters())
    assert panel.totals.text().startswith(f"{5 + 16 * depth + 2} named parameters · {values:,}")
    encoders = [item for item in panel.group_items() if item.data(0, Qt.ItemDataRole.UserRole) >= 0]
    assert [item.text(0) for item in encoders] == [f"Encoder {i}" for i in range(1, depth + 1)]
    assert panel.config_rows()["layers"] == str(depth)
    click(qtbot, panel, panel.encoder_item(depth - 1))
    assert state.layer == depth - 1
    click(qtbot, panel, panel.group_items()[0])  # the embedding layer is no encoder
    assert state.layer == depth - 1
    click(qtbot, panel, panel.encoder_item(1))
    assert state.layer == 1


def test_the_selected_layer_is_marked_and_arrow_keys_select_layers(qtbot, models_by_depth):
    panel = make_panel(qtbot, models_by_depth[4].info)
    state = panel._state
    state.set_layer(2)
    marked = [
        item.text(0)
        for item in panel.group_items()
        if item.background(0).color().name() == SELECTED_BACKGROUND
    ]
    assert marked == ["Encoder 3"]
    assert panel.encoder_item(2).font(0).bold()
    panel.tree.setFocus()
    panel.tree.setCurrentItem(panel.encoder_item(0))
    assert state.layer == 0
    qtbot.keyClick(panel.tree, Qt.Key.Key_Down)
    assert state.layer == 1
    assert panel.encoder_item(1).font(0).bold() and not panel.encoder_item(2).font(0).bold()


def test_a_new_model_rebuilds_the_tree_and_keeps_the_layer_in_range(qtbot, models_by_depth):
    panel = make_panel(qtbot, models_by_depth[24].info)
    state = panel._state
    state.set_layer(20)
    state.set_model_info(models_by_depth[4].info)
    assert len([i for i in panel.group_items() if i.text(0).startswith("Encoder")]) == 4
    assert state.layer == 3
    assert panel.encoder_item(3).font(0).bold()


def test_no_model_and_untrained_pooler_are_said_plainly(qtbot, tiny_model):
    panel = make_panel(qtbot)
    assert panel.totals.text() == NO_MODEL_TEXT
    assert panel.tree.topLevelItemCount() == 0
    panel._state.set_model_info(dataclasses.replace(tiny_model.info, has_pooler=False))
    assert (
        panel.group_items()[-1].text(0) == "Output layer (pooler), not trained in this checkpoint"
    )


def test_window_has_the_anatomy_of_the_loaded_model(qtbot, window):
    panel = window.docks["anatomy"].widget()
    assert panel.totals.text().startswith("71 named parameters")
    click(qtbot, panel, panel.encoder_item(2))
    assert window.state.layer == 2
    assert window.attention_panel.layer_combo.currentIndex() == 2


def test_group_names_are_whole_in_a_narrow_panel(qtbot, models_by_depth):
    panel = make_panel(qtbot, models_by_depth[12].info)
    panel.resize(260, 500)
    panel.show()
    qtbot.waitExposed(panel)
    tree = panel.tree
    metrics = tree.fontMetrics()
    for index in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(index)
        text_width = metrics.horizontalAdvance(item.text(0))
        assert tree.columnWidth(0) >= text_width, item.text(0)  # not elided to "…"
