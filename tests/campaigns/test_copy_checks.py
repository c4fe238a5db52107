"""The reader-facing guardrails (repetition to readability), each with violating and clean copy. The
violating examples include what the 0.5B model really wrote: a body said twice ending in a stray glyph,
a group salutation, the brief's framing ("struggling to ... get them back") and the goal in the subject."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from campaigns import guardrails
from campaigns.channels import READING_GRADE_MAX, Copy
from campaigns.guardrails import GuardrailContext, check_copy
from inference.grounding import allowed_text

BRIEF = "Remind lapsed runners what they liked about our road and trail shoes."
FACTS = "- title: Trail Runner X\n- brand: Stride\n- price: 89.99 EUR\n- customers praise: grip, cushioning"
UNSUB = "Unsubscribe at any time in your account settings."
CLEAN_BODY = (
    "Your next trail run deserves the grip and cushioning runners love in the Trail Runner X. "
    "Try it on your usual route and feel the difference.\n\n" + UNSUB
)
# variant A of a real run: the whole body twice, then a stray glyph
LOOPED = ("Hey there ladies & gentlemen! Our newest road and trail shoes are built for every run you love, "
          "from city streets to muddy trails. ")
# variant B of the same run: a group salutation and the brief's internal framing
FRAMED = ("Hi there, passionate customers who love running shoes! We've been struggling to find a way to get "
          "them back. The Trail Runner X has the grip runners love.")


def context(**overrides: Any) -> GuardrailContext:
    base = GuardrailContext(
        channel="email",
        allowed_text=allowed_text(BRIEF, FACTS, UNSUB),
        language="en",
        required_text=UNSUB,
        goal="winback",
        goal_label="Win back lapsed customers",
        audience_terms=("lifecycle", "lapsed", "at_risk"),
    )
    return replace(base, **overrides)


def email(body: str = CLEAN_BODY, subject: str = "Back on the trail with the Trail Runner X",
          preheader: str = "Grip and cushioning runners love.") -> Copy:
    return Copy(subject=subject, preheader=preheader, body=body)


def result(copy: Copy, check: str, ctx: GuardrailContext | None = None) -> dict[str, Any]:
    rows = {row["check"]: row for row in check_copy(copy, ctx or context())}
    return rows[check]


def test_new_checks_follow_the_ten_in_order() -> None:
    assert guardrails.CHECKS[10:] == ("repetition", "internal_framing", "salutation", "characters", "balance",
                                      "subject_goal", "vague_claims", "readability", "point_of_view",
                                      "discourages", "markup")
    rows = check_copy(email(), context())
    assert [row["check"] for row in rows] == list(guardrails.CHECKS)
    assert guardrails.passed(rows), guardrails.failures(rows)


def test_the_defaults_keep_old_callers_working() -> None:
    rows = check_copy(email(), GuardrailContext(channel="email", allowed_text=allowed_text(BRIEF, FACTS)))
    assert guardrails.passed(rows), guardrails.failures(rows)


# --- repetition -------------------------------------------------------------------------------------------------


def test_a_body_said_twice_is_a_repetition() -> None:
    row = result(email(body=LOOPED + LOOPED + UNSUB), "repetition")
    assert not row["passed"] and "hey there ladies gentlemen our newest" in row["detail"]


@pytest.mark.parametrize(
    "copy",
    [
        email(body="Grip that holds on wet rock. Try it on your usual route. Grip that holds on wet rock."),
        email(body="Feel the grip on every muddy trail you run. Later, feel the grip on every muddy trail again."),
        email(subject="The grip you feel on every muddy trail",
              body="The grip you feel on every muddy trail is real. Try it on your usual route."),
        email(body="It is very very very light. Try it on your usual route."),
    ],
)
def test_repetition_within_and_across_fields(copy: Copy) -> None:
    assert not result(copy, "repetition")["passed"]


def test_a_name_from_the_facts_may_recur_once_per_field_and_the_required_text_is_not_counted() -> None:
    ctx = context(allowed_text=allowed_text(BRIEF, "- title: Stride Trail Runner X Pro GTX", UNSUB))
    copy = email(subject="Meet the Stride Trail Runner X Pro GTX",
                 body=f"The Stride Trail Runner X Pro GTX grips on wet rock. Try it on your route.\n\n{UNSUB}")
    assert result(copy, "repetition", ctx)["passed"]
    twice = email(body="The Stride Trail Runner X Pro GTX grips. Yes, the Stride Trail Runner X Pro GTX grips.")
    assert not result(twice, "repetition", ctx)["passed"]
    # the preheader repeating the unsubscribe line is the model's; the body's copy of it is the shop's
    assert result(email(body=f"Try it on your usual route.\n\n{UNSUB}"), "repetition")["passed"]


# --- internal framing -------------------------------------------------------------------------------------------


def test_the_briefs_framing_said_to_the_customer() -> None:
    row = result(email(body=FRAMED + "\n\n" + UNSUB), "internal_framing")
    assert not row["passed"]
    for term in ("get them back", "struggling to find", "customers who"):
        assert term in row["detail"], term


@pytest.mark.parametrize(
    ("sentence", "term"),
    [
        ("We miss our lapsed runners.", "lapsed"),
        ("This offer is for at-risk members.", "at-risk"),
        ("Our retention team picked this for you.", "retention"),
        ("You are in our trail segment.", "segment"),
        ("We would love to win you back.", "win you back"),
        ("These customers deserve better grip.", "these customers"),
        ("It is time to re-engage with the trail.", "re-engage"),
        ("A lifecycle treat, just for you.", "lifecycle"),
    ],
)
def test_internal_terms(sentence: str, term: str) -> None:
    row = result(email(body=f"{sentence} {CLEAN_BODY}"), "internal_framing")
    assert not row["passed"] and term in row["detail"]


def test_goal_and_audience_terms_come_from_the_context() -> None:
    body = f"Awareness matters on a trail run. {CLEAN_BODY}"
    assert result(email(body=body), "internal_framing")["passed"]
    row = result(email(body=body), "internal_framing", context(goal="awareness", goal_label="Awareness"))
    assert not row["passed"] and "awareness" in row["detail"]
    at_risk = f"Knees at risk on rocky descents? {CLEAN_BODY}"
    assert result(email(body=at_risk), "internal_framing", context(audience_terms=()))["passed"]
    assert not result(email(body=at_risk), "internal_framing")["passed"]
    # everyday words of an audience ("new", "active", "loyal") are not framing
    plain = email(body=f"Stay active with a new pair for loyal feet. {CLEAN_BODY}")
    assert result(plain, "internal_framing", context(audience_terms=("new", "active", "loyal")))["passed"]


def test_the_goal_in_the_subject_is_reported_once() -> None:
    rows = {row["check"]: row for row in check_copy(email(subject="Conversion: the Trail Runner X"),
                                                    context(goal="conversion", goal_label="Conversion"))}
    assert not rows["subject_goal"]["passed"] and rows["internal_framing"]["passed"]
    # framing that is not the goal's name is internal_framing's, in the subject too
    rows = {row["check"]: row for row in check_copy(email(subject="We want to win you back"), context())}
    assert rows["subject_goal"]["passed"] and "win you back" in rows["internal_framing"]["detail"]


# --- salutation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "greeting",
    ["Hi there, passionate customers who love running shoes!", "Dear valued customers,",
     "Hey there ladies & gentlemen!", "Hello everyone!", "Dear shoppers,", "Hi runners!", "Hello trail lovers,",
     "Hi all,"],
)
def test_a_group_salutation(greeting: str) -> None:
    row = result(email(body=f"{greeting} {CLEAN_BODY}"), "salutation")
    assert not row["passed"], greeting


@pytest.mark.parametrize(
    "greeting",
    ["Hi {first_name},", "Hi there,", "Hello {first_name}!", "Hi there, ready for your next run?",
     "Hi there!\nRunners love the grip.", "Hey, great news for runners:"],
)
def test_a_personal_or_plain_greeting(greeting: str) -> None:
    row = result(email(body=f"{greeting} {CLEAN_BODY}"), "salutation")
    assert row["passed"], (greeting, row["detail"])


# --- characters and balance -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glyph", "name"),
    [("\ufffd", "REPLACEMENT CHARACTER"), ("\u200b", "ZERO WIDTH SPACE"), ("\ue000", "U+E000"),
     ("\x07", "U+0007"), ("\u3164", "HANGUL FILLER"), ("\u4e2d", "CJK")],
)
def test_stray_characters(glyph: str, name: str) -> None:
    row = result(email(body=f"{LOOPED}{glyph}\n\n{UNSUB}"), "characters")
    assert not row["passed"] and name in row["detail"]


def test_emoji_accents_and_typography_are_fine() -> None:
    body = "Café-ready “grip” for every run — ready? 🏃‍♀️✨ Try it… 89,99 €.\n\n" + UNSUB
    assert result(email(body=body), "characters")["passed"]
    chinese = email(subject="回到小路", preheader="", body="这双鞋的抓地力和缓震深受跑者喜爱。")
    assert result(chinese, "characters", context(language="zh"))["passed"]


@pytest.mark.parametrize(
    "body",
    ['The grip (on wet rock is great.', 'Runners call it "the grip shoe.', "A [limited run.",
     "It grips. (Really) )", "“Best grip” they say ”"],
)
def test_unbalanced_brackets_and_quotes(body: str) -> None:
    assert not result(email(body=body), "balance")["passed"], body


def test_balanced_text_apostrophes_and_emoticons() -> None:
    body = 'The grip (on wet rock) is what "runners\' favourite" means. It\'s here :) “Try it.”\n\n' + UNSUB
    assert result(email(body=body), "balance")["passed"]


# --- subject goal -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "goal", "label"),
    [("Conversion: the Trail Runner X", "conversion", "Conversion"),
     ("Win back: the Trail Runner X", "winback", "Win back lapsed customers"),
     ("A winback treat", "winback", "Win back lapsed customers"),
     ("Retention week at Stride", "retention", "Retention"),
     ("Cross-sell picks for you", "cross_sell", "Cross-sell"),
     ("Brand awareness: meet Stride", "awareness", "Awareness")],
)
def test_the_goal_in_the_subject(subject: str, goal: str, label: str) -> None:
    row = result(email(subject=subject), "subject_goal", context(goal=goal, goal_label=label))
    assert not row["passed"] and "goal" in row["detail"]


def test_a_subject_without_the_goal() -> None:
    assert result(email(subject="Back on the trail with the Trail Runner X"), "subject_goal")["passed"]
    push = context(channel="push", goal="cross_sell", goal_label="Cross-sell")
    row = result(Copy(subject="Socks to go with your shoes", body="Try the Trail Runner X socks."), "subject_goal",
                 push)
    assert row["passed"] and "push title" in row["detail"]


# --- vague claims -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claim",
    ["The best trail shoe.", "A unique feel.", "High-quality materials.", "Unmatched grip.", "World-class design.",
     "The ultimate trail shoe.", "A must-have for runners.", "Grip that is second to none.", "Premium comfort.",
     "Cutting-edge foam."],
)
def test_vague_claims(claim: str) -> None:
    row = result(email(body=f"{claim} {CLEAN_BODY}"), "vague_claims")
    assert not row["passed"], claim


def test_vague_words_the_shop_uses_and_phrases_unsupported_claims_reports() -> None:
    ctx = context(allowed_text=allowed_text(BRIEF, FACTS + "\n- key attributes: upper: premium leather", UNSUB))
    assert result(email(body=f"Premium leather upper. {CLEAN_BODY}"), "vague_claims", ctx)["passed"]
    rows = {row["check"]: row for row in check_copy(email(body=f"Our best-selling shoe. {CLEAN_BODY}"), context())}
    assert not rows["unsupported_claims"]["passed"] and rows["vague_claims"]["passed"]
    assert result(email(body=f"{CLEAN_BODY}\n\nBest regards"), "vague_claims")["passed"]


# --- readability ------------------------------------------------------------------------------------------------


def test_a_run_on_sentence_of_long_words_is_hard_to_read() -> None:
    run_on = ("Experience unparalleled comfortability and extraordinary performance characteristics engineered "
              "specifically for discerning individuals demanding exceptional reliability throughout challenging "
              "environmental conditions and unpredictable terrain.\n\n")
    row = result(email(body=run_on + UNSUB), "readability")
    assert not row["passed"] and f"limit of {READING_GRADE_MAX['email']:g}" in row["detail"]


def test_plain_copy_reads_easily_and_other_languages_are_not_measured() -> None:
    row = result(email(), "readability")
    assert row["passed"] and "reading grade" in row["detail"]
    assert "too short" in result(email(body="Grip on wet rock."), "readability")["detail"]
    german = context(language="de")
    assert "not measured" in result(email(body="Dein nächster Lauf."), "readability", german)["detail"]


# --- retry instructions -----------------------------------------------------------------------------------------


def test_fix_instructions_for_the_new_checks_never_quote_the_copy() -> None:
    bad = email(subject="Conversion time", body=LOOPED + LOOPED + "\ufffd\n\n" + UNSUB)
    rows = check_copy(bad, context(goal="conversion", goal_label="Conversion"))
    failed = {row["check"] for row in guardrails.failures(rows)}
    assert {"repetition", "salutation", "characters", "subject_goal"} <= failed
    fixes = guardrails.fix_instructions(rows)
    assert len(fixes) == len(failed)
    assert not any("ladies" in fix or "\ufffd" in fix for fix in fixes)
    assert all(check in guardrails.FIXES for check in guardrails.CHECKS[10:])


# --- point of view ------------------------------------------------------------------------------------------------


def test_a_customer_voice_is_not_the_shops() -> None:
    row = result(email(body="Product is amazing, it's simple, it helps me hear. My ears thank me."), "point_of_view")
    assert not row["passed"] and "'me'" in row["detail"] and "'My'" in row["detail"]
    assert not result(email(subject="I love this shoe"), "point_of_view")["passed"]


def test_the_shop_speaking_to_you_or_quoting_a_customer_is_fine() -> None:
    assert result(email(), "point_of_view")["passed"]
    quoted = email(body='One runner wrote "it helps me climb". We think you will like it too.')
    assert result(quoted, "point_of_view")["passed"]
    assert result(email(body="Mi amigo."), "point_of_view", context(language="es"))["passed"]


def test_pain_points_and_segment_interests_are_internal_words() -> None:
    row = result(email(body="Customers praise the grip and the pain points are addressed."), "internal_framing")
    assert not row["passed"] and "pain points" in row["detail"]
    row = result(email(body="Your top interest is shoes and running, so here is a trail shoe."), "internal_framing")
    assert not row["passed"] and "interest is" in row["detail"]
    row = result(email(body="They fit your interests of shoes, running and trail."), "internal_framing")
    assert not row["passed"]
    assert not result(email(body="Your top categories are Beauty and Serums."), "internal_framing")["passed"]


def test_echoes_of_the_prompt_are_prompt_text() -> None:
    for body in ('The reviewer quote, "It is unscented," says it all.', "You should want this for yourself.",
                 "Your previous attempt broke these rules; fix every one."):
        row = result(email(body=body), "placeholders")
        assert not row["passed"] and "prompt text" in row["detail"], body


# --- discourages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    "You should not order this product, as it is not suitable for sensitive skin.",
    "Avoid it if you run on wet rock.",
    "Honestly, a waste of money for most runners.",
    "Don't buy it for the trail.",
])
def test_copy_that_runs_the_product_down(body: str) -> None:
    row = result(email(body=body), "discourages")
    assert not row["passed"] and "runs the product down" in row["detail"]


def test_honest_reassurance_is_fine() -> None:
    assert result(email(), "discourages")["passed"]
    fine = email(body="If the laces come loose, a double knot holds them. You should try it on your usual route.")
    assert result(fine, "discourages")["passed"]
