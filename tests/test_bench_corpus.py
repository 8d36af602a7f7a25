"""The corpus rows of the benchmark run on a tiny input (figures only, no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from explorer.bench.corpus_bench import write_bench_corpus

REPO = Path(__file__).resolve().parents[1]


def test_the_bench_corpus_has_the_asked_number_of_single_segments(tmp_path):
    path = write_bench_corpus(tmp_path, 130)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 130 and all(line.strip() and "\t" not in line for line in lines)


def test_the_corpus_probe_reports_both_rates_and_rss_growth(tmp_path, tiny_model_dir):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "explorer.bench.probes", "corpus", str(tiny_model_dir), "120", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    figures = json.loads(line.removeprefix("BENCH_JSON "))
    assert figures["segments"] == 120 and figures["batch_size"] == 16
    assert figures["plain_segments_per_s"] > 0 and figures["corpus_segments_per_s"] > 0
    assert figures["throughput_ratio"] > 0
    assert 100 <= figures["rss_early_at"] < figures["rss_late_at"] == 120
    assert figures["rss_late_mb"] > 0
    assert not any(tmp_path.glob("explorer-corpus-bench-*"))  # its temporary folder is gone
