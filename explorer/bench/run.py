"""Run every measurement, print the table and write ``bench-results.json``.

``python -m explorer.bench`` is the full run (``make bench``); ``--smoke`` runs each
measurement once on one tiny size and a tiny "base" model, so the test suite can keep the
benchmark from rotting without paying for it.
"""

from __future__ import annotations

import argparse
import compileall
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.bench.common import SIZES, SMOKE_SIZES, TINY_CONFIG, median, save_random_bert
from explorer.bench.large import (
    LARGE,
    large_config,
    large_lines,
    large_sizes,
    large_verdicts,
    rss_figures,
)
from explorer.bench.progressive import (
    PROGRESSIVE,
    measure_progressive,
    progressive_lines,
    progressive_verdicts,
)

EDIT_SLOPE, EDIT_SLACK_MS = 1.25, 20.0
STALL_LIMIT_MS = 50.0
SWITCH_LIMIT_MS = 33.0
RSS_FACTOR = 1.5
FIRST_PAINT_LIMIT_S = 1.5
READY_SLACK_S = 0.5
PROBE_TIMEOUT_S = 300.0
MODELS = ("embedded", "base")
HEAD_SIZE = 128  # the pretraining-head rows: base size with masked-LM and next-sentence heads
CORPUS_THROUGHPUT_RATIO = 0.8  # corpus mode ≥ this × a plain batched loop with attentions
CORPUS_RSS_GROWTH_MB = 50.0  # RSS after 1,000 segments within this of RSS after 100
CORPUS_SEGMENTS, SMOKE_CORPUS_SEGMENTS = 1000, 120


@dataclass(frozen=True)
class Plan:
    """What to run and how often."""

    sizes: tuple[int, ...]
    runs: int
    warmup: int
    smoke: bool
    out: Path


def _repo_root() -> Path:
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").is_file() else Path.cwd()


def _parse(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m explorer.bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="one tiny size, one run")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 5)")
    parser.add_argument("--sizes", default=None, help="comma-separated token counts")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)
    sizes = SMOKE_SIZES if args.smoke else SIZES
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    runs = args.runs if args.runs is not None else (1 if args.smoke else 5)
    return Plan(
        sizes=tuple(sorted(sizes)),
        runs=max(1, runs),
        warmup=0 if args.smoke else 1,
        smoke=args.smoke,
        out=args.out or _repo_root() / "bench-results.json",
    )


# --- in-process: windows, edits, switches ----------------------------------------------------
def _measure_window(
    plan: Plan, name: str, spec: str, figures: dict[str, Any], sizes: tuple[int, ...] = ()
) -> None:
    from transformers import AutoTokenizer

    from explorer.bench.common import sentence_of_length
    from explorer.bench.gui_timing import SWITCH_VIEWS, WindowBench
    from explorer.core.sources import ModelSource, SourceKind, embedded_model_path
    from explorer.gui.app import make_application

    app = make_application([sys.argv[0]])
    source = ModelSource.parse(spec)
    embedded = source.kind is SourceKind.EMBEDDED
    folder = embedded_model_path() if embedded else source.location
    tokenizer = AutoTokenizer.from_pretrained(str(folder))  # to make T-token sentences
    bench = WindowBench(app, source)
    sizes = sizes or plan.sizes
    biggest = sizes[-1]
    figures["watched_views"][name] = sorted(bench.views)
    try:
        for count in sizes:
            bare, edits = [], []
            for run in range(plan.warmup + plan.runs):
                text = sentence_of_length(tokenizer, count, variant=run)
                bare_ms = bench.bare_forward_ms(text)  # after the queued analyses, alone
                timing = bench.edit(text)
                if run >= plan.warmup:
                    bare.append(bare_ms)
                    edits.append(timing)
            key = str(count)
            bare_median = median(bare)
            edit_median = median([e.edit_to_paint_ms for e in edits])
            figures["bare_forward_ms"].setdefault(name, {})[key] = bare_median
            figures["edit_to_paint_ms"].setdefault(name, {})[key] = edit_median
            figures["ratio"].setdefault(name, {})[key] = edit_median / bare_median
            figures["breakdown_ms"].setdefault(name, {})[key] = {
                part: median([getattr(e, f"{part}_ms") for e in edits])
                for part in ("compute", "deliver", "apply", "paint")
            }
            unpainted = sorted({view for e in edits for view in e.unpainted})
            if unpainted:
                figures["unpainted_views"].setdefault(name, {})[key] = unpainted
            if count == biggest and name not in ("pretraining", LARGE):
                figures["max_stall_ms"][name] = median([e.stall_ms for e in edits])
                figures["stall_runs_ms"][name] = [e.stall_ms for e in edits]
        if name == "base":
            figures["switch_ms"] = _measure_switches(plan, bench, SWITCH_VIEWS, figures)
            figures[PROGRESSIVE] = measure_progressive(
                bench, tokenizer, biggest, plan.runs, plan.warmup
            )
        if name == LARGE:
            result = bench.window.state.result
            figures[LARGE] = {
                "tokens": biggest,
                "layers": result.num_layers,
                "heads": result.num_heads,
                "hidden": result.model.hidden_size,
                "max_stall_ms": median([e.stall_ms for e in edits]),
                "switch_ms": _measure_switches(plan, bench, SWITCH_VIEWS, figures),
            }
        if name == "embedded":
            from explorer.bench.why import EXPLAIN_TOKENS, measure_explain, measure_knock_out

            count = sizes[0] if plan.smoke else EXPLAIN_TOKENS
            figures["explain"] = measure_explain(bench, tokenizer, count, plan.runs)
            figures["knock_out"] = measure_knock_out(bench, tokenizer, biggest, plan.runs)
        if name == "pretraining":
            lens = [
                bench.logit_lens(sentence_of_length(tokenizer, biggest, variant=100 + run))
                for run in range(plan.runs)
            ]
            figures["logit_lens"] = {
                "tokens": biggest,
                "ms": median([ms for ms, _ in lens]),
                "stall_ms": median([stall for _, stall in lens]),
                "bare_forward_ms": figures["bare_forward_ms"][name][str(biggest)],
            }
    finally:
        bench.close()
        gc.collect()


def _cycle(current: int, size: int, step: int) -> int:
    """Step through ``size`` values, always landing on a different one (when there is one)."""
    step = step % size or 1
    return (current + step) % size


def _measure_switches(
    plan: Plan, bench: Any, views: dict[str, tuple[str, ...]], figures: dict[str, Any]
) -> dict[str, float]:
    state = bench.window.state
    result = state.result
    layers, heads, count = result.num_layers, result.num_heads, result.num_tokens
    if state.token < 0:
        state.set_token(0)
    steps = {
        "layer": lambda: state.set_layer(_cycle(state.layer, layers, 5)),
        "head": lambda: state.set_head(_cycle(state.head + 1, heads + 1, 5) - 1),  # -1: mean
        "token": lambda: state.set_token(_cycle(state.token, count, 97)),
    }
    switch: dict[str, float] = {}
    runs = plan.runs if plan.smoke else max(plan.runs, 7)
    for kind, step in steps.items():
        times = []
        for run in range(plan.warmup + runs):
            bench.wait_for_worker()
            elapsed, unpainted = bench.switch(step, views[kind])
            if unpainted:
                figures["unpainted_views"].setdefault("switch", {})[kind] = unpainted
            if run >= plan.warmup:
                times.append(elapsed)
        switch[kind] = median(times)
    return switch


# --- child processes ------------------------------------------------------------------------
def _probe(kind: str, *args: str) -> dict[str, Any]:
    stamped = kind in ("startup", "load")  # these measure from process start
    t0 = time.time()
    command = [sys.executable, "-m", "explorer.bench.probes", kind]
    command += [repr(t0), *args] if stamped else list(args)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, cwd=_repo_root()
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON ") :])
    raise RuntimeError(f"probe {kind} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")


def _measure_processes(plan: Plan, base_dir: Path, figures: dict[str, Any]) -> None:
    from explorer.core.sources import embedded_model_path

    embedded_dir = str(embedded_model_path())
    # A user's Python caches the app's bytecode after its first start, as pip did for the
    # libraries that the bare load imports. Where PYTHONDONTWRITEBYTECODE is set (as on this
    # machine) nothing is cached, and every probe would compile the app's sources again.
    compileall.compile_dir(str(Path(__file__).resolve().parents[1]), quiet=1)
    # Interleaved, so that a neighbour's load spike hits both sides of the comparison. No
    # warm-up run: the in-process part already brought every library into the file cache.
    startups, loads = [], []
    for _ in range(plan.runs):
        startups.append(_probe("startup"))
        loads.append(_probe("load", embedded_dir))
    if any("error" in s for s in startups):
        raise RuntimeError(f"the app failed to load its model: {startups[0].get('error')}")
    for key in (
        "first_paint_s",
        "model_ready_s",
        "panels_ready_s",
        "first_result_s",
        "imports_done_s",
        "gui_cpu_before_ready_s",
    ):
        figures[key] = median([s[key] for s in startups])
    figures["bare_from_pretrained_s"] = median([load["bare_from_pretrained_s"] for load in loads])
    figures["torch_imported_at_first_paint"] = max(
        s.get("torch_imported_at_first_paint", 0.0) for s in startups
    )
    rss = [_probe("rss", str(base_dir), str(plan.sizes[-1])) for _ in range(plan.runs)]
    for key in ("extra_rss_mb", "tensor_floor_mb", "baseline_rss_mb", "inference_and_views_s"):
        figures[key] = median([r[key] for r in rss])
    figures["extra_rss_runs_mb"] = [r["extra_rss_mb"] for r in rss]


def _measure_corpus(plan: Plan, base_dir: Path, figures: dict[str, Any]) -> None:
    """Corpus mode in a fresh process (its RSS is its own): embedded, or the tiny smoke model."""
    spec = str(base_dir) if plan.smoke else "embedded"
    segments = SMOKE_CORPUS_SEGMENTS if plan.smoke else CORPUS_SEGMENTS
    figures["corpus"] = {
        "model": "tiny" if plan.smoke else "embedded",
        **_probe("corpus", spec, str(segments), str(plan.runs)),
    }


def _measure_large(plan: Plan, tmp: Path, figures: dict[str, Any]) -> None:
    """The large size at 512 tokens: its window (edits, switches), then its RSS in probes."""
    print("… measuring the window on the large size", file=sys.stderr, flush=True)
    large_dir = save_random_bert(tmp / LARGE, **large_config(plan.smoke))
    sizes = large_sizes(plan.smoke, plan.sizes)
    _measure_window(plan, LARGE, str(large_dir), figures, sizes)
    gc.collect()
    print("… measuring the large size's memory in fresh processes", file=sys.stderr, flush=True)
    probes = [_probe("rss", str(large_dir), str(sizes[-1])) for _ in range(plan.runs)]
    figures[LARGE].update(rss_figures(probes))
    shutil.rmtree(large_dir, ignore_errors=True)  # 1.3 GB of weights


# --- verdicts and the table -----------------------------------------------------------------
def _verdicts(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    verdicts: dict[str, dict[str, Any]] = {}
    for name, per_size in figures["edit_to_paint_ms"].items():
        for key, edit in per_size.items():
            limit = EDIT_SLOPE * figures["bare_forward_ms"][name][key] + EDIT_SLACK_MS
            verdicts[f"edit_to_paint.{name}.{key}"] = {
                "value": edit,
                "limit": limit,
                "met": edit <= limit,
            }
    lens = figures["logit_lens"]
    verdicts["logit_lens.stall"] = {
        "value": lens["stall_ms"],
        "limit": STALL_LIMIT_MS,
        "met": lens["stall_ms"] <= STALL_LIMIT_MS,
    }
    for name, stall in figures["max_stall_ms"].items():
        verdicts[f"max_stall.{name}"] = {
            "value": stall,
            "limit": STALL_LIMIT_MS,
            "met": stall <= STALL_LIMIT_MS,
        }
    for kind, elapsed in figures["switch_ms"].items():
        verdicts[f"switch.{kind}"] = {
            "value": elapsed,
            "limit": SWITCH_LIMIT_MS,
            "met": elapsed <= SWITCH_LIMIT_MS,
        }
    rss_limit = RSS_FACTOR * figures["tensor_floor_mb"]
    verdicts["extra_rss"] = {
        "value": figures["extra_rss_mb"],
        "limit": rss_limit,
        "met": figures["extra_rss_mb"] <= rss_limit,
    }
    verdicts["first_paint"] = {
        "value": figures["first_paint_s"],
        "limit": FIRST_PAINT_LIMIT_S,
        "met": figures["first_paint_s"] <= FIRST_PAINT_LIMIT_S,
    }
    ready_limit = figures["bare_from_pretrained_s"] + READY_SLACK_S
    verdicts["model_ready"] = {
        "value": figures["model_ready_s"],
        "limit": ready_limit,
        "met": figures["model_ready_s"] <= ready_limit,
    }
    corpus = figures["corpus"]
    verdicts["corpus_throughput"] = {
        "value": corpus["throughput_ratio"],
        "limit": CORPUS_THROUGHPUT_RATIO,
        "met": corpus["throughput_ratio"] >= CORPUS_THROUGHPUT_RATIO,
    }
    verdicts["corpus_rss"] = {
        "value": corpus["rss_growth_mb"],
        "limit": CORPUS_RSS_GROWTH_MB,
        "met": corpus["rss_growth_mb"] <= CORPUS_RSS_GROWTH_MB,
    }
    from explorer.bench.why import why_verdicts

    verdicts.update(why_verdicts(figures, EDIT_SLOPE, EDIT_SLACK_MS))
    verdicts.update(large_verdicts(figures, SWITCH_LIMIT_MS, RSS_FACTOR))
    verdicts.update(progressive_verdicts(figures, EDIT_SLOPE, EDIT_SLACK_MS, STALL_LIMIT_MS))
    return verdicts


def _mark(verdict: dict[str, Any]) -> str:
    return "ok" if verdict["met"] else "MISS"


def format_table(figures: dict[str, Any]) -> str:
    """The human-readable report (the JSON holds the same figures)."""
    meta, verdicts = figures["meta"], figures["targets"]
    lines = [
        f"BERT Attention Explorer benchmark: medians of {meta['runs']} runs"
        f"{' (SMOKE: tiny base, not comparable to the targets)' if meta['smoke'] else ''}",
        f"{meta['cpus']} CPUs, torch {meta['torch']} ({meta['torch_threads']} threads), "
        f"transformers {meta['transformers']}, load average {meta['load_before']:.2f} → "
        f"{meta['load_after']:.2f}, {meta['elapsed_s']:.0f} s in all",
        "",
        "Edit → every visible panel painted, against the bare forward pass (ms)",
        f"{'model':<12}{'T':>5}{'bare':>9}{'edit→paint':>12}{'ratio':>7}{'limit':>9}  "
        f"{'compute':>8}{'deliver':>8}{'apply':>7}{'paint':>7}",
    ]
    for name, per_size in figures["edit_to_paint_ms"].items():
        for key, edit in per_size.items():
            verdict = verdicts[f"edit_to_paint.{name}.{key}"]
            parts = figures["breakdown_ms"][name][key]
            lines.append(
                f"{name:<12}{key:>5}{figures['bare_forward_ms'][name][key]:>9.1f}{edit:>12.1f}"
                f"{figures['ratio'][name][key]:>7.2f}{verdict['limit']:>9.1f}  "
                f"{parts['compute']:>8.1f}{parts['deliver']:>8.1f}{parts['apply']:>7.1f}"
                f"{parts['paint']:>7.1f}  {_mark(verdict)}"
            )
    lines.append(
        f"  (limit = {EDIT_SLOPE} × bare + {EDIT_SLACK_MS:.0f} ms; compute = worker "
        "inference + views, apply = state + panels, paint = until painted; 'pretraining' is "
        "base size with BERT's masked-LM and next-sentence heads, its bare pass the encoder's)"
    )
    lens = figures["logit_lens"]
    lines.append(
        f"Logit lens at {lens['tokens']} tokens, pretraining: {lens['ms']:.0f} ms from the tab "
        f"raised to the grid painted ({lens['ms'] / lens['bare_forward_ms']:.1f} × the bare "
        f"pass), longest GUI stall meanwhile {lens['stall_ms']:.1f} ms (limit "
        f"{STALL_LIMIT_MS:.0f}) {_mark(verdicts['logit_lens.stall'])}"
    )
    from explorer.bench.why import why_lines

    lines.extend(why_lines(figures, verdicts))
    lines.extend(large_lines(figures, verdicts))
    lines.extend(progressive_lines(figures, verdicts))
    lines.append("")
    biggest = max(int(k) for k in figures["bare_forward_ms"]["base"])
    stalls = "   ".join(
        f"{name} {value:.1f} ms {_mark(verdicts[f'max_stall.{name}'])}"
        for name, value in figures["max_stall_ms"].items()
    )
    lines.append(
        f"GUI heartbeat, longest stall during a {biggest}-token edit: {stalls}"
        f"   (limit {STALL_LIMIT_MS:.0f})"
    )
    switches = "   ".join(
        f"{kind} {value:.1f} ms {_mark(verdicts[f'switch.{kind}'])}"
        for kind, value in figures["switch_ms"].items()
    )
    lines.append(
        f"Selection switch at {biggest} tokens, base: {switches}   (limit {SWITCH_LIMIT_MS:.0f})"
    )
    rss = verdicts["extra_rss"]
    lines.append(
        f"Memory, one {biggest}-token base inference: extra RSS {figures['extra_rss_mb']:.0f} MB"
        f" = {figures['extra_rss_mb'] / figures['tensor_floor_mb']:.2f} × the tensor floor "
        f"{figures['tensor_floor_mb']:.0f} MB   (limit {rss['limit']:.0f} MB) {_mark(rss)}"
    )
    lines.append(
        f"Start-up: first paint {figures['first_paint_s']:.2f} s "
        f"(limit {FIRST_PAINT_LIMIT_S}) {_mark(verdicts['first_paint'])}   "
        f"model ready {figures['model_ready_s']:.2f} s vs bare from_pretrained "
        f"{figures['bare_from_pretrained_s']:.2f} s (limit {verdicts['model_ready']['limit']:.2f})"
        f" {_mark(verdicts['model_ready'])}"
    )
    lines.append(
        f"  then: panels built {figures['panels_ready_s']:.2f} s, first result in the window "
        f"{figures['first_result_s']:.2f} s; the GUI thread had used "
        f"{figures['gui_cpu_before_ready_s']:.2f} s of CPU when the model was ready"
    )
    corpus = figures["corpus"]
    lines.append(
        f"Corpus mode, {corpus['segments']} segments, batch {corpus['batch_size']}, "
        f"{corpus['model']}: {corpus['corpus_segments_per_s']:.1f} segments/s vs a plain "
        f"batched loop {corpus['plain_segments_per_s']:.1f} = {corpus['throughput_ratio']:.2f} ×"
        f" (limit ≥ {CORPUS_THROUGHPUT_RATIO}) {_mark(verdicts['corpus_throughput'])}"
    )
    lines.append(
        f"  RSS {corpus['rss_early_mb']:.0f} MB after {corpus['rss_early_at']} segments → "
        f"{corpus['rss_late_mb']:.0f} MB after {corpus['rss_late_at']}: "
        f"{corpus['rss_growth_mb']:+.1f} MB (limit {CORPUS_RSS_GROWTH_MB:.0f}) "
        f"{_mark(verdicts['corpus_rss'])}"
    )
    unpainted = figures.get("unpainted_views")
    if unpainted:
        lines.append(f"Watched views that did not repaint (timed without them): {unpainted}")
    missed = [name for name, verdict in verdicts.items() if not verdict["met"]]
    lines.append("")
    lines.append(
        f"Targets met: {len(verdicts) - len(missed)}/{len(verdicts)}"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    return "\n".join(lines)


def _versions() -> dict[str, Any]:
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "transformers": transformers.__version__,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; the exit status is 0 even when targets are missed (it reports)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    plan = _parse(argv)
    from explorer.bench.common import isolate_settings

    settings_folder = isolate_settings()
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    figures: dict[str, Any] = {
        key: {}
        for key in (
            "bare_forward_ms",
            "edit_to_paint_ms",
            "ratio",
            "max_stall_ms",
            "stall_runs_ms",
            "breakdown_ms",
            "switch_ms",
            "unpainted_views",
            "watched_views",
        )
    }
    with tempfile.TemporaryDirectory(prefix="explorer-bench-") as tmp:
        base_dir = save_random_bert(Path(tmp) / "base", **(TINY_CONFIG if plan.smoke else {}))
        for name, spec in zip(MODELS, ("embedded", str(base_dir)), strict=True):
            print(f"… measuring the window on {name}", file=sys.stderr, flush=True)
            _measure_window(plan, name, spec, figures)
        print("… measuring the window with the pretraining heads", file=sys.stderr, flush=True)
        heads_dir = save_random_bert(
            Path(tmp) / "pretraining",
            architecture="BertForPreTraining",
            **(TINY_CONFIG if plan.smoke else {}),
        )
        head_sizes = plan.sizes[:1] if plan.smoke else (HEAD_SIZE,)
        _measure_window(plan, "pretraining", str(heads_dir), figures, head_sizes)
        print("… measuring start-up and memory in fresh processes", file=sys.stderr, flush=True)
        _measure_processes(plan, base_dir, figures)
        print("… measuring corpus mode in a fresh process", file=sys.stderr, flush=True)
        _measure_corpus(plan, base_dir, figures)
        _measure_large(plan, Path(tmp), figures)
    figures["meta"] = {
        "runs": plan.runs,
        "warmup_runs": plan.warmup,
        "sizes": list(plan.sizes),
        "smoke": plan.smoke,
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "elapsed_s": time.perf_counter() - started,
        **_versions(),
    }
    shutil.rmtree(settings_folder, ignore_errors=True)
    figures["targets"] = _verdicts(figures)
    table = format_table(figures)
    print(table)
    plan.out.write_text(json.dumps(figures, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(f"\nwrote {plan.out}")
    return 0
