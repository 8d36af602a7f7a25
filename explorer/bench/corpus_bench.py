"""Corpus mode against a plain batched transformers loop, and its memory over a long run.

Both sides read the same file with the same model and batch size, in the same process,
alternating, so a busy neighbour slows both: the figure is a ratio, never a time. The plain
loop is what a researcher would write first: tokenize a batch with padding, one forward pass
with ``output_attentions=True``, nothing kept. Corpus mode does that and all its statistics.
RSS is sampled at the first progress report past ``early`` segments and at the end.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from explorer.bench.common import median

BATCH_SIZE = 16
EARLY_SEGMENTS = 100


def write_bench_corpus(folder: Path, segments: int) -> Path:
    """The demo corpus's single sentences, repeated to ``segments`` lines."""
    from explorer.resources import resource_path

    lines = resource_path("demo_corpus.txt").read_text(encoding="utf-8").splitlines()
    singles = [line for line in lines if line.strip() and "\t" not in line]
    path = folder / "bench-corpus.txt"
    path.write_text(
        "\n".join(singles[i % len(singles)] for i in range(segments)) + "\n", encoding="utf-8"
    )
    return path


def plain_loop_seconds(loaded: Any, path: Path, batch_size: int, max_length: int) -> float:
    """A batched transformers loop with output_attentions=True over the file, timed."""
    import torch

    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(lines), batch_size):
            batch = loaded.tokenizer(
                lines[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            outputs = loaded.model(**batch, output_attentions=True)
            del outputs
    return time.perf_counter() - started


def _rss_bytes() -> int:
    from explorer.bench.probes import RssSampler

    return RssSampler().current()


def corpus_seconds(
    loaded: Any, path: Path, out: Path, options: Any
) -> tuple[float, dict[str, float]]:
    """One corpus run over the file, timed, with RSS at ``EARLY_SEGMENTS`` and at the end."""
    from explorer.core.corpus.run import run_corpus

    rss: dict[str, float] = {}

    def sample(progress: Any) -> None:
        if "early" not in rss and progress.done >= EARLY_SEGMENTS:
            rss["early"] = _rss_bytes() / 1e6
            rss["early_at"] = progress.done

    started = time.perf_counter()
    run = run_corpus(loaded, path, out, options, progress=sample)
    elapsed = time.perf_counter() - started
    rss["late"] = _rss_bytes() / 1e6
    rss["late_at"] = run.sums.segments
    return elapsed, rss


def probe_corpus(spec: str, segments: int, runs: int) -> dict[str, Any]:
    """Segments per second of both sides (medians of ``runs``), their ratio, and RSS growth."""
    from explorer.core.corpus.run import CorpusOptions
    from explorer.core.loading import load_model
    from explorer.core.sources import ModelSource

    loaded = load_model(ModelSource.parse(spec))
    options = CorpusOptions(batch_size=BATCH_SIZE)
    with tempfile.TemporaryDirectory(prefix="explorer-corpus-bench-") as tmp:
        folder = Path(tmp)
        path = write_bench_corpus(folder, segments)
        (folder / "warm").mkdir()
        warm = write_bench_corpus(folder / "warm", BATCH_SIZE * 2)
        plain_loop_seconds(loaded, warm, BATCH_SIZE, options.max_length)
        corpus_seconds(loaded, warm, folder / "warm.npz", options)
        plain, ours, memory = [], [], []
        for run in range(runs):
            plain.append(plain_loop_seconds(loaded, path, BATCH_SIZE, options.max_length))
            elapsed, rss = corpus_seconds(loaded, path, folder / f"run{run}.npz", options)
            ours.append(elapsed)
            memory.append(rss)
    plain_rate, corpus_rate = segments / median(plain), segments / median(ours)
    first = memory[0]  # the first run: its growth is what a user's one long run sees
    return {
        "segments": segments,
        "batch_size": BATCH_SIZE,
        "plain_segments_per_s": plain_rate,
        "corpus_segments_per_s": corpus_rate,
        "throughput_ratio": corpus_rate / plain_rate,
        "rss_early_mb": first["early"],
        "rss_early_at": first["early_at"],
        "rss_late_mb": first["late"],
        "rss_late_at": first["late_at"],
        "rss_growth_mb": first["late"] - first["early"],
    }
