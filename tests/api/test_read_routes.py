"""The read-only routes and the reads of one object's sub-resources through the generic mixins: segments and
their members, campaign variants (read, edited through PATCH), insight, profiles, recommendations, similar
products, a campaign's audience, preview and results."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.db.models import Model

from campaigns.models import Campaign, Variant
from catalog.models import Product, Review
from customers.models import Customer, Segment
from jobs.models import Job, JobStatus
from tests.campaigns.builders import UNSUBSCRIBE_LINE, approvable, campaign, experiment, subscriber, variant
from tests.catalog.builders import model_version, product, product_insight, review, review_insight
from tests.customers.builders import customer, profile, segment
from tests.jobs.builders import author, chunked_job, job
from tests.vectors import basis

from .action_mixins import ReadActionTests
from .mixins import GetTests, ListTests, NestedTests, ReadOnlyTests, UpdateTests

pytestmark = pytest.mark.django_db


# --- reads on one object: what each collection's reads share ----------------------------------------------


class ProductRead(ReadActionTests):
    url = "/api/v1/products/"
    model = Product
    permissions = ("catalog.view_product",)
    builder = product


class CustomerRead(ReadActionTests):
    url = "/api/v1/customers/"
    model = Customer
    permissions: ClassVar[tuple[str, ...]] = ("customers.view_customer",)
    builder = customer


class CampaignRead(ReadActionTests):
    url = "/api/v1/campaigns/"
    model = Campaign
    permissions = ("campaigns.view_campaign",)
    builder = campaign


class TestJobChunks(ReadActionTests):
    url = "/api/v1/jobs/"
    model = Job
    action = "chunks"
    permissions = ("jobs.view_job",)
    builder = job

    def make_ready(self) -> Job:
        return chunked_job(JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.QUEUED)

    def check_read(self, obj: Model, body: Any) -> None:
        rows = body["results"] if isinstance(body, dict) else body
        assert [(r["index"], r["status"]) for r in rows] == [(0, "succeeded"), (1, "failed"), (2, "queued")]
        assert rows[1]["error"].startswith("RuntimeError")


class TestSegments(ListTests, GetTests, ReadOnlyTests):
    url = "/api/v1/segments/"
    model = Segment

    def make(self, like: Model | None = None) -> Segment:
        return segment(model_version=model_version(role="segments"))


class TestSegmentMembers(ReadActionTests):
    url = "/api/v1/segments/"
    model = Segment
    action = "members"
    permissions = ("customers.view_segment", "customers.view_customer")
    builder = segment

    def make_ready(self) -> Segment:
        lapsed = segment(kind=Segment.Kind.LIFECYCLE)
        profile(customer(), lifecycle_segment=lapsed)
        profile(customer())  # in no segment
        return lapsed

    def check_read(self, obj: Model, body: Any) -> None:
        member = Customer.objects.get(profile__lifecycle_segment_id=obj.pk)
        assert body["results"] == [{"id": member.pk, "external_id": member.external_id}]


class TestCampaignVariants(ListTests, GetTests, UpdateTests, ReadOnlyTests, NestedTests):
    """Variants are listed under their campaign (no pagination), read, and edited through PATCH (a review
    step: analysts may not); they are never created, replaced or deleted through the API."""

    url = "/api/v1/campaigns/{parent}/variants/"
    model = Variant
    parent_field = "campaign_id"
    paginated = False
    # token+user, 2 permission queries, the variants; the campaign is looked up twice (the permission check
    # asks the view for its queryset, which checks the campaign exists)
    list_max_queries = 6
    refused = ("create", "delete")  # PUT: UpdateTests

    def make(self, like: Model | None = None) -> Variant:
        owner = like.campaign if isinstance(like, Variant) else campaign(status=Campaign.Status.IN_REVIEW)
        return variant(owner, reviewed_by=author(), edited_by=author())

    def update_payload(self, obj: Model) -> dict[str, Any]:
        return {"subject": "Mugs for slow mornings", "body": f"Mugs for tea. {UNSUBSCRIBE_LINE}"}


class TestProductInsight(ProductRead):
    action = "insight"

    def make_ready(self) -> Product:
        analysed = product()
        product_insight(analysed, review_count=3, pain_points=[{"aspect": "lid", "count": 2, "quotes": []}])
        return analysed

    def check_read(self, obj: Model, body: Any) -> None:
        assert body["review_count"] == 3 and body["pain_points"][0]["aspect"] == "lid"


class TestProductSimilar(ProductRead):
    action = "similar"

    def make_ready(self) -> Product:
        product(embedding=basis(0), title="A twin")
        return product(embedding=basis(0))

    def check_read(self, obj: Model, body: Any) -> None:
        assert body["product"] == obj.pk and [item["title"] for item in body["items"]] == ["A twin"]


class TestReviewInsight(ReadActionTests):
    url = "/api/v1/reviews/"
    model = Review
    permissions = ("catalog.view_review",)
    builder = review
    action = "insight"

    def make_ready(self) -> Review:
        analysed = review()
        review_insight(analysed, sentiment="negative", sentiment_model=model_version(name="s-test"))
        return analysed

    def check_read(self, obj: Model, body: Any) -> None:
        assert body["sentiment"] == "negative" and body["sentiment_model"]["name"] == "s-test"


class TestCustomerProfile(CustomerRead):
    action = "profile"
    permissions = ("customers.view_customer", "customers.view_customerprofile")

    def make_ready(self) -> Customer:
        known = customer()
        profile(known, lifecycle="new", orders=1)
        return known

    def check_read(self, obj: Model, body: Any) -> None:
        assert isinstance(obj, Customer)
        assert (body["customer"], body["lifecycle"], body["rfm"]["orders"]) == (obj.external_id, "new", 1)


class TestCustomerRecommendations(CustomerRead):
    """Live recommendations; with no trained recommender, shop popularity (the ranking has its own tests)."""

    action = "recommendations"

    def check_read(self, obj: Model, body: Any) -> None:
        assert body["customer"] == obj.pk and body["personalised"] is False


class TestCampaignAudience(CampaignRead):
    action = "audience"

    def make_ready(self) -> Campaign:
        subscriber(name="Grace Hopper")
        return campaign()

    def check_read(self, obj: Model, body: Any) -> None:
        assert body["size"] == 1 and body["sample"][0]["name"] == "Grace Hopper"


class TestCampaignPreview(CampaignRead):
    action = "preview"

    def make_ready(self) -> Campaign:
        return approvable()

    def check_read(self, obj: Model, body: Any) -> None:
        assert UNSUBSCRIBE_LINE in body["body"] and "\n\nUnsubscribe: http" in body["body"]


class TestCampaignDiscounts(CampaignRead):
    action = "discounts"

    def make_ready(self) -> Campaign:
        tested = approvable()
        exp = experiment(tested, holdout=0.1)
        exp.arms.exclude(key="holdout").update(discount_percent=20)
        return tested

    def check_read(self, obj: Model, body: Any) -> None:
        assert body["reference"] and [d["discount_percent"] for d in body["depths"]][-1] == 20
        assert body["segments"][0]["rows"]


class TestCampaignResults(CampaignRead):
    action = "results"

    def make_ready(self) -> Campaign:
        tested = approvable()
        experiment(tested)
        return tested

    def check_read(self, obj: Model, body: Any) -> None:
        assert set(body["metrics"]) >= {"open", "click", "conversion"}
