"""Bench rows of issue 18: ``explain`` against the bare pass, and a knock-out toggle's repaint.

Both run against the embedded window's own worker and model (one OpenMP pool), so the bare
forward pass they are compared with is measured in the same run, on the same thread.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from explorer.bench.common import median, sentence_of_length

if TYPE_CHECKING:  # the table and verdicts are read without Qt
    from explorer.bench.gui_timing import WindowBench

EXPLAIN_TOKENS = 64
EXPLAIN_STEPS = 32
KNOCKED_OUT = ((0, 0),)  # layer 1, head 1: every later layer and the prediction change


def measure_explain(bench: WindowBench, tokenizer: Any, count: int, runs: int) -> dict[str, Any]:
    """``explain`` with every method and m = 32 at ``count`` tokens, and the bare pass."""
    from explorer.core.why.attribution import explain

    worker = bench.window.controller._worker  # the benchmark's one look inside
    bare, whole = [], []
    for run in range(runs + 1):  # the first run warms up
        text = sentence_of_length(tokenizer, count, variant=200 + run)

        def timed(text: str = text) -> float:
            started = time.perf_counter()
            explain(worker._loaded, text, steps=EXPLAIN_STEPS)
            return (time.perf_counter() - started) * 1000.0

        bare_ms = bench.bare_forward_ms(text)
        explain_ms = float(bench._on_worker_thread(timed))
        if run > 0:
            bare.append(bare_ms)
            whole.append(explain_ms)
    return {
        "tokens": count,
        "steps": EXPLAIN_STEPS,
        "bare_forward_ms": median(bare),
        "explain_ms": median(whole),
        "limit_ms": 2 * EXPLAIN_STEPS * median(bare),
    }


def measure_knock_out(bench: WindowBench, tokenizer: Any, count: int, runs: int) -> dict[str, Any]:
    """A head knocked out and restored from the shared state: edit → paint of each toggle."""
    from explorer.gui.state.knock_outs import set_knocked_out

    options = bench.window.state.panel_options
    text = sentence_of_length(tokenizer, count, variant=300)
    bench.edit(text)
    toggles, bare = [], []
    for run in range(runs + 1):
        bare_ms = bench.bare_forward_ms(text)
        heads = KNOCKED_OUT if run % 2 == 0 else ()
        timing = bench.timed(text, lambda heads=heads: set_knocked_out(options, heads))
        if run > 0:
            toggles.append(timing.edit_to_paint_ms)
            bare.append(bare_ms)
    set_knocked_out(options, ())
    return {"tokens": count, "toggle_to_paint_ms": median(toggles), "bare_forward_ms": median(bare)}


def why_verdicts(figures: dict[str, Any], slope: float, slack_ms: float) -> dict[str, Any]:
    """The two rows' verdicts: explain ≤ 2·m × bare; a toggle within the edit → paint limit."""
    found, toggle = figures["explain"], figures["knock_out"]
    toggle_limit = slope * toggle["bare_forward_ms"] + slack_ms
    return {
        "explain": {
            "value": found["explain_ms"],
            "limit": found["limit_ms"],
            "met": found["explain_ms"] <= found["limit_ms"],
        },
        "knock_out_toggle": {
            "value": toggle["toggle_to_paint_ms"],
            "limit": toggle_limit,
            "met": toggle["toggle_to_paint_ms"] <= toggle_limit,
        },
    }


def why_lines(figures: dict[str, Any], verdicts: dict[str, Any]) -> list[str]:
    """The table's lines for the two rows."""
    found, toggle = figures["explain"], figures["knock_out"]
    mark = {
        key: "ok" if verdicts[key]["met"] else "MISS" for key in ("explain", "knock_out_toggle")
    }
    return [
        f"explain, every method, m = {found['steps']}, {found['tokens']} tokens, embedded: "
        f"{found['explain_ms']:.0f} ms = {found['explain_ms'] / found['bare_forward_ms']:.1f} × "
        f"the bare pass {found['bare_forward_ms']:.1f} ms (limit 2·m × bare = "
        f"{found['limit_ms']:.0f} ms) {mark['explain']}",
        f"Knock-out toggle → every visible panel painted, {toggle['tokens']} tokens, embedded: "
        f"{toggle['toggle_to_paint_ms']:.1f} ms (limit {verdicts['knock_out_toggle']['limit']:.1f}"
        f" ms, the edit → paint limit) {mark['knock_out_toggle']}",
    ]
