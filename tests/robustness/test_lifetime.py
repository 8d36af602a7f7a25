"""Load and lifetime: typing storms, closing mid-work, switching models, long runs."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from PySide6.QtWidgets import QApplication

from explorer.core.sources import ModelSource
from explorer.gui.worker.model_worker import ModelController
from tests.conftest import save_random_bert
from tests.gui.conftest import TIMEOUT_MS, wait_for_result

MB = 1024 * 1024


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / MB


@pytest.mark.slow
def test_typing_storm_shows_the_final_text_and_keeps_memory(qtbot, window, capsys):
    edit = window.input_bar.sentence_a
    window.input_bar.set_inputs("warm up")
    window.run_now()
    wait_for_result(qtbot, window, "warm up")
    before = rss_mb()
    final = "storm edit number 999"
    for i in range(1000):
        edit.setPlainText(f"storm edit number {i}")
        if i % 50 == 0:
            window.run_now()  # some edits really start work that the later ones make stale
        if i % 100 == 0:
            qtbot.keyClick(edit, "x")  # and some arrive as real key presses
        QApplication.processEvents()
    edit.setPlainText(final)
    result = wait_for_result(qtbot, window, final)
    assert result.text == final
    assert window.tokens_panel.table.model().rowCount() == result.num_tokens
    growth = rss_mb() - before
    with capsys.disabled():
        print(f"\n[storm] 1000 edits: RSS growth {growth:.1f} MB")
    assert growth < 50


def test_switching_models_mid_inference_never_mixes(qtbot, window, tmp_path):
    two_layers = save_random_bert(tmp_path / "two", num_hidden_layers=2, num_attention_heads=2)
    window.input_bar.set_inputs("word " * 500)
    window.run_now()
    window.load_model(ModelSource.parse(str(two_layers)))
    with qtbot.waitSignal(
        window.controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda outcome: outcome.result.model.num_layers == 2,
    ):
        pass
    result = window.state.result
    assert result.model.source == str(two_layers)
    assert result.attentions.shape[:2] == (2, 2)
    assert window.attention_panel.layer_combo.count() == 2
    assert window.attention_panel.head_combo.count() == 3
    assert window.norms_panel.image.image.shape[0] == 3


@pytest.mark.slow
def test_two_thousand_inferences_keep_memory_flat(qtbot, tiny_model_dir, capsys):
    controller = ModelController()
    try:
        with qtbot.waitSignal(controller.model_loaded, timeout=TIMEOUT_MS):
            controller.request_load(ModelSource.parse(str(tiny_model_dir)))
        samples = []
        for i in range(2000):
            with qtbot.waitSignal(controller.result_ready, timeout=TIMEOUT_MS):
                controller.request_inference(f"sentence number {i} " * (1 + i % 7), None)
            if i in (199, 999, 1999):
                samples.append(rss_mb())
    finally:
        controller.shutdown()
    with capsys.disabled():
        print(
            f"\n[long run] RSS after 200/1000/2000 inferences: "
            f"{samples[0]:.1f} / {samples[1]:.1f} / {samples[2]:.1f} MB"
        )
    assert samples[2] - samples[0] < 30


CLOSE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QTimer
    from explorer.core.sources import ModelSource
    from explorer.gui.app import exit_code_after, make_application
    from explorer.gui.windows.main_window import MainWindow

    moment, source, text = sys.argv[1], sys.argv[2], sys.argv[3]
    app = make_application()
    window = MainWindow(source=ModelSource.parse(source), text=text)
    window.show()

    def close_now(*_):
        print("CLOSING", repr(time.time()), flush=True)
        QTimer.singleShot(0, window.close)

    if moment == "load":
        window.controller.load_started.connect(close_now)
    else:
        # Once the model is ready, wait until the worker is inside the 512-token forward pass.
        def on_loaded(_info):
            QTimer.singleShot(300, close_now)
        window.controller.model_loaded.connect(on_loaded)
    sys.exit(exit_code_after(app.exec()))
    """
)


@pytest.fixture(scope="module")
def base_model_dir(tmp_path_factory):
    """A random BertConfig() (bert-base sizes) with the real vocabulary."""
    return save_random_bert(
        tmp_path_factory.mktemp("base-bert"),
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
    )


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["load", "inference"])
def test_closing_mid_work_exits_quickly_and_cleanly(moment, base_model_dir, tmp_path, capsys):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    text = "word " * 600  # truncated to 512 tokens: the longest forward pass there is
    process = subprocess.Popen(
        [sys.executable, "-c", CLOSE_SCRIPT, moment, str(base_model_dir), text],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    stdout, stderr = process.communicate(timeout=300)
    ended = time.time()
    closing = [line for line in stdout.splitlines() if line.startswith("CLOSING")]
    assert closing, stderr[-2000:]
    took = ended - float(closing[0].split()[1])
    with capsys.disabled():
        print(f"\n[close during {moment}] exit {took:.2f} s after close, code {process.returncode}")
    assert process.returncode == 0, stderr[-2000:]
    for bad in ("QThread", "Destroyed while", "Traceback", "Fatal"):
        assert bad not in stderr, stderr[-2000:]
    assert took < 2.0
