"""The worker's on-demand analyses: computed for the result on show, stale ones dropped."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.analysis import registry
from explorer.core.sources import ModelSource
from explorer.gui.state.explorer_state import AnalysisFailure
from tests.gui.conftest import TIMEOUT_MS, wait_for_result


@pytest.fixture
def column_sums(monkeypatch):
    calls: list[tuple[str, dict]] = []

    def analysis(_loaded, result, params):
        calls.append((result.text, dict(params)))
        if params.get("fail"):
            raise ValueError("asked to fail")
        return result.attentions[params["layer"]].sum(axis=(0, 1))

    monkeypatch.setitem(registry.ANALYSES, "test_column_sums", registry.AnalysisSpec(analysis))
    return calls


def test_analysis_arrives_in_the_state_and_is_cached(qtbot, window, column_sums):
    window.input_bar.set_inputs("hello there")
    window.run_now()
    result = wait_for_result(qtbot, window, "hello there")
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        window.state.request_analysis("test_column_sums", layer=1)
    params, payload = window.state.analysis("test_column_sums")
    assert params == {"layer": 1}
    np.testing.assert_allclose(payload, result.attentions[1].sum(axis=(0, 1)))
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        window.state.request_analysis("test_column_sums", layer=1)
    assert len(column_sums) == 1  # served from the worker's per-result cache


def test_analysis_for_an_old_result_is_dropped(qtbot, window, column_sums):
    window.input_bar.set_inputs("first text")
    window.run_now()
    wait_for_result(qtbot, window, "first text")
    window.state.request_analysis("test_column_sums", layer=0)
    window.input_bar.set_inputs("second text")
    window.run_now()
    wait_for_result(qtbot, window, "second text")
    assert window.state.analysis("test_column_sums") is None
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        window.state.request_analysis("test_column_sums", layer=0)
    assert column_sums[-1][0] == "second text"


def test_failed_analysis_is_reported_to_its_panel(qtbot, window, column_sums):
    window.input_bar.set_inputs("hello")
    window.run_now()
    wait_for_result(qtbot, window, "hello")
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        window.state.request_analysis("test_column_sums", layer=0, fail=True)
    _, payload = window.state.analysis("test_column_sums")
    assert isinstance(payload, AnalysisFailure)
    assert "asked to fail" in payload.message


def test_unknown_analysis_says_so(qtbot, window):
    window.input_bar.set_inputs("hello")
    window.run_now()
    wait_for_result(qtbot, window, "hello")
    with qtbot.waitSignal(window.state.analysis_changed, timeout=TIMEOUT_MS):
        window.state.request_analysis("no_such_thing")
    _, payload = window.state.analysis("no_such_thing")
    assert "no analysis called 'no_such_thing'" in payload.message


def test_a_loaded_model_is_left_out_of_full_garbage_collections(window):
    import gc

    # The window fixture waited for the model: its objects are in the permanent generation.
    assert gc.get_freeze_count() > 10_000


def test_the_model_loads_without_garbage_collections(qtbot, window, tiny_model_dir, monkeypatch):
    """A load pauses Python's collector (0.76 s of full scans in a bare load) and resumes it."""
    import gc

    import explorer.core.loading as loading

    seen: list[bool] = []
    real_load = loading.load_model

    def recording_load(*args, **kwargs):
        seen.append(gc.isenabled())
        return real_load(*args, **kwargs)

    monkeypatch.setattr(loading, "load_model", recording_load)
    assert gc.isenabled()
    with qtbot.waitSignal(window.controller.model_loaded, timeout=TIMEOUT_MS):
        window.controller.request_load(ModelSource.parse(str(tiny_model_dir)))
    assert seen == [False]
    assert gc.isenabled()


def test_identical_jobs_all_run_and_each_is_reported(qtbot, window, monkeypatch):
    """Jobs are side effects: two identical ones both run, none is cached or dropped."""
    calls: list[str] = []

    def job(_loaded, result, params):
        calls.append(params["path"])
        return params["path"]

    monkeypatch.setitem(registry.JOBS, "test_write", job)
    window.input_bar.set_inputs("hello there")
    window.run_now()
    result = wait_for_result(qtbot, window, "hello there")
    done: list[tuple[int, str, str]] = []
    window.controller.job_done.connect(lambda *reply: done.append(reply))
    asked = [window.controller.request_job("test_write", result, {"path": "x"}) for _ in range(2)]
    asked.append(window.controller.request_job("test_write", result, {"path": "y"}))
    qtbot.waitUntil(lambda: len(done) == 3, timeout=TIMEOUT_MS)
    assert calls == ["x", "x", "y"]
    assert done == [
        (asked[0], "test_write", "x"),
        (asked[1], "test_write", "x"),
        (asked[2], "test_write", "y"),
    ]


def test_a_failing_job_is_reported_with_its_id(qtbot, window, monkeypatch):
    def job(_loaded, _result, _params):
        raise ValueError("disk on fire")

    monkeypatch.setitem(registry.JOBS, "test_write", job)
    window.input_bar.set_inputs("hello")
    window.run_now()
    result = wait_for_result(qtbot, window, "hello")
    with qtbot.waitSignal(window.controller.job_failed, timeout=TIMEOUT_MS) as blocker:
        asked = window.controller.request_job("test_write", result, {})
    request_id, name, message = blocker.args
    assert (request_id, name) == (asked, "test_write")
    assert "disk on fire" in message


def test_each_client_drops_only_its_own_stale_replies(qtbot, window):
    """Latest wins within a client; another client's newer request never makes one stale."""
    other = window.controller.client()
    got: dict[str, list[str]] = {"main": [], "other": []}
    window.controller.result_ready.connect(lambda o: got["main"].append(o.result.text))
    other.result_ready.connect(lambda o: got["other"].append(o.result.text))
    window.controller.request_inference("main one", None)
    other.request_inference("other one", None)
    window.controller.request_inference("main two", None)  # "main one" is stale now
    qtbot.waitUntil(
        lambda: got["main"] == ["main two"] and got["other"] == ["other one"], timeout=TIMEOUT_MS
    )
    other.close()  # a closed client hears nothing more; the worker goes on for the rest
    other.request_inference("unheard", None)
    window.controller.request_inference("main three", None)
    qtbot.waitUntil(lambda: got["main"][-1:] == ["main three"], timeout=TIMEOUT_MS)
    assert got["other"] == ["other one"]


def test_a_clients_streams_keep_their_own_newest_result_and_analyses(qtbot, window, column_sums):
    """A client showing two results (compare's sides) can ask analyses of either of them."""
    sides = window.controller.client()
    results: dict[str, object] = {}
    sides.result_ready.connect(lambda outcome: results.__setitem__(outcome.stream, outcome))
    sides.request_inference("side a", None, "a")
    sides.request_inference("side b", None, "b")  # another stream: "side a" is not stale
    qtbot.waitUntil(lambda: set(results) == {"a", "b"}, timeout=TIMEOUT_MS)
    assert results["a"].result.text == "side a" and results["b"].result.text == "side b"
    with qtbot.waitSignals(
        [sides.analysis_ready] * 2,
        check_params_cbs=[
            lambda outcome: outcome.stream == "a",
            lambda outcome: outcome.stream == "b",
        ],
        timeout=TIMEOUT_MS,
    ):
        sides.request_analysis("test_column_sums", {"layer": 0}, "a")  # A's result: still kept
        sides.request_analysis("test_column_sums", {"layer": 0}, "b")  # latest wins per stream
    assert sorted(text for text, _ in column_sums) == ["side a", "side b"]
    with qtbot.waitSignal(sides.analysis_failed, timeout=TIMEOUT_MS) as failed:
        sides.request_analysis("test_column_sums", {"layer": 0, "fail": True}, "a")
    assert failed.args[0] == "test_column_sums" and failed.args[2] == "a"
    sides.close()


def test_an_analysis_of_its_own_inputs_survives_a_new_result(qtbot, window, monkeypatch):
    """The Context panel's sentences are not the result's: a new A must not drop its answer."""
    import threading

    gate = threading.Event()

    def blocked(_loaded, _result, _params):
        gate.wait(TIMEOUT_MS / 1000)
        return 0

    def own_inputs(_loaded, _result, params):
        return params["word"].upper()

    monkeypatch.setitem(registry.ANALYSES, "test_gate", registry.AnalysisSpec(blocked, False))
    monkeypatch.setitem(registry.ANALYSES, "test_own", registry.AnalysisSpec(own_inputs, False))
    window.input_bar.set_inputs("first text")
    window.run_now()
    wait_for_result(qtbot, window, "first text")
    window.state.request_analysis("test_gate")  # keeps the worker busy while both are asked
    window.state.request_analysis("test_own", word="bank")
    window.input_bar.set_inputs("second text")
    window.run_now()  # taken before the analysis: the worker runs inferences first
    gate.set()
    with qtbot.waitSignal(
        window.state.analysis_changed,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda name: name == "test_own",
    ):
        pass
    assert window.state.result.text == "second text"
    assert window.state.analysis("test_own") == ({"word": "bank"}, "BANK")
