"""``bert-explorer corpus FILE --out stats.npz`` and ``bert-explorer corpus merge … --out``."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from explorer.commands.common import error, load, model_argument, out_argument, out_problem
from explorer.core.errors import ExplorerError
from explorer.core.wording import counted

CANCELLED_EXIT = 130  # the shell's code for a command stopped by Ctrl-C
PROGRESS_EVERY = 1.0  # seconds between progress lines


DEFAULT_MAX_LENGTH = 128


def _shard(text: str) -> tuple[int, int]:
    k, slash, n = text.partition("/")
    try:
        shard, shards = int(k), int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, e.g. 2/8") from None
    if not slash or shards < 1 or not 1 <= shard <= shards:
        raise argparse.ArgumentTypeError(f"{text!r}: K/N needs 1 ≤ K ≤ N")
    return shard, shards


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-explorer corpus",
        description="Head and layer statistics over a whole corpus (one segment a line, a tab "
        "splits a pair), pooled over every query row. Ctrl-C stops and checkpoints; the same "
        "command resumes. 'bert-explorer corpus merge --help' merges shards.",
    )
    parser.add_argument("file", type=Path, help="UTF-8 text, one segment per line")
    model_argument(parser)
    parser.add_argument(
        "--max-length",
        type=int,
        default=None,
        help=f"tokens per segment (default {DEFAULT_MAX_LENGTH}, or the model's maximum if less)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=16, help="segments per forward pass (default 16)"
    )
    parser.add_argument(
        "--shard", type=_shard, default=(1, 1), metavar="K/N", help="run shard K of N (default 1/1)"
    )
    parser.add_argument(
        "--js", action="store_true", help="also the Jensen-Shannon divergence between heads"
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, mps …")
    out_argument(parser)
    return parser


def _merge_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-explorer corpus merge",
        description="Add up the shards of a corpus run: the result of one run over the corpus.",
    )
    parser.add_argument("parts", nargs="+", type=Path, help="shard outputs (.npz)")
    out_argument(parser, "merged .npz file")
    return parser


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class _ProgressLine:
    """Segments done, segments per second and the time left, on stderr about once a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, progress: Any) -> None:
        now = time.monotonic()
        if progress.resumed and not self.last:
            print(
                f"resuming: {counted(progress.resumed, 'segment')} of {progress.total} were "
                "done by the stopped run",
                file=sys.stderr,
            )
        if now - self.last < PROGRESS_EVERY and progress.done < progress.total:
            return
        self.last = now
        line = (
            f"{progress.done}/{max(progress.total, progress.done)} segments · "
            f"{progress.rate:.1f} segments/s · "
            f"{_clock(progress.seconds_left)} left"
        )
        print(f"\r{line}" if self.tty else line, end="" if self.tty else "\n", file=sys.stderr)

    def end(self) -> None:
        if self.tty and self.last:
            print(file=sys.stderr)


@contextmanager
def _stop_requests() -> Iterator[list[bool]]:
    """Ctrl-C and SIGTERM (a batch system's pre-emption) ask the run to stop between batches."""
    asked = [False]

    def ask(_signum: int, _frame: Any) -> None:
        asked[0] = True

    previous = {}
    try:
        for name in ("SIGINT", "SIGTERM"):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, ask)
    except ValueError:  # not the main thread: only should_stop's caller can stop the run
        pass
    try:
        yield asked
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _device_problem(device: str) -> str | None:
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError:
        return f"--device {device!r} is not a torch device (cpu, cuda, cuda:1, mps …)."
    if parsed.type == "cuda" and not torch.cuda.is_available():
        return f"--device {device}: this torch has no CUDA device; use --device cpu."
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: this torch has no MPS device; use --device cpu."
    if parsed.type == "meta":
        return "--device meta holds no data to compute with; use --device cpu."
    try:
        torch.zeros(1, device=parsed)  # xpu, ipu … that this torch was not built for
    except Exception as err:  # torch raises AssertionError, RuntimeError, … by backend
        reason = " ".join(str(err).split()).split(". ")[0][:120]
        return f"--device {device}: this torch cannot use it ({reason}); use --device cpu."
    return None


def run_corpus_command(argv: list[str]) -> int:
    """Run one corpus (or shard), with progress, cancel and resume."""
    args = _run_parser().parse_args(argv)
    from explorer.core.corpus.reader import scan_corpus
    from explorer.core.corpus.run import CorpusCancelled, CorpusOptions, run_corpus

    problem = out_problem(args.out, (args.file,)) or _device_problem(args.device)
    if problem:
        return error(problem)
    shard, shards = args.shard
    options = CorpusOptions(
        max_length=DEFAULT_MAX_LENGTH if args.max_length is None else args.max_length,
        batch_size=args.batch_size,
        shard=shard,
        shards=shards,
        js=args.js,
    )
    line = _ProgressLine()
    try:
        scan_corpus(args.file)  # a bad file fails before the model loads
        loaded = load(args.model)
        loaded.model.to(args.device)
        if args.max_length is None:  # the default fits models whose maximum is shorter
            args.max_length = min(DEFAULT_MAX_LENGTH, loaded.info.max_length)
            options = dataclasses.replace(options, max_length=args.max_length)
        with _stop_requests() as asked:
            run = run_corpus(
                loaded, args.file, args.out, options, progress=line, should_stop=lambda: asked[0]
            )
    except CorpusCancelled as err:
        line.end()
        print(f"cancelled: {err}", file=sys.stderr)
        return CANCELLED_EXIT
    except ExplorerError as err:
        line.end()
        return error(str(err))
    line.end()
    _report(run, options, args.out)
    return 0


def _report(run: Any, options: Any, out: Path) -> None:
    """What a finished run wrote, and what the user should know about its input."""
    sums, meta = run.sums, run.meta
    print(
        f"{counted(sums.segments, 'segment')}, {counted(sums.rows, 'token')}, "
        f"{counted(sums.layers, 'layer')} × {counted(sums.heads, 'head')} "
        f"(shard {options.shard}/{options.shards}) → {out}"
    )
    if run.resumed:
        print(
            f"note: resumed from a checkpoint that held {counted(run.resumed, 'segment')}; "
            "the output equals one uninterrupted run"
        )
    if sums.segments == 0:
        print(
            f"warning: shard {options.shard}/{options.shards} got no segments: the corpus "
            f"has only {counted(meta['corpus_segments'], 'segment')}, fewer batches of "
            f"{options.batch_size} than shards. Its statistics are NaN; it merges as nothing."
        )
    if sums.segments and not meta.get("words_with_enough_occurrences"):
        print(
            f"note: no word occurs {meta.get('min_occurrences', 5)} times or more, so "
            "layer_self_similarity is NaN; a longer corpus gives it"
        )
    if sums.truncated_segments:
        were = "was" if sums.truncated_segments == 1 else "were"
        print(
            f"note: {counted(sums.truncated_segments, 'segment')} {were} longer than "
            f"{options.max_length} tokens and {were} truncated "
            f"({counted(sums.tokens_dropped, 'token')} dropped)"
        )
    blank = meta["blank_lines"]
    if blank:
        print(f"note: {counted(blank, 'blank line')} {'was' if blank == 1 else 'were'} skipped")
    tabs = meta.get("lines_with_extra_tabs") or []
    if tabs:
        print(
            f"note: {counted(len(tabs), 'line')} (first: line {tabs[0]}) "
            f"{'holds' if len(tabs) == 1 else 'hold'} more than one tab; all after the first "
            "tab went into sentence B, tabs included"
        )
    if sums.unknown_words:
        print(
            f"note: {counted(sums.unknown_words, 'word occurrence')} (emoji, rare scripts) "
            f"{'is' if sums.unknown_words == 1 else 'are'} only [UNK] to this tokenizer and "
            "left out of the word self-similarity"
        )


def run_merge_command(argv: list[str]) -> int:
    """Merge shard outputs into the output of one run."""
    args = _merge_parser().parse_args(argv)
    from explorer.core.corpus.files import merge_corpus_files, missing_shards

    problem = out_problem(args.out, tuple(args.parts))
    if problem:
        return error(problem)
    try:
        arrays, meta = merge_corpus_files(args.parts, args.out)
    except ExplorerError as err:
        return error(str(err))
    merged, parts = meta["shards_merged"], len(args.parts)
    print(
        f"{counted(int(arrays['segments']), 'segment')} from {counted(parts, 'file')} "
        f"({_shards(merged)} of {meta['shards']}) → {args.out}"
    )
    missing = missing_shards(meta)
    if missing:
        print(
            f"warning: {_shards(missing)} {'is' if len(missing) == 1 else 'are'} not in the merge"
        )
    return 0


def _shards(numbers: list[int]) -> str:
    """The shard numbers as words: 'shard 2', 'shards 1, 3'."""
    return f"shard{'s' if len(numbers) != 1 else ''} {', '.join(map(str, numbers))}"


def run_corpus(argv: list[str]) -> int:
    """``corpus merge …`` merges; anything else is a corpus run."""
    if argv and argv[0] == "merge":
        return run_merge_command(argv[1:])
    return run_corpus_command(argv)
