"""Bench rows of issue 21 for the large size: bert-large's shape with random weights at 512 tokens.

24 layers, 16 heads, hidden size 1024, intermediate size 4096: edit → paint against its own
bare pass, the layer, head and token switches, and the extra RSS of one inference in a fresh
process against its tensor floor (24 · 16 · 512² · 4 B = 403 MB). Every target's name holds
the word ``large`` (``edit_to_paint.large.512``, ``switch.large.head``, ``extra_rss.large``).
"""

from __future__ import annotations

from typing import Any

from explorer.bench.common import TINY_CONFIG, at_most, median

LARGE = "large"
LARGE_TOKENS = 512
LARGE_CONFIG: dict[str, int] = {
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "hidden_size": 1024,
    "intermediate_size": 4096,
}
# The smoke run keeps the benchmark from rotting in seconds: deeper and wider than the tiny
# "base", so that the large rows still see more layers and heads than the base rows.
SMOKE_LARGE_CONFIG: dict[str, int] = {**TINY_CONFIG, "num_hidden_layers": 6, "hidden_size": 48}


def large_config(smoke: bool) -> dict[str, int]:
    """The model's configuration (BertConfig keywords) for a full or a smoke run."""
    return SMOKE_LARGE_CONFIG if smoke else LARGE_CONFIG


def large_sizes(smoke: bool, smoke_sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The token counts the large size runs at: 512 only (the smoke run's one tiny size)."""
    return smoke_sizes[:1] if smoke else (LARGE_TOKENS,)


def rss_figures(probes: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians of the fresh-process RSS probes of the large size."""
    return {
        "extra_rss_mb": median([p["extra_rss_mb"] for p in probes]),
        "tensor_floor_mb": median([p["tensor_floor_mb"] for p in probes]),
        "baseline_rss_mb": median([p["baseline_rss_mb"] for p in probes]),
        "extra_rss_runs_mb": [p["extra_rss_mb"] for p in probes],
    }


def large_verdicts(
    figures: dict[str, Any], switch_limit_ms: float, rss_factor: float
) -> dict[str, dict[str, Any]]:
    """The switch and memory targets (edit → paint is in the table of every model)."""
    large = figures.get(LARGE)
    if not large:
        return {}
    verdicts = {
        f"switch.{LARGE}.{kind}": at_most(elapsed, switch_limit_ms)
        for kind, elapsed in large["switch_ms"].items()
    }
    rss_limit = rss_factor * large["tensor_floor_mb"]
    verdicts[f"extra_rss.{LARGE}"] = at_most(large["extra_rss_mb"], rss_limit)
    return verdicts


def large_lines(figures: dict[str, Any], verdicts: dict[str, dict[str, Any]]) -> list[str]:
    """The table's lines about the large size (its edit → paint row is in the main table)."""
    large = figures.get(LARGE)
    if not large:
        return []

    def mark(name: str) -> str:
        return "ok" if verdicts[name]["met"] else "MISS"

    tokens = large["tokens"]
    switches = "   ".join(
        f"{kind} {value:.1f} ms {mark(f'switch.{LARGE}.{kind}')}"
        for kind, value in large["switch_ms"].items()
    )
    limit = next(iter(verdicts[f"switch.{LARGE}.{k}"]["limit"] for k in large["switch_ms"]))
    rss = verdicts[f"extra_rss.{LARGE}"]
    return [
        f"Large size ({large['layers']} layers, {large['heads']} heads, hidden "
        f"{large['hidden']}) at {tokens} tokens: switches {switches}   (limit {limit:.0f}); "
        f"longest GUI stall during an edit {large['max_stall_ms']:.1f} ms",
        f"  extra RSS of one inference {large['extra_rss_mb']:.0f} MB = "
        f"{large['extra_rss_mb'] / large['tensor_floor_mb']:.2f} × the tensor floor "
        f"{large['tensor_floor_mb']:.0f} MB   (limit {rss['limit']:.0f} MB) "
        f"{mark(f'extra_rss.{LARGE}')}",
    ]
