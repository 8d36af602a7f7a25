"""Read a corpus file: one segment per line, a tab splitting a line into a pair.

A first pass checks the whole file before any model runs (so a binary file or a stray byte
half way fails in a second, not after an hour), counts its segments for the progress bar and
fingerprints it, so shards and checkpoints can tell they belong to the same corpus.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from explorer.core.errors import ExplorerError

_SNIFF = 8192  # bytes read first to tell a binary file from text


class CorpusInputError(ExplorerError):
    """The corpus file cannot be read as text segments."""


@dataclass(frozen=True)
class CorpusScan:
    """What the first pass learned: the file's fingerprint and how many segments it holds."""

    path: Path
    sha256: str
    lines: int
    segments: int  # lines with text; blank lines are skipped
    blank_lines: int
    extra_tab_lines: tuple[int, ...] = ()  # lines with more than one tab (the rest goes into B)


@dataclass(frozen=True)
class Segment:
    """One line of the corpus: its number (1-based), sentence A and, after a tab, sentence B."""

    line: int
    text: str
    pair: str | None


def scan_corpus(path: Path) -> CorpusScan:
    """Check that ``path`` is non-empty UTF-8 text without NUL bytes; count and hash it."""
    try:
        if path.is_dir():
            raise CorpusInputError(f"{path} is a folder; give a text file, one segment a line.")
        digest = hashlib.sha256()
        lines = blank = 0
        extra_tabs: list[int] = []
        with path.open("rb") as handle:
            if b"\0" in handle.read(_SNIFF):
                raise CorpusInputError(
                    f"{path} looks like a binary file (it holds NUL bytes); give a UTF-8 text "
                    "file, one segment a line."
                )
            handle.seek(0)
            for raw in handle:
                lines += 1
                digest.update(raw)
                if b"\0" in raw:
                    raise CorpusInputError(
                        f"{path} looks like a binary file (a NUL byte on line {lines}); "
                        "give a UTF-8 text file, one segment a line."
                    )
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise CorpusInputError(
                        f"{path}, line {lines}: not UTF-8 text (byte {err.start + 1} of the "
                        "line); give a UTF-8 text file, one segment a line."
                    ) from None
                blank += not text.strip()
                if text.count("\t") > 1 and text.strip():
                    extra_tabs.append(lines)
    except OSError as err:
        raise CorpusInputError(f"Could not read {path}: {err.strerror or err}.") from err
    if lines == blank:
        what = "is empty" if lines == 0 else "has only blank lines"
        raise CorpusInputError(f"{path} {what}: give one segment (sentence) a line.")
    return CorpusScan(path, digest.hexdigest(), lines, lines - blank, blank, tuple(extra_tabs))


def read_segments(path: Path) -> Iterator[Segment]:
    """The segments in file order (after ``scan_corpus`` checked the file)."""
    try:
        with path.open("r", encoding="utf-8", newline="\n") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\r\n")
                text, tab, pair = line.partition("\t")
                if not text.strip():
                    if pair.strip():
                        text, pair = pair, ""
                    else:
                        continue
                yield Segment(number, text, pair if tab and pair.strip() else None)
    except OSError as err:
        raise CorpusInputError(f"Could not read {path}: {err.strerror or err}.") from err
