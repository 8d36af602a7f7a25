"""Both models of a comparison live in the one worker thread; B never loads a second A."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from explorer.core.compare_models import compare_models
from explorer.core.sources import ModelSource
from explorer.gui.worker.model_worker import (
    SECOND_MODEL,
    ModelController,
    running_worker_threads,
    weight_bytes,
)
from tests.families.builders import SENTENCE
from tests.gui.conftest import TIMEOUT_MS


def _result(qtbot, controller: ModelController, stream: str, model: str | None):
    with qtbot.waitSignal(
        controller.result_ready,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda outcome: outcome.stream == stream,
    ) as blocker:
        controller.request_inference(SENTENCE, None, stream=stream, model=model)
    return blocker.args[0].result


def test_two_models_run_in_the_one_worker(qtbot, family_dir: Callable[[str], Path]) -> None:
    controller = ModelController()
    try:
        bert = ModelSource.parse(str(family_dir("BERT")))
        with qtbot.waitSignal(controller.model_loaded, timeout=TIMEOUT_MS):
            controller.request_load(bert)
        worker = controller.worker
        a_loaded = worker._loaded

        # B is A's source: the worker holds A's very weights as B, loaded once.
        with qtbot.waitSignal(controller.second_model_loaded, timeout=TIMEOUT_MS) as same:
            controller.request_second_model(bert)
        assert same.args[0] == controller.current_model
        assert worker._second is a_loaded
        assert "loaded once" in controller.memory_text()

        # B is GPT-2: its own model, in the same thread; A stays what it was.
        with qtbot.waitSignal(controller.second_model_loaded, timeout=TIMEOUT_MS) as loaded:
            controller.request_second_model(ModelSource.parse(str(family_dir("GPT-2"))))
        info_b = loaded.args[0]
        assert info_b.model_type == "gpt2" and worker._loaded is a_loaded
        assert worker._second is not a_loaded
        expected = (
            f"= {(weight_bytes(controller.current_model) + weight_bytes(info_b)) / 1e6:,.1f} MB"
        )
        assert expected in controller.memory_text()

        result_a = _result(qtbot, controller, "a", None)
        result_b = _result(qtbot, controller, "b", SECOND_MODEL)
        assert result_a.model.model_type == "bert" and result_b.model.model_type == "gpt2"
        result_b_again = _result(qtbot, controller, "b", None)  # the stream keeps model B
        assert result_b_again.model.model_type == "gpt2"
        comparison = compare_models(result_a, result_b)
        assert comparison.layer_cka_ab.shape == (4, 3)
        assert np.isfinite(comparison.layer_cka_ab).all()

        # A broken B is a message; the B in use stays.
        with qtbot.waitSignal(controller.second_model_failed, timeout=TIMEOUT_MS) as failed:
            controller.request_second_model(ModelSource.parse(str(family_dir("BERT")) + "-gone"))
        assert "does not exist" in failed.args[0]
        assert controller.second_model == info_b
    finally:
        controller.shutdown()
    assert not running_worker_threads()
