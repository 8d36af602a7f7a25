"""What the user should be told about how their text was read, beyond the tokens themselves.

And about what the model made of it when that is not a number at all (NaN weights).

Pure functions over a result, so the window, the CLI and tests say the same thing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from explorer.core.results import InferenceResult


@dataclass(frozen=True)
class Notice:
    """One sentence for the message bar; ``warning`` ones change what the model saw."""

    text: str
    warning: bool = False


def typed_special_tokens(result: InferenceResult) -> list[tuple[int, str]]:
    """(index, token) of special tokens that came from the user's own text (e.g. "[SEP]")."""
    special_ids = {token_id for _roles, _token, token_id in result.model.special_tokens}
    candidates = (~result.special_tokens_mask) & np.isin(result.input_ids, list(special_ids))
    typed = []
    for i in np.flatnonzero(candidates):
        sentence = result.sentence_of(int(i)) or ""
        start, end = (int(v) for v in result.offsets[i])
        # An unknown character also maps to [UNK]; only the literal spelling counts as typed.
        if sentence[start:end].casefold() == str(result.tokens[i]).casefold():
            typed.append((int(i), str(result.tokens[i])))
    return typed


def dropped_characters(text: str, spans: np.ndarray) -> int:
    """Characters (not white space) that no token covers: control, zero-width, format marks."""
    covered = np.zeros(len(text) + 1, dtype=np.int32)
    for start, end in spans:
        covered[start] += 1
        covered[end] -= 1
    outside = np.flatnonzero(np.cumsum(covered)[: len(text)] == 0).tolist()
    return sum(
        1
        for i in outside  # usually only the spaces: no Python pass over every character
        if not text[i].isspace() and unicodedata.category(text[i]) != "Zs"
    )


def non_finite_notice(result: InferenceResult) -> Notice | None:
    """A warning when the model produced NaN or infinity, naming the first layer that did.

    Without it a broken checkpoint shows maps that look like data; the result caches where
    the values stopped being finite (found in the worker), so this costs nothing here.
    """
    found = result.non_finite
    return Notice(found.describe(), warning=True) if found is not None else None


def input_notices(result: InferenceResult) -> list[Notice]:
    """Everything worth saying about how the tokenizer read this input (and the model ran)."""
    notices: list[Notice] = []
    broken = non_finite_notice(result)
    if broken is not None:
        notices.append(broken)
    if result.truncated:
        how = "longest first across the pair" if result.pair is not None else "from the end"
        notices.append(
            Notice(
                f"The input is longer than this model's maximum of {result.model.max_length} "
                f"tokens: {result.tokens_dropped} tokens were dropped ({how}).",
                warning=True,
            )
        )
    # A typed mask token is what a masked-LM head is for: the Predictions panel fills it.
    intended = result.model.mask_token
    typed = [(i, t) for i, t in typed_special_tokens(result) if t != intended or not intended]
    if typed:
        names = sorted({token for _, token in typed})
        notices.append(
            Notice(
                f"You typed {', '.join(names)} as text: this tokenizer reads "
                f"{'it' if len(names) == 1 else 'them'} as special tokens (the same ids it adds "
                "itself), not as characters.",
                warning=True,
            )
        )
    for sequence, text in ((0, result.text), (1, result.pair)):
        if text is None:
            continue
        spans = result.offsets[(result.sequence_ids == sequence) & ~result.special_tokens_mask]
        if result.truncated:
            continue  # characters past the cut are dropped on purpose; said above
        lost = dropped_characters(text, spans)
        if lost:
            notices.append(
                Notice(
                    f"{lost} character{'s' if lost != 1 else ''} in sentence "
                    f"{'AB'[sequence]} produced no token (control, zero-width or other "
                    "characters the tokenizer removes)."
                )
            )
    unknown = int(result.unk_mask.sum()) - sum(1 for _, t in typed if t == "[UNK]")
    if unknown > 0:
        notices.append(
            Notice(
                f"{unknown} piece{'s are' if unknown != 1 else ' is'} not in the "
                "vocabulary and became [UNK]."
            )
        )
    if result.pair is not None and result.pair == result.text:
        notices.append(Notice("Sentences A and B are identical."))
    return notices
