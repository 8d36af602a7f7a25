"""How the model spells a word: its tokenizer's normalizer, then case and spaces folded.

An uncased BERT lowercases and strips accents before it splits text, so "Café" and "cafe" are
the same input to it. Comparing words the way the model sees them (not the way they were typed)
makes the Context panel find "cafe" in "the café", and makes the corpus word table count both
spellings as one word, which is what the model's vectors are of.
"""

from __future__ import annotations

from typing import Any


class Speller:
    """Spell text as the model's tokenizer sees it; ``changes`` says whether that differs."""

    def __init__(self, tokenizer: Any) -> None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self._normalizer = getattr(backend, "normalizer", None)

    def __call__(self, text: str) -> str:
        """``text`` normalized by the tokenizer, case-folded, runs of spaces made one."""
        normalized = text
        if self._normalizer is not None:
            try:
                normalized = self._normalizer.normalize_str(text)
            except Exception:  # a custom normalizer that fails: compare the text as typed
                normalized = text
        return " ".join(normalized.casefold().split())

    def changes(self, text: str) -> bool:
        """True when the model sees ``text`` other than case- and space-folded (accents)."""
        return self(text) != " ".join(text.casefold().split())
