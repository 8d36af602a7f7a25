"""Checkpoints with NaN or infinite weights: the result says where, and nothing in the core breaks.

Every analysis either computes (NaN propagating) or refuses with an ExplorerError that says why;
no other exception, no RuntimeWarning, no hang.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertModel

from explorer.cli import main as cli_main
from explorer.core.analysis import aggregate, lens, registry, topk
from explorer.core.analysis.blocks import ALL, BLOCKS
from explorer.core.analysis.export import analysis_arrays
from explorer.core.analysis.flow import attention_flow
from explorer.core.compare import compare_results, cosine_rows
from explorer.core.errors import ExplorerError
from explorer.core.finiteness import POOLER, NonFinite, find_non_finite
from explorer.core.inference import run_inference, run_inference_with_views
from explorer.core.loading import LoadedModel, load_model
from explorer.core.notices import input_notices
from explorer.core.results import InferenceResult
from explorer.core.sources import ModelSource, embedded_model_path
from explorer.core.views import attention_mosaic, build_views
from tests.conftest import save_random_bert

TEXT, PAIR = "I love my pet python", "Is it a snake?"
NAN_LAYER = 1  # 0-based encoder layer whose query weights are NaN: the window's "Layer 2"
INF_WORD = "love"


def _broken_copy(folder: Path, break_weights: Any) -> Path:
    """A tiny random BERT whose weights ``break_weights(model)`` spoils in place."""
    save_random_bert(folder)
    model = BertModel.from_pretrained(folder)
    with torch.no_grad():
        break_weights(model)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    def nan_query(model: Any) -> None:
        model.encoder.layer[NAN_LAYER].attention.self.query.weight.fill_(float("nan"))

    folder = _broken_copy(tmp_path_factory.mktemp("nan-bert"), nan_query)
    return load_model(ModelSource.parse(str(folder)))


@pytest.fixture(scope="module")
def inf_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    def inf_row(model: Any) -> None:
        tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
        row = tokenizer.convert_tokens_to_ids(INF_WORD)
        model.embeddings.word_embeddings.weight[row] = float("inf")

    folder = _broken_copy(tmp_path_factory.mktemp("inf-bert"), inf_row)
    return load_model(ModelSource.parse(str(folder)))


@pytest.fixture(scope="module")
def nan_result(nan_model: LoadedModel) -> InferenceResult:
    return run_inference(nan_model, TEXT, PAIR)


@pytest.fixture(scope="module")
def inf_result(inf_model: LoadedModel) -> InferenceResult:
    return run_inference(inf_model, TEXT, PAIR)


def test_nan_query_weights_are_named_from_their_layer_on(nan_result):
    count = nan_result.num_tokens
    assert nan_result.attentions.shape == (4, 4, count, count)
    assert nan_result.attentions.dtype == np.float32
    assert np.isfinite(nan_result.attentions[:NAN_LAYER]).all()
    assert np.isnan(nan_result.attentions[NAN_LAYER]).all()
    assert np.isfinite(nan_result.hidden_states[: NAN_LAYER + 1]).all()
    assert np.isnan(nan_result.hidden_norms[NAN_LAYER + 1]).all()
    assert nan_result.non_finite == NonFinite(stage=NAN_LAYER + 1, kinds=("NaN",))
    notices = input_notices(nan_result)
    assert notices[0].warning
    assert notices[0].text.startswith(f"NaN from layer {NAN_LAYER + 1} on: ")
    assert json.loads(str(nan_result.to_arrays()["meta"]))["non_finite"] == notices[0].text


def test_an_infinite_embedding_row_is_named_from_the_embeddings_on(inf_result):
    # LayerNorm turns the infinite row into NaN (inf − inf): what the result holds is NaN.
    assert not np.isfinite(inf_result.hidden_states[0]).all()
    assert inf_result.non_finite is not None and inf_result.non_finite.stage == 0
    text = input_notices(inf_result)[0].text
    assert text.startswith("NaN from the embeddings on: "), text
    assert inf_result.pooler_output is not None and inf_result.pooler_output.dtype == np.float32


def test_finite_models_say_nothing(tiny_model):
    result = run_inference(tiny_model, TEXT, PAIR)
    assert result.non_finite is None
    assert not any("finite" in n.text for n in input_notices(result))
    assert json.loads(str(result.to_arrays()["meta"]))["non_finite"] is None


def test_find_non_finite_names_each_kind_and_stage():
    attentions = np.full((3, 2, 4, 4), 0.25, np.float32)
    hidden = np.ones((4, 4, 8), np.float32)
    assert find_non_finite(attentions, hidden) is None
    hidden[2, 1, 3] = np.inf
    attentions[1, 0, 0, 0] = np.nan
    found = find_non_finite(attentions, hidden)
    assert found == NonFinite(stage=2, kinds=("NaN", "infinity"))
    assert found.describe().startswith("NaN and infinity from layer 2 on: ")
    hidden[2, 1, 3] = 1.0
    attentions[1, 0, 0, 0] = 0.25
    norms = np.ones((4, 4), np.float32)
    norms[3, 0] = np.inf  # a finite state whose norm overflowed
    assert find_non_finite(attentions, hidden, norms) == NonFinite(3, ("infinity",))
    pooled = np.array([0.5, np.nan], np.float32)
    only_pooler = find_non_finite(attentions, hidden, None, pooled)
    assert only_pooler == NonFinite(POOLER, ("NaN",))
    assert only_pooler.describe().startswith("NaN in the pooled output")


def _analysis_params(result: InferenceResult) -> dict[str, dict[str, Any]]:
    return {
        "flow": {"layer": 0, "position": 0},
        "block_mosaic": {"block": "A→B"},
        "tokenization.vocabulary": {"query": INF_WORD},
        "compare": {"other": result, "with_attention": True},
        "compare_models": {"other": result},
        "context": {"word": "python", "sentences": [TEXT, PAIR]},
        "why_walk_through": {"layer": 2, "head": 0, "query": 1},
        "mlm_top": {"position": 1},
    }


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("which", ["nan", "inf"])
def test_every_analysis_returns_or_says_why(which, request):
    loaded = request.getfixturevalue(f"{which}_model")
    result, views = run_inference_with_views(loaded, TEXT, PAIR)
    params = _analysis_params(result)
    outcomes = {}
    for name in registry.ANALYSES:
        try:
            registry.run_analysis(name, loaded, result, params.get(name, {}))
            outcomes[name] = "ok"
        except ExplorerError as err:
            outcomes[name] = str(err)
    assert set(outcomes) == set(registry.ANALYSES)
    assert outcomes["rollout"] == outcomes["head_stats"] == outcomes["norm_attention"] == "ok"
    for layer in range(result.num_layers):
        try:
            attention_flow(result.attentions, layer, 0)
        except ExplorerError as err:
            assert "undefined when the attention has NaN values" in str(err)
            assert result.non_finite is not None and layer + 1 >= result.non_finite.stage
        else:
            assert np.isfinite(result.attentions[: layer + 1]).all()
    # The display side: views, lenses, pooling, top-k, words, the npz analyses, compare.
    rebuilt = build_views(result)
    np.testing.assert_array_equal(np.isnan(rebuilt.mosaic), np.isnan(views.mosaic))
    assert np.isnan(views.mosaic).any()
    views.head_mean(result.num_layers - 1)
    for pool in aggregate.HEAD_POOLS:
        aggregate.aggregate_heads(result.attentions, 2, -1, pool, mean_layers=True)
    aggregate.aggregate_layers(analysis_arrays(loaded, result)["rollout"], 1, mean_layers=True)
    for block in BLOCKS:
        for words in (False, True):
            for hide in (False, True):
                settings = lens.LensSettings(block=block, words=words, hide_special=hide)
                lensed = lens.apply_lens(result.attentions[2, 0], result, settings)
                lens.apply_lens_row(result.attentions[2, 0, 3], 3, result, settings)
                topk.attends_to(lensed.matrix, 1, 5)
                topk.attended_by(lensed.matrix, 1, 5)
    assert ALL in BLOCKS
    other = run_inference(loaded, "I love my pet snake", PAIR)
    comparison = compare_results(other, result)
    assert comparison.attention_diff is not None
    assert np.isnan(comparison.token_cosine[-1]).all()  # never a made-up 0


def test_cosine_of_a_non_finite_vector_is_nan_not_zero():
    x = np.array([[1, 0], [0, 0], [np.nan, 1], [np.inf, 1]], np.float32)
    y = np.array([[1, 0], [1, 1], [1, 1], [1, 1]], np.float32)
    np.testing.assert_array_equal(cosine_rows(x, y), [1.0, 0.0, np.nan, np.nan])


def test_inspect_writes_the_npz_and_prints_the_notice(nan_model, tmp_path, capsys):
    out = tmp_path / "nan.npz"
    folder = nan_model.info.source
    code = cli_main(["inspect", TEXT, "--pair", PAIR, "--model", folder, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"warning: NaN from layer {NAN_LAYER + 1} on: " in captured.out
    data = np.load(out, allow_pickle=False)
    assert data["attentions"].dtype == np.float32
    assert np.isnan(data["attentions"][NAN_LAYER]).all()
    assert {"rollout", "head_stats", "norm_attention"} <= set(data.files)


@pytest.mark.parametrize("which", ["nan", "inf", "tiny"])
def test_the_worker_screen_agrees_with_a_full_scan(which, request):
    """Inference fills non_finite from the mosaic and the norms: the same as reading it all."""
    loaded = request.getfixturevalue(f"{which}_model")
    for text in (TEXT, " ".join([TEXT] * 30)):  # 13 tokens, and 150 (mosaic factor 3)
        result = run_inference(loaded, text, PAIR)
        assert "non_finite" in result.__dict__  # filled in the worker, not on first use
        full = find_non_finite(result.attentions, result.hidden_states, None, result.pooler_output)
        assert result.non_finite == full


def test_max_pooling_keeps_one_nan_or_infinite_weight_at_any_factor():
    for count in (7, 130, 200):  # factor 1, 3 with a short last block, 4
        attentions = np.full((2, 3, count, count), 0.5, np.float32)
        attentions[0, 2, count - 1, count - 1] = np.nan
        attentions[1, 1, count // 2, 0] = np.inf
        mosaic = attention_mosaic(attentions).reshape(2, -1)
        assert np.isnan(mosaic[0]).sum() == 1 and np.isfinite(mosaic[0]).sum() == mosaic[0].size - 1
        assert np.isposinf(mosaic[1]).sum() == 1
