"""The rubric every variant of `python -m evaluation.campaign_copy` is scored by, from check_copy records
(`campaigns.copy_records`), so copy from any run (or any tool) is scored the same way.

Per variant: every guardrail re-run from the record, the reading grade of the body, the distinctness from
the other variants of its group (1 - the highest embedding cosine between their texts; a group is channel x
segment x product) and the relevance generation stored. Summed up: how many pass, each check's failure
count, repetition rate, internal-framing leaks (framing or a group salutation), unsupported claims (hard or
vague), readability (median grade, share over the channel's limit), mean distinctness and relevance.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from campaigns.channels import READING_GRADE_MAX
from campaigns.copy_records import record_copy
from campaigns.guardrails import CHECKS, check_copy
from inference.text_checks import reading_grade

FRAMING = ("internal_framing", "salutation", "subject_goal")
CLAIMS = ("unsupported_claims", "vague_claims")


def _group(record: dict[str, Any]) -> tuple[str, str, str]:
    meta = record.get("meta") or {}
    product = record.get("product") or {}
    return (str(record.get("channel")), str(meta.get("segment")), str(product.get("title")))


def _distinctness(records: Sequence[dict[str, Any]]) -> list[float | None]:
    """1 - max cosine to the other variants of the group (None for a variant alone in its group)."""
    from inference import registry

    texts = [f"{r.get('subject', '')}\n{r.get('body', '')}" for r in records]
    vectors = np.asarray(registry.embedder().encode(texts), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[_group(record)].append(index)
    out: list[float | None] = [None] * len(records)
    for members in groups.values():
        for i in members:
            others = [float(vectors[i] @ vectors[j]) for j in members if j != i]
            out[i] = round(1 - max(others), 4) if others else None
    return out


def score_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One rubric row per record, in order."""
    distinct = _distinctness(records)
    rows = []
    for record, distinctness in zip(records, distinct, strict=True):
        copy, context = record_copy(record)
        results = check_copy(copy, context)
        failed = [str(row["check"]) for row in results if not row["passed"]]
        body = copy.body.replace(context.required_text.strip(), " ") if context.required_text.strip() else copy.body
        meta = record.get("meta") or {}
        rows.append({
            "passed": not failed, "failed": failed,
            "reasons": [f"{row['check']}: {row['detail']}" for row in results if not row["passed"]],
            "grade": reading_grade(body), "distinctness": distinctness, "relevance": meta.get("relevance"),
            "channel": copy_channel(record),
        })
    return rows


def copy_channel(record: dict[str, Any]) -> str:
    return str(record.get("channel"))


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The rubric over many variants."""
    n = len(rows)
    if not n:
        return {"variants": 0}
    failures = Counter(check for row in rows for check in row["failed"])
    grades = [row["grade"] for row in rows if row["grade"] is not None]
    over = sum(1 for row in rows if row["grade"] is not None and row["grade"] > READING_GRADE_MAX[row["channel"]])
    distinct = [row["distinctness"] for row in rows if row["distinctness"] is not None]
    relevance = [row["relevance"] for row in rows if isinstance(row["relevance"], int | float)]
    return {
        "variants": n,
        "pass_rate": round(sum(row["passed"] for row in rows) / n, 3),
        "failures": {check: failures[check] for check in CHECKS if failures[check]},
        "repetition_rate": round(failures["repetition"] / n, 3),
        "framing_leaks": sum(1 for row in rows if any(check in row["failed"] for check in FRAMING)),
        "unsupported_claims": sum(1 for row in rows if any(check in row["failed"] for check in CLAIMS)),
        "reading_grade_median": round(statistics.median(grades), 1) if grades else None,
        "over_reading_limit": over,
        "distinctness_mean": round(statistics.fmean(distinct), 3) if distinct else None,
        "relevance_mean": round(statistics.fmean(relevance), 3) if relevance else None,
    }
