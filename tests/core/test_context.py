"""One word across sentences: positions, piece averaging, Ethayarajh's measures."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.context import (
    ContextInputError,
    anisotropy_sample,
    context_of,
    mean_pairwise_cosine,
    pairwise_cosine,
    word_positions,
)
from explorer.core.inference import run_inference

SNAKES = ["I love my pet python.", "Python is my favourite language.", "A python ate the rat."]


def test_a_word_split_into_pieces_is_averaged_over_them(tiny_model):
    sentences = ["Embeddings are vectors.", "We study embeddings today."]
    context = context_of(tiny_model, "embeddings", sentences)
    for i, sentence in enumerate(sentences):
        result = run_inference(tiny_model, sentence)
        positions = context.positions[i]
        assert len(positions) > 1  # several word pieces
        assert "".join(str(result.tokens[p]).removeprefix("##") for p in positions) == (
            "embeddings"
        )
        expected = result.hidden_states[:, list(positions), :].mean(axis=1)
        np.testing.assert_allclose(context.states[i], expected, rtol=1e-6, atol=1e-6)
        assert not np.allclose(context.states[i], result.hidden_states[:, positions[0], :])


def test_the_word_is_found_case_insensitively_and_as_a_whole_word(tiny_model):
    result = run_inference(tiny_model, "Pythonic code, said the Python fan.")
    positions = word_positions(result, "python")
    assert [str(result.tokens[p]) for p in positions] == ["python"]
    start, end = result.offsets[positions[0]]
    assert result.text[start:end] == "Python" and start > 10  # not the "Python" of Pythonic
    two_words = word_positions(result, "the  PYTHON")
    assert [str(result.tokens[p]) for p in two_words] == ["the", "python"]


def test_states_shapes_and_cosines(tiny_model):
    context = context_of(tiny_model, "python", SNAKES)
    n, layers, width = 3, tiny_model.info.num_layers + 1, tiny_model.info.hidden_size
    assert context.states.shape == (n, layers, width) and context.states.dtype == np.float32
    assert context.cosine.shape == (layers, n, n) and context.cosine.dtype == np.float32
    unit = context.states / np.linalg.norm(context.states, axis=-1, keepdims=True)
    np.testing.assert_allclose(context.cosine[2, 0, 1], unit[0, 2] @ unit[1, 2], rtol=1e-5)
    off_diagonal = ~np.eye(n, dtype=bool)
    np.testing.assert_allclose(
        context.self_similarity, context.cosine[:, off_diagonal].mean(-1), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        context.adjusted_self_similarity, context.self_similarity - context.anisotropy
    )
    assert context.pca.shape == (n, layers, 2)


def test_identical_vectors_have_self_similarity_one():
    vector = np.random.default_rng(0).standard_normal((1, 5, 8))
    states = np.repeat(vector, 4, axis=0)
    np.testing.assert_allclose(mean_pairwise_cosine(states), 1.0, rtol=1e-6)
    np.testing.assert_allclose(pairwise_cosine(states), 1.0, rtol=1e-6)
    opposite = np.concatenate([vector, -vector])
    np.testing.assert_allclose(mean_pairwise_cosine(opposite), -1.0, rtol=1e-6)


def test_one_sentence_twice_gives_self_similarity_one(tiny_model):
    context = context_of(tiny_model, "bank", ["The bank lends money.", "The bank lends money."])
    np.testing.assert_allclose(context.self_similarity, 1.0, rtol=1e-5)


def test_the_anisotropy_baseline_is_a_seeded_sample_of_those_sentences(tiny_model):
    results = [run_inference(tiny_model, s) for s in SNAKES]
    everything = anisotropy_sample(results, size=10_000)
    assert everything.shape[0] == sum(int((~r.special_tokens_mask).sum()) for r in results)
    small = anisotropy_sample(results, size=5, seed=3)
    assert small.shape == (5, 2)
    np.testing.assert_array_equal(small, anisotropy_sample(results, size=5, seed=3))
    assert not np.array_equal(small, anisotropy_sample(results, size=5, seed=4))

    context = context_of(tiny_model, "python", SNAKES, sample_size=6, seed=1)
    sampled = np.stack([results[i].hidden_states[:, t] for i, t in context.sample.tolist()])
    unit = sampled / np.linalg.norm(sampled, axis=-1, keepdims=True)
    cosines = np.einsum("nld,mld->lnm", unit, unit)
    expected = cosines[:, ~np.eye(6, dtype=bool)].mean(-1)
    np.testing.assert_allclose(context.anisotropy, expected, rtol=1e-5, atol=1e-6)
    assert context.meta()["anisotropy_sampling"]["seed"] == 1
    assert context.meta()["anisotropy_sampling"]["tokens"] == context.sample.tolist()


def test_a_sentence_without_the_word_is_an_error_that_names_it(tiny_model):
    with pytest.raises(ContextInputError, match=r"Sentence 2 .*'The cat sat\.'"):
        context_of(tiny_model, "python", ["A python!", "The cat sat.", "Python again."])


@pytest.mark.parametrize(
    ("word", "sentences", "message"),
    [
        ("", ["a b", "a c"], "Name the word"),
        ("python", ["A python."], "at least two sentences"),
        ("python", ["A python.", "   "], "Sentence 2 is empty"),
    ],
)
def test_bad_context_inputs_are_messages(tiny_model, word, sentences, message):
    with pytest.raises(ContextInputError, match=message):
        context_of(tiny_model, word, sentences)


def test_identical_vectors_never_exceed_a_cosine_of_one(tiny_model):
    rng = np.random.default_rng(0)
    states = np.repeat(rng.standard_normal((1, 3, 384)).astype(np.float32) * 1e3, 5, axis=0)
    assert mean_pairwise_cosine(states).max() <= 1.0 and pairwise_cosine(states).max() <= 1.0
    context = context_of(tiny_model, "bank", ["The bank lends.", "The bank lends."])
    assert context.self_similarity.max() <= 1.0 and context.cosine.max() <= 1.0


def test_accents_the_tokenizer_strips_match_and_are_noted(tiny_model):
    """An uncased BERT sees "café" as "cafe": the word is found, and the note says why."""
    context = context_of(tiny_model, "cafe", ["The café opens.", "A cafe closes."])
    assert len(context.positions) == 2
    assert any("Matched 'café' as 'cafe'" in note for note in context.notes)
    assert context.meta()["notes"] == list(context.notes)
    plain = context_of(tiny_model, "cafe", ["The cafe opens.", "A cafe closes."])
    assert plain.notes == ()


def test_unknown_words_and_cut_sentences_are_noted(tiny_model):
    long = "The python " + "waits " * 600
    context = context_of(tiny_model, "🦜", ["I saw a 🦜 today.", "A 🦜 sang."])
    assert any("sentences 1, 2 the word is (partly) [UNK]" in note for note in context.notes)
    cut = context_of(tiny_model, "python", ["A python.", long])
    assert any(note.startswith("Sentence 2 was longer than") for note in cut.notes)


def test_a_long_sentence_without_the_word_is_quoted_short(tiny_model):
    long = "no " * 7000
    with pytest.raises(ContextInputError) as info:
        context_of(tiny_model, "zebra", ["a zebra", long])
    message = str(info.value)
    assert len(message) < 250 and message.endswith("…'")
    assert "(it was cut to the model's" in message


def test_notes_for_repeats_typed_special_tokens_and_a_word_twice(tiny_model):
    from explorer.core.context import context_of

    found = context_of(
        tiny_model,
        "bank",
        ["the bank is here", "the bank is here", "a bank by the bank", "[CLS] bank [SEP] x"],
    )
    notes = " ".join(found.notes)
    assert "Sentences 1 and 2 are the same" in notes
    assert "more than once in sentence 3: its first occurrence" in notes
    assert "Sentence 4 holds [CLS], [SEP] typed as text" in notes
    typed_positions = {1, 3}  # [CLS] and [SEP] typed inside sentence 4
    assert not any(s == 3 and t in typed_positions for s, t in found.sample.tolist())
