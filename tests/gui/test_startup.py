"""The window run_gui opens: input bar and menus first, the panels once the model has loaded."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from explorer.core.sources import ModelSource
from explorer.gui.panels.analysis.common import on_screen
from explorer.gui.widgets.message_bar import Level
from explorer.gui.windows import main_window as main_window_module
from explorer.gui.windows.main_window import MainWindow
from explorer.gui.worker.model_worker import ModelController
from tests.gui.conftest import TIMEOUT_MS

SINAN = "Sinan loves a beautiful day"


def _dock_titles(window: MainWindow) -> list[str]:
    return [action.text() for action in window._view_menu.actions() if action.isCheckable()]


def test_panels_are_built_when_the_model_is_ready_and_show_its_first_result(qtbot, tiny_model_dir):
    window = MainWindow(
        source=ModelSource.parse(str(tiny_model_dir)), text=SINAN, panels_after_load=True
    )
    qtbot.addWidget(window)
    window.show()
    assert not window.panels_built
    placeholder = window.centralWidget()
    assert isinstance(placeholder, QLabel)
    assert "as soon as the model has loaded" in placeholder.text()
    assert window.input_bar.inputs() == (SINAN, None)  # the input is there to edit already
    # The load was asked for before the rest of the window existed; the window still shows it.
    assert window.controller.loading
    assert (
        window.model_status.busy_indicator.showing_soon
        or window.model_status.busy_indicator.isVisible()
    )
    assert window.input_bar.cancel_button.isVisible()
    assert not window.input_bar.load_button.isEnabled()
    assert "Attention" not in _dock_titles(window)

    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        pass
    assert window.panels_built
    assert window.centralWidget() is None
    for panel in (window.tokens_panel, window.attention_panel, window.norms_panel):
        assert on_screen(panel)
    assert on_screen(window.pooled_panel)
    # The tabs behind them stay buried, so they ask the worker for nothing.
    assert not on_screen(window.analysis_panels["rollout"])
    assert not on_screen(window.tokenization_panel)
    assert {"Tokens", "Attention", "Hidden-state norms", "Pooled vector"} <= set(
        _dock_titles(window)
    )

    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        pass
    count = window.state.result.num_tokens
    assert window.attention_panel.image.image.shape == (count, count)
    assert window.tokens_panel.table.model().rowCount() == count
    info = window.state.model_info
    assert window.model_status.model_label.text().startswith(f"{info.source} · {info.model_type}")


def test_a_failed_first_load_still_builds_the_panels_and_says_why(qtbot, tmp_path):
    window = MainWindow(
        source=ModelSource.parse(str(tmp_path / "no-such-model")),
        text=SINAN,
        panels_after_load=True,
    )
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.controller.load_failed, timeout=TIMEOUT_MS):
        pass
    assert window.panels_built
    assert window.message_bar.level is Level.ERROR
    assert "no-such-model" in window.message_bar.text()
    assert window.model_status.model_label.text() == "No model loaded"


def test_a_load_that_never_ends_still_gets_the_panels(qtbot, monkeypatch):
    monkeypatch.setattr(main_window_module, "PANELS_AT_LATEST_MS", 50)
    monkeypatch.setattr(ModelController, "request_load", lambda self, source: 0)
    window = MainWindow(text=SINAN, panels_after_load=True)
    qtbot.addWidget(window)
    window.show()
    assert not window.panels_built
    qtbot.waitUntil(lambda: window.panels_built, timeout=TIMEOUT_MS)
    assert on_screen(window.attention_panel)


def test_keys_that_need_the_panels_build_them_first(qtbot, monkeypatch):
    monkeypatch.setattr(ModelController, "request_load", lambda self, source: 0)
    window = MainWindow(text=SINAN, panels_after_load=True)
    qtbot.addWidget(window)
    window.show()
    window.toggle_panel_focus()  # F10
    assert window.panels_built
    assert window.panel_focus.focused == "attention"
    window.toggle_panel_focus()
    assert window.panel_focus.focused is None


def test_theme_and_font_changes_before_the_panels_reach_them(qtbot, monkeypatch):
    monkeypatch.setattr(ModelController, "request_load", lambda self, source: 0)
    window = MainWindow(text=SINAN, panels_after_load=True)
    qtbot.addWidget(window)
    window.look.set_theme("dark")
    window.look.set_font_scale(1.5)
    window.build_panels()
    heatmap = window.attention_panel.heatmap
    assert heatmap.backgroundBrush().color().name() == "#16171a"  # the dark plot background
    tick_font = heatmap.getPlotItem().getAxis("bottom").style["tickFont"]
    assert tick_font.pointSizeF() == 15.0


def test_closing_before_the_panels_exist_stops_the_worker(qtbot, tiny_model_dir):
    window = MainWindow(
        source=ModelSource.parse(str(tiny_model_dir)), text=SINAN, panels_after_load=True
    )
    window.show()
    window.close()
    assert not window.panels_built
    window.deleteLater()
