"""`bert-explorer corpus` and `corpus merge`: keys, progress, notes, and errors as messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.cli import main
from tests.conftest import save_random_bert

OUTPUT_KEYS = {
    "segments",
    "tokens",
    "head_cls",
    "head_sep",
    "head_punct",
    "head_self",
    "head_prev",
    "head_next",
    "head_entropy",
    "head_distance",
    "head_offsets",
    "layer_self_similarity",
    "layer_anisotropy",
    "count_truncated_segments",
    "count_tokens_dropped",
    "count_unknown_words",
    "count_offset_rows",
    "count_content_tokens",
    "sum_roles",
    "sum_entropy",
    "sum_distance",
    "sum_offsets",
    "sum_token_units",
    "words",
    "word_counts",
    "word_unit_sums",
    "meta",
}
TEXT = "The bank is closed.\nA python sleeps.\tIs it a snake?\n" + "One more line.\n" * 5


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_corpus_writes_every_key_and_reports_progress(tmp_path, corpus, tiny_model_dir, capsys):
    out = tmp_path / "stats.npz"
    model = ["--model", str(tiny_model_dir)]
    assert main(["corpus", str(corpus), *model, "--batch-size", "3", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "7 segments" in captured.out and str(out) in captured.out
    assert "7/7 segments" in captured.err and "segments/s" in captured.err
    assert "0:00:00 left" in captured.err
    with np.load(out) as data:
        assert set(data.files) == OUTPUT_KEYS  # no head_js without --js
        meta = json.loads(str(data["meta"]))
    assert meta["batch_size"] == 3 and meta["max_length"] == 128 and meta["shards"] == 1

    with_js = tmp_path / "js.npz"
    assert main(["corpus", str(corpus), *model, "--js", "--out", str(with_js)]) == 0
    with np.load(with_js) as data:
        assert set(data.files) == OUTPUT_KEYS | {"head_js", "sum_js"}
        assert data["head_js"].shape == (16, 16)


def test_shards_then_merge_on_the_command_line(tmp_path, corpus, tiny_model_dir, capsys):
    model = ["--model", str(tiny_model_dir), "--batch-size", "2"]
    parts = []
    for shard in ("1/2", "2/2"):
        out = tmp_path / f"part{shard[0]}.npz"
        assert main(["corpus", str(corpus), *model, "--shard", shard, "--out", str(out)]) == 0
        parts.append(str(out))
    whole = tmp_path / "whole.npz"
    assert main(["corpus", str(corpus), *model, "--out", str(whole)]) == 0
    merged = tmp_path / "merged.npz"
    assert main(["corpus", "merge", parts[0], "--out", str(merged)]) == 0
    assert "warning: shard 2 is not in the merge" in capsys.readouterr().out
    assert main(["corpus", "merge", *parts, "--out", str(merged)]) == 0
    assert "7 segments from 2 files (shards 1, 2 of 2)" in capsys.readouterr().out
    with np.load(whole) as a, np.load(merged) as b:
        for key in ("head_entropy", "head_offsets", "layer_anisotropy", "word_counts"):
            np.testing.assert_allclose(a[key], b[key], rtol=1e-6)
        np.testing.assert_array_equal(a["words"], b["words"])
        np.testing.assert_allclose(a["word_unit_sums"], b["word_unit_sums"], rtol=1e-9, atol=1e-12)


def test_a_file_of_an_older_corpus_format_is_refused_by_name(
    tmp_path, corpus, tiny_model_dir, capsys
):
    out = tmp_path / "stats.npz"
    assert main(["corpus", str(corpus), "--model", str(tiny_model_dir), "--out", str(out)]) == 0
    with np.load(out) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.asarray(json.dumps({**meta, "format_version": 1}))
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    merged = tmp_path / "m.npz"
    assert main(["corpus", "merge", str(old), str(out), "--out", str(merged)]) == 2
    err = capsys.readouterr().err
    assert "old.npz is in corpus format 1, and this bert-explorer reads format 3" in err
    assert not merged.exists() and not list(tmp_path.glob(".*"))  # no temporary file left


def test_a_long_line_is_a_note_not_a_failure(tmp_path, tiny_model_dir, capsys):
    path = tmp_path / "long.txt"
    path.write_text("short\n" + "word " * 50 + "\n\n", encoding="utf-8")
    out = tmp_path / "o.npz"
    args = ["corpus", str(path), "--model", str(tiny_model_dir), "--max-length", "16"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: 1 segment was longer than 16 tokens and was truncated (36 tokens dropped)" in (
        printed
    )
    assert "note: 1 blank line was skipped" in printed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary", "looks like a binary file"),
        (b"caf\xe9\n", "line 1: not UTF-8"),
    ],
)
def test_bad_files_exit_2_with_a_message(tmp_path, tiny_model_dir, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    out = tmp_path / "o.npz"
    code = main(["corpus", str(path), "--model", str(tiny_model_dir), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err
    assert "Traceback" not in err and not out.exists()


def test_other_errors_exit_2(tmp_path, corpus, tiny_model_dir, capsys):
    model = ["--model", str(tiny_model_dir)]
    out = str(tmp_path / "o.npz")
    assert main(["corpus", str(tmp_path / "missing.txt"), *model, "--out", out]) == 2
    assert "missing.txt" in capsys.readouterr().err
    for length in ("4", "0", "-3"):  # 0 is not "the default"
        assert main(["corpus", str(corpus), *model, "--max-length", length, "--out", out]) == 2
        assert f"--max-length {length} must be between 8" in capsys.readouterr().err
    assert main(["corpus", str(corpus), *model, "--device", "nonsense", "--out", out]) == 2
    assert "is not a torch device" in capsys.readouterr().err
    for device, expected in (("meta", "holds no data"), ("xpu", "this torch cannot use it")):
        assert main(["corpus", str(corpus), *model, "--device", device, "--out", out]) == 2
        err = capsys.readouterr().err
        assert expected in err and "unexpected" not in err, device
    assert main(["corpus", "merge", str(corpus), "--out", out]) == 2
    assert "is not a bert-explorer corpus file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["corpus", str(corpus), "--shard", "3/2", "--out", out])
    assert exit_info.value.code == 2 and "1 ≤ K ≤ N" in capsys.readouterr().err


def test_the_default_length_fits_a_model_with_a_shorter_maximum(tmp_path, corpus, capsys):
    """--max-length defaults to 128, or the model's maximum when that is less (tiny GPT-2: 64)."""
    from tests.families.builders import FAMILY_BY_NAME

    folder = FAMILY_BY_NAME["GPT-2"].build(tmp_path / "gpt2")
    out = tmp_path / "g.npz"
    assert main(["corpus", str(corpus), "--model", str(folder), "--out", str(out)]) == 0
    with np.load(out) as data:
        assert json.loads(str(data["meta"]))["max_length"] == 64
    capsys.readouterr()


def test_merging_an_npz_of_another_kind_names_what_is_missing(tmp_path, capsys):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    assert main(["corpus", "merge", str(other), str(other), "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert "is not a bert-explorer corpus file: it has no 'meta' entry" in err
    assert "KeyError" not in err


def test_out_never_overwrites_an_input(tmp_path, corpus, tiny_model_dir, capsys):
    before = corpus.read_bytes()
    same = str(tmp_path / "." / corpus.name)  # the same file by another spelling
    assert main(["corpus", str(corpus), "--model", str(tiny_model_dir), "--out", same]) == 2
    assert "is an input file" in capsys.readouterr().err
    assert corpus.read_bytes() == before
    shard = tmp_path / "s1.npz"
    shard.write_bytes(b"kept")
    assert main(["corpus", "merge", str(shard), str(corpus), "--out", str(shard)]) == 2
    assert "is an input file" in capsys.readouterr().err and shard.read_bytes() == b"kept"


def _shard_run(corpus, model, shard, out, batch="2"):
    args = ["corpus", str(corpus), "--model", str(model), "--batch-size", batch]
    return main([*args, "--shard", shard, "--out", str(out)])


def test_merge_knows_the_model_by_content_not_by_path(tmp_path, corpus, tiny_model_dir, capsys):
    """Shards run on two machines load one model from two folders: they still merge."""
    import shutil

    copy = shutil.copytree(tiny_model_dir, tmp_path / "elsewhere" / "model")
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert _shard_run(corpus, tiny_model_dir, "1/2", a) == 0
    assert _shard_run(corpus, copy, "2/2", b) == 0
    merged = tmp_path / "m.npz"
    assert main(["corpus", "merge", str(a), str(b), "--out", str(merged)]) == 0
    assert "7 segments from 2 files" in capsys.readouterr().out

    other = save_random_bert(tmp_path / "other", initializer_range=0.05)  # other weights
    c = tmp_path / "c.npz"
    assert _shard_run(corpus, other, "2/2", c) == 0
    capsys.readouterr()
    assert main(["corpus", "merge", str(a), str(c), "--out", str(merged)]) == 2
    err = capsys.readouterr().err
    assert "not shards of one run: they differ in model (weights or tokenizer)" in err
    assert "model_sha256" not in err


def test_damaged_files_and_checkpoints_are_named_with_what_to_do(
    tmp_path, corpus, tiny_model_dir, capsys
):
    a = tmp_path / "a.npz"
    assert _shard_run(corpus, tiny_model_dir, "1/2", a) == 0
    cut = tmp_path / "cut.npz"
    cut.write_bytes(a.read_bytes()[: a.stat().st_size // 2])  # a copy that stopped half way
    merged = tmp_path / "m.npz"
    assert main(["corpus", "merge", str(a), str(cut), "--out", str(merged)]) == 2
    err = capsys.readouterr().err
    assert f"{cut} is damaged or incomplete" in err and "unexpected" not in err

    out = tmp_path / "run.npz"
    checkpoint = tmp_path / "run.partial.npz"
    checkpoint.write_bytes(b"PK\x03\x04 not really")
    assert _shard_run(corpus, tiny_model_dir, "1/1", out) == 2
    err = capsys.readouterr().err
    assert f"Cannot resume from the checkpoint {checkpoint}" in err and "Delete it" in err


def test_a_checkpoint_is_not_merged_as_a_shard(tmp_path, corpus, tiny_model, capsys):
    from explorer.core.corpus.run import CorpusCancelled, CorpusOptions, run_corpus

    out = tmp_path / "s.npz"
    with pytest.raises(CorpusCancelled):
        run_corpus(tiny_model, corpus, out, CorpusOptions(), should_stop=lambda: True)
    partial = tmp_path / "s.partial.npz"
    assert main(["corpus", "merge", str(partial), "--out", str(tmp_path / "m.npz")]) == 2
    assert "is the checkpoint of an unfinished run" in capsys.readouterr().err


def test_a_resumed_run_says_so(tmp_path, corpus, tiny_model, tiny_model_dir, capsys):
    from explorer.core.corpus.run import CorpusCancelled, CorpusOptions, run_corpus

    out = tmp_path / "s.npz"
    asked = iter(range(100))
    with pytest.raises(CorpusCancelled):
        run_corpus(
            tiny_model,
            corpus,
            out,
            CorpusOptions(batch_size=2),
            should_stop=lambda: next(asked) >= 3,
        )
    assert _shard_run(corpus, tiny_model_dir, "1/1", out) == 0
    captured = capsys.readouterr()
    assert "resuming: 6 segments of 7 were done by the stopped run" in captured.err
    with pytest.raises(CorpusCancelled, match="Cancelled after 1 segment;"):
        asked = iter(range(100))
        run_corpus(
            tiny_model,
            corpus,
            tmp_path / "one.npz",
            CorpusOptions(batch_size=1),
            should_stop=lambda: next(asked) >= 1,
        )
    assert "note: resumed from a checkpoint that held 6 segments" in captured.out


def test_an_empty_shard_warns_and_has_no_statistics(tmp_path, corpus, tiny_model_dir, capsys):
    out = tmp_path / "empty.npz"
    assert _shard_run(corpus, tiny_model_dir, "9/9", out, batch="16") == 0
    printed = capsys.readouterr().out
    assert "warning: shard 9/9 got no segments" in printed and "0 segments" in printed
    with np.load(out) as data:
        assert int(data["segments"]) == 0
        assert np.isnan(data["head_cls"]).all() and np.isnan(data["head_offsets"]).all()


def test_a_shards_progress_counts_its_own_segments(tmp_path, corpus, tiny_model_dir, capsys):
    for shard, count in (("1/2", 4), ("2/2", 3)):  # 7 segments in batches of 2: 2+2 | 2+1
        assert _shard_run(corpus, tiny_model_dir, shard, tmp_path / "s.npz") == 0
        captured = capsys.readouterr()
        assert f"{count}/{count} segments ·" in captured.err
        assert captured.out.startswith(f"{count} segments,")


def test_notes_for_extra_tabs_and_unknown_words(tmp_path, tiny_model_dir, capsys):
    path = tmp_path / "odd.txt"
    path.write_text("a\tb\tc\nI like 🦜 birds.\nplain\n", encoding="utf-8")
    out = tmp_path / "o.npz"
    assert main(["corpus", str(path), "--model", str(tiny_model_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: 1 line (first: line 1) holds more than one tab" in printed
    assert "note: 1 word occurrence (emoji, rare scripts) is only [UNK]" in printed
    with np.load(out) as data:
        assert "🦜" not in set(data["words"].tolist())
        assert int(data["count_unknown_words"]) == 1


def test_an_unwritable_out_folder_is_refused_before_the_model_loads(
    tmp_path, corpus, monkeypatch, capsys
):
    import os

    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(tmp_path))
    code = main(
        ["corpus", str(corpus), "--model", "no/such-model", "--out", str(tmp_path / "o.npz")]
    )
    assert code == 2
    assert f"the folder {tmp_path} is not writable" in capsys.readouterr().err


def test_a_corpus_too_small_for_word_self_similarity_says_so(tmp_path, tiny_model_dir, capsys):
    path = tmp_path / "two.txt"
    path.write_text("A short line.\nAnother one.\n", encoding="utf-8")
    assert _shard_run(path, tiny_model_dir, "1/1", tmp_path / "two.npz") == 0
    assert "note: no word occurs 5 times or more" in capsys.readouterr().out
