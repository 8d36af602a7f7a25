"""Tokenization facts: spans back to exact characters, counts, normalization, vocabulary."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from explorer.core.analysis.registry import run_analysis
from explorer.core.errors import ExplorerError
from explorer.core.inference import encode, run_inference
from explorer.core.tokenization import (
    NORMALIZED_ANALYSIS,
    VOCABULARY_ANALYSIS,
    classify_change,
    look_up,
    normalize_sentence,
    sentence_text,
    token_counts,
    token_query,
    token_spans,
)

SHOWCASE = "Café crème: the ꙮ glyph, 東京, 🙂!"


def span_texts(encoded) -> list[tuple[str, str]]:
    """(token, the characters it came from) for every non-special token."""
    return [
        (span.token, sentence_text(encoded, span.sequence)[span.start : span.end])
        for span in token_spans(encoded)
        if not span.special
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sinan loves it", [("sin", "Sin"), ("##an", "an"), ("loves", "loves"), ("it", "it")]),
        ("Café crème", [("cafe", "Café"), ("cr", "cr"), ("##eme", "ème")]),
        ("東京 is big", [("東", "東"), ("京", "京"), ("is", "is"), ("big", "big")]),
        ("ok 🙂!", [("ok", "ok"), ("[UNK]", "🙂"), ("!", "!")]),
    ],
    ids=["ascii", "accented", "cjk", "emoji"],
)
def test_spans_map_back_to_the_exact_characters(tiny_model, text, expected):
    assert span_texts(encode(tiny_model, text)) == expected


def test_spans_group_pieces_by_word_and_flag_unknown_and_special(tiny_model):
    spans = token_spans(encode(tiny_model, SHOWCASE, "Ünïcode test"))
    by_token = {span.token: span for span in spans}
    assert spans[0].special and spans[0].token == "[CLS]" and spans[0].word == -1
    assert [s.token for s in spans if s.special] == ["[CLS]", "[SEP]", "[SEP]"]
    glyph = [s for s in spans if s.word == by_token["g"].word]
    assert [s.token for s in glyph] == ["g", "##ly", "##ph"]
    assert [s.piece for s in glyph] == [0, 1, 2] and {s.pieces for s in glyph} == {3}
    assert [s.continuation for s in glyph] == [False, True, True]
    assert [s.unknown for s in spans if s.token == "[UNK]"] == [True, True]
    # Sentence B's words continue the numbering instead of restarting at 0.
    assert by_token["unicode"].sequence == 1
    assert by_token["unicode"].word == by_token["!"].word + 1


def test_counts_of_the_showcase_sentence(tiny_model):
    counts = token_counts(encode(tiny_model, SHOWCASE))
    assert counts.characters == len(SHOWCASE) == 31
    assert counts.words == 12  # cafe creme : the ꙮ glyph , 東 京 , 🙂 !
    assert counts.tokens == 17 and counts.special_tokens == 2 and counts.unknown_tokens == 2
    assert counts.pieces_per_word == pytest.approx(15 / 12)
    assert counts.most_split_word == "glyph"
    assert counts.most_split_pieces == ("g", "##ly", "##ph")


def test_counts_of_a_pair_add_both_sentences(tiny_model):
    counts = token_counts(encode(tiny_model, "I love my pet python", "Is it a snake?"))
    assert counts.characters == 20 + 14
    assert counts.words == 5 + 5
    assert counts.tokens == 13 and counts.special_tokens == 3


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=60), pair=st.none() | st.text(max_size=30))
def test_spans_lie_inside_the_text_and_never_run_backwards(tiny_model, text, pair):
    assume(text.strip())
    encoded = encode(tiny_model, text, pair)
    last: dict[int, tuple[int, int]] = {}
    for span in token_spans(encoded):
        if span.special:
            continue
        sentence = sentence_text(encoded, span.sequence)
        assert 0 <= span.start <= span.end <= len(sentence)
        previous = last.get(span.sequence, (0, 0))
        assert span.start >= previous[0] and span.end >= previous[1]
        last[span.sequence] = (span.start, span.end)


def test_special_tokens_and_sizes_come_with_the_model_info(tiny_model):
    info = tiny_model.info
    assert info.special_tokens == (
        ("pad", "[PAD]", 0),
        ("unk", "[UNK]", 100),
        ("cls", "[CLS]", 101),
        ("sep", "[SEP]", 102),
        ("mask", "[MASK]", 103),
    )
    assert (info.intermediate_size, info.max_position_embeddings) == (37, 512)
    assert (info.type_vocab_size, info.config_vocab_size) == (2, 30522)


# --- normalization ---------------------------------------------------------------------------
def test_normalized_text_shows_lowercasing_accents_and_cjk_spacing(tiny_model):
    result = run_inference(tiny_model, SHOWCASE, "Tab\there")
    payload = run_analysis(NORMALIZED_ANALYSIS, tiny_model, result, {})
    assert payload.normalizer.startswith("BertNormalizer: clean text")
    first, second = payload.sentences
    assert first.normalized == "cafe creme: the ꙮ glyph,  東  京 , 🙂!"
    assert first.exact
    changes = [(c.before, c.after, c.kind) for c in first.changes]
    assert changes == [
        ("C", "c", "lowercased"),
        ("é", "e", "accent stripped"),
        ("è", "e", "accent stripped"),
        ("東", " 東 ", "space added around CJK character"),
        ("京", " 京 ", "space added around CJK character"),
    ]
    for change in first.changes:
        assert first.original[change.start : change.end] == change.before
        assert first.normalized[change.norm_start : change.norm_end] == change.after
    assert [(c.before, c.after, c.kind) for c in second.changes] == [
        ("T", "t", "lowercased"),
        ("\t", " ", "whitespace became a space"),
    ]


def test_normalization_removes_control_characters_and_decomposed_accents(tiny_model):
    normalizer = tiny_model.tokenizer.backend_tokenizer.normalizer
    sentence = normalize_sentence(normalizer, "E\u0301t\u200be")  # É as E + combining acute
    assert sentence.normalized == "ete"
    kinds = [c.kind for c in sentence.changes]
    assert kinds == ["lowercased", "accent mark removed", "control or invalid character removed"]


def test_normalization_without_a_normalizer_changes_nothing():
    sentence = normalize_sentence(None, "Café")
    assert sentence.normalized == "Café" and sentence.changes == ()


def test_normalization_falls_back_to_a_diff_when_characters_combine():
    from tokenizers import normalizers

    nfc = normalizers.NFC()
    sentence = normalize_sentence(nfc, "Cafe\u0301")  # NFC joins e + ◌́ into é
    assert sentence.normalized == "Café" and not sentence.exact
    assert [(c.before, c.after) for c in sentence.changes] == [("e\u0301", "é")]
    assert sentence.changes[0].kind == "Unicode normalized (NFC)"


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("É", "e", "lowercased, accent stripped"),
        ("\u00a0", " ", "whitespace became a space"),
        ("ﬁ", "fi", "Unicode normalized (NFKC)"),
        ("a", "b", "changed"),
    ],
)
def test_changes_are_named_after_the_step_that_made_them(before, after, kind):
    assert classify_change(before, after) == kind


# --- vocabulary look-up ----------------------------------------------------------------------
def test_id_and_token_look_ups(tiny_model):
    tokenizer = tiny_model.tokenizer
    hello = look_up(tokenizer, "hello")
    assert hello.found and hello.token_id == 7592 and "7592" in hello.message
    by_id = look_up(tokenizer, " 7592 ")
    assert by_id.found and by_id.token == "hello"
    assert look_up(tokenizer, "##ing").token_id == 2075


def test_out_of_range_ids_and_unknown_tokens_get_a_clear_answer(tiny_model):
    tokenizer = tiny_model.tokenizer
    too_big = look_up(tokenizer, "30522")
    assert not too_big.found
    assert too_big.message == "Id 30522 is out of range: this vocabulary has ids 0 to 30521."
    negative = look_up(tokenizer, "-1")
    assert not negative.found and "out of range" in negative.message
    cafe = look_up(tokenizer, "Café")
    assert not cafe.found
    assert "not in the vocabulary" in cafe.message and "cafe (7668)" in cafe.message
    blank = look_up(tokenizer, "   ")
    assert not blank.found and "Type a token or an id" in blank.message


def test_digits_are_read_as_an_id_and_quotes_make_them_a_token(tiny_model):
    answer = look_up(tiny_model.tokenizer, "2019")
    assert answer.token == "an"
    assert 'As a token, "2019" has id 10476' in answer.message
    quoted = look_up(tiny_model.tokenizer, '"2019"')
    assert quoted.found and quoted.token == "2019" and quoted.token_id == 10476
    assert token_query("2019") == '"2019"' and token_query("##ing") == "##ing"


@settings(max_examples=300, deadline=None)
@given(token_id=st.integers(min_value=0, max_value=30521))
def test_id_to_token_to_id_round_trips(tiny_model, token_id):
    token = look_up(tiny_model.tokenizer, str(token_id)).token
    assert token is not None
    back = look_up(tiny_model.tokenizer, token_query(token))
    assert back.found and back.token_id == token_id


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_token_to_id_to_token_round_trips(tiny_model, data):
    vocabulary = sorted(tiny_model.tokenizer.get_vocab())
    token = data.draw(st.sampled_from(vocabulary))
    answer = look_up(tiny_model.tokenizer, token_query(token))
    assert answer.found and answer.token == token
    assert look_up(tiny_model.tokenizer, str(answer.token_id)).token == token


def test_look_up_runs_as_a_registered_analysis(tiny_model):
    result = run_inference(tiny_model, "hello")
    answer = run_analysis(VOCABULARY_ANALYSIS, tiny_model, result, {"query": "101"})
    assert answer.token == "[CLS]"


def test_analyses_on_a_saved_result_say_they_need_a_tokenizer(tiny_model):
    result = run_inference(tiny_model, "hello")
    with pytest.raises(ExplorerError, match="fast tokenizer"):
        run_analysis(NORMALIZED_ANALYSIS, None, result, {})
