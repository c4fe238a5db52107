"""Sentiment per language on the real database: label files, a Chinese model trained from a file or from
the shop's reviews, one active version per language, each review routed to its language's model by
`analyze_reviews` and `score_reviews`, and Chinese topic keywords."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from catalog import model_versions
from catalog.active_models import active_sentiment_classifier, serving_sentiment_classifier
from catalog.insights.reviews import analyze_reviews
from catalog.insights.topics import topics_from_embeddings
from catalog.models import ModelRole, ModelVersion, ReviewInsight
from catalog.sentiment_data import TrainingData, load_database_by_language, load_from_file, majority_language
from catalog.sentiment_training import train_and_register
from inference.sentiment.ngram import NgramSentiment
from inference.sentiment.prototypes import PrototypeSentiment
from jobs import runner
from jobs.models import Job, JobStatus
from tests.catalog.builders import model_version, product, review
from tests.chinese_reviews import chinese_reviews

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_models")]


def labelled_csv(path: Path, count: int = 240) -> Path:
    """Chinese reviews with a positive/negative label column (3-star reviews left out)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "label"])
        for text, stars in chinese_reviews(count):
            if stars != 3:
                writer.writerow([text, "positive" if stars >= 4 else "negative"])
    return path


def test_label_column_reads_words_and_digits_and_names_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("text,label\n很好,positive\n很差,0\n不错,TRUE\n还行,maybe\n一般,\n,1\n")
    data = load_from_file(path, text_column="text", label_column="label")
    assert data.labels == ["positive", "negative", "positive"] and data.binary
    assert data.language == "zh"  # the majority script of the texts
    assert data.problems == [
        "labels.csv line 5: label 'maybe' is not positive/negative, 1/0 or true/false",
        "labels.csv line 6: label is empty",
        "labels.csv line 7: text is empty",
    ]


def test_command_refuses_both_a_rating_and_a_label_column(tmp_path: Path) -> None:
    path = labelled_csv(tmp_path / "zh.csv", 20)
    with pytest.raises(CommandError, match="not both"):
        call_command("train_sentiment", "--input", str(path), "--text-column", "review", "--rating-column", "x",
                     "--label-column", "label", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="go with --input"):
        call_command("train_sentiment", "--label-column", "label", stdout=StringIO(), stderr=StringIO())


def test_a_chinese_label_file_trains_an_ngram_model_for_chinese_only(tmp_path: Path) -> None:
    path = labelled_csv(tmp_path / "zh.csv")
    out = StringIO()
    call_command("train_sentiment", "--input", str(path), "--text-column", "review", "--label-column", "label",
                 "--name", "zh-labels", "--no-progress", stdout=out, stderr=StringIO())
    assert "(zh, char_ngram)" in out.getvalue() and "activated: it beats prototypes" in out.getvalue()
    version = ModelVersion.objects.get(name="zh-labels")
    assert (version.role, version.language, version.is_active) == ("sentiment", "zh", True)
    assert version.metrics["compared_with"] == "prototypes" and version.params["kind"] == "char_ngram"
    chinese, served = active_sentiment_classifier("zh")
    assert isinstance(chinese, NgramSentiment) and served == version
    assert chinese.predict(["强烈推荐 蓝牙连接很稳定…"])[0].label == "positive"
    # English keeps what served it: the prototypes (no English version), not the Chinese model
    assert isinstance(active_sentiment_classifier("en")[0], PrototypeSentiment)
    assert isinstance(active_sentiment_classifier("ru")[0], PrototypeSentiment)  # no model of its own
    assert serving_sentiment_classifier("zh")[1] == "zh-labels"


def test_one_active_version_per_role_and_language() -> None:
    english = model_version(language="en", is_active=True)
    chinese = model_version(language="zh", is_active=True)  # a second active sentiment model: another language
    with pytest.raises(IntegrityError), transaction.atomic():
        model_version(language="zh", is_active=True)
    newer = model_version(language="zh")
    model_versions.activate(newer)
    chinese.refresh_from_db()
    english.refresh_from_db()
    assert not chinese.is_active and english.is_active  # only the same language's version gave way
    assert model_versions.active_version(ModelRole.SENTIMENT, "zh") == newer
    assert str(newer) == f"sentiment [zh]: {newer.name} (active)"


def _mixed_shop() -> tuple[list[int], list[int]]:
    shop_product = product(sku="ZH-1", title="Headphones")
    chinese = [review(product=shop_product, rating=stars, text=text, language="zh").pk
               for text, stars in chinese_reviews(150)]
    english = [review(product=shop_product, rating=stars, text=text).pk for stars, text in
               [(5, "Love the sound, the battery lasts all week."), (1, "The strap broke after two days.")]]
    return chinese, english


def test_the_database_trains_a_model_per_language_and_analysis_routes_each_review(tmp_path: Path) -> None:
    chinese, english = _mixed_shop()
    sets = load_database_by_language()
    assert list(sets) == ["zh", "en"] and len(sets["zh"].texts) == 150
    analyze_reviews()  # before any model: the prototypes read both languages
    english_before = {i.pk: i.processed_at for i in ReviewInsight.objects.filter(pk__in=english)}

    out = StringIO()
    call_command("train_sentiment", "--no-progress", stdout=out, stderr=StringIO())
    assert "[en] not trained: only 2 rated reviews" in out.getvalue()
    version = ModelVersion.objects.get(role="sentiment", language="zh", is_active=True)
    assert version.name.startswith("sentiment-zh-") and version.params["data"]["source"] == "database"

    counts = analyze_reviews(chinese + english)  # the new Chinese model re-reads Chinese reviews only
    assert counts == {"analyzed": 150, "skipped": 2}
    assert {i.pk: i.processed_at for i in ReviewInsight.objects.filter(pk__in=english)} == english_before
    insights = {i.pk: i for i in ReviewInsight.objects.all()}
    assert all(insights[pk].language == "zh" and insights[pk].sentiment_model == version for pk in chinese)
    assert all(insights[pk].language == "en" and insights[pk].sentiment_model is None for pk in english)
    praise = review(product_id=insights[chinese[0]].review.product_id, rating=5, text="强烈推荐 蓝牙连接很稳定…")
    analyze_reviews([praise.pk])
    stored = ReviewInsight.objects.get(pk=praise.pk)
    assert (stored.sentiment, stored.sentiment_model) == ("positive", version)
    # the aspect is what the shop's Chinese reviews say often enough: 蓝牙 here, 蓝牙连接 in a larger shop
    [aspect] = stored.aspects
    assert aspect["term"] in {"蓝牙", "蓝牙连接"} and aspect["start"] == 5 and aspect["polarity"] == "positive"
    assert praise.text[aspect["start"] : aspect["end"]] == aspect["term"]
    mentions = [a for pk in chinese for a in insights[pk].aspects]
    assert len(mentions) > 100 and all(a["polarity"] in {"positive", "negative", "neutral"} for a in mentions)


def test_the_demo_step_trains_missing_languages_once(run_on_commit: Any) -> None:
    _mixed_shop()
    first = runner.start_job("train_sentiment", {"language": "zh", "only_missing": True})
    first.refresh_from_db()
    assert first.status == JobStatus.SUCCEEDED, first.error
    assert first.result["trained"] == 1 and first.result["language"] == "zh"
    again = runner.start_job("train_sentiment", {"language": "zh", "only_missing": True})
    again.refresh_from_db()
    assert again.status == JobStatus.SUCCEEDED and again.result["trained"] == 0
    assert ModelVersion.objects.filter(role="sentiment", language="zh").count() == 1
    english_only = runner.start_job("train_sentiment", {"language": "en", "only_missing": True})
    english_only.refresh_from_db()  # too few English reviews: nothing trained, and the demo goes on
    assert english_only.status == JobStatus.SUCCEEDED and "only 2 rated reviews" in english_only.result["refused"]["en"]
    assert Job.objects.filter(kind="train_sentiment").count() == 3


@pytest.mark.slow
def test_score_reviews_routes_rows_by_language(tmp_path: Path) -> None:
    call_command("train_sentiment", "--input", str(labelled_csv(tmp_path / "zh.csv")), "--text-column", "review",
                 "--label-column", "label", "--no-progress", stdout=StringIO(), stderr=StringIO())
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("id,body\n1,强烈推荐 蓝牙连接很稳定…\n2,蓝牙经常断连，很失望。\n3,Love it\n", encoding="utf-8")
    call_command("score_reviews", str(source), "--text-column", "body", "--output", str(target),
                 stdout=StringIO(), stderr=StringIO())
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "body", "sentiment", "sentiment_score", "aspects", "language"]
    assert [(r["language"], r["sentiment"]) for r in rows[:2]] == [("zh", "positive"), ("zh", "negative")]
    assert rows[2]["language"] == "en"


def test_chinese_topics_get_chinese_keywords() -> None:
    texts = ["蓝牙连接很稳定，蓝牙配对很快"] * 6 + ["电池续航太短了，续航很差"] * 6
    embeddings = np.array([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 6, dtype=np.float32)
    topics = topics_from_embeddings(texts, embeddings, min_reviews=8)
    keywords = {topic["label"]: topic["keywords"] for topic in topics}
    assert len(topics) == 2
    joined = [" ".join(k) for k in keywords.values()]
    assert any("蓝牙" in k for k in joined) and any("续航" in k for k in joined)
    assert all(not ({"很", "了", "的"} & set(k)) for k in keywords.values())  # stop words are no keywords


def test_any_script_the_encoder_cannot_read_gets_an_ngram_model() -> None:
    good = ["Отличное качество", "Очень доволен покупкой", "Прекрасный звук", "Рекомендую всем"]
    bad = ["Ужасное качество", "Сломался через день", "Очень разочарован", "Не рекомендую"]
    texts = [f"{(good if i % 2 else bad)[i % 4]} {i}" for i in range(120)]
    labels = ["positive" if i % 2 else "negative" for i in range(120)]
    data = TrainingData(texts, labels, "ru.csv", binary=True, language=majority_language(texts))
    outcome = train_and_register(data, name="ru-1")
    assert (outcome.language, outcome.kind, outcome.version.language) == ("ru", "char_ngram", "ru")
    assert outcome.compared_with == "prototypes" and outcome.activated
    classifier, version = active_sentiment_classifier("ru")
    assert version == outcome.version and classifier.predict(["Очень доволен"])[0].label == "positive"
