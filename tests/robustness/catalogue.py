"""The catalogue of hostile, odd and edge-case inputs every entry point must survive."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One input; ``message`` is a fragment of the message the user must see (None: a result)."""

    name: str
    text: str
    pair: str | None = None
    message: str | None = None
    notice: str | None = None  # a fragment the result's notices must contain


def max_length_cases(max_length: int) -> list[Case]:
    """Texts of exactly max length - 1, max length and max length + 1 tokens."""
    words = max_length - 2  # [CLS] and [SEP]
    return [
        Case("max length - 1", "a " * (words - 1)),
        Case("max length", "a " * words),
        Case("max length + 1", "a " * (words + 1), notice="1 tokens were dropped"),
    ]


CATALOGUE: list[Case] = [
    Case("empty", "", message="Type a sentence"),
    Case("spaces only", "     ", message="Type a sentence"),
    Case("newlines and tabs only", "\n\t\n  \t", message="Type a sentence"),
    Case("newlines and tabs inside", "first line\nsecond\tcolumn"),
    Case("100k character paste", "word " * 20_000, notice="tokens were dropped"),
    Case("control characters", "bell\x07 and escape\x1b[31m red", notice="produced no token"),
    Case("NUL", "before\x00after"),
    Case("lone surrogate", "broken \ud800 text"),
    Case("lone low surrogate", "\udfff at the start"),
    Case("byte order mark", "\ufeffstarts with a BOM"),
    Case("emoji", "I love 🐍 and 🙂!"),
    Case("ZWJ family", "family 👨‍👩‍👧‍👦 emoji"),
    Case("flags and skin tones", "🇹🇷 👍🏽"),
    Case("CJK", "東京は日本の首都です"),
    Case("Arabic right to left", "مرحبا بالعالم"),
    Case("Hebrew right to left", "שלום עולם"),
    Case("mixed direction", "abc مرحبا def שלום"),
    Case("combining marks", "e\u0301 n\u0303 a\u0308\u0304"),
    Case("zero-width characters", "zero\u200bwidth\u200cjoin\u200dhere\u2060"),
    Case("literal [SEP]", "one [SEP] two", notice="[SEP]"),
    Case("literal [CLS]", "[CLS] at the start", notice="[CLS]"),
    Case("literal [MASK]", "the [MASK] sat", notice="[MASK]"),
    Case("literal [UNK]", "an [UNK] here", notice="[UNK]"),
    Case("only sentence B", "", "Is it a snake?", message="Sentence A is empty"),
    Case("both sentences identical", "same words", "same words", notice="identical"),
    Case("pair overflow", "short", "long " * 800, notice="longest first"),
    Case("both sides overflow", "left " * 400, "right " * 400, notice="longest first"),
    Case("unknown glyph", "the ꙮ glyph", notice="[UNK]"),
    Case("private use and unassigned", "\ue000\U0010fffd\U000e0001"),
    Case("very long word", "a" * 5000),
    Case("only punctuation", "?!.,;:()[]{}"),
    Case("line and paragraph separators", "one\u2028two\u2029three"),
    Case("non-breaking spaces", "a\u00a0b\u202fc"),
    Case("math alphanumerics", "𝐁𝐄𝐑𝐓 𝔦𝔰 𝔣𝔲𝔫"),
]
