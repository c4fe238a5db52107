"""`evaluate_assistant`: retrieval and the answerability gate measured on a question-and-answer file.

Every question whose answer has 25 or more characters is asked against all such answers of its group (the
same product) or, with scope "store", of the whole file, through the serving SQL (`measuring.py`). Full-text,
vector and reciprocal-rank fusion need no tuning; the weighted fusion's weight (and text scale) and the gate's
threshold are cross-fitted over groups: tuned on one half of the groups and measured on the other, then the
other way round, so no number is measured on the questions it was tuned on.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .measuring import (
    MIN_ANSWER_CHARS,
    QA,
    EmbedTexts,
    Observation,
    calibrate_threshold,
    gate_scores,
    group_half,
    handoff_rates,
    latency,
    observe,
    ranking_metrics,
    single_methods,
    temporary_knowledge,
    tune_fusion,
)
from .retrieval import RetrievalSettings

SCOPES = ("group", "store")


class EvaluationInputError(ValueError):
    """The file or options cannot be evaluated; the message names the column, or the line and value."""


@dataclass(frozen=True)
class QAFile:
    items: list[QA]
    rows: int
    short_answers: int  # rows skipped: answer under MIN_ANSWER_CHARS


def read_qa_file(path: Path, question_column: str, answer_column: str, group_column: str) -> QAFile:
    """The file's answered questions, each named by the line its record starts on (header = line 1)."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise EvaluationInputError(f"cannot open {path}: {exc.strerror or exc}") from None
    csv.field_size_limit(16 * 1024 * 1024)
    items: list[QA] = []
    rows = short = 0
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise EvaluationInputError(f"{path.name} is empty: it needs a header line and rows")
            columns = [name.strip() for name in header]
            wanted = {"--question-column": question_column, "--answer-column": answer_column,
                      "--group-column": group_column}
            for option, column in wanted.items():
                if column not in columns:
                    raise EvaluationInputError(
                        f"{option} {column!r} is not a column of {path.name}; its columns: {', '.join(columns)}"
                    )
            at = {option: columns.index(column) for option, column in wanted.items()}
            line = reader.line_num
            for values in reader:
                start, line = line + 1, reader.line_num
                if not values:
                    continue
                if len(values) != len(columns):
                    raise EvaluationInputError(
                        f"line {start}: {len(values)} values but the header has {len(columns)} columns"
                    )
                rows += 1
                question, answer, group = (values[at[o]].strip() for o in wanted)
                if len(answer) < MIN_ANSWER_CHARS:
                    short += 1
                    continue
                if not question:
                    raise EvaluationInputError(
                        f"line {start}: empty {question_column!r} for the answer {answer[:40]!r}"
                    )
                if not group:
                    raise EvaluationInputError(f"line {start}: empty {group_column!r} (question {question[:40]!r})")
                items.append(QA(group, question, answer, start))
        except csv.Error as exc:
            raise EvaluationInputError(f"line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise EvaluationInputError(f"{path.name} is not UTF-8 text ({exc.reason})") from None
    if not items:
        raise EvaluationInputError(
            f"{path.name}: no question has an answer of {MIN_ANSWER_CHARS} or more characters ({rows} rows)"
        )
    if len({group_half(item.group) for item in items}) < 2:
        raise EvaluationInputError(
            f"{path.name}: the {len({i.group for i in items})} group(s) in {group_column!r} fall in one half; "
            "cross-fitting needs groups in both halves (more groups)"
        )
    return QAFile(items, rows, short)


def _split(observations: Sequence[Observation]) -> tuple[list[Observation], list[Observation]]:
    halves: tuple[list[Observation], list[Observation]] = ([], [])
    for o in observations:
        halves[group_half(o.item.group)].append(o)
    return halves


def cross_fitted(observations: Sequence[Observation], base: RetrievalSettings, k: int) -> dict[str, Any]:
    """Fusion and gate tuned on one half of the groups and measured on the other, both ways, pooled."""
    halves = _split(observations)
    chosen: list[RetrievalSettings] = []
    present: list[float] = []
    removed: list[float] = []
    thresholds = []
    ranks_weighted: dict[str, float] = {"mrr_at_k": 0.0, "recall_at_1": 0.0, "recall_at_5": 0.0}
    for measured, tuned_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        settings = tune_fusion(tuned_on, base, k)
        threshold = calibrate_threshold(*gate_scores(tuned_on, settings, k))
        chosen.append(replace(settings, threshold=threshold))
        thresholds.append(threshold)
        metrics = ranking_metrics(measured, settings, k)
        for key in ranks_weighted:
            ranks_weighted[key] += metrics[key] * len(measured) / len(observations)
        p, r = gate_scores(measured, settings, k)
        present.extend(1.0 if s >= threshold else 0.0 for s in p)
        removed.extend(1.0 if s >= threshold else 0.0 for s in r)
    return {
        "fusion": {key: round(value, 4) for key, value in ranks_weighted.items()},
        "settings": chosen,
        # pooled over both halves, each against its own threshold: 1.0 = answered, 0.0 = handed off
        "answerability": handoff_rates(present, removed, 0.5),
        "thresholds": thresholds,
    }


def evaluate(
    qa: QAFile, *, scope: str, k: int, embed_texts: EmbedTexts, base: RetrievalSettings | None = None
) -> dict[str, Any]:
    """The whole report (JSON-ready)."""
    if scope not in SCOPES:
        raise EvaluationInputError(f"--scope {scope!r}: use group or store")
    base = base or RetrievalSettings()
    with temporary_knowledge(qa.items, embed_texts) as knowledge:
        observations = observe(qa.items, knowledge, scope=scope, settings=base, embed_texts=embed_texts)
        fitted = cross_fitted(observations, base, k)
        timing = latency(qa.items, knowledge, scope=scope, settings=fitted["settings"][0], k=k)
    methods = {name: ranking_metrics(observations, s, k) for name, s in single_methods(base).items()}
    methods["fusion"] = fitted["fusion"]
    return {
        "questions": len(qa.items),
        "groups": len({item.group for item in qa.items}),
        "rows": qa.rows,
        "skipped_short_answers": qa.short_answers,
        "scope": scope,
        "k": k,
        "methods": methods,
        "fusion_settings": [
            {"tuned_on_half": 1 - i, "measured_on_half": i, "weight": s.weight, "text_scale": s.text_scale,
             "threshold": s.threshold}
            for i, s in enumerate(fitted["settings"])
        ],
        "answerability": {**fitted["answerability"], "gate": "best passage's fusion score >= threshold",
                          "thresholds": fitted["thresholds"]},
        "retrieval_latency": timing,
        "text_rank": {"function": base.text_rank, "normalization": base.normalization},
    }


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
    k = report["k"]
    lines = [
        f"{report['questions']} questions in {report['groups']} groups, scope {report['scope']} "
        f"({report['skipped_short_answers']} rows with answers under {MIN_ANSWER_CHARS} characters skipped)",
        "",
        f"{'method':<10} {f'MRR@{k}':>8} {'Recall@1':>9} {'Recall@5':>9}",
    ]
    for name in ("text", "vector", "rrf", "fusion"):
        m = report["methods"][name]
        lines.append(f"{name:<10} {m['mrr_at_k']:>8.4f} {m['recall_at_1']:>9.4f} {m['recall_at_5']:>9.4f}")
    weights = ", ".join(
        f"half {s['measured_on_half']}: weight {s['weight']}, text scale {s['text_scale']}, threshold {s['threshold']}"
        for s in report["fusion_settings"]
    )
    a, t = report["answerability"], report["retrieval_latency"]
    lines += [
        f"fusion cross-fitted over groups ({weights})",
        "",
        f"answerability: hand-off rate {a['handoff_rate_answer_removed']:.4f} with the answer removed, "
        f"{a['handoff_rate_answer_present']:.4f} with it present (balanced accuracy {a['balanced_accuracy']:.4f})",
        f"retrieval latency over {t['queries']} questions: p50 {t['p50_ms']} ms, p95 {t['p95_ms']} ms "
        f"(search and ranking alone: p50 {t['search_p50_ms']} ms, p95 {t['search_p95_ms']} ms)",
    ]
    return "\n".join(lines)
