"""Corpus statistics: equal to a recomputation from inspect results, shardable, resumable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import rel_entr

from explorer.core.analysis.head_stats import head_statistics
from explorer.core.corpus.files import CorpusFileError, merge_corpus_files, read_corpus_file
from explorer.core.corpus.reader import CorpusInputError, scan_corpus
from explorer.core.corpus.run import (
    CorpusCancelled,
    CorpusOptions,
    CorpusOptionsError,
    checkpoint_path,
    run_corpus,
)
from explorer.core.inference import run_inference

# 20 segments of different lengths (so batches pad), a pair, a blank line, repeated words.
LINES = [
    "The river bank was muddy after the rain.",
    "She deposited her salary at the bank.",
    "I love my pet python, it sleeps all day.\tIs it a snake?",
    "Python is a programming language.",
    "A quick brown fox jumps over the lazy dog!",
    "",
    "Why do birds sing?",
    "The bank raised its interest rates again.",
    "He sat on the bank and watched the river.",
    "Embeddings map words to vectors; vectors map to meaning.",
    "The the the the the the the.",
    "Dogs bark, cats meow, and the bank stays closed.",
    "It was raining heavily in London yesterday.",
    "Pass the salt, please.",
    "My grandmother's recipe uses three eggs.",
    "The committee postponed the vote until Friday.",
    "Stars twinkle.",
    "Tokenization splits unfamiliar words into pieces.",
    "A python swallowed an entire antelope.",
    "The bank of England sets monetary policy.",
    "Paris is the capital of France.",
]
STAT_KEYS = (
    "head_cls",
    "head_sep",
    "head_punct",
    "head_self",
    "head_prev",
    "head_next",
    "head_entropy",
    "head_distance",
    "head_offsets",
    "head_js",
    "layer_self_similarity",
    "layer_anisotropy",
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def single_run(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("single")
    path = folder / "corpus.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return run_corpus(tiny_model, path, folder / "all.npz", CorpusOptions(batch_size=3, js=True))


def _results(model):
    segments = [line.partition("\t") for line in LINES if line.strip()]
    return [run_inference(model, text, pair or None) for text, _, pair in segments]


def _direct_statistics(results):
    """Every pooled statistic, straight from per-sentence inspect results."""
    weights = {"rows": 0, "neighbours": 0}
    sums: dict[str, np.ndarray] = {}
    offsets_sum, offsets_rows = 0.0, np.zeros(21)
    js_sum = 0.0
    for r in results:
        count = r.num_tokens
        stats = head_statistics(r.attentions, r.tokens, r.special_tokens_mask, r.sequence_ids)
        for name in ("cls", "sep", "punct", "self", "entropy", "distance"):
            sums[name] = sums.get(name, 0) + stats.values[name].astype(np.float64) * count
        for name in ("prev", "next"):
            sums[name] = sums.get(name, 0) + stats.values[name].astype(np.float64) * (count - 1)
        weights["rows"] += count
        weights["neighbours"] += count - 1
        a = r.attentions.astype(np.float64)
        offsets_sum = offsets_sum + np.stack(
            [np.diagonal(a, k, axis1=2, axis2=3).sum(-1) for k in range(-10, 11)], axis=-1
        )
        offsets_rows += [max(count - abs(k), 0) for k in range(-10, 11)]
        rows = a.reshape(-1, count, count)  # (L·H, T, T)
        p, q = rows[:, None], rows[None, :]
        m = 0.5 * (p + q)
        js_sum = js_sum + (0.5 * rel_entr(p, m) + 0.5 * rel_entr(q, m)).sum(-1).sum(-1)
    expected = {f"head_{name}": sums[name] / weights["rows"] for name in sums}
    for name in ("prev", "next"):
        expected[f"head_{name}"] = sums[name] / weights["neighbours"]
    expected["head_offsets"] = offsets_sum / offsets_rows
    expected["head_js"] = js_sum / weights["rows"]
    return expected


def _mean_off_diagonal_cosine(vectors):
    unit = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    cosines = np.einsum("nld,mld->lnm", unit, unit)
    off = ~np.eye(vectors.shape[0], dtype=bool)
    return cosines[:, off].mean(-1)


def _direct_layer_measures(results):
    tokens = np.concatenate(
        [r.hidden_states[:, ~r.special_tokens_mask].transpose(1, 0, 2) for r in results]
    ).astype(np.float64)
    occurrences: dict[str, list[np.ndarray]] = {}
    for r in results:
        for seq, sentence in ((0, r.text), (1, r.pair)):
            for word in sorted(set(r.word_ids[r.sequence_ids == seq].tolist()) - {-1}):
                pieces = np.flatnonzero((r.sequence_ids == seq) & (r.word_ids == word))
                name = sentence[r.offsets[pieces[0], 0] : r.offsets[pieces[-1], 1]].casefold()
                if name.isalnum():
                    occurrences.setdefault(name, []).append(r.hidden_states[:, pieces].mean(1))
    frequent = [np.stack(v) for v in occurrences.values() if len(v) >= 5]
    assert {len(v) for v in frequent} and len(frequent) == 2  # "the" and "bank"
    return {
        "layer_anisotropy": _mean_off_diagonal_cosine(tokens),
        "layer_self_similarity": np.mean([_mean_off_diagonal_cosine(v) for v in frequent], 0),
    }


def test_pooled_statistics_equal_a_recomputation_from_inspect_results(tiny_model, single_run):
    results = _results(tiny_model)
    arrays = single_run.arrays
    assert int(arrays["segments"]) == 20 == len(results)
    assert int(arrays["tokens"]) == sum(r.num_tokens for r in results)
    expected = {**_direct_statistics(results), **_direct_layer_measures(results)}
    assert set(expected) == set(STAT_KEYS)
    for key in STAT_KEYS:
        assert arrays[key].dtype == np.float32, key
        np.testing.assert_allclose(arrays[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)
    layers, heads = tiny_model.info.num_layers, tiny_model.info.num_heads
    assert arrays["head_cls"].shape == (layers, heads)
    assert arrays["head_offsets"].shape == (layers, heads, 21)
    assert arrays["head_js"].shape == (layers * heads,) * 2
    np.testing.assert_array_equal(arrays["head_self"], arrays["head_offsets"][..., 10])


def test_cls_and_sep_are_the_family_token_ids_not_strings(tiny_model, single_run):
    meta = single_run.meta
    assert meta["cls_token_id"] == tiny_model.tokenizer.cls_token_id
    assert meta["sep_token_id"] == tiny_model.tokenizer.sep_token_id


def _assert_same(a: dict, b: dict, *, exact: bool) -> None:
    assert set(a) == set(b)
    for key in a:
        if key == "meta":
            continue
        if a[key].dtype.kind in "USiu" or exact:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("capacity", [512, 8])
def test_shards_merge_to_one_run(tiny_model, corpus, tmp_path, capacity):
    options = CorpusOptions(batch_size=2, js=True, word_capacity=capacity, chunk_batches=4)
    whole = run_corpus(tiny_model, corpus, tmp_path / "whole.npz", options)
    parts = []
    for shard in (1, 2, 3):
        out = tmp_path / f"part{shard}.npz"
        sharded = CorpusOptions(**{**options.__dict__, "shard": shard, "shards": 3})
        run = run_corpus(tiny_model, corpus, out, sharded)
        assert 0 < run.sums.segments < 20
        parts.append(out)
    merged, meta = merge_corpus_files(parts)
    assert meta["shards_merged"] == [1, 2, 3]
    assert len(merged["words"]) == min(capacity, len(whole.arrays["words"]))
    _assert_same(whole.arrays, merged, exact=False)
    with pytest.raises(CorpusFileError, match="Shard 2 is in both"):
        merge_corpus_files([parts[0], parts[1], parts[1]])


def test_cancel_and_resume_equals_one_run(tiny_model, corpus, tmp_path):
    options = CorpusOptions(batch_size=2, js=True, word_capacity=8, chunk_batches=2)
    whole = run_corpus(tiny_model, corpus, tmp_path / "whole.npz", options)
    out = tmp_path / "resumed.npz"
    asked = iter(range(100))
    with pytest.raises(CorpusCancelled, match="Run the same command again"):
        run_corpus(tiny_model, corpus, out, options, should_stop=lambda: next(asked) >= 4)
    checkpoint = checkpoint_path(out)
    assert checkpoint.exists() and not out.exists()
    partial, meta = read_corpus_file(checkpoint)
    assert partial.segments == 8 and meta["next_batch"] == 4
    seen = []
    resumed = run_corpus(tiny_model, corpus, out, options, progress=seen.append)
    assert seen[0].done == 10 and seen[0].session_done == 2 and seen[-1].done == 20
    assert not checkpoint.exists()
    _assert_same(whole.arrays, resumed.arrays, exact=True)
    with np.load(out) as written:
        _assert_same(whole.arrays, {k: written[k] for k in written.files}, exact=True)


def test_a_checkpoint_of_another_run_is_refused(tiny_model, corpus, tmp_path):
    out = tmp_path / "out.npz"
    with pytest.raises(CorpusCancelled):
        run_corpus(tiny_model, corpus, out, CorpusOptions(batch_size=2), should_stop=lambda: True)
    with pytest.raises(CorpusFileError, match="batch_size differ"):
        run_corpus(tiny_model, corpus, out, CorpusOptions(batch_size=4))


def test_a_long_line_is_truncated_and_counted(tiny_model, tmp_path):
    path = tmp_path / "long.txt"
    long_line = " ".join(["word"] * 40)
    path.write_text(f"short one\n{long_line}\n", encoding="utf-8")
    run = run_corpus(tiny_model, path, tmp_path / "o.npz", CorpusOptions(max_length=16))
    full = run_inference(tiny_model, long_line).num_tokens
    assert int(run.arrays["count_truncated_segments"]) == 1
    assert int(run.arrays["count_tokens_dropped"]) == full - 16
    assert run.meta["truncated_segments"] == 1
    assert int(run.arrays["tokens"]) == 16 + run_inference(tiny_model, "short one").num_tokens


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n  \n\t\n", "has only blank lines"),
        (b"fine\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file \\(it holds NUL bytes\\)"),
        (b"x\n" * 5000 + b"late \x00 byte\n", "binary file \\(a NUL byte on line 5001\\)"),
        (b"fine\nnot \xff utf-8\n", "line 2: not UTF-8"),
    ],
)
def test_bad_corpus_files_are_messages(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusInputError, match=message):
        scan_corpus(path)


def test_options_that_cannot_work_are_refused(tiny_model, corpus, tmp_path):
    for options, message in (
        (CorpusOptions(max_length=4), "--max-length 4"),
        (CorpusOptions(max_length=100_000), "model's maximum"),
        (CorpusOptions(batch_size=0), "--batch-size 0"),
        (CorpusOptions(shard=3, shards=2), "--shard 3/2"),
    ):
        with pytest.raises(CorpusOptionsError, match=message):
            run_corpus(tiny_model, corpus, tmp_path / "o.npz", options)


def test_the_demo_corpus_ships_and_runs(tiny_model, tmp_path):
    from explorer.resources import resource_path

    path = resource_path("demo_corpus.txt")
    scan = scan_corpus(path)
    assert scan.segments >= 200 and scan.blank_lines == 0
    run = run_corpus(tiny_model, path, tmp_path / "demo.npz", CorpusOptions(batch_size=32))
    assert int(run.arrays["segments"]) == scan.segments
    assert run.meta["words_with_enough_occurrences"] >= 5  # "bank", "the", ... repeat
    assert np.isfinite(run.arrays["layer_self_similarity"]).all()


def test_a_full_word_table_keeps_the_smallest_hashes_whatever_the_order():
    from explorer.core.corpus.words import WordTable, word_hash

    words = [f"w{i}" for i in range(40)]
    unit = np.ones((2, 3))
    forward, backward = WordTable(capacity=5), WordTable(capacity=5)
    for word in words:
        if forward.wants(word):
            forward.add(word, unit)
    for word in reversed(words):
        backward.add(word, unit, occurrences=2)
    smallest = sorted(words, key=word_hash)[:5]
    assert sorted(forward.hashes) == sorted(backward.hashes) == sorted(smallest)
    assert all(forward.wants(w) for w in smallest)
    assert not any(forward.wants(w) for w in set(words) - set(smallest))
    assert backward.counts[smallest[0]] == 2
