"""Corpus statistics: equal to a recomputation from inspect results, shardable, resumable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import rel_entr

from explorer.core.analysis.head_stats import head_statistics
from explorer.core.corpus import run as run_module
from explorer.core.corpus.files import (
    WORD_KEYS,
    CorpusFileError,
    merge_corpus_files,
    read_corpus_file,
)
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


def _row_bytes(model) -> int:
    return (model.info.num_layers + 1) * model.info.hidden_size * 8


def _tiny_cache(model, rows: int = 3) -> int:
    """A word cache of a few rows: a corpus of a hundred words spills most of them to disk."""
    return rows * _row_bytes(model)


@pytest.fixture
def stores(monkeypatch):
    """Every word store a corpus run or merge opens, kept for its own accounting."""
    opened = []
    real = run_module.open_word_store

    def spy(*args):
        opened.append(real(*args))
        return opened[-1]

    monkeypatch.setattr(run_module, "open_word_store", spy)
    return opened


@pytest.fixture(scope="module")
def single_run(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("single")
    path = folder / "corpus.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return run_corpus(tiny_model, path, folder / "all.npz", CorpusOptions(batch_size=3, js=True))


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


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


def _direct_occurrences(results) -> dict[str, list[np.ndarray]]:
    """Each word's (L+1, D) states, one per occurrence: its pieces averaged, as inspect has them."""
    occurrences: dict[str, list[np.ndarray]] = {}
    for r in results:
        for seq, sentence in ((0, r.text), (1, r.pair)):
            for word in sorted(set(r.word_ids[r.sequence_ids == seq].tolist()) - {-1}):
                pieces = np.flatnonzero((r.sequence_ids == seq) & (r.word_ids == word))
                name = sentence[r.offsets[pieces[0], 0] : r.offsets[pieces[-1], 1]].casefold()
                if name.isalnum():
                    states = r.hidden_states[:, pieces].astype(np.float64).mean(1)
                    occurrences.setdefault(name, []).append(states)
    return occurrences


def _direct_word_table(results):
    """words (sorted), counts and Σ unit vectors, brute force from the inspect states."""
    occurrences = _direct_occurrences(results)
    words = sorted(occurrences)
    counts = np.array([len(occurrences[w]) for w in words], dtype=np.int64)
    sums = np.stack(
        [sum(v / np.linalg.norm(v, axis=-1, keepdims=True) for v in occurrences[w]) for w in words]
    )
    return words, counts, sums


def _direct_layer_measures(results):
    tokens = np.concatenate(
        [r.hidden_states[:, ~r.special_tokens_mask].transpose(1, 0, 2) for r in results]
    ).astype(np.float64)
    occurrences = _direct_occurrences(results)
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


def test_every_word_is_exact_with_a_cache_far_smaller_than_the_vocabulary(
    tiny_model, corpus, tmp_path, stores
):
    """A word cache of 3 rows, ~100 distinct words: the table equals a brute-force recount."""
    out = tmp_path / "small-cache.npz"
    cache = _tiny_cache(tiny_model)
    run = run_corpus(tiny_model, corpus, out, CorpusOptions(batch_size=3, word_cache_bytes=cache))
    (store,) = stores
    assert store.cache_bytes == cache and 0 < store.peak_cached_bytes <= cache
    assert len(store) > 90 and store.rows_written >= len(store) - 3  # all but 3 went to disk
    assert store.rows_read > 0  # and words met again came back from it

    results = _results(tiny_model)
    words, counts, sums = _direct_word_table(results)
    written = _load(out)
    assert written["words"].tolist() == words
    np.testing.assert_array_equal(written["word_counts"], counts)
    assert written["word_unit_sums"].dtype == np.float64
    np.testing.assert_allclose(written["word_unit_sums"], sums, rtol=1e-6, atol=1e-6)
    frequent = counts >= 5
    n = counts[frequent][:, None].astype(np.float64)
    similarity = (((sums[frequent] ** 2).sum(-1) - n) / (n * (n - 1))).mean(0)
    np.testing.assert_allclose(written["layer_self_similarity"], similarity, rtol=1e-5, atol=1e-6)
    assert run.meta["words_with_enough_occurrences"] == int(frequent.sum()) == 2
    expected = _direct_layer_measures(results)["layer_self_similarity"]
    np.testing.assert_allclose(written["layer_self_similarity"], expected, rtol=1e-5, atol=1e-6)
    assert not set(WORD_KEYS) & set(run.arrays)  # the table is in the file, not in RAM


def test_a_default_cache_serves_a_small_vocabulary_without_the_disk(
    tiny_model, corpus, tmp_path, stores
):
    run_corpus(tiny_model, corpus, tmp_path / "o.npz", CorpusOptions(batch_size=3))
    (store,) = stores
    assert store.rows_written == store.rows_read == 0 and store.cached_bytes > 0


def test_more_words_than_the_old_sample_are_all_kept(tiny_model, tmp_path):
    words = [f"w{i}" for i in range(700)]  # more distinct words than 512
    path = tmp_path / "many.txt"
    path.write_text(
        "\n".join(" ".join(words[i : i + 10]) for i in range(0, 700, 10)) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "many.npz"
    cache = _tiny_cache(tiny_model, rows=16)
    run_corpus(tiny_model, path, out, CorpusOptions(batch_size=8, word_cache_bytes=cache))
    written = _load(out)
    assert written["words"].tolist() == sorted(words)
    np.testing.assert_array_equal(written["word_counts"], np.ones(700, dtype=np.int64))
    layers = tiny_model.info.num_layers + 1
    assert written["word_unit_sums"].shape == (700, layers, tiny_model.info.hidden_size)
    np.testing.assert_allclose(np.linalg.norm(written["word_unit_sums"], axis=-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("cache_rows", [None, 3])
def test_shards_merge_to_one_run(tiny_model, corpus, tmp_path, cache_rows):
    cache = {} if cache_rows is None else {"word_cache_bytes": _tiny_cache(tiny_model, cache_rows)}
    options = CorpusOptions(batch_size=2, js=True, chunk_batches=4, **cache)
    whole = run_corpus(tiny_model, corpus, tmp_path / "whole.npz", options)
    parts = []
    for shard in (1, 2, 3):
        out = tmp_path / f"part{shard}.npz"
        sharded = CorpusOptions(**{**options.__dict__, "shard": shard, "shards": 3})
        run = run_corpus(tiny_model, corpus, out, sharded)
        assert 0 < run.sums.segments < 20
        parts.append(out)
    merged_out = tmp_path / "merged.npz"
    merged, meta = merge_corpus_files(parts, merged_out, *cache.values())
    assert meta["shards_merged"] == [1, 2, 3]
    _assert_same(whole.arrays, merged, exact=False)
    merged_file, whole_file = _load(merged_out), _load(tmp_path / "whole.npz")
    shard_words = set().union(*(_load(p)["words"].tolist() for p in parts))
    assert set(merged_file["words"].tolist()) == shard_words
    assert len(whole_file["words"]) > 90
    _assert_same(whole_file, merged_file, exact=False)
    with pytest.raises(CorpusFileError, match="Shard 2 is in both"):
        merge_corpus_files([parts[0], parts[1], parts[1]], tmp_path / "twice.npz")


def test_cancel_and_resume_equals_one_run(tiny_model, corpus, tmp_path, stores):
    cache = _tiny_cache(tiny_model)
    options = CorpusOptions(batch_size=2, js=True, word_cache_bytes=cache, chunk_batches=2)
    whole = run_corpus(tiny_model, corpus, tmp_path / "whole.npz", options)
    out = tmp_path / "resumed.npz"
    asked = iter(range(100))
    with pytest.raises(CorpusCancelled, match="Run the same command again"):
        run_corpus(tiny_model, corpus, out, options, should_stop=lambda: next(asked) >= 4)
    checkpoint = checkpoint_path(out)
    assert checkpoint.exists() and not out.exists()
    partial, meta = read_corpus_file(checkpoint)
    assert partial.segments == 8 and meta["next_batch"] == 4
    in_checkpoint = _load(checkpoint)
    assert len(in_checkpoint["words"]) == len(stores[1]) > 3  # more than the cache held
    seen = []
    resumed = run_corpus(tiny_model, corpus, out, options, progress=seen.append)
    assert seen[0].done == 10 and seen[0].session_done == 2 and seen[-1].done == 20
    assert {p.resumed for p in seen} == {8} and resumed.resumed == 8
    assert not checkpoint.exists()
    _assert_same(whole.arrays, resumed.arrays, exact=True)
    whole_file = _load(tmp_path / "whole.npz")
    assert set(WORD_KEYS) <= set(whole_file)
    _assert_same(whole_file, _load(out), exact=True)
    assert all(s.peak_cached_bytes <= cache for s in stores)


def test_a_periodic_checkpoint_holds_the_words_and_resumes_to_one_run(
    tiny_model, corpus, tmp_path, monkeypatch
):
    """A run killed after a periodic checkpoint (not a cancel) resumes from it to one run."""
    options = CorpusOptions(batch_size=2, word_cache_bytes=_tiny_cache(tiny_model))
    run_corpus(tiny_model, corpus, tmp_path / "whole.npz", options)
    out = tmp_path / "killed.npz"
    checkpoint = checkpoint_path(out)
    copies = []
    real = run_module.write_corpus_file

    def keep_a_copy(path, *args):
        written = real(path, *args)
        if path == checkpoint:
            copies.append(checkpoint.read_bytes())
        return written

    monkeypatch.setattr(run_module, "write_corpus_file", keep_a_copy)
    every_batch = CorpusOptions(**{**options.__dict__, "checkpoint_seconds": 0.0})
    run_corpus(tiny_model, corpus, out, every_batch)
    assert copies and not checkpoint.exists()
    checkpoint.write_bytes(copies[0])  # as if the run had been killed after it
    out.unlink()
    saved = _load(checkpoint)
    assert 0 < int(saved["segments"]) < 20 and len(saved["words"]) > 3
    run_corpus(tiny_model, corpus, out, options)
    _assert_same(_load(tmp_path / "whole.npz"), _load(out), exact=True)


def test_a_checkpoint_of_another_run_is_refused(tiny_model, corpus, tmp_path):
    out = tmp_path / "out.npz"
    with pytest.raises(CorpusCancelled):
        run_corpus(tiny_model, corpus, out, CorpusOptions(batch_size=2), should_stop=lambda: True)
    with pytest.raises(CorpusFileError, match=r"--batch-size \(2 vs 4\)"):
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


def test_the_word_store_spills_within_its_byte_bound_and_adds_exactly(tmp_path):
    from explorer.core.corpus.words import CHUNK_BYTES, WordChunk, WordStore

    shape = (3, 4)
    row = 3 * 4 * 8
    rng = np.random.default_rng(0)
    expected: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    with WordStore(shape, tmp_path, cache_bytes=5 * row + row // 2) as store:
        assert store.cache_bytes == 5 * row + row // 2
        for step in range(2000):
            word = f"w{int(rng.zipf(1.3)) % 300}"
            unit = rng.standard_normal(shape)
            store.add(word, unit, occurrences=2)
            expected[word] = expected.get(word, np.zeros(shape)) + unit
            counts[word] = counts.get(word, 0) + 2
            assert store.cached_bytes <= 5 * row, step
        assert store.peak_cached_bytes == 5 * row and store.rows_written > 100
        order = store.sorted_words()
        assert order == sorted(expected)
        chunks = list(store.chunks(order, rows=True))
        assert sum(len(c.words) for c in chunks) == len(order)
        assert all(len(c.words) <= CHUNK_BYTES // row for c in chunks)
        rows = np.concatenate([c.rows for c in chunks])
        np.testing.assert_array_equal(rows, np.stack([expected[w] for w in order]))
        np.testing.assert_array_equal(
            np.concatenate([c.counts for c in chunks]), [counts[w] for w in order]
        )
        # A file's rows added past the cache: cached words, spilled words and new ones.
        extra = sorted([*order[:50], "zz-new", "zz-newer"])
        more = rng.standard_normal((len(extra), *shape))
        store.add_rows(WordChunk(extra, np.ones(len(extra), dtype=np.int64), more))
        for word, unit in zip(extra, more, strict=True):
            expected[word] = expected.get(word, np.zeros(shape)) + unit
        order = store.sorted_words()
        (chunk,) = store.chunks(order, rows=True)
        np.testing.assert_array_equal(chunk.rows, np.stack([expected[w] for w in order]))
        assert store.cached_bytes <= 5 * row
    with pytest.raises(ValueError, match="holds no 96-byte row"):
        WordStore(shape, tmp_path, cache_bytes=95)
    assert not list(tmp_path.iterdir())  # the spill file has no name and is gone


def test_streamed_npz_members_read_back_with_np_load_and_in_chunks(tmp_path):
    import zipfile

    from explorer.core.corpus.npz_stream import NpyMember, NpzWriter, open_npz

    rows = np.arange(7 * 2 * 3, dtype=np.float64).reshape(7, 2, 3)
    words = np.array(["a", "bb", "ccc", "d", "é", "f", "g"])
    path = tmp_path / "s.npz"
    with path.open("wb") as handle, open_npz(handle) as archive:
        npz = NpzWriter(archive)
        npz.rows("rows", rows.dtype, rows.shape, (rows[i : i + 3] for i in range(0, 7, 3)))
        npz.rows("words", words.dtype, words.shape, [words[:4], words[4:]])
        npz.rows("empty", np.dtype(np.float64), (0, 2, 3), [])
        npz.array("small", np.int64(5))
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["rows"], rows)
        np.testing.assert_array_equal(data["words"], words)
        assert data["empty"].shape == (0, 2, 3) and int(data["small"]) == 5
    with zipfile.ZipFile(path) as archive:
        member = NpyMember(archive, "rows")
        assert member.shape == (7, 2, 3) and member.dtype == np.float64
        parts = [member.read(2) for _ in range(4)]
        assert [len(p) for p in parts] == [2, 2, 2, 1]
        np.testing.assert_array_equal(np.concatenate(parts), rows)
    with path.open("wb") as handle, open_npz(handle) as archive, pytest.raises(ValueError):
        NpzWriter(archive).rows(
            "rows", rows.dtype, rows.shape, [rows[:3]]
        )  # fewer rows than the header says


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5])
@pytest.mark.parametrize("shards", [1, 2, 3, 7])
def test_shard_sizes_are_the_segments_each_shard_runs(tiny_model, tmp_path, batch_size, shards):
    """The progress total of a shard is exact: what it runs, for any cut of chunks and batches."""
    path = tmp_path / "c.txt"
    path.write_text("".join(f"Line {i} says hello.\n" for i in range(23)), encoding="utf-8")
    sizes = []
    for shard in range(1, shards + 1):
        options = CorpusOptions(batch_size=batch_size, shard=shard, shards=shards, chunk_batches=2)
        ran = sum(
            len(batch)
            for number, batch in run_module.planned_batches(tiny_model, path, options)
            if number % shards == shard - 1
        )
        assert run_module.shard_segments(23, options) == ran
        sizes.append(ran)
    assert sum(sizes) == 23


def test_spellings_the_model_folds_are_one_word(tiny_model, tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("The Café opens.\nA cafe closes.\nCAFE!\n", encoding="utf-8")
    run = run_corpus(tiny_model, path, tmp_path / "o.npz", CorpusOptions())
    with np.load(tmp_path / "o.npz") as data:
        counts = dict(zip(data["words"].tolist(), data["word_counts"].tolist(), strict=True))
    assert counts["cafe"] == 3 and "café" not in counts
    assert run.sums.segments == 3
