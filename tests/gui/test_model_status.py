"""A model remembered from the last run that is gone: the window opens on the embedded default."""

from __future__ import annotations

import shutil

import pytest

from explorer.core.sources import ModelSource
from explorer.gui.state.settings import Settings
from explorer.gui.windows.main_window import MainWindow
from tests.gui.conftest import TIMEOUT_MS


def _start(qtbot, **kwargs) -> MainWindow:
    window = MainWindow(text="I love my pet python", **kwargs)
    qtbot.addWidget(window)
    # One wait, for the result: it follows the load at once and may arrive before a second
    # wait would start.
    with qtbot.waitSignal(
        window.controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda outcome: outcome.result.text == "I love my pet python",
    ):
        window.show()
    return window


@pytest.mark.parametrize(
    "broken",
    ["deleted folder", "folder that no longer loads", "hub id not cached", "unparsable entry"],
)
def test_a_remembered_model_that_is_gone_opens_the_embedded_default(
    qtbot, tmp_path, tiny_model_dir, broken
):
    folder = tmp_path / "my-bert"
    shutil.copytree(tiny_model_dir, folder)
    spec = str(folder)
    if broken == "deleted folder":
        shutil.rmtree(folder)
    elif broken == "folder that no longer loads":
        (folder / "config.json").write_text("{ not json", encoding="utf-8")
    elif broken == "hub id not cached":
        spec = "nobody-here/not-cached-bert"  # offline, with an empty HF cache
    else:
        spec = "not a model: ?!"
    Settings().remember_model(spec)

    window = _start(qtbot)
    assert window.state.model_info.source == "embedded"
    text = window.message_bar.text()
    assert spec in text and "embedded default" in text
    if broken == "deleted folder":
        assert "no longer there" in text
    assert Settings().model_source == "embedded"  # the next start does not trip again


def test_the_embedded_default_is_remembered_only_once_it_loaded(qtbot, tmp_path):
    gone = str(tmp_path / "deleted-bert")
    Settings().remember_model(gone)
    window = MainWindow(text="")
    qtbot.addWidget(window)
    assert Settings().model_source == gone  # the fallback has not loaded yet
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.show()
    assert window.state.model_info.source == "embedded"
    assert gone in window.message_bar.text()
    assert Settings().model_source == "embedded"


def test_a_model_picked_during_the_remembered_load_that_fails_does_not_fall_back(
    qtbot, tmp_path, tiny_model_dir
):
    # The remembered model fails too, but a failure superseded by the pick is never reported.
    remembered = tmp_path / "broken-bert"
    shutil.copytree(tiny_model_dir, remembered)
    (remembered / "config.json").write_text("{ not json", encoding="utf-8")
    Settings().remember_model(str(remembered))
    window = MainWindow(text="")
    qtbot.addWidget(window)
    picked = ModelSource.parse(str(tmp_path / "nowhere"))
    with qtbot.waitSignal(window.controller.load_failed, timeout=TIMEOUT_MS):
        window.load_model(picked)  # before the remembered model answered: the newest wins
        window.show()
    text = window.message_bar.text()
    assert "does not exist" in text and "embedded default" not in text
    assert str(remembered) not in text
    assert not window.controller.loading
    assert window.state.model_info is None
    assert Settings().model_source == str(remembered)


def test_an_explicit_model_that_fails_keeps_the_message_and_no_fallback(qtbot, tmp_path):
    window = MainWindow(source=ModelSource.parse(str(tmp_path / "nowhere")), text="x")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.load_failed, timeout=TIMEOUT_MS):
        window.show()
    assert window.state.model_info is None
    assert "does not exist" in window.message_bar.text()
    assert window.model_status.model_label.text() == "No model loaded"


def test_a_remembered_model_that_loads_is_used(qtbot, tiny_model_dir):
    Settings().remember_model(str(tiny_model_dir))
    window = _start(qtbot)
    assert window.state.model_info.source == str(tiny_model_dir)
    assert "embedded default" not in window.message_bar.text()


def test_the_status_bar_names_a_half_precision_checkpoint(qtbot, tmp_path, tiny_model_dir):
    import torch
    from transformers import BertModel

    folder = tmp_path / "bf16"
    shutil.copytree(tiny_model_dir, folder)
    BertModel.from_pretrained(folder).to(torch.bfloat16).save_pretrained(folder)
    window = _start(qtbot, source=ModelSource.parse(str(folder)))
    assert window.state.result.attentions.dtype.name == "float32"
    label = window.model_status.model_label.text()
    assert label.startswith(str(folder)) and "stored as bfloat16, computed in float32" in label


def test_a_refused_session_stays_on_screen_when_the_first_model_loads(qtbot, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{ not a session", encoding="utf-8")
    window = MainWindow(source=ModelSource.embedded(), text="I love my pet python")
    qtbot.addWidget(window)
    window.show()
    assert not window.sessions.open(path)  # refused before the model has loaded
    refusal = window.message_bar.text()
    assert "Session not opened" in refusal
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        pass
    assert window.message_bar.text() == refusal


def test_a_load_error_is_cleared_by_the_next_model_that_loads(qtbot, tmp_path):
    window = _start(qtbot, source=ModelSource.embedded())
    with qtbot.waitSignal(window.controller.load_failed, timeout=TIMEOUT_MS):
        window.load_model(ModelSource.parse(str(tmp_path / "nowhere")))
    assert "Model not loaded" in window.message_bar.text()
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.load_model(ModelSource.embedded())
    assert "Model not loaded" not in window.message_bar.text()
