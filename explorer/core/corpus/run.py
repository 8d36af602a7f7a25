"""Stream a corpus through the model in length-bucketed batches and add up its statistics.

The file is read in chunks of ``chunk_batches × batch_size`` segments; each chunk is sorted by
token count and cut into batches, so a batch pads little and memory is bounded by the batch,
whatever the corpus size. Batches are numbered over the whole corpus, and shard K of N runs
the batches whose number is K − 1 modulo N: every shard cuts the very same batches, so merged
shards add up what one run would. Partial sums are checkpointed beside the output (every
``checkpoint_seconds`` and when cancelled); the same command resumes where it stopped. The word
table grows with the vocabulary, so it lives on disk (``words.WordStore``) and a checkpoint
streams it out with the other sums in one atomically renamed file; when that takes long, the
checkpoints are spaced so that writing them costs at most ``CHECKPOINT_SHARE`` of the run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.analysis.head_stats import is_punctuation
from explorer.core.analysis.spelling import Speller
from explorer.core.analysis.words import group_word_pieces
from explorer.core.corpus.batch import (
    BatchMasks,
    head_sums,
    token_unit_sum,
    word_unit_sums,
)
from explorer.core.corpus.files import (
    CORPUS_FORMAT_VERSION,
    CorpusFileError,
    checkpoint_path,
    differences,
    meta_array,
    open_word_store,
    output_arrays,
    read_corpus_file,
    read_word_chunks,
    same_run,
    write_corpus_file,
)
from explorer.core.corpus.identity import model_fingerprint
from explorer.core.corpus.reader import CorpusScan, Segment, read_segments, scan_corpus
from explorer.core.corpus.sums import CorpusSums
from explorer.core.corpus.words import MIN_OCCURRENCES, WORD_CACHE_BYTES, WordStore
from explorer.core.errors import ExplorerError
from explorer.core.inference import Encoding, encode
from explorer.core.loading import LoadedModel
from explorer.core.wording import counted

MIN_MAX_LENGTH = 8
CHECKPOINT_SHARE = 0.1  # periodic checkpoints take at most this share of a run's time


class CorpusOptionsError(ExplorerError):
    """The options of a corpus run do not fit the model or each other."""


class CorpusCancelled(ExplorerError):
    """The run stopped on request; its partial sums are in the checkpoint."""


@dataclass(frozen=True)
class CorpusOptions:
    """How to run a corpus: what ``bert-explorer corpus`` takes on its command line."""

    max_length: int = 128
    batch_size: int = 16
    shard: int = 1  # K, counted from 1
    shards: int = 1  # N
    js: bool = False
    word_cache_bytes: int = WORD_CACHE_BYTES  # RAM for word rows; the rest spills to disk
    chunk_batches: int = 64
    checkpoint_seconds: float = 60.0


@dataclass(frozen=True)
class Progress:
    """Where a run is: segments done of (about) how many, and how fast this session goes."""

    done: int
    total: int
    session_done: int
    elapsed: float
    resumed: int = 0  # segments a checkpoint had done before this session

    @property
    def rate(self) -> float:
        """Segments per second in this session (a resumed run's earlier part is not timed)."""
        return self.session_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Estimated time to the end, None until there is a rate."""
        rate = self.rate
        return max(self.total - self.done, 0) / rate if rate > 0 else None


@dataclass(frozen=True)
class CorpusRun:
    """A finished run: its sums, the meta written with them, and the file's arrays.

    ``arrays`` are all but the word table (``files.WORD_KEYS``), which is as large as the
    vocabulary: read it from the file.
    """

    sums: CorpusSums
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    resumed: int = 0  # segments taken from a checkpoint of an earlier, stopped run


def _no_progress(_progress: Progress) -> None:
    return None


def _never() -> bool:
    return False


def check_options(loaded: LoadedModel, options: CorpusOptions) -> None:
    """Refuse options that cannot work, with the reason."""
    if not MIN_MAX_LENGTH <= options.max_length <= loaded.info.max_length:
        raise CorpusOptionsError(
            f"--max-length {options.max_length} must be between {MIN_MAX_LENGTH} and the "
            f"model's maximum, {loaded.info.max_length}."
        )
    if options.batch_size < 1:
        raise CorpusOptionsError(f"--batch-size {options.batch_size} must be at least 1.")
    if not 1 <= options.shard <= options.shards:
        raise CorpusOptionsError(
            f"--shard {options.shard}/{options.shards}: K must be between 1 and N."
        )


def special_ids(tokenizer: Any) -> tuple[int, int]:
    """The family's own [CLS] and [SEP]: cls/sep ids, else bos/eos (RoBERTa's <s> and </s>)."""
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return (-1 if cls is None else int(cls)), (-1 if sep is None else int(sep))


def planned_batches(
    loaded: LoadedModel, path: Path, options: CorpusOptions
) -> Iterator[tuple[int, list[Encoding]]]:
    """(corpus-wide batch number, encodings) for every batch, in order, length-bucketed."""
    short = dataclasses.replace(
        loaded, info=dataclasses.replace(loaded.info, max_length=options.max_length)
    )
    chunk_size = options.batch_size * options.chunk_batches
    number = 0
    chunk: list[Segment] = []

    def cut(segments: list[Segment]) -> Iterator[tuple[int, list[Encoding]]]:
        nonlocal number
        encodings = [encode(short, s.text, s.pair) for s in segments]
        encodings.sort(key=lambda e: -e.input_ids.shape[0])  # stable: ties keep file order
        for start in range(0, len(encodings), options.batch_size):
            yield number, encodings[start : start + options.batch_size]
            number += 1

    for segment in read_segments(path):
        chunk.append(segment)
        if len(chunk) == chunk_size:
            yield from cut(chunk)
            chunk = []
    if chunk:
        yield from cut(chunk)


class _BatchRunner:
    """Pads a batch, runs the model with attention and hidden states, and adds up the sums."""

    def __init__(self, loaded: LoadedModel, sums: CorpusSums, words: WordStore) -> None:
        import torch

        self.model = loaded.model
        self.device = next(loaded.model.parameters()).device
        tokenizer = loaded.tokenizer
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.cls_id, self.sep_id = special_ids(tokenizer)
        self.with_types = "token_type_ids" in tokenizer.model_input_names
        self.sums = sums
        self.words = words
        self.torch = torch
        # Words are keyed as the model spells them ("Café" and "cafe" are one word to an
        # uncased BERT); a corpus repeats its words, so the spellings are remembered.
        self.spell = functools.lru_cache(maxsize=1 << 16)(Speller(tokenizer))

    def _tensor(self, array: np.ndarray, dtype: Any) -> Any:
        return self.torch.from_numpy(array).to(self.device, dtype)

    def run(self, batch: list[Encoding]) -> None:
        torch = self.torch
        width = max(e.input_ids.shape[0] for e in batch)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        types = np.zeros_like(ids)
        real = np.zeros(ids.shape, dtype=np.float32)
        roles = np.zeros((*ids.shape, 3), dtype=np.float32)
        content = np.zeros_like(real)
        for b, e in enumerate(batch):
            count = e.input_ids.shape[0]
            ids[b, :count] = e.input_ids
            types[b, :count] = e.token_type_ids
            real[b, :count] = 1.0
            roles[b, :count, 0] = e.input_ids == self.cls_id
            roles[b, :count, 1] = e.input_ids == self.sep_id
            roles[b, :count, 2] = [
                is_punctuation(str(t)) and not s
                for t, s in zip(e.tokens, e.special_tokens_mask, strict=True)
            ]
            content[b, :count] = ~e.special_tokens_mask
        inputs = {"input_ids": self._tensor(ids, torch.long)}
        inputs["attention_mask"] = self._tensor(real, torch.long)
        if self.with_types:
            inputs["token_type_ids"] = self._tensor(types, torch.long)
        masks = BatchMasks(
            real=self._tensor(real, torch.float32),
            roles=self._tensor(roles, torch.float32),
            content=self._tensor(content, torch.float32),
        )
        with torch.inference_mode():
            outputs = self.model(
                **inputs, output_attentions=True, output_hidden_states=True, return_dict=True
            )
            attentions = list(outputs.attentions or ())
            if len(attentions) != self.sums.layers or any(a is None for a in attentions):
                raise RuntimeError(
                    "The model returned no attention weights; it must be loaded with eager "
                    "attention."
                )
            hidden = list(outputs.hidden_states)
            del outputs
            self.sums.add_heads(head_sums(attentions, masks, js=self.sums.js))
            del attentions
            states = torch.stack(hidden)  # (L+1, B, T, D)
            del hidden
            self.sums.token_unit_sum += token_unit_sum(states, masks.content)
            self._add_words(batch, states)
        self.sums.content_tokens += int(content.sum())
        self.sums.segments += len(batch)
        self.sums.truncated_segments += sum(e.truncated for e in batch)
        self.sums.tokens_dropped += sum(e.tokens_dropped for e in batch)

    def _add_words(self, batch: list[Encoding], states: Any) -> None:
        """Each word's piece-averaged unit vector per layer, into the word table.

        Occurrences of one word in the batch are added up on the device first, so the table
        sees each distinct word of the batch once.
        """
        rows: list[int] = []
        positions: list[int] = []
        occurrence_of_token: list[int] = []
        pieces: list[int] = []
        word_of_occurrence: list[int] = []
        words: dict[str, int] = {}
        for b, e in enumerate(batch):
            groups = group_word_pieces(e.sequence_ids, e.word_ids)
            spans: dict[int, list[int]] = {}
            for t in np.flatnonzero((e.word_ids >= 0) & ~e.special_tokens_mask).tolist():
                spans.setdefault(int(groups[t]), []).append(t)
            for tokens in spans.values():
                sentence = e.text if e.sequence_ids[tokens[0]] == 0 else (e.pair or "")
                name = self.spell(sentence[e.offsets[tokens[0], 0] : e.offsets[tokens[-1], 1]])
                if not name or is_punctuation(name):
                    continue
                if e.unk_mask[tokens].any():  # the model saw [UNK], not this word
                    self.sums.unknown_words += 1
                    continue
                occurrence = len(pieces)
                word_of_occurrence.append(words.setdefault(name, len(words)))
                pieces.append(len(tokens))
                rows.extend([b] * len(tokens))
                positions.extend(tokens)
                occurrence_of_token.extend([occurrence] * len(tokens))
        if not words:
            return
        counts = np.bincount(word_of_occurrence, minlength=len(words))
        torch, device = self.torch, self.device
        sums = word_unit_sums(
            states,
            torch.tensor(rows, device=device),
            torch.tensor(positions, device=device),
            torch.tensor(occurrence_of_token, device=device),
            torch.tensor(word_of_occurrence, device=device),
            torch.tensor(pieces, device=device),
        )
        add = self.words.add
        for name, index in words.items():
            add(name, sums[index], occurrences=int(counts[index]))


def shard_segments(segments: int, options: CorpusOptions) -> int:
    """How many of the corpus's segments shard K of N runs (all of them when N is 1).

    Every chunk but the last cuts into ``chunk_batches`` full batches; the last chunk's last
    batch may be short. Shard K runs the batches numbered K − 1 modulo N.
    """
    size = options.batch_size
    full_chunks, rest = divmod(segments, size * options.chunk_batches)
    batches = full_chunks * options.chunk_batches + -(-rest // size)
    mine = range(options.shard - 1, batches, options.shards)
    short = (size - rest % size) if rest % size and (batches - 1) in mine else 0
    return len(mine) * size - short


def run_meta(loaded: LoadedModel, scan: CorpusScan, options: CorpusOptions) -> dict[str, Any]:
    """What identifies a run (see files.RUN_IDENTITY) and what a reader needs to know."""
    info = loaded.info
    cls_id, sep_id = special_ids(loaded.tokenizer)
    return {
        "format_version": CORPUS_FORMAT_VERSION,
        "corpus": scan.path.name,
        "corpus_sha256": scan.sha256,
        "corpus_lines": scan.lines,
        "corpus_segments": scan.segments,
        "blank_lines": scan.blank_lines,
        "lines_with_extra_tabs": list(scan.extra_tab_lines),
        "model": {
            "source": info.source,
            "name_or_path": info.name_or_path,
            "model_type": info.model_type,
            "num_layers": info.num_layers,
            "num_heads": info.num_heads,
            "hidden_size": info.hidden_size,
        },
        "model_sha256": model_fingerprint(loaded.model, loaded.tokenizer),
        "cls_token_id": cls_id,
        "sep_token_id": sep_id,
        "max_length": options.max_length,
        "batch_size": options.batch_size,
        "chunk_batches": options.chunk_batches,
        "js": options.js,
        "min_occurrences": MIN_OCCURRENCES,
        "offsets": list(range(-10, 11)),
        "shard": options.shard,
        "shards": options.shards,
        "shards_merged": [options.shard],
    }


def _resume(
    path: Path, meta: dict[str, Any], fresh: CorpusSums, words: WordStore
) -> tuple[CorpusSums, int]:
    """The checkpoint's sums (its words into ``words``) and next batch number, else 0."""
    if not path.exists():
        return fresh, 0
    try:
        sums, saved = read_corpus_file(path)
        differ = same_run(meta, saved) + (["shard"] if saved.get("shard") != meta["shard"] else [])
        if differ:
            raise CorpusFileError(
                f"it belongs to another run: they differ in {differences(saved, meta, differ)}"
            )
        if "next_batch" not in saved:
            raise CorpusFileError("it is a finished output, not a checkpoint")
        for chunk in read_word_chunks(path, words.shape):
            words.add_rows(chunk)
    except CorpusFileError as err:
        reason = str(err).removeprefix(f"{path} ").rstrip(".")
        raise CorpusFileError(
            f"Cannot resume from the checkpoint {path}: {reason}. Delete it to start afresh, "
            "or give another --out."
        ) from err
    return sums, int(saved["next_batch"])


def run_corpus(
    loaded: LoadedModel,
    corpus: Path,
    out: Path,
    options: CorpusOptions,
    *,
    progress: Callable[[Progress], None] = _no_progress,
    should_stop: Callable[[], bool] = _never,
) -> CorpusRun:
    """Run the corpus (this shard of it), write ``out`` and return what was written.

    ``should_stop`` is asked between batches; when it says yes the partial sums go to the
    checkpoint and CorpusCancelled says where. A checkpoint from an earlier run of the same
    command is picked up, and removed once ``out`` is written.
    """
    check_options(loaded, options)
    scan = scan_corpus(corpus)
    meta = run_meta(loaded, scan, options)
    info = loaded.info
    fresh = CorpusSums(info.num_layers, info.num_heads, info.hidden_size, options.js)
    checkpoint = checkpoint_path(out)
    shape = (info.num_layers + 1, info.hidden_size)
    with open_word_store(shape, out, options.word_cache_bytes) as words:
        sums, next_batch = _resume(checkpoint, meta, fresh, words)
        runner = _BatchRunner(loaded, sums, words)
        total = shard_segments(scan.segments, options)
        done_before = sums.segments
        started: float | None = None  # timed from the first batch run, not the skipped ones
        last_saved, interval = time.monotonic(), options.checkpoint_seconds

        def save(next_number: int) -> None:
            saved = {**meta, "next_batch": next_number}
            write_corpus_file(
                checkpoint, words, lambda _: {**sums.raw_arrays(), "meta": meta_array(saved)}
            )

        for number, batch in planned_batches(loaded, corpus, options):
            if number % options.shards != options.shard - 1 or number < next_batch:
                continue
            if should_stop():
                save(number)
                raise CorpusCancelled(
                    f"Cancelled after {counted(sums.segments, 'segment')}; partial sums are in "
                    f"{checkpoint}. Run the same command again to resume."
                )
            if started is None:
                started = time.monotonic()
            runner.run(batch)
            now = time.monotonic()
            progress(
                Progress(
                    sums.segments, total, sums.segments - done_before, now - started, done_before
                )
            )
            if now - last_saved >= interval:
                save(number + 1)
                last_saved = time.monotonic()
                interval = max(options.checkpoint_seconds, (last_saved - now) / CHECKPOINT_SHARE)
        meta = {
            **meta,
            "truncated_segments": sums.truncated_segments,
            "tokens_dropped": sums.tokens_dropped,
        }
        arrays = write_corpus_file(
            out, words, lambda similarity: output_arrays(sums, similarity, meta)
        )
    checkpoint.unlink(missing_ok=True)
    return CorpusRun(sums, json.loads(str(arrays["meta"])), arrays, done_before)
