"""`manage.py check_copy`: JSON Lines copy records in, one result per line out, in order; malformed lines
named and the others still checked; the exit status says whether everything passed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.copy_records import GOALS, audience_terms, goal_of, record_copy
from campaigns.models import Campaign

ROOT = Path(__file__).resolve().parents[2]
GOOD: dict[str, Any] = {
    "channel": "email",
    "subject": "Back on the trail with the Trail Runner X",
    "preheader": "Grip and cushioning runners love.",
    "body": "Your next trail run deserves the grip and cushioning runners love in the Trail Runner X. Try it on "
            "your usual route. Enjoy 15% off with code RUN15.\n\nUnsubscribe at any time.",
    "brief": {"goal": "Win back lapsed customers", "audience": "lapsed trail runners",
              "offer": "15% off with code RUN15", "banned_words": ["cheap"],
              "required_text": "Unsubscribe at any time.", "voice": "warm",
              "language": "en", "landing_url": "https://shop.example/trail"},
    "product": {"title": "Trail Runner X", "description": "A trail shoe with a grippy outsole.", "price": 89.99,
                "currency": "EUR", "brand": "Stride", "attributes": {"drop": "6 mm"}},
    "reviews": ["The grip on wet rock is the best I have ever had on any shoe."],
}
# what the 0.5B model wrote: a group salutation and the brief's framing, said to the customer
BAD = {**GOOD, "body": "Hi there, passionate customers who love running shoes! We've been struggling to find a way "
                       "to get them back.\n\nUnsubscribe at any time."}


def lines(*records: object) -> str:
    return "\n".join(record if isinstance(record, str) else json.dumps(record) for record in records) + "\n"


def run(tmp_path: Path, text: str, *options: str) -> tuple[str, CommandError | None]:
    path = tmp_path / "copy.jsonl"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    try:
        call_command("check_copy", str(path), *options, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def rows(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_a_good_line_passes(tmp_path: Path) -> None:
    output, error = run(tmp_path, lines(GOOD))
    assert rows(output) == [{"line": 1, "passed": True, "failures": []}]
    assert error is None


def test_a_failing_line_lists_its_checks_and_the_order_is_kept(tmp_path: Path) -> None:
    output, error = run(tmp_path, lines(BAD, GOOD, BAD))
    result = rows(output)
    assert [(row["line"], row["passed"]) for row in result] == [(1, False), (2, True), (3, False)]
    assert {failure["check"] for failure in result[0]["failures"]} == {"internal_framing", "salutation"}
    assert all(set(failure) == {"check", "reason"} for failure in result[0]["failures"])
    assert error is not None and error.returncode == 1 and "2 of 3" in str(error)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: expected an object, got a list"),
        (json.dumps({**GOOD, "channel": "fax"}), "line 2: field 'channel': \"fax\" is not one of email, sms, push"),
        (json.dumps({**GOOD, "channel": None}), "line 2: field 'channel': missing"),
        (json.dumps({**GOOD, "body": 3}), "line 2: field 'body': expected a string, got a number"),
        (json.dumps({**GOOD, "brief": "win back"}), "line 2: field 'brief': expected an object, got a string"),
        (json.dumps({**GOOD, "brief": {**GOOD["brief"], "banned_words": "cheap"}}),
         "line 2: field 'brief.banned_words': expected a list of strings"),
        (json.dumps({**GOOD, "product": {**GOOD["product"], "price": [1]}}),
         "line 2: field 'product.price': expected a number or a string, got a list"),
        (json.dumps({**GOOD, "product": {**GOOD["product"], "attributes": ["drop"]}}),
         "line 2: field 'product.attributes': expected an object, got a list"),
        (json.dumps({**GOOD, "reviews": [1]}), "line 2: field 'reviews': expected a list of strings"),
    ],
)
def test_a_malformed_line_is_named_and_the_others_are_still_checked(tmp_path: Path, line: str, reason: str) -> None:
    output, error = run(tmp_path, lines(GOOD, line, GOOD))
    result = rows(output)
    assert [row["line"] for row in result] == [1, 2, 3]
    assert result[0]["passed"] and result[2]["passed"]
    assert result[1]["passed"] is False and result[1]["error"].startswith(reason), result[1]["error"]
    assert error is not None and error.returncode == 1


def test_an_empty_field_the_channel_needs_fails_the_format_check(tmp_path: Path) -> None:
    output, _ = run(tmp_path, lines({**GOOD, "subject": ""}, {"channel": "sms", "body": "  "}))
    first, second = rows(output)
    assert {"check": "format", "reason": "missing SUBJECT: in the output"} in first["failures"]
    assert any(f["check"] == "format" and "BODY:" in f["reason"] for f in second["failures"])
    output, _ = run(tmp_path, lines({**GOOD, "preheader": ""}))  # mail clients preview the body instead
    assert rows(output)[0]["passed"] is True


def test_unknown_keys_are_ignored_and_blank_lines_skipped(tmp_path: Path) -> None:
    extra = {**GOOD, "id": 7, "brief": {**GOOD["brief"], "owner": "agency"}, "notes": {"a": [1]}}
    output, error = run(tmp_path, lines(extra) + "\n\n")
    assert rows(output) == [{"line": 1, "passed": True, "failures": []}] and error is None


def test_table_format(tmp_path: Path) -> None:
    output, error = run(tmp_path, lines(GOOD, BAD, "nope"), "--format", "table")
    table = output.splitlines()
    assert table[0].split() == ["line", "passed", "failures"]
    assert table[1].split()[:3] == ["1", "yes", "-"]
    assert table[2].split()[:2] == ["2", "no"] and any("salutation: greets a group" in row for row in table[2:4])
    assert table[-1].split()[:3] == ["3", "no", "error:"]
    assert error is not None and error.returncode == 1


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines(GOOD)))
    out = io.StringIO()
    call_command("check_copy", "-", stdout=out)
    assert rows(out.getvalue()) == [{"line": 1, "passed": True, "failures": []}]


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file") as raised:
        call_command("check_copy", str(tmp_path / "absent.jsonl"), stdout=io.StringIO())
    assert raised.value.returncode == 2


def test_exit_status_and_help_from_the_command_line(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(lines(GOOD), encoding="utf-8")
    bad.write_text(lines(GOOD, BAD), encoding="utf-8")

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "manage.py", "check_copy", *args], cwd=ROOT, env=dict(os.environ),
                              capture_output=True, text=True, timeout=120)

    assert manage(str(good)).returncode == 0
    failed = manage(str(bad))
    assert failed.returncode == 1 and len(failed.stdout.splitlines()) == 2 and "1 of 2" in failed.stderr
    assert "Exit status: 0 when every line passed, 1 when" in manage("--help").stdout


# --- the translation ----------------------------------------------------------------------------------------------


def test_goals_match_the_model() -> None:
    assert dict(Campaign.Goal.choices) == GOALS


@pytest.mark.parametrize(
    ("text", "expected"),
    [("winback", ("winback", "Win back lapsed customers")), ("Cross-sell", ("cross_sell", "Cross-sell")),
     ("win back lapsed customers", ("winback", "Win back lapsed customers")),
     ("Reactivate sleepers", ("", "Reactivate sleepers")), ("", ("", ""))],
)
def test_goal_as_value_or_label(text: str, expected: tuple[str, str]) -> None:
    assert goal_of(text) == expected


def test_audience_terms_are_internal_lifecycle_words_only() -> None:
    assert audience_terms("Lapsed and at-risk trail runners (lifecycle)") == ["at_risk", "lapsed", "lifecycle"]
    assert audience_terms("New and loyal trail runners") == []


def test_record_to_copy_and_context() -> None:
    copy, context = record_copy(GOOD)
    assert (copy.subject, copy.missing) == (GOOD["subject"], [])
    assert (context.channel, context.goal, context.language, context.landing_url) == (
        "email", "winback", "en", "https://shop.example/trail")
    assert list(context.banned_words) == ["cheap"] and list(context.review_texts) == GOOD["reviews"]
    for fact in ("15% off with code RUN15", "- title: Trail Runner X", "- price: 89.99 EUR", "- brand: Stride",
                 "grippy outsole", "drop: 6 mm", "Unsubscribe at any time.", "https://shop.example/trail"):
        assert fact in context.allowed_text, fact
    assert "warm" not in context.allowed_text and "lapsed" not in context.allowed_text
    assert GOOD["reviews"][0] not in context.allowed_text


def test_the_brand_templates_sign_off_is_not_judged_as_writing(tmp_path: Path) -> None:
    signed = {**GOOD, "body": GOOD["body"].replace("\n\nUnsubscribe", "\n\nHappy running,\nThe Stride team"
                                                   "\n\nUnsubscribe")}
    output, _ = run(tmp_path, lines(signed))
    assert [f["check"] for f in rows(output)[0]["failures"]] == ["format"]  # "...team" ends mid-sentence
    templated = {**signed, "brief": {**GOOD["brief"], "sign_off": "Happy running,\nThe Stride team"}}
    output, error = run(tmp_path, lines(templated))
    assert error is None and rows(output)[0]["passed"] is True
