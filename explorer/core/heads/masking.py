"""Mask a token by editing the text: what the window's M key and ``inspect --mask`` do.

The token's characters are replaced by the mask token, so the input shows what was masked
and the next run tokenizes it like any text the user types (numpy only: the GUI uses it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from explorer.core.errors import InputTextError


def masked_text(result: Any, positions: Iterable[int], mask_token: str) -> tuple[str, str | None]:
    """(text, pair) with each token at ``positions`` replaced by ``mask_token``.

    Positions index the tokens of ``result`` (0 is the first, usually [CLS]).
    """
    if not mask_token:
        raise InputTextError(
            "This model has no masked-LM head, so there is no mask token to put in "
            "(a next-token model such as GPT-2 predicts what follows each token instead)."
        )
    edits: dict[int, list[tuple[int, int]]] = {0: [], 1: []}
    for position in sorted(set(positions)):
        if not 0 <= position < result.num_tokens:
            raise InputTextError(
                f"There is no token {position}: the input has {result.num_tokens} tokens "
                f"(0 to {result.num_tokens - 1})."
            )
        sentence = int(result.sequence_ids[position])
        if sentence not in (0, 1) or bool(result.special_tokens_mask[position]):
            raise InputTextError(
                f"Token {position} is {result.tokens[position]}, a special token; "
                "mask a token of the sentence instead."
            )
        start, end = (int(v) for v in result.offsets[position])
        if str(result.tokens[position]) == mask_token:
            continue  # already masked
        if end <= start:
            raise InputTextError(
                f"Token {position} ({result.tokens[position]}) covers no characters of the "
                "text, so it cannot be replaced."
            )
        edits[sentence].append((start, end))
    text, pair = result.text, result.pair
    return _replaced(text, edits[0], mask_token), (
        _replaced(pair, edits[1], mask_token) if pair is not None else None
    )


def _replaced(text: str, spans: list[tuple[int, int]], mask_token: str) -> str:
    """Replace spans from the right so earlier offsets stay valid; merge overlapping pieces."""
    for start, end in sorted(set(spans), reverse=True):
        text = text[:start] + mask_token + text[end:]
    return text


EXAMPLE_MASK = "[MASK]"


def with_mask_token(text: str | None, mask_token: str) -> str | None:
    """An example's ``[MASK]`` written as the loaded model's own mask token (RoBERTa: <mask>)."""
    if text is None or not mask_token or mask_token == EXAMPLE_MASK:
        return text
    return text.replace(EXAMPLE_MASK, mask_token)
