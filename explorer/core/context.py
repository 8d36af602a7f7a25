"""One word across many sentences: how context changes its vector, layer by layer.

For each sentence the word's state at every layer is the mean over its word pieces (its first
occurrence, found through the tokenizer's word ids and offsets, so "Python" matches "python"
and a word split into pieces is one vector). From those states:

- ``cosine`` (L+1, n, n): the cosine between every two occurrences at each layer;
- ``self_similarity`` (L+1,): Ethayarajh (2019)'s mean pairwise cosine of the occurrences;
- ``anisotropy`` (L+1,): the mean cosine between distinct random tokens of the same sentences
  (a seeded sample, so the baseline can be reproduced); any two vectors of a layer are this
  similar by default, so ``self_similarity − anisotropy`` is what context leaves the word;
- ``pca`` (n, L+1, 2): every occurrence at every layer in one 2-D PCA fitted on all points.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from explorer.core.analysis.spelling import Speller
from explorer.core.analysis.words import group_word_pieces
from explorer.core.errors import ExplorerError
from explorer.core.inference import run_inference
from explorer.core.loading import LoadedModel
from explorer.core.notices import typed_special_tokens
from explorer.core.results import InferenceResult
from explorer.core.similarity import mean_cosine_from_sum, unit_rows
from explorer.core.wording import counted, shortened

CONTEXT_ANALYSIS = "context"
ANISOTROPY_SEED = 0
ANISOTROPY_SAMPLE = 500  # tokens; every distinct pair among them is averaged
CONTEXT_FORMAT_VERSION = 1


# The Context panel's example sets: (word, sentences), the word's senses in turn.
EXAMPLE_SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "python: the snake and the language": (
        "python",
        (
            "I love my pet python, it sleeps under the lamp.",
            "A python swallowed the rat whole.",
            "I write code in python every day.",
            "The script is written in Python.",
        ),
    ),
    "bank: of a river, and one that lends": (
        "bank",
        (
            "We sat on the bank of the river.",
            "Reeds grow along the muddy bank.",
            "The bank approved my loan.",
            "She deposited the cheque at the bank.",
        ),
    ),
}


class ContextInputError(ExplorerError):
    """The word or the sentences cannot be compared (missing word, too few sentences)."""


@dataclass(frozen=True, eq=False)
class ContextResult:
    """One word's states in n sentences, and the measures derived from them."""

    word: str
    sentences: tuple[str, ...]
    positions: tuple[tuple[int, ...], ...]  # the word's token positions in each sentence
    states: np.ndarray  # (n, L+1, D) float32
    cosine: np.ndarray  # (L+1, n, n) float32
    self_similarity: np.ndarray  # (L+1,) float32
    anisotropy: np.ndarray  # (L+1,) float32
    sample: np.ndarray  # (S, 2) int64: (sentence, token) pairs behind the anisotropy
    seed: int
    model: dict[str, Any]
    notes: tuple[str, ...] = ()  # what the user should know: truncation, accents, [UNK]

    @property
    def adjusted_self_similarity(self) -> np.ndarray:
        """Self-similarity minus the anisotropy baseline (Ethayarajh 2019)."""
        return (self.self_similarity - self.anisotropy).astype(np.float32)

    @cached_property
    def pca(self) -> np.ndarray:
        """(n, L+1, 2): the trajectories of the occurrences through the layers, in one PCA."""
        return pca_trajectories(self.states)

    def meta(self) -> dict[str, Any]:
        """What the npz's ``meta`` says: enough to reproduce every number."""
        return {
            "format_version": CONTEXT_FORMAT_VERSION,
            "word": self.word,
            "sentences": list(self.sentences),
            "positions": [list(p) for p in self.positions],
            "anisotropy_sampling": {
                "seed": self.seed,
                "sample_size": int(self.sample.shape[0]),
                "population": "every non-special token of the sentences",
                "tokens": self.sample.tolist(),
            },
            **self.model,
            "notes": list(self.notes),
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The ``bert-explorer context`` npz payload (a public format: add keys, never rename)."""
        return {
            "states": self.states,
            "cosine": self.cosine,
            "self_similarity": self.self_similarity,
            "anisotropy": self.anisotropy,
            "meta": np.asarray(json.dumps(self.meta(), ensure_ascii=False)),
        }


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def word_positions(
    result: InferenceResult, word: str, spell: Callable[[str], str] = _normalized
) -> tuple[int, ...]:
    """Token positions of the first run of whole words in sentence A that spell ``word``.

    Words come from the tokenizer's word ids (so pieces group into words the way the model's
    pre-tokenizer split them); their text from the offsets, compared as ``spell`` writes both
    (case- and space-insensitively; with a ``Speller``, also as the model normalizes them).
    Empty when the word does not occur.
    """
    return next(word_occurrences(result, word, spell), ())


def word_occurrences(
    result: InferenceResult, word: str, spell: Callable[[str], str] = _normalized
) -> Iterator[tuple[int, ...]]:
    """Every run of whole words in sentence A that spells ``word`` (see ``word_positions``)."""
    normalized = spell
    target = normalized(word)
    if not target:
        return
    groups = group_word_pieces(result.sequence_ids, result.word_ids)
    in_a = (result.sequence_ids == 0) & (result.word_ids >= 0)
    words = [np.flatnonzero(groups == g).tolist() for g in dict.fromkeys(groups[in_a].tolist())]
    text = result.text
    for first in range(len(words)):
        start = int(result.offsets[words[first][0], 0])
        for last in range(first, len(words)):
            end = int(result.offsets[words[last][-1], 1])
            spelled = normalized(text[start:end])
            if spelled == target:
                yield tuple(p for w in words[first : last + 1] for p in w)
            if len(spelled) >= len(target):
                break


def pairwise_cosine(states: np.ndarray) -> np.ndarray:
    """(n, L+1, D) → (L+1, n, n) cosine between every two rows at each layer."""
    unit = unit_rows(np.swapaxes(states, 0, 1))  # (L+1, n, D)
    cosine = np.einsum("lnd,lmd->lnm", unit, unit)
    return np.clip(cosine, -1.0, 1.0).astype(np.float32)  # rounding past ±1


def mean_pairwise_cosine(states: np.ndarray) -> np.ndarray:
    """(n, L+1, D) → (L+1,): the mean cosine over distinct pairs, from the sum of unit vectors.

    NaN with fewer than two vectors (there is no pair).
    """
    summed = unit_rows(states).sum(axis=0)  # (L+1, D)
    return mean_cosine_from_sum(summed, states.shape[0]).astype(np.float32)


def anisotropy_sample(
    results: Sequence[InferenceResult], size: int = ANISOTROPY_SAMPLE, seed: int = ANISOTROPY_SEED
) -> np.ndarray:
    """(S, 2) (sentence, token) pairs: a seeded sample of the sentences' non-special tokens.

    A special token typed as text ("[CLS]" in a sentence) is the special token to the model,
    so it is left out too.
    """
    population = np.array(
        [
            (i, t)
            for i, r in enumerate(results)
            for t in np.flatnonzero(_ordinary_tokens(r)).tolist()
        ],
        dtype=np.int64,
    ).reshape(-1, 2)
    if population.shape[0] <= size:
        return population
    chosen = np.random.default_rng(seed).choice(population.shape[0], size, replace=False)
    return population[np.sort(chosen)]


def _ordinary_tokens(result: InferenceResult) -> np.ndarray:
    """(T,) bool: tokens that are neither added nor typed special tokens."""
    ordinary = ~result.special_tokens_mask
    for index, _token in typed_special_tokens(result):
        ordinary[index] = False
    return ordinary


def pca_trajectories(states: np.ndarray) -> np.ndarray:
    """(n, L+1, D) → (n, L+1, 2): one PCA fitted once on every occurrence at every layer."""
    from sklearn.decomposition import PCA

    n, layers, width = states.shape
    points = states.reshape(n * layers, width).astype(np.float64)
    if n * layers < 2 or width < 2:
        return np.zeros((n, layers, 2), dtype=np.float32)
    projected = PCA(n_components=2, svd_solver="full").fit_transform(points)
    return projected.reshape(n, layers, 2).astype(np.float32)


def context_of(
    loaded: LoadedModel,
    word: str,
    sentences: Sequence[str],
    *,
    sample_size: int = ANISOTROPY_SAMPLE,
    seed: int = ANISOTROPY_SEED,
) -> ContextResult:
    """Run each sentence once and measure how the word's vector changes with its context."""
    if not word.strip():
        raise ContextInputError("Name the word to follow across the sentences.")
    if len(sentences) < 2:
        raise ContextInputError(
            f"Give at least two sentences containing {word!r}: self-similarity compares "
            "the word's occurrences with each other."
        )
    results: list[InferenceResult] = []
    positions: list[tuple[int, ...]] = []
    spell = Speller(loaded.tokenizer)
    for number, sentence in enumerate(sentences, start=1):
        if not sentence.strip():
            raise ContextInputError(f"Sentence {number} is empty.")
        result = run_inference(loaded, sentence)
        found = word_positions(result, word, spell)
        if not found:
            cut = (
                f" (it was cut to the model's {loaded.info.max_length} tokens)"
                if result.truncated
                else ""
            )
            raise ContextInputError(
                f"Sentence {number} does not contain the word {shortened(word, 40)!r}{cut}: "
                f"{shortened(sentence)!r}"
            )
        results.append(result)
        positions.append(found)
    notes = context_notes(loaded, word, results, positions, spell)
    pairs = zip(results, positions, strict=True)
    states = np.stack([r.hidden_states[:, list(p), :].mean(axis=1) for r, p in pairs])
    states = states.astype(np.float32)
    sample = anisotropy_sample(results, sample_size, seed)
    sampled = np.stack([results[i].hidden_states[:, t, :] for i, t in sample.tolist()])
    first = results[0]
    return ContextResult(
        word=word,
        sentences=tuple(sentences),
        positions=tuple(positions),
        states=states,
        cosine=pairwise_cosine(states),
        self_similarity=mean_pairwise_cosine(states),
        anisotropy=mean_pairwise_cosine(sampled),
        sample=sample,
        seed=seed,
        model={
            "source": first.model.source,
            "name_or_path": first.model.name_or_path,
            "model_type": first.model.model_type,
            "num_layers": first.model.num_layers,
            "hidden_size": first.model.hidden_size,
        },
        notes=notes,
    )


def context_notes(
    loaded: LoadedModel,
    word: str,
    results: Sequence[InferenceResult],
    positions: Sequence[tuple[int, ...]],
    spell: Speller,
) -> tuple[str, ...]:
    """What the numbers rest on that the user may not see.

    Cut sentences, accents the tokenizer folded, occurrences it does not know (every [UNK]
    starts from one vector), repeated sentences, a word found more than once in a sentence,
    and special tokens typed as text.
    """
    notes: list[str] = []
    seen: dict[str, int] = {}
    for number, result in enumerate(results, start=1):
        first = seen.setdefault(_normalized(result.text), number)
        if first != number:
            notes.append(
                f"Sentences {first} and {number} are the same: their occurrences have cosine "
                "1, which raises self-similarity (and the anisotropy baseline)."
            )
    repeated = [
        number
        for number, result in enumerate(results, start=1)
        if sum(1 for _ in word_occurrences(result, word, spell)) > 1
    ]
    if repeated:
        notes.append(
            f"The word occurs more than once in sentence{'s' if len(repeated) != 1 else ''} "
            f"{', '.join(map(str, repeated))}: its first occurrence there is used."
        )
    for number, result in enumerate(results, start=1):
        typed = sorted({token for _, token in typed_special_tokens(result)})
        if typed:
            notes.append(
                f"Sentence {number} holds {', '.join(typed)} typed as text: the model reads it "
                "as its special token, and it is left out of the anisotropy sample."
            )
    for number, result in enumerate(results, start=1):
        if result.truncated:
            notes.append(
                f"Sentence {number} was longer than the model's {loaded.info.max_length} "
                f"tokens: {counted(result.tokens_dropped, 'token')} at its end were dropped."
            )
    spellings = {
        result.text[int(result.offsets[p[0], 0]) : int(result.offsets[p[-1], 1])]
        for result, p in zip(results, positions, strict=True)
    }
    folded = sorted(s for s in spellings if _normalized(s) != _normalized(word))
    if folded:
        quoted = ", ".join(repr(shortened(s, 30)) for s in folded)
        notes.append(
            f"Matched {quoted} as {shortened(word, 30)!r}: this model's tokenizer strips "
            "accents (or otherwise normalizes the text), so it sees them as one word."
        )
    unknown = [
        number
        for number, (result, p) in enumerate(zip(results, positions, strict=True), start=1)
        if bool(result.unk_mask[list(p)].any())
    ]
    if unknown:
        which = ", ".join(map(str, unknown))
        notes.append(
            f"In sentence{'s' if len(unknown) != 1 else ''} {which} the word is (partly) "
            f"{loaded.tokenizer.unk_token or '[UNK]'}: the tokenizer does not know it, and "
            "every unknown piece starts from the same vector."
        )
    return tuple(notes)


def context_analysis(loaded: LoadedModel, _result: Any, params: Mapping[str, Any]) -> ContextResult:
    """The worker's analysis: ``params`` word and sentences; the PCA is fitted here too."""
    if "word" not in params or "sentences" not in params:
        raise ExplorerError("Name a word and list the sentences to look for it in.")
    context = context_of(loaded, str(params["word"]), [str(s) for s in params["sentences"]])
    _ = context.pca  # fill the cached property in the worker, not on the GUI thread
    return context
