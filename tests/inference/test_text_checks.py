"""The language-independent text detectors (inference.text_checks): each with a text it flags and one it
leaves alone."""

from __future__ import annotations

import pytest

from inference.text_checks import (
    reading_grade,
    repeated_runs,
    repeated_sentences,
    sentences,
    stray_characters,
    syllables,
    tokens,
    unbalanced,
)

LOOPED = "Hey there ladies & gentlemen! Our newest road and trail shoes are here for every run you love. "


def test_tokens_keep_apostrophes_and_skip_personalisation_tokens() -> None:
    assert tokens("Hi {first_name}, it’s Stride's 2nd drop!") == ["hi", "it's", "stride's", "2nd", "drop"]
    assert tokens("Привет, бегун") == ["привет", "бегун"]


def test_sentences_end_at_stops_and_line_breaks() -> None:
    assert sentences('It grips. "Really!" Price 89.99 EUR\nNew line') == ["It grips.", '"Really!"', "Price 89.99 EUR",
                                                                          "New line"]


def test_repeated_sentences_within_and_across_parts() -> None:
    assert repeated_sentences([LOOPED + LOOPED]) == ["Hey there ladies & gentlemen!",
                                                     "Our newest road and trail shoes are here for every run you love."]
    assert repeated_sentences(["Grip on wet rock", "GRIP on wet rock!"]) == ["Grip on wet rock"]
    assert repeated_sentences(["Thank you. Thank you."]) == []  # under three words
    assert repeated_sentences(["Grip on wet rock.", "Cushioning on long runs."]) == []


def test_repeated_runs_report_the_longest_run_once() -> None:
    assert repeated_runs([LOOPED + LOOPED], 6) == [" ".join(tokens(LOOPED))]
    assert repeated_runs(["the grip you feel on every trail", "you feel on every trail it grips"], 5) == [
        "you feel on every trail"]
    assert repeated_runs(["the grip you feel on every trail", "feel on every trail"], 5) == []
    assert repeated_runs(["It is very very very light."], 6) == ["very very very"]
    assert repeated_runs(["It is very very light and the grip is good."], 6) == []


def test_a_run_never_spans_two_parts() -> None:
    assert repeated_runs(["one two three", "four five six", "one two three four five six"], 6) == []


@pytest.mark.parametrize(
    ("text", "latin_only", "expected"),
    [
        ("Shoes\ufffd", False, "U+FFFD REPLACEMENT CHARACTER"),
        ("Sho\u200bes", False, "U+200B ZERO WIDTH SPACE"),
        ("Shoes\u200e", False, "U+200E LEFT-TO-RIGHT MARK"),
        ("Shoes\ue123", False, "U+E123 unnamed"),
        ("Shoes\x00", False, "U+0000 unnamed"),
        ("Shoes\u2588", False, "U+2588 FULL BLOCK"),
        ("Shoes\u3000now", False, "U+3000 IDEOGRAPHIC SPACE"),
        ("Shoes 中", True, "U+4E2D CJK UNIFIED IDEOGRAPH-4E2D"),
        ("Shoes ㅤ", True, "U+3164 HANGUL FILLER"),
        ("Shoes\u200d", False, "U+200D ZERO WIDTH JOINER"),
    ],
)
def test_stray_characters(text: str, latin_only: bool, expected: str) -> None:
    assert stray_characters(text, latin_only=latin_only) == [expected]


def test_printable_text_emoji_and_other_scripts_when_allowed() -> None:
    text = "Café “grip” — 89,99 € ✓ 🏃‍♀️ 👩‍💻 naïve\tTab\nLine © ™ ½ 50\u00a0km"
    assert stray_characters(text, latin_only=True) == []
    assert stray_characters("这双鞋的抓地力 Привет", latin_only=False) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The grip (on wet rock", ["'(' never closed"]),
        ("The grip on wet rock)", ["')' without an opening '('"]),
        ("A [run} here", ["'}' without an opening '{'", "'[' never closed"]),
        ('Call it "grip', ["an odd number (1) of '\"'"]),
        ("“Grip", ["'“' never closed"]),
    ],
)
def test_unbalanced(text: str, expected: list[str]) -> None:
    assert unbalanced(text) == expected


def test_balanced_apostrophes_emoticons_and_list_markers() -> None:
    assert unbalanced("It's the runners' pick (really) and \"grip\" “works” {first_name} :) ;-)\n1) one\na) two") == []


@pytest.mark.parametrize(("word", "count"), [("the", 1), ("love", 1), ("trail", 1), ("cushioning", 3),
                                              ("difference", 3), ("runners", 2), ("loved", 1), ("wanted", 2),
                                              ("little", 2), ("shoes", 1), ("uses", 2), ("", 0)])
def test_syllables(word: str, count: int) -> None:
    assert syllables(word) == count


def test_reading_grade() -> None:
    plain = ("Your next trail run deserves the grip runners love. Try it on your usual route and feel the "
             "difference.")
    run_on = ("Experience unparalleled comfortability and extraordinary performance characteristics engineered "
              "specifically for discerning individuals demanding exceptional reliability throughout challenging "
              "environmental conditions.")
    plain_grade, run_on_grade = reading_grade(plain), reading_grade(run_on)
    assert plain_grade is not None and plain_grade < 8
    assert run_on_grade is not None and run_on_grade > 20
    assert reading_grade("Grip on wet rock. Try it.") is None  # under twelve words
    assert reading_grade("{first_name}, 15 20 30 40 50 60 70 80 90 100 110 grip.") is None  # numbers are not words


def test_a_word_said_three_times_in_a_few_words() -> None:
    assert repeated_runs(["It offers gentle, gentle, and gentle skin care."], 6) == ["gentle … gentle … gentle"]
    assert repeated_runs(["Gentle on skin. Gentle scent. Then a long pause before gentle again here."], 6) == []
    assert repeated_runs(["It is very very very soft."], 6) == ["very very very"]  # in a row: reported once
