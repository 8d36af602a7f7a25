"""Bench rows of issue 21 for progressive results: the selected layer painted before the pass ends.

At 512 tokens on the base size, with layer l selected (l = 1 and l = L/2, from 1), one edit is
timed from the worker taking it until the attention heatmap has painted layer l of the new
sentence (handed over while the pass runs, or with the final result when the window judged the
pass too short to paint layers early), and on until every visible panel has painted the final
result; the GUI heartbeat's longest stall covers the whole edit. Every target's name holds
the word ``progressive`` (``progressive.layer_1.base.512``, ``progressive.layer_half.base.512``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from explorer.bench.common import at_most, median, sentence_of_length

if TYPE_CHECKING:  # the table and verdicts are read without Qt
    from explorer.bench.gui_timing import WindowBench

PROGRESSIVE = "progressive"
LAYER_SLACK_MS = 30.0
HEATMAP = "attention.heatmap"


def _layer_watch(bench: WindowBench, layer: int) -> Any:
    """A watch that stops its clock when the heatmap has painted ``layer`` of the newest text."""
    from PySide6.QtCore import QObject

    from explorer.bench.gui_timing import PaintWatch

    window = bench.window

    class LayerWatch(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.watch = PaintWatch({HEATMAP: bench.views[HEATMAP]})
            self.text = ""
            self.armed = False
            self.picked_up_at = 0.0

        def start(self, text: str) -> None:
            self.text, self.armed, self.picked_up_at = text, False, 0.0
            self.watch.arm([])

        def on_layers(self, outcome: Any) -> None:  # after the window's own slot
            state = window.state
            progress = state.progress
            if self.armed or progress is None or progress.result.text != self.text:
                return
            if state.attention_ready > layer:  # the panel has just drawn it: now it paints
                self.arm(outcome.picked_up_at)

        def on_result(self, outcome: Any) -> None:  # the layer came with the final result
            if not self.armed and outcome.result.text == self.text:
                self.arm(outcome.picked_up_at)

        def arm(self, picked_up_at: float) -> None:
            self.armed = True
            self.picked_up_at = picked_up_at
            self.watch.arm([HEATMAP], idle=False)

        def elapsed_ms(self) -> float:
            if self.watch.done_at is None or not self.picked_up_at:
                return float("nan")  # never painted (the heatmap is hidden)
            return (self.watch.done_at - self.picked_up_at) * 1000.0

        def close(self) -> None:
            window.controller.layers_ready.disconnect(self.on_layers)
            window.controller.result_ready.disconnect(self.on_result)
            bench.views[HEATMAP].removeEventFilter(self.watch)

    watch = LayerWatch()
    window.controller.layers_ready.connect(watch.on_layers)
    window.controller.result_ready.connect(watch.on_result)
    return watch


def measure_progressive(
    bench: WindowBench, tokenizer: Any, count: int, runs: int, warmup: int
) -> dict[str, Any]:
    """Edits at ``count`` tokens with layer 1, then layer L/2, selected (see the docstring)."""
    state = bench.window.state
    state.set_head(-1)  # the window's default view, the mean of heads (switches moved it)
    layers = state.num_layers
    figures: dict[str, Any] = {"tokens": count, "layers": layers, "rows": {}}
    bare_all: list[float] = []
    edits_all: list[float] = []
    stalls_all: list[float] = []
    for name, layer in (("layer_1", 0), ("layer_half", max(layers // 2 - 1, 0))):
        state.set_layer(layer)
        watch = _layer_watch(bench, layer)
        bare, to_layer = [], []
        try:
            for run in range(warmup + runs):
                text = sentence_of_length(tokenizer, count, variant=400 + 10 * layer + run)
                bare_ms = bench.bare_forward_ms(text)
                watch.start(text)
                timing = bench.edit(text)
                if run >= warmup:
                    bare.append(bare_ms)
                    to_layer.append(watch.elapsed_ms())
                    edits_all.append(timing.edit_to_paint_ms)
                    stalls_all.append(timing.stall_ms)
        finally:
            watch.close()
        bare_all += bare
        figures["rows"][name] = {
            "layer": layer + 1,
            "bare_forward_ms": median(bare),
            "to_layer_ms": median(to_layer),
            "to_layer_runs_ms": to_layer,
        }
    figures["bare_forward_ms"] = median(bare_all)
    figures["edit_to_paint_ms"] = median(edits_all)
    figures["max_stall_ms"] = median(stalls_all)
    return figures


def progressive_verdicts(
    figures: dict[str, Any], edit_slope: float, edit_slack_ms: float, stall_limit_ms: float
) -> dict[str, dict[str, Any]]:
    """Layer 1 ≤ bare/L + 30 ms, layer L/2 ≤ bare/2 + 30 ms, every panel, the longest stall."""
    found = figures.get(PROGRESSIVE)
    if not found:
        return {}
    suffix = f"base.{found['tokens']}"
    layers = found["layers"]
    verdicts = {}
    for name, row in found["rows"].items():
        share = 1.0 / layers if name == "layer_1" else 0.5
        limit = share * row["bare_forward_ms"] + LAYER_SLACK_MS
        verdicts[f"{PROGRESSIVE}.{name}.{suffix}"] = at_most(row["to_layer_ms"], limit)
    limit = edit_slope * found["bare_forward_ms"] + edit_slack_ms
    verdicts[f"{PROGRESSIVE}.edit_to_paint.{suffix}"] = at_most(found["edit_to_paint_ms"], limit)
    verdicts[f"{PROGRESSIVE}.max_stall.{suffix}"] = at_most(found["max_stall_ms"], stall_limit_ms)
    return verdicts


def progressive_lines(figures: dict[str, Any], verdicts: dict[str, dict[str, Any]]) -> list[str]:
    """The table's lines about progressive results."""
    if PROGRESSIVE not in figures:
        return []
    found = figures[PROGRESSIVE]
    suffix = f"base.{found['tokens']}"

    def mark(name: str) -> str:
        return "ok" if verdicts[f"{PROGRESSIVE}.{name}.{suffix}"]["met"] else "MISS"

    layers = []
    for name, row in found["rows"].items():
        limit = verdicts[f"{PROGRESSIVE}.{name}.{suffix}"]["limit"]
        layers.append(
            f"layer {row['layer']} {row['to_layer_ms']:.1f} ms (limit {limit:.1f}) {mark(name)}"
        )
    edit = verdicts[f"{PROGRESSIVE}.edit_to_paint.{suffix}"]
    return [
        f"Progressive, {found['tokens']} tokens, base (bare {found['bare_forward_ms']:.1f} ms, "
        f"{found['layers']} layers): edit → the selected layer painted: {'   '.join(layers)}",
        f"  then every panel {found['edit_to_paint_ms']:.1f} ms (limit {edit['limit']:.1f}) "
        f"{mark('edit_to_paint')}   longest GUI stall {found['max_stall_ms']:.1f} ms "
        f"(limit {verdicts[f'{PROGRESSIVE}.max_stall.{suffix}']['limit']:.0f}) "
        f"{mark('max_stall')}",
    ]
