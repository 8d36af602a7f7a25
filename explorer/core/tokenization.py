"""What the tokenizer did to the text: character spans, counts, normalization, vocabulary.

The span and count functions read only the arrays of an InferenceResult (or an Encoding), so
the GUI may call them. Anything that needs the tokenizer itself (the normalized text, vocabulary
look-ups) is an analysis of the registry's table, run by the worker thread next to the model.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from explorer.core.errors import ExplorerError

NORMALIZED_ANALYSIS = "tokenization.normalized"
VOCABULARY_ANALYSIS = "tokenization.vocabulary"


class TokenizedInput(Protocol):
    """The token arrays shared by ``InferenceResult`` and ``Encoding``."""

    text: str
    pair: str | None
    tokens: np.ndarray
    offsets: np.ndarray
    sequence_ids: np.ndarray
    word_ids: np.ndarray
    special_tokens_mask: np.ndarray
    unk_mask: np.ndarray


# --- spans: which characters became which token ---------------------------------------------
@dataclass(frozen=True)
class TokenSpan:
    """One token and the characters ``[start, end)`` of its sentence that it came from."""

    index: int
    token: str
    sequence: int  # 0 sentence A, 1 sentence B, -1 special token
    start: int
    end: int
    word: int  # running word number over the whole input, -1 for special tokens
    piece: int  # 0 for the first piece of a word, 1, 2, … for continuation pieces
    pieces: int  # how many pieces the word was split into
    special: bool
    unknown: bool

    @property
    def continuation(self) -> bool:
        """A word piece that continues a word (``##…`` in WordPiece)."""
        return self.piece > 0


def token_spans(encoded: TokenizedInput) -> tuple[TokenSpan, ...]:
    """Map every token to its characters and its word, using the tokenizer's word ids.

    Word numbers run over the whole input (sentence B continues after A) so a colour per word
    never repeats for two adjacent words of different sentences.
    """
    count = len(encoded.tokens)
    keys: list[tuple[int, int] | None] = []
    for i in range(count):
        sequence = int(encoded.sequence_ids[i])
        special = bool(encoded.special_tokens_mask[i]) or sequence < 0
        keys.append(None if special else (sequence, int(encoded.word_ids[i])))
    word_numbers: dict[tuple[int, int], int] = {}
    pieces: dict[tuple[int, int], int] = {}
    for key in keys:
        if key is not None:
            word_numbers.setdefault(key, len(word_numbers))
            pieces[key] = pieces.get(key, 0) + 1
    seen: dict[tuple[int, int], int] = {}
    spans = []
    for i, key in enumerate(keys):
        start, end = (int(v) for v in encoded.offsets[i])
        piece = seen.get(key, 0) if key is not None else 0
        if key is not None:
            seen[key] = piece + 1
        spans.append(
            TokenSpan(
                index=i,
                token=str(encoded.tokens[i]),
                sequence=-1 if key is None else key[0],
                start=0 if key is None else start,
                end=0 if key is None else end,
                word=-1 if key is None else word_numbers[key],
                piece=piece,
                pieces=1 if key is None else pieces[key],
                special=key is None,
                unknown=bool(encoded.unk_mask[i]),
            )
        )
    return tuple(spans)


def sentence_text(encoded: TokenizedInput, sequence: int) -> str:
    """The sentence a span's offsets index into ('' for special tokens)."""
    if sequence == 0:
        return encoded.text
    if sequence == 1:
        return encoded.pair or ""
    return ""


# --- counts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenCounts:
    """Characters, words and tokens of one input, and how finely its words were split."""

    characters: int  # Unicode code points over sentence A and B
    words: int  # pre-tokenizer words (punctuation and each CJK character count as words)
    tokens: int  # everything the model sees, special tokens included
    special_tokens: int
    unknown_tokens: int
    pieces_per_word: float  # mean over words (0.0 without words)
    most_split_word: str  # the characters of the word split into the most pieces
    most_split_pieces: tuple[str, ...]  # its pieces, e.g. ('g', '##ly', '##ph')


def token_counts(encoded: TokenizedInput) -> TokenCounts:
    """Count what the tokenizer produced; ties for the most split word go to the first one."""
    spans = token_spans(encoded)
    words: dict[int, list[TokenSpan]] = {}
    for span in spans:
        if not span.special:
            words.setdefault(span.word, []).append(span)
    content = sum(len(group) for group in words.values())
    most: list[TokenSpan] = max(words.values(), key=len, default=[])
    most_text = ""
    if most:
        sentence = sentence_text(encoded, most[0].sequence)
        most_text = sentence[min(s.start for s in most) : max(s.end for s in most)]
    return TokenCounts(
        characters=len(encoded.text) + len(encoded.pair or ""),
        words=len(words),
        tokens=len(spans),
        special_tokens=sum(1 for s in spans if s.special),
        unknown_tokens=sum(1 for s in spans if s.unknown),
        pieces_per_word=content / len(words) if words else 0.0,
        most_split_word=most_text,
        most_split_pieces=tuple(s.token for s in most),
    )


# --- pieces as text: the space marks of byte-level BPE and SentencePiece ---------------------
WORDPIECE = "WordPiece"
BYTE_LEVEL_BPE = "byte-level BPE"
SENTENCEPIECE = "SentencePiece"
SPACE_MARK = "␣"  # how the panels show the space a piece begins with (Ġ, ▁)


def tokenizer_kind(tokenizer: Any) -> str:
    """WordPiece (``##`` continues a word), byte-level BPE (``Ġ`` is a space) or SentencePiece.

    Read from the fast tokenizer's own pipeline: its model, pre-tokenizer and decoder.
    """
    try:
        spec = json.loads(tokenizer.backend_tokenizer.to_str())
    except Exception:  # a tokenizer without a readable pipeline: BERT's pieces, shown as is
        return WORDPIECE
    described = json.dumps(
        [spec.get("pre_tokenizer"), spec.get("decoder"), (spec.get("model") or {}).get("type")]
    )
    if "ByteLevel" in described:
        return BYTE_LEVEL_BPE
    if "Metaspace" in described or "Unigram" in described:
        return SENTENCEPIECE
    return WORDPIECE


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-in for each byte (Ġ for the space, Ċ for a newline), reversed."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(char): byte for byte, char in zip(printable, chars, strict=True)}


_BYTE_DECODER = _byte_decoder()
_LEFTOVER_BYTE = re.compile(r"\\x([0-9a-f]{2})")


def _shown_whitespace(text: str) -> str:
    return text.replace(" ", SPACE_MARK).replace("\n", "↵").replace("\t", "⇥")


def display_token(token: str, kind: str) -> str:
    """A piece as readers see it: its leading space as ␣, bytes decoded to their characters.

    Byte-level BPE pieces are bytes written as printable stand-ins (``Ġ`` a space, ``Ã©`` the
    two bytes of é); a piece ending inside a character shows the leftover bytes as ``<0xA9>``.
    SentencePiece writes a space as ``▁``. WordPiece and special tokens stay as they are.
    """
    if kind == SENTENCEPIECE:
        return token.replace("▁", SPACE_MARK)
    if kind != BYTE_LEVEL_BPE or any(char not in _BYTE_DECODER for char in token):
        return token
    raw = bytes(_BYTE_DECODER[char] for char in token)
    try:
        return _shown_whitespace(raw.decode("utf-8"))
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="backslashreplace")
        return _LEFTOVER_BYTE.sub(lambda m: f"<0x{m[1].upper()}>", _shown_whitespace(text))


def continuation_legend(kind: str) -> str:
    """What marks a piece that continues a word, in this tokenizer's own writing."""
    if kind == BYTE_LEVEL_BPE:
        return f"dotted = continuation (no {SPACE_MARK}; written Ġ for a space)"
    if kind == SENTENCEPIECE:
        return f"dotted = continuation (no {SPACE_MARK}; written ▁ for a space)"
    return "dotted = continuation (##)"


# --- the tokenizer's special tokens (computed once at load time) ---------------------------
def special_token_table(tokenizer: Any) -> tuple[tuple[str, str, int], ...]:
    """(roles, token, id) of every special token, by id: what ModelInfo carries to the GUI.

    One token may fill several roles (RoBERTa's ``<s>`` is both bos and cls): they are joined.
    """
    backend = tokenizer.backend_tokenizer
    roles: dict[str, list[str]] = {}
    for role, value in dict(getattr(tokenizer, "special_tokens_map", {}) or {}).items():
        for token in value if isinstance(value, list | tuple) else [value]:
            name = role.removesuffix("_tokens").removesuffix("_token")
            roles.setdefault(str(token), []).append(name)
    rows = []
    for token, names in roles.items():
        token_id = backend.token_to_id(token)
        rows.append(("/".join(names), token, -1 if token_id is None else int(token_id)))
    return tuple(sorted(rows, key=lambda row: (row[2], row[1])))


# --- normalization: the text the tokenizer actually saw ----------------------------------
@dataclass(frozen=True)
class TextChange:
    """Input characters ``[start, end)`` became normalized characters ``[norm_start, norm_end)``."""

    start: int
    end: int
    norm_start: int
    norm_end: int
    before: str
    after: str
    kind: str  # e.g. "lowercased", "accent stripped", "space added around CJK character"


@dataclass(frozen=True)
class NormalizedSentence:
    """One sentence before and after the tokenizer's normalizer, with every difference."""

    label: str  # "A" or "B"
    original: str
    normalized: str
    changes: tuple[TextChange, ...]
    exact: bool  # aligned character by character by the normalizer itself (else by difflib)


@dataclass(frozen=True)
class Normalization:
    """What the normalizer is and what it did to each sentence of the result."""

    normalizer: str  # a one-line description; '' when the tokenizer has no normalizer
    sentences: tuple[NormalizedSentence, ...]


def strip_accents(text: str) -> str:
    """Decompose (NFD) and drop combining marks, the way BERT's normalizer strips accents."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def classify_change(before: str, after: str) -> str:
    """Name what a normalizer did to ``before`` so a student sees which step caused it."""
    if not after:
        if before and all(unicodedata.category(ch) == "Mn" for ch in before):
            return "accent mark removed"
        return "control or invalid character removed"
    if not before:
        return "space added" if after.isspace() else "inserted"
    if before.isspace() and after.isspace():
        return "whitespace became a space"
    if after != before and after.strip() == before:
        return "space added around CJK character"
    if after == before.lower():
        return "lowercased"
    if after == strip_accents(before):
        return "accent stripped"
    if after in (strip_accents(before.lower()), strip_accents(before).lower()):
        return "lowercased, accent stripped"
    for form in ("NFC", "NFKC", "NFD", "NFKD"):
        if after == unicodedata.normalize(form, before):
            return f"Unicode normalized ({form})"
    return "changed"


def _changes_per_character(original: str, pieces: list[str]) -> tuple[TextChange, ...]:
    changes = []
    position = 0
    for index, (char, piece) in enumerate(zip(original, pieces, strict=True)):
        if piece != char:
            changes.append(
                TextChange(
                    index,
                    index + 1,
                    position,
                    position + len(piece),
                    char,
                    piece,
                    classify_change(char, piece),
                )
            )
        position += len(piece)
    return tuple(changes)


def _changes_by_diff(original: str, normalized: str) -> tuple[TextChange, ...]:
    matcher = difflib.SequenceMatcher(None, original, normalized, autojunk=False)
    return tuple(
        TextChange(
            i1,
            i2,
            j1,
            j2,
            original[i1:i2],
            normalized[j1:j2],
            classify_change(original[i1:i2], normalized[j1:j2]),
        )
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    )


def normalize_sentence(normalizer: Any, original: str, label: str = "A") -> NormalizedSentence:
    """Run the tokenizer's own normalizer and align input and output character by character.

    BERT's normalizer treats every character on its own, so normalizing one character at a
    time gives an exact alignment; when that does not reproduce the whole-text result (NFC
    composes neighbours), the difference is aligned with difflib instead.
    """
    if normalizer is None:
        return NormalizedSentence(label, original, original, (), True)
    normalized = normalizer.normalize_str(original)
    pieces = [normalizer.normalize_str(char) for char in original]
    if "".join(pieces) == normalized:
        return NormalizedSentence(
            label, original, normalized, _changes_per_character(original, pieces), True
        )
    return NormalizedSentence(
        label, original, normalized, _changes_by_diff(original, normalized), False
    )


def describe_normalizer(normalizer: Any) -> str:
    """One line naming the normalizer and the steps it is configured to take."""
    if normalizer is None:
        return ""
    try:
        spec = json.loads(normalizer.__getstate__())
    except (AttributeError, TypeError, ValueError):
        return type(normalizer).__name__
    return _describe_spec(spec)


def _describe_spec(spec: Mapping[str, Any]) -> str:
    kind = str(spec.get("type", "?"))
    if kind == "Sequence":
        return " → ".join(_describe_spec(s) for s in spec.get("normalizers", ()))
    if kind == "BertNormalizer":
        lowercase = bool(spec.get("lowercase"))
        strip = spec.get("strip_accents")
        strips = lowercase if strip is None else bool(strip)
        steps = [
            name
            for name, on in (
                (
                    "clean text (drop control characters, whitespace → space)",
                    spec.get("clean_text"),
                ),
                ("spaces around CJK characters", spec.get("handle_chinese_chars")),
                ("strip accents (NFD, drop marks)", strips),
                ("lowercase", lowercase),
            )
            if on
        ]
        return f"BertNormalizer: {', '.join(steps) or 'no steps'}"
    return kind


def normalized_text(
    loaded: Any, result: TokenizedInput, params: Mapping[str, Any]
) -> Normalization:
    """The text the tokenizer saw for each sentence of the result (runs in the worker)."""
    tokenizer = _tokenizer_of(loaded)
    normalizer = tokenizer.backend_tokenizer.normalizer
    sentences = [normalize_sentence(normalizer, result.text, "A")]
    if result.pair is not None:
        sentences.append(normalize_sentence(normalizer, result.pair, "B"))
    return Normalization(describe_normalizer(normalizer), tuple(sentences))


# --- vocabulary look-up -------------------------------------------------------------------
@dataclass(frozen=True)
class VocabularyAnswer:
    """The answer to one look-up: a token for an id, an id for a token, or why there is none."""

    query: str
    found: bool
    token: str | None
    token_id: int | None
    message: str


def look_up(tokenizer: Any, query: str) -> VocabularyAnswer:
    """Id → token when the query is a whole number, token → id otherwise.

    Digits are read as an id; quotes force a token (``"124"``), since digit strings are tokens
    too. When digits name both, the answer says so.
    """
    backend = tokenizer.backend_tokenizer
    size = len(tokenizer)
    text = query.strip()
    quoted = _unquote(text)
    if not text:
        return VocabularyAnswer(query, False, None, None, "Type a token or an id to look up.")
    if quoted is None and _is_integer(text):
        return _look_up_id(backend, size, query, text)
    token = text if quoted is None else quoted
    token_id = backend.token_to_id(token)
    if token_id is not None:
        return VocabularyAnswer(query, True, token, token_id, f"'{token}' → id {token_id}.")
    pieces = tokenizer.tokenize(token)
    if pieces:
        ids = tokenizer.convert_tokens_to_ids(pieces)
        split = " ".join(
            f"{piece} ({piece_id})" for piece, piece_id in zip(pieces, ids, strict=True)
        )
        hint = f" As text, the tokenizer turns it into: {split}."
    else:
        hint = " As text, the tokenizer keeps nothing of it."
    return VocabularyAnswer(
        query, False, None, None, f"'{token}' is not in the vocabulary ({size} tokens).{hint}"
    )


def _look_up_id(backend: Any, size: int, query: str, text: str) -> VocabularyAnswer:
    token_id = int(text)
    also = backend.token_to_id(text)
    also_text = (
        f' (As a token, "{text}" has id {also}: type it in quotes to look the token up.)'
        if also is not None
        else ""
    )
    if not 0 <= token_id < size:
        message = f"Id {token_id} is out of range: this vocabulary has ids 0 to {size - 1}."
        return VocabularyAnswer(query, False, None, None, message + also_text)
    token = backend.id_to_token(token_id)
    if token is None:
        message = f"Id {token_id} has no token in this vocabulary."
        return VocabularyAnswer(query, False, None, token_id, message)
    return VocabularyAnswer(query, True, token, token_id, f"Id {token_id} → '{token}'.{also_text}")


def token_query(token: str) -> str:
    """The look-up query that finds ``token`` itself (quoted when it would read as an id)."""
    return f'"{token}"' if _is_integer(token) or _unquote(token) is not None else token


def _unquote(text: str) -> str | None:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return None


def _is_integer(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isascii() and body.isdigit()


def vocabulary_look_up(
    loaded: Any, result: TokenizedInput, params: Mapping[str, Any]
) -> VocabularyAnswer:
    """Look ``params['query']`` up in the loaded tokenizer's vocabulary (runs in the worker)."""
    return look_up(_tokenizer_of(loaded), str(params.get("query", "")))


def _tokenizer_of(loaded: Any) -> Any:
    tokenizer = getattr(loaded, "tokenizer", None)
    if tokenizer is None or not hasattr(tokenizer, "backend_tokenizer"):
        raise ExplorerError("This needs the fast tokenizer of a loaded model; none is loaded.")
    return tokenizer
