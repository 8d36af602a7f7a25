"""Model picker: embedded, cached and recent models; cancel; everything remembered."""

from __future__ import annotations

from huggingface_hub import constants

from explorer.core.sources import ModelSource
from explorer.gui.state.settings import Settings
from explorer.gui.windows.main_window import MainWindow
from tests.core.test_cache_scan import add_folder_to_hf_cache
from tests.gui.conftest import TIMEOUT_MS, wait_for_result


def picker_items(window: MainWindow) -> list[tuple[str, str]]:
    combo = window.input_bar.model_combo
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def test_picker_lists_embedded_cached_and_recent(qtbot, tmp_path, tiny_model_dir, monkeypatch):
    cache = tmp_path / "hub"
    add_folder_to_hf_cache(cache, "org/tiny-bert", tiny_model_dir)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    Settings().remember_model("/some/old/folder")
    window = MainWindow(source=ModelSource.parse(str(tiny_model_dir)), text="")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.cached_models_found, timeout=TIMEOUT_MS):
        pass
    qtbot.waitUntil(lambda: window.state.model_info is not None, timeout=TIMEOUT_MS)
    data = [d for _, d in picker_items(window)]
    assert data[0] == "embedded"
    assert "org/tiny-bert" in data
    assert str(tiny_model_dir) in data and "/some/old/folder" in data

    combo = window.input_bar.model_combo
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS) as loaded:
        combo.setCurrentIndex(data.index("org/tiny-bert"))
        combo.activated.emit(combo.currentIndex())
    assert loaded.args[0].source == "org/tiny-bert"
    assert window.state.model_info.source == "org/tiny-bert"


def test_model_and_inputs_are_remembered(qtbot, tiny_model_dir):
    first = MainWindow(source=ModelSource.parse(str(tiny_model_dir)), text="")
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.controller.model_loaded, timeout=TIMEOUT_MS):
        pass
    first.input_bar.set_inputs("remember me", "and me")
    first.run_now()
    wait_for_result(qtbot, first, "remember me")
    first.close()

    second = MainWindow()  # no source, no text: restore the last session's
    qtbot.addWidget(second)
    assert second.input_bar.inputs() == ("remember me", "and me")
    # One wait for both: the restored inputs run as soon as the model is in, and their result
    # can arrive while a wait for model_loaded alone is still ending (a race seen in CI).
    with qtbot.waitSignal(
        second.controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda outcome: outcome.result.text == "remember me",
    ) as shown:
        pass
    assert second.state.model_info.source == str(tiny_model_dir)
    assert shown.args[0].result.pair == "and me"


def test_cancelling_a_load_keeps_the_old_model(qtbot, window):
    old = window.state.model_info
    with qtbot.waitSignal(window.controller.load_cancelled, timeout=TIMEOUT_MS):
        window.load_model(ModelSource.embedded())
        assert window.input_bar.cancel_button.isVisibleTo(window)
        window.input_bar.cancel_button.click()
    assert window.state.model_info == old
    assert not window.input_bar.cancel_button.isVisibleTo(window)
    assert "cancelled" in window.message_bar.text()
    window.input_bar.set_inputs("still works")
    window.run_now()
    assert wait_for_result(qtbot, window, "still works").model == old


def test_load_progress_is_reported(qtbot, window, tiny_model_dir):
    stages: list[str] = []
    window.controller.load_progress.connect(lambda stage, _pct: stages.append(stage))
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.load_model(ModelSource.parse(str(tiny_model_dir)))
    assert stages[0] == "Checking the source" and stages[-1] == "Ready"
    assert "Loading the weights" in stages
