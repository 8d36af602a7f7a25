"""The benchmark cannot rot, and 512 tokens still fill every panel (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.bench.common import sentence_of_length
from explorer.core.inference import run_inference
from explorer.core.views import attention_mosaic, mosaic_cell, mosaic_geometry

REPO = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    # Its settings and models go to temporary folders: below this test's own (TMPDIR).
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HF_HUB_OFFLINE": "1",
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "explorer.bench", "--smoke", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "edit→paint" in done.stdout and "Targets met" in done.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))
    for key in ("bare_forward_ms", "edit_to_paint_ms", "ratio"):
        for model in ("embedded", "base"):
            assert figures[key][model]["8"] > 0, (key, model)
    assert set(figures["max_stall_ms"]) == {"embedded", "base"}
    assert set(figures["switch_ms"]) == {"layer", "head", "token"}
    for key in ("extra_rss_mb", "tensor_floor_mb", "first_paint_s", "model_ready_s"):
        assert figures[key] >= 0, key
    # The window paints before the model is ready; its panels follow the model, then the result.
    assert figures["first_paint_s"] < figures["model_ready_s"] <= figures["panels_ready_s"]
    assert figures["panels_ready_s"] <= figures["first_result_s"]
    assert 0 < figures["gui_cpu_before_ready_s"] < figures["model_ready_s"]
    assert figures["tensor_floor_mb"] == pytest.approx(4 * 4 * 8 * 8 * 4 / 1e6)
    assert figures["meta"]["smoke"] is True
    assert all("met" in verdict for verdict in figures["targets"].values())
    # issue 18's rows: explain with every method against the bare pass, a knock-out toggle
    assert figures["explain"]["explain_ms"] > 0 and figures["explain"]["steps"] == 32
    assert figures["knock_out"]["toggle_to_paint_ms"] > 0
    assert {"explain", "knock_out_toggle"} <= set(figures["targets"])
    assert "Knock-out toggle" in done.stdout
    # issue 21's large size: its rows are named with "large" and its bare pass is recorded
    assert figures["bare_forward_ms"]["large"]["8"] > 0
    large_rows = {"edit_to_paint.large.8", "extra_rss.large"}
    large_rows |= {f"switch.large.{kind}" for kind in ("layer", "head", "token")}
    assert large_rows <= set(figures["targets"])
    assert figures["large"]["tensor_floor_mb"] == pytest.approx(6 * 4 * 8 * 8 * 4 / 1e6)
    # issue 21's progressive rows: the selected layer painted while the pass ran
    progressive = {f"progressive.{row}.base.8" for row in ("layer_1", "layer_half")}
    progressive |= {"progressive.edit_to_paint.base.8", "progressive.max_stall.base.8"}
    assert progressive <= set(figures["targets"])
    rows = figures["progressive"]["rows"]
    assert [rows[name]["layer"] for name in ("layer_1", "layer_half")] == [1, 2]
    assert all(rows[name]["to_layer_ms"] > 0 for name in rows)  # not NaN: painted early
    assert "edit → the selected layer painted" in done.stdout


def test_sentences_have_the_exact_token_count(tiny_model):
    for count in (3, 8, 64, 512):
        text = sentence_of_length(tiny_model.tokenizer, count, variant=count)
        assert run_inference(tiny_model, text).num_tokens == count


def test_hooked_capture_matches_the_model_recorder(tiny_model):
    """Attention and hidden states copied by hooks equal transformers' own outputs."""
    import torch

    def hooks() -> int:
        modules = list(tiny_model.model.modules())
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in modules)

    text = sentence_of_length(tiny_model.tokenizer, 40)
    before = hooks()
    result = run_inference(tiny_model, text)
    assert hooks() == before  # the capture hooks are gone again
    enc = tiny_model.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = tiny_model.model(**enc, output_attentions=True, output_hidden_states=True)
    np.testing.assert_array_equal(result.attentions, torch.stack(out.attentions)[:, 0].numpy())
    np.testing.assert_array_equal(
        result.hidden_states, torch.stack(out.hidden_states)[:, 0].numpy()
    )


@pytest.mark.parametrize("count", [512, 500])
def test_every_mosaic_pixel_maps_back_to_its_layer_head_query_and_key(count):
    rng = np.random.default_rng(count)
    layers, heads = 3, 4
    attentions = rng.random((layers, heads, count, count), dtype=np.float32)
    mosaic = attention_mosaic(attentions)
    factor, tile = mosaic_geometry(count)
    assert mosaic.shape == (layers * tile, heads * tile)  # every head, none dropped
    rows, cols = np.indices(mosaic.shape)
    expected = np.empty_like(mosaic)
    for row, col in zip(rows.ravel().tolist(), cols.ravel().tolist(), strict=True):
        cell = mosaic_cell(row, col, count)
        block = attentions[
            cell.layer, cell.head, cell.query : cell.query + factor, cell.key : cell.key + factor
        ]
        expected[row, col] = block.max()
    np.testing.assert_array_equal(mosaic, expected)


def test_512_tokens_on_a_tiny_model_fill_every_panel(qtbot, tiny_model, tiny_model_dir):
    from explorer.core.sources import ModelSource
    from explorer.gui.windows.main_window import MainWindow

    text = sentence_of_length(tiny_model.tokenizer, 512)
    window = MainWindow(source=ModelSource.parse(str(tiny_model_dir)), text="")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.model_loaded, timeout=60_000):
        window.show()
    with qtbot.waitSignal(
        window.controller.result_ready,
        timeout=60_000,
        check_params_cb=lambda outcome: outcome.result.text == text,
    ):
        window.input_bar.set_inputs(text)
        window.run_now()
    result, views = window.state.result, window.state.views
    assert result.num_tokens == 512
    assert window.tokens_panel.table.model().rowCount() == 512
    assert window.attention_panel.image.image.shape == (512, 512)
    assert window.attention_panel.overview_image.image.shape == views.mosaic.shape
    assert views.mosaic.shape == (4 * views.mosaic_tile, 4 * views.mosaic_tile)
    assert window.norms_panel.image.image.shape == (5, 512)
    _, ys = window.pooled_panel.curve.getData()
    np.testing.assert_allclose(ys, result.pooler_output)

    window.grab()  # lays out and paints every panel at 512 tokens (no errors, no Qt warnings)
    window.state.set_token(300)
    norms_axis = window.norms_panel.heatmap.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert (300.5, f"▸{result.tokens[300]}") in norms_axis  # the selected label always shows
    assert len(norms_axis) < 100  # thinned, not 512 overlapping labels
    window.close()
