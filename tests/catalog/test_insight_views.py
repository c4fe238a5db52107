"""Insight in the API and the admin, and score_reviews' input errors."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Product
from tests.catalog.builders import model_version, product, product_insight, review, review_insight

pytestmark = pytest.mark.django_db


@pytest.fixture
def product_with_insight() -> Product:
    headphones = product(sku="H1", title="Headphones")
    version = model_version(role="sentiment", name="s-1", metrics={"macro_f1": 0.7}, is_active=True)
    cracked = review(product=headphones, rating=2, text="The ear cushions <b>crack</b> fast.")
    review_insight(
        cracked,
        language="en",
        sentiment="negative",
        sentiment_score=0.91,
        polarity=-0.8,
        aspects=[{"term": "ear cushions", "polarity": "negative", "start": 4, "end": 16}],
        sentiment_model=version,
    )
    product_insight(
        headphones,
        review_count=1,
        rating_average=2.0,
        rating_distribution={"2": 1},
        sentiment_distribution={"negative": 1},
        sentiment_over_time=[{"month": "2026-10", "reviews": 1, "negative": 1, "rating_average": 2.0}],
        pain_points=[
            {
                "aspect": "ear cushions",
                "key": "ear cushion",
                "count": 1,
                "mentions": 1,
                "negative_share": 1.0,
                "positive_share": 0.0,
                "quotes": [{"text": "The ear cushions <b>crack</b> fast.", "review_id": cracked.pk}],
            }
        ],
        topics=[{"label": "cushions", "keywords": ["cushions", "crack"], "size": 1, "example": "x"}],
        needs=[{"need": "softer pads", "count": 1, "quotes": []}],
    )
    return headphones


def test_insight_api_for_product_and_review(product_with_insight: Product, analyst_client: APIClient) -> None:
    response = analyst_client.get(f"/api/v1/products/{product_with_insight.pk}/insight/")
    assert response.status_code == 200
    assert response.json()["pain_points"][0]["aspect"] == "ear cushions"
    review = product_with_insight.reviews.get()
    data = analyst_client.get(f"/api/v1/reviews/{review.pk}/insight/").json()
    assert data["sentiment"] == "negative" and data["sentiment_model"]["name"] == "s-1"
    assert data["aspects"][0]["term"] == "ear cushions"


def test_insight_api_404_before_analysis(manager_client: APIClient) -> None:
    new = product(sku="N1", title="New")
    response = manager_client.get(f"/api/v1/products/{new.pk}/insight/")
    assert response.status_code == 404 and "not been analysed" in response.json()["detail"]
    unread = review(product=new)
    response = manager_client.get(f"/api/v1/reviews/{unread.pk}/insight/")
    assert response.status_code == 404 and "not been analysed" in response.json()["detail"]


def test_admin_insight_page_escapes_review_text(product_with_insight: Product, admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:catalog_product_insight", args=[product_with_insight.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "ear cushions" in body and "<svg" in body and "softer pads" in body
    assert "<b>crack</b>" not in body and "&lt;b&gt;crack&lt;/b&gt;" in body
    review = product_with_insight.reviews.get()
    page = admin_client.get(reverse("admin:catalog_review_change", args=[review.pk]))
    assert page.status_code == 200 and "0.91" in page.content.decode()


def test_admin_insight_page_without_insight_offers_analysis(admin_client: Client) -> None:
    new = product(sku="N2", title="New")
    response = admin_client.get(reverse("admin:catalog_product_insight", args=[new.pk]))
    assert b"Analyse reviews now" in response.content


def _run(*args: Any) -> str:
    out = StringIO()
    call_command("score_reviews", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_score_reviews_input_errors(tmp_path: Path) -> None:
    good = tmp_path / "in.csv"
    good.write_text("id,body\n1,Great\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    with pytest.raises(CommandError, match=r"no column 'text'; the columns are: 'id', 'body'"):
        _run(str(good), "--text-column", "text", "--output", str(out))
    with pytest.raises(CommandError, match="no such file"):
        _run(str(tmp_path / "missing.csv"), "--text-column", "body", "--output", str(out))
    with pytest.raises(CommandError, match="is a folder"):
        _run(str(tmp_path), "--text-column", "body", "--output", str(out))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,body\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        _run(str(latin), "--text-column", "body", "--output", str(out))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="empty"):
        _run(str(empty), "--text-column", "body", "--output", str(out))
    clash = tmp_path / "clash.csv"
    clash.write_text("body,sentiment\nx,y\n", encoding="utf-8")
    with pytest.raises(CommandError, match="already has column"):
        _run(str(clash), "--text-column", "body", "--output", str(out))
    with pytest.raises(CommandError, match="no such folder"):
        _run(str(good), "--text-column", "body", "--output", str(tmp_path / "nope" / "out.csv"))
    assert not out.exists()
