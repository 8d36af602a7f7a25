"""Lecture mode: keyboard stepping, full screen, one panel filling the window, fonts, themes."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from explorer.gui.state.explorer_state import MEAN_OF_HEADS
from explorer.gui.state.settings import Settings
from explorer.gui.widgets.shortcuts import ShortcutsDialog, shortcut_rows
from explorer.resources import load_examples
from tests.gui.conftest import wait_for_result

SINAN = "Sinan loves a beautiful day"


@pytest.fixture
def shown(qtbot, window):
    window.input_bar.set_inputs(SINAN)
    window.run_now()
    wait_for_result(qtbot, window, SINAN)
    window.activateWindow()
    qtbot.waitActive(window)
    return window


@pytest.mark.parametrize("focus", ["sentence", "table"])
def test_keyboard_steps_layers_heads_and_tokens(qtbot, shown, focus):
    target = shown.input_bar.sentence_a if focus == "sentence" else shown.tokens_panel.table
    target.setFocus()
    state = shown.state
    state.set_token(2)
    state.set_layer(0)
    state.set_head(MEAN_OF_HEADS)
    qtbot.keyClick(target, Qt.Key.Key_PageDown)
    assert state.layer == 1
    qtbot.keyClick(target, Qt.Key.Key_PageUp)
    assert state.layer == 0
    qtbot.keyClick(target, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert state.head == 0
    qtbot.keyClick(target, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert state.head == 1
    qtbot.keyClick(target, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert state.head == 0
    qtbot.keyClick(target, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert state.token == 3
    qtbot.keyClick(target, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert state.token == 2
    assert shown.input_bar.sentence_a.text() == SINAN  # no key leaked into the text


def test_layer_stepping_stops_at_the_last_layer(qtbot, shown):
    for _ in range(10):
        qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_PageDown)
    assert shown.state.layer == 3
    assert shown.attention_panel.layer_combo.currentText() == "Layer 4"


def test_f11_toggles_full_screen(qtbot, shown):
    qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_F11)
    assert shown.isFullScreen()
    qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_F11)
    assert not shown.isFullScreen()


def test_f10_fills_the_window_with_the_focused_panel_and_restores(qtbot, shown):
    shown.tokens_panel.table.setFocus()
    qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_F10)
    visible = [k for k, d in shown.docks.items() if d.isVisible()]
    assert visible == ["tokens"]
    assert not shown.input_bar.isVisible()
    qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_F10)
    assert shown.docks["attention"].isVisible() and shown.docks["norms"].isVisible()
    assert shown.input_bar.isVisible()


def test_font_scale_grows_widgets_and_plot_labels_and_is_remembered(qtbot, shown):
    axis = shown.attention_panel.heatmap.getPlotItem().getAxis("left")
    before_tick = axis.style["tickFont"].pointSizeF() if axis.style["tickFont"] else 0
    before_app = shown.font().pointSizeF()
    qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert shown.look.font_scale == pytest.approx(1.15**2, rel=1e-3)
    assert axis.style["tickFont"].pointSizeF() > before_tick
    # Qt propagates the application font to existing widgets through queued events.
    qtbot.waitUntil(lambda: shown.tokens_panel.table.font().pointSizeF() > before_app)
    assert shown.input_bar.sentence_a.font().pointSizeF() > before_app
    assert Settings().font_scale == pytest.approx(shown.look.font_scale)
    qtbot.keyClick(shown.tokens_panel.table, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert shown.look.font_scale == pytest.approx(1.15, rel=1e-3)
    shown.look.set_font_scale(1.0)


@pytest.fixture
def styled_app(shown):
    """The application as the app makes it (make_application); look reset afterwards."""
    from explorer.gui.app import make_application

    app = make_application()
    yield app
    shown.look.set_theme("light")
    shown.look.set_font_scale(1.0)


def test_larger_fonts_keep_the_window_on_the_screen(qtbot, shown, styled_app):
    available = shown.screen().availableGeometry()
    normal = shown.minimumSizeHint().width()
    shown.look.set_font_scale(3.0)
    qtbot.waitUntil(lambda: shown.minimumSizeHint().width() > 1.5 * normal)
    shown.look.set_font_scale(1.0)
    qtbot.waitUntil(lambda: shown.minimumSizeHint().width() < 1.2 * normal)
    # Qt grew the window for the large fonts; back at 100 % it fits the screen again (or
    # is as small as the panels allow, on a screen smaller than that).
    qtbot.waitUntil(
        lambda: shown.width() <= max(available.width(), shown.minimumSizeHint().width())
    )


def test_the_application_has_no_style_sheet(qtbot, shown, styled_app):
    # One would send every widget's painting through Qt's style-sheet style (slower), and
    # freeze fonts and palettes; the look is the palette and the application font.
    shown.message_bar.show_message("A notice, shown before the fonts grow")
    shown.look.set_theme("dark")
    shown.look.set_font_scale(1.5)
    assert styled_app.styleSheet() == ""
    size = styled_app.font().pointSizeF()
    for label in (
        shown.model_status.model_label,
        shown.tokens_panel.summary,
        shown.message_bar.label,
    ):
        qtbot.waitUntil(lambda label=label: label.font().pointSizeF() == pytest.approx(size))


def test_the_window_fits_a_1280_pixel_projector_at_normal_fonts(qtbot, shown):
    shown.look.set_font_scale(1.0)
    shown.build_panels()
    assert shown.minimumSizeHint().width() <= 1280


def test_theme_switch_restyles_plot_backgrounds(qtbot, shown):
    plots = [shown.attention_panel.heatmap, shown.norms_panel.heatmap, shown.pooled_panel.plot]
    shown.look.set_theme("light")
    assert all(p.backgroundBrush().color() == QColor("#ffffff") for p in plots)
    qtbot.keyClick(
        shown.tokens_panel.table,
        Qt.Key.Key_D,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert shown.look.theme.name == "dark"
    assert all(p.backgroundBrush().color() == QColor("#16171a") for p in plots)
    window_role = shown.palette().ColorRole.Window
    qtbot.waitUntil(lambda: shown.palette().color(window_role) == QColor("#1e1f22"))
    assert Settings().theme == "dark"
    shown.look.set_theme("light")


def test_a_new_theme_reaches_every_widget(qtbot, shown, styled_app):
    text_role = shown.palette().ColorRole.WindowText
    labels = [shown.tokens_panel.summary, shown.model_status.model_label]
    for name in ("dark", "light", "dark"):
        shown.look.set_theme(name)
        wanted = styled_app.palette().color(text_role)
        for label in labels:
            qtbot.waitUntil(lambda w=wanted, lab=label: lab.palette().color(text_role) == w)


def test_shortcuts_dialog_lists_every_stepping_key(qtbot, shown):
    dialog = shown.show_shortcuts()
    qtbot.addWidget(dialog)
    assert isinstance(dialog, ShortcutsDialog)
    commands = dict((label, keys) for keys, label in shortcut_rows(shown.shortcut_actions))
    for label in (
        "Next layer",
        "Previous layer",
        "Next head",
        "Previous head",
        "Next token",
        "Previous token",
        "Full screen",
        "Fill the window with the focused panel",
        "Larger fonts",
        "Smaller fonts",
    ):
        assert label in commands
    assert dialog.table.rowCount() == len(commands)


def test_examples_menu_runs_the_example(qtbot, shown):
    examples = load_examples()
    names = [e["name"] for e in examples]
    texts = [e["text"] for e in examples]
    assert "I love my pet python" in texts and SINAN in texts
    assert any(e["pair"] for e in examples) and len(names) >= 5
    assert max(len(t) for t in texts) > 500  # the long paragraph
    menu = next(a.menu() for a in shown.menuBar().actions() if a.text() == "&Examples")
    action = next(a for a in menu.actions() if a.text() == "Pet python (pair)")
    action.trigger()
    result = wait_for_result(qtbot, shown, "I love my pet python")
    assert result.pair == "Is it a snake?"


def test_plots_keep_a_perceptual_colormap_in_both_themes(qtbot, shown):
    for name in ("dark", "light"):
        shown.look.set_theme(name)
        lut = shown.attention_panel.image.lut
        viridis = pg.colormap.get("viridis").getLookupTable(nPts=len(lut))
        assert (abs(lut.astype(int)[:, :3] - viridis.astype(int)[:, :3]) <= 1).all()
