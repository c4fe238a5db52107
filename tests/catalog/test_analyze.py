"""Review analysis with the real packaged models: stored outputs, incremental re-runs, and resuming
after the process doing it is killed midway (no review lost, none processed twice)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.insights.products import compute_product_insights
from catalog.insights.reviews import analyze_reviews
from catalog.models import ProductInsight, Review, ReviewInsight
from tests.catalog.builders import product, review
from tests.core.test_services import database_url

ROOT = Path(__file__).resolve().parents[2]

TEXTS = [
    ("Love it", "The battery lasts all week and the screen is bright."),
    ("Broke fast", "The strap snapped after two days. Terrible quality."),
    ("", "It is okay. Arrived on time, nothing special."),
    ("Great sound", "Great sound, but the ear cushions get hot after an hour."),
    ("", "音质很好，但是电池续航太短了。"),
    ("", "<p>Nice <b>kettle</b></p> boils fast &amp; quiet"),
    ("", "x" * 30_000),
    ("Mixed", "The battery is weak. The screen is great. I wish it had a longer cable."),
]


def _reviews(count: int = len(TEXTS)) -> list[Review]:
    gadget = product(sku="AN-1", title="Gadget")
    return [
        review(product=gadget, rating=(i % 5) + 1, title=title, text=text)
        for i, (title, text) in enumerate((TEXTS * 3)[:count])
    ]


@pytest.mark.slow
@pytest.mark.django_db
def test_analysis_stores_insight_and_only_redoes_changed_reviews() -> None:
    reviews = _reviews()
    counts = analyze_reviews()
    assert counts == {"analyzed": len(reviews), "skipped": 0}
    insights = {i.review_id: i for i in ReviewInsight.objects.all()}
    assert set(insights) == {r.pk for r in reviews}
    for written in reviews:
        insight = insights[written.pk]
        assert insight.sentiment in {"negative", "neutral", "positive"}
        assert insight.sentiment_score is not None and 0 <= insight.sentiment_score <= 1
        assert insight.polarity is not None and -1 <= insight.polarity <= 1
        assert len(insight.embedding) == 384
        text = f"{written.title}. {written.text}" if written.title else written.text
        for aspect in insight.aspects:
            assert text[aspect["start"] : aspect["end"]] == aspect["term"]
            assert aspect["polarity"] in {"negative", "neutral", "positive"}
    assert insights[reviews[4].pk].language == "zh"
    assert insights[reviews[0].pk].sentiment == "positive"
    assert insights[reviews[1].pk].sentiment == "negative"

    assert analyze_reviews() == {"analyzed": 0, "skipped": 0}  # nothing pending
    assert analyze_reviews(force=False, review_ids=[r.pk for r in reviews]) == {"analyzed": 0, "skipped": len(reviews)}
    reviews[0].title, reviews[0].text = "Awful", "Stopped charging after a month. Complete waste of money."
    reviews[0].save()
    assert analyze_reviews() == {"analyzed": 1, "skipped": 0}
    assert ReviewInsight.objects.get(pk=reviews[0].pk).sentiment == "negative"

    assert compute_product_insights() == {"computed": 1, "unchanged": 0}
    assert ProductInsight.objects.get().review_count == len(reviews)
    assert compute_product_insights() == {"computed": 0, "unchanged": 1}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_analysis_killed_midway_resumes_without_loss_or_repeat() -> None:
    reviews = _reviews(24)
    script = (
        "import django, time; django.setup();"
        "import catalog.insights.reviews as ins; ins.CHUNK = 4;"
        "real = ins._analyze_chunk\n"
        "def slow(*a, **k):\n"
        "    result = real(*a, **k); time.sleep(1.5); return result\n"
        "ins._analyze_chunk = slow; ins.analyze_reviews()"
    )
    env = {**os.environ, "DATABASE_URL": database_url()}
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 180
        while ReviewInsight.objects.count() < 8:  # two chunks committed
            assert process.poll() is None, "the analysis ended before it could be killed"
            assert time.monotonic() < deadline, "no chunk committed in time"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    done_before = ReviewInsight.objects.count()
    assert 8 <= done_before < len(reviews)
    kept = dict(ReviewInsight.objects.values_list("review_id", "processed_at"))

    counts = analyze_reviews()  # the resumed job: only what was not committed
    assert counts["analyzed"] == len(reviews) - done_before
    assert ReviewInsight.objects.count() == len(reviews)
    for review_id, processed_at in kept.items():  # committed work was not redone
        assert ReviewInsight.objects.get(pk=review_id).processed_at == processed_at


@pytest.mark.slow
@pytest.mark.django_db
def test_score_reviews_writes_every_column_plus_the_scores(tmp_path: Path) -> None:
    source = tmp_path / "reviews.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "stars", "body"])
        for i, (_title, text) in enumerate(TEXTS):
            writer.writerow([i, (i % 5) + 1, text])
    target = tmp_path / "scored.csv"
    call_command(
        "score_reviews",
        str(source),
        "--text-column",
        "body",
        "--output",
        str(target),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(TEXTS)
    assert list(rows[0]) == ["id", "stars", "body", "sentiment", "sentiment_score", "aspects", "language"]
    for row, (_title, text) in zip(rows, TEXTS, strict=True):
        assert row["body"] == text and row["sentiment"] in {"negative", "neutral", "positive"}
        assert 0 <= float(row["sentiment_score"]) <= 1
        for aspect in json.loads(row["aspects"]):
            assert set(aspect) == {"term", "polarity"} and aspect["term"] in text
    assert rows[1]["sentiment"] == "negative"


# A shop in the shape of the demo reviews issue 11 reported on: three phone cases, three running shoes,
# three headphones, each product with its own reviews.
_SHOP = {
    "case": [
        "The grip is great and it never slides off the table.",
        "On top of that, the grip is great. The volume buttons are impossible to find by feel.",
        "My only small gripe is that the volume buttons are stiff.",
        "Love the grip. It slides off the table sometimes.",
    ],
    "shoe": [
        "The laces stay tied for the whole run.",
        "My only small gripe is that the laces are short.",
        "On top of that, the laces are sturdy.",
        "The laces come undone after a long run.",
    ],
    "phones": [
        "The memory-foam ear cushions feel premium. I wish the app had a proper equalizer.",
        "The foam ear cushions are soft. I wish the app had a proper equalizer.",
        "The ear cushions get hot. My only small gripe is the app.",
        "Great ear cushions. I wish the app had a proper equalizer.",
    ],
}


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_shaped_shop_gets_features_needs_and_no_discourse_as_aspects() -> None:
    """Issue 11's examples, through the fallback models (no trained model) and the product insight."""
    products = {}
    for kind, texts in _SHOP.items():
        for n in range(3):
            products[kind, n] = item = product(sku=f"{kind}-{n}", title=f"{kind} {n}", category=f"Shop > {kind}")
            for text in texts:
                review(product=item, rating=4, title="", text=text)
    review(product=products["case", 0], rating=5, text="The kickstand is clever.")  # once in the shop
    analyze_reviews()
    compute_product_insights()
    terms = {a["term"].lower() for i in ReviewInsight.objects.all() for a in i.aspects}
    assert {"grip", "laces", "volume buttons"} <= terms
    assert not terms & {"top", "small gripe", "gripe", "table", "run", "whole run", "long run", "feel", "kickstand"}
    for insight in ProductInsight.objects.all():
        keys = {e["key"] for e in insight.praised_aspects + insight.pain_points}
        assert not keys & {"top", "small gripe", "table", "run", "feel"}, insight.product.sku
    phones = ProductInsight.objects.get(product=products["phones", 0])
    assert "app" not in {e["key"] for e in phones.praised_aspects}  # wished for, never praised
    assert "proper equalizer" not in {e["key"] for e in phones.praised_aspects + phones.pain_points}
    need = next(n for n in phones.needs if n["need"] == "a proper equalizer")
    assert need["aspect"] == "app" and need["count"] == 3
    cushions = [e for e in phones.praised_aspects + phones.pain_points if "cushion" in e["key"]]
    assert cushions and {e["key"] for e in cushions} == {"ear cushion"}  # "foam ear cushions" joins it
    assert {e["aspect"] for e in cushions} == {"ear cushions"}
    wished = [a for a in ReviewInsight.objects.get(review__product=products["phones", 0],
                                                   review__text=_SHOP["phones"][0]).aspects if a.get("wish")]
    assert {a["term"] for a in wished} >= {"app"} and {a["polarity"] for a in wished} == {"neutral"}

    # a review analysed on its own is read with the shop's vocabulary, not with what it alone says
    late = review(product=products["case", 1], rating=2, text="Sadly the grip is slippery.")
    assert analyze_reviews() == {"analyzed": 1, "skipped": 0}
    assert [a["term"] for a in ReviewInsight.objects.get(review=late).aspects] == ["grip"]
