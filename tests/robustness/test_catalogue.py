"""Every catalogue input through the core, the CLI and the window: a result or a clear message."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from explorer.core.errors import InputTextError
from explorer.core.inference import run_inference
from explorer.core.notices import input_notices
from tests.gui.conftest import TIMEOUT_MS
from tests.robustness.catalogue import CATALOGUE, Case, max_length_cases

CASES = CATALOGUE + max_length_cases(512)


def test_the_catalogue_is_big_enough():
    assert len(CASES) >= 30


def check_result(result, case: Case) -> None:
    count = result.num_tokens
    assert count <= result.model.max_length
    assert result.attentions.shape[-2:] == (count, count)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-4)
    assert np.isfinite(result.hidden_states).all()
    for i in range(count):
        if result.special_tokens_mask[i]:
            continue
        sentence = result.sentence_of(i)
        start, end = (int(v) for v in result.offsets[i])
        assert 0 <= start <= end <= len(sentence)
    if case.notice is not None:
        text = " ".join(n.text for n in input_notices(result))
        assert case.notice in text, f"{case.name}: {text!r}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_core(tiny_model, case):
    if case.message is not None:
        with pytest.raises(InputTextError, match=case.message.replace("[", r"\[")):
            run_inference(tiny_model, case.text, case.pair)
        return
    check_result(run_inference(tiny_model, case.text, case.pair), case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_window(qtbot, window, case):
    window.input_bar.set_inputs(case.text, case.pair)
    if case.message is not None:
        window.run_now()
        assert window.state.result is None
        assert case.message in window.message_bar.text()
        return
    with qtbot.waitSignal(window.controller.result_ready, timeout=TIMEOUT_MS):
        window.run_now()
    result = window.state.result
    check_result(result, case)
    assert window.tokens_panel.table.model().rowCount() == result.num_tokens
    assert window.attention_panel.image.image.shape == (result.num_tokens, result.num_tokens)
    if case.notice is not None:
        assert case.notice in window.message_bar.text()
    window.tokens_panel.table.selectRow(result.num_tokens - 1)  # highlight must not crash


def test_cli_survives_the_catalogue(tmp_path, tiny_model_dir):
    # One process for the whole catalogue (loading the model per case would take minutes):
    # the same argument parsing and error paths as `bert-explorer inspect`, case by case.
    script = (
        "import sys, json\n"
        "from explorer.cli import main\n"
        "cases = json.loads(sys.stdin.read())\n"
        "for i, (text, pair) in enumerate(cases):\n"
        f"    args = ['inspect', text, '--model', {str(tiny_model_dir)!r},"
        f" '--out', {str(tmp_path)!r} + f'/{{i}}.npz']\n"
        "    if pair is not None: args += ['--pair', pair]\n"
        "    print('RC', i, main(args), flush=True)\n"
    )
    import json

    payload = (
        json.dumps([(c.text, c.pair) for c in CASES], ensure_ascii=True)
        .replace("\\ud800", "\\ufffd")
        .replace("\\udfff", "\\ufffd")
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=payload, capture_output=True, text=True, timeout=600
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    codes = [int(line.split()[2]) for line in done.stdout.splitlines() if line.startswith("RC")]
    assert len(codes) == len(CASES)
    for case, code in zip(CASES, codes, strict=True):
        assert code == (2 if case.message else 0), case.name
