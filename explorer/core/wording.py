"""Small wording helpers shared by messages: counts with the right plural, long text cut short."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 segment``, ``2 segments``, ``0 blank lines`` (``plural`` for irregular words)."""
    word = singular if count == 1 else (plural or f"{singular}s")
    return f"{count} {word}"


def shortened(text: str, width: int = 80) -> str:
    """``text`` cut to at most ``width`` characters with an ellipsis, on one line.

    Messages quote user input; a 20 KB sentence echoed whole would bury the message.
    """
    line = " ".join(text.split())
    if len(line) <= width:
        return line
    return line[: max(width - 1, 1)].rstrip() + "…"
