"""Exports and sessions from the window: files round-trip and nothing is overwritten."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PySide6.QtGui import QImage

from explorer.core.api import inspect_arrays
from explorer.core.session import Session, save_session
from explorer.core.sources import ModelSource
from explorer.gui.widgets.message_bar import Level
from explorer.gui.windows.main_window import MainWindow
from tests.gui.conftest import TIMEOUT_MS, wait_for_result

PET, SNAKE = "I love my pet python", "Is it a snake?"


@pytest.fixture
def pet_window(qtbot, window):
    window.input_bar.set_inputs(PET, SNAKE)
    window.run_now()
    wait_for_result(qtbot, window, PET)
    return window


def test_npz_export_equals_inspect(qtbot, pet_window, tiny_model_dir, tmp_path):
    path = tmp_path / "gui.npz"
    with qtbot.waitSignal(pet_window.controller.job_done, timeout=TIMEOUT_MS):
        pet_window.exporter.tensors_npz(path)
    assert pet_window.message_bar.text() == f"Saved {path}"
    _, expected = inspect_arrays(PET, SNAKE, model=str(tiny_model_dir))
    got = np.load(path, allow_pickle=False)
    assert set(got.files) == set(expected)
    for key, value in expected.items():
        if key == "meta":
            assert json.loads(str(got[key])) == json.loads(str(value))
        elif value.dtype.kind in "fc":
            np.testing.assert_allclose(got[key], value, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_npz_export_refuses_to_overwrite(qtbot, pet_window, tmp_path):
    path = tmp_path / "exists.npz"
    path.write_bytes(b"keep")
    with qtbot.waitSignal(pet_window.controller.job_failed, timeout=TIMEOUT_MS):
        pet_window.exporter.tensors_npz(path)
    assert path.read_bytes() == b"keep"
    assert pet_window.message_bar.level is Level.ERROR
    assert "already exists" in pet_window.message_bar.text()


@pytest.mark.parametrize("export, name", [("tensors_npz", "again.npz"), ("matrix_csv", "a.csv")])
def test_exporting_twice_writes_twice(qtbot, pet_window, tmp_path, export, name):
    """A write is a job, never a cached answer: deleted or changed, the file comes back."""
    path = tmp_path / name
    write = getattr(pet_window.exporter, export)
    with qtbot.waitSignal(pet_window.controller.job_done, timeout=TIMEOUT_MS):
        write(path)
    assert pet_window.message_bar.text() == f"Saved {path}"
    first = path.read_bytes()
    path.unlink()
    with qtbot.waitSignal(pet_window.controller.job_done, timeout=TIMEOUT_MS):
        write(path)
    assert path.read_bytes() == first
    assert pet_window.message_bar.text() == f"Saved {path}"
    path.write_bytes(b"changed")
    with qtbot.waitSignal(pet_window.controller.job_done, timeout=TIMEOUT_MS):
        write(path, overwrite=True)  # what the save dialog does once the user said yes
    assert path.read_bytes() == first
    assert pet_window.message_bar.text() == f"Saved {path}"


def test_tokens_csv_parses_back(pet_window, tmp_path):
    path = pet_window.exporter.tokens_csv(tmp_path / "tokens.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    result = pet_window.state.result
    assert rows[0][:4] == ["index", "token", "id", "token_type"]
    assert [r[1] for r in rows[1:]] == result.tokens.tolist()
    assert [int(r[2]) for r in rows[1:]] == result.input_ids.tolist()
    assert [int(r[3]) for r in rows[1:]] == result.token_type_ids.tolist()
    assert rows[6][7] == "python"


def test_matrix_csv_parses_back_to_the_same_values(qtbot, pet_window, tmp_path):
    pet_window.state.set_layer(2)
    pet_window.state.set_head(1)
    path = tmp_path / "head.csv"
    with qtbot.waitSignal(pet_window.controller.job_done, timeout=TIMEOUT_MS):
        pet_window.exporter.matrix_csv(path)  # written by the worker
    assert pet_window.message_bar.text() == f"Saved {path}"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    values = np.array([[float(v) for v in row[1:]] for row in rows[1:]], dtype=np.float32)
    np.testing.assert_array_equal(values, pet_window.state.result.attentions[2, 1])
    assert rows[0][1] == "0:[CLS]" and rows[6][0] == "5:python"


def test_png_export_has_the_requested_width_and_is_not_blank(pet_window, tmp_path):
    for key in ("attention", "tokens"):
        path = pet_window.exporter.panel_png(key, tmp_path / f"{key}.png", width=1200)
        image = QImage(str(path))
        assert image.width() == 1200
        colors = {
            image.pixel(x, y) for x in range(0, 1200, 37) for y in range(0, image.height(), 37)
        }
        assert len(colors) > 5
    window_path = pet_window.exporter.window_png(tmp_path / "window.png", width=2400)
    assert QImage(str(window_path)).width() == 2400


def test_svg_export_is_vector(pet_window, tmp_path):
    path = pet_window.exporter.panel_svg("norms", tmp_path / "norms.svg")
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text and "</svg>" in text
    assert "<text" in text or "<path" in text


def test_exports_never_overwrite_and_report_write_errors(pet_window, tmp_path):
    existing = tmp_path / "taken.png"
    existing.write_bytes(b"keep")
    assert pet_window.exporter.panel_png("attention", existing, width=800) is None
    assert existing.read_bytes() == b"keep"
    assert "already exists" in pet_window.message_bar.text()
    missing_dir = tmp_path / "no" / "such" / "dir" / "t.csv"
    assert pet_window.exporter.tokens_csv(missing_dir) is None
    assert pet_window.message_bar.level is Level.ERROR
    assert "Could not write" in pet_window.message_bar.text()
    assert pet_window.state.result is not None


def test_panels_offer_exports_in_their_context_menu(pet_window):
    for dock in pet_window.docks.values():
        labels = [a.text() for a in dock.widget().actions()]
        assert "Export this panel as PNG…" in labels and "Export this panel as SVG…" in labels


def test_session_saved_then_opened_in_a_new_window_gives_the_same_view(
    qtbot, pet_window, tmp_path, tiny_model_dir
):
    state = pet_window.state
    state.set_layer(2)
    state.set_head(3)
    state.set_token(5)
    pet_window.look.set_font_scale(1.3)
    assert pet_window.isWindowModified()
    path = pet_window.sessions.save_to(tmp_path / "pet.json")
    assert path is not None and not pet_window.isWindowModified()
    assert pet_window.windowTitle().startswith("pet.json")
    pet_window.look.set_font_scale(1.0)

    other = MainWindow(source=ModelSource.embedded(), text="something else")
    qtbot.addWidget(other)
    with qtbot.waitSignal(
        other.state.token_changed, timeout=TIMEOUT_MS, check_params_cb=lambda token: token == 5
    ):
        assert other.sessions.open(path)
    assert other.state.result.text == PET and other.state.result.pair == SNAKE
    assert other.state.model_info.source == str(tiny_model_dir)
    assert (other.state.layer, other.state.head, other.state.token) == (2, 3, 5)
    assert other.look.font_scale == pytest.approx(1.3)
    assert not other.isWindowModified()
    recent = [a.text() for a in other.sessions.recent_menu.actions()]
    assert str(path.resolve()) in recent
    other.look.set_font_scale(1.0)


def test_bad_session_loads_nothing(qtbot, pet_window, tmp_path):
    before = (pet_window.state.result, pet_window.input_bar.inputs())
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "bert-explorer-session", "version": 1, "inputs": 3}')
    assert not pet_window.sessions.open(bad)
    assert "Session not opened" in pet_window.message_bar.text()
    assert (pet_window.state.result, pet_window.input_bar.inputs()) == before


def test_session_with_a_missing_model_offers_the_picker(qtbot, pet_window, tmp_path):
    path = tmp_path / "gone.json"
    path.write_text(json.dumps(Session("x", None, "/models/that/moved").to_json()))
    assert not pet_window.sessions.open(path)
    assert "model folder" in pet_window.message_bar.text()
    assert "model picker" in pet_window.message_bar.text()
    assert pet_window.input_bar.model_combo.view().isVisible()
    pet_window.input_bar.model_combo.hidePopup()


def test_command_line_opens_a_session(tmp_path, tiny_model_dir):
    import os
    import subprocess
    import sys

    path = save_session(Session(PET, SNAKE, str(tiny_model_dir), 1, 2, 3), tmp_path / "s.json")
    probe = (
        "import sys\n"
        "from PySide6.QtCore import QTimer\n"
        "import explorer.gui.app as app_module\n"
        "from explorer.gui.windows.main_window import MainWindow\n"
        "orig = MainWindow.__init__\n"
        "def init(self, *a, **k):\n"
        "    orig(self, *a, **k)\n"
        "    def done():\n"
        "        s = self.state\n"
        "        if s.result is not None and s.token == 3:\n"
        "            print('VIEW', s.result.text, s.layer, s.head, s.token, flush=True)\n"
        "            self.close()\n"
        "    self.state.token_changed.connect(done)\n"
        "MainWindow.__init__ = init\n"
        "from explorer.cli import main\n"
        f"sys.exit(main([{str(path)!r}]))\n"
    )
    # The app remembers its model and inputs: in a home of this test's own, never the user's.
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"VIEW {PET} 1 2 3" in done.stdout
    remembered = home / ".config" / "bert-explorer" / "BERT Attention Explorer.ini"
    assert str(tiny_model_dir) in remembered.read_text(encoding="utf-8")
