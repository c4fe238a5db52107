"""A customer with one of everything the platform stores about a person (and what each section of the export
must show of it), for the export and erasure tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from assistant.models import Conversation, ConversationMessage
from campaigns.models import Arm, Assignment, Campaign, Experiment, Message, UpliftModel, UpliftScore, Variant
from catalog.models import GeneratedText, Product
from customers.models import Customer, EventType
from recommendations.models import RecommendationSet
from tests.campaigns.builders import campaign, experiment, variant
from tests.catalog.builders import model_version, product, review
from tests.customers.builders import customer, event, prediction, profile, segment

_seq = itertools.count(1)


@dataclass
class Person:
    customer: Customer
    product: Product
    campaign: Campaign
    experiment: Experiment
    arm: Arm


def running_experiment() -> tuple[Campaign, Experiment]:
    """A running email campaign with two approved variants (A control, B) and a holdout."""
    camp = campaign(status=Campaign.Status.RUNNING, attribution_days=7)
    variant(camp, status=Variant.Status.APPROVED)
    variant(camp, status=Variant.Status.APPROVED)
    return camp, experiment(camp, holdout=0.1)


def person(camp: Campaign | None = None, exp: Experiment | None = None, *, arm_key: str = "A") -> Person:
    """A customer named in every table: profile and segment, a prediction, an uplift score, events of each kind
    (the campaign ones inside the attribution window), a review, recommendations, a message and an assignment,
    copy written for them, a conversation, and a cached generated text that names their email."""
    n = next(_seq)
    if camp is None or exp is None:
        camp, exp = running_experiment()
    who = customer(
        external_id=f"person-{n}", email=f"Person.{n}@Example.com", name=f"Person Number {n}",
        marketing_consent=True, attributes={"country": "GB", "phone": "+44 20 7946 0958"},
    )
    item = product()
    profile(who, lifecycle="active", orders=1, interests={"keywords": [[f"tea-{n}", 1.0]]},
            lifecycle_segment=segment(kind="lifecycle", key=f"lifecycle-{n}"))
    prediction(who, "churn", probability=0.25)
    uplift_model = UpliftModel.objects.filter(experiment=exp).first() or UpliftModel.objects.create(
        experiment=exp, version=model_version(role="uplift"), control_arm="holdout", treated_arms=["A", "B"]
    )
    UpliftScore.objects.create(model=uplift_model, customer=who, uplift=0.04)
    arm = Arm.objects.get(experiment=exp, key=arm_key)
    assigned = timezone.now() - timedelta(days=2)
    Assignment.objects.create(experiment=exp, arm=arm, customer=who, assigned_at=assigned)
    message = Message.objects.create(
        campaign=camp, customer=who, arm=arm, variant=arm.variant, channel="email", recipient=who.email,
        subject="Your mugs", body=f"Hi {who.name}, your mugs are back.", status=Message.Status.SENT, sent_at=assigned,
    )
    tags = {"campaign": str(camp.pk), "message": message.pk, "arm": arm.key}
    at = assigned + timedelta(hours=1)
    event(who, EventType.VIEW, product=item, occurred_at=at, attributes={"ip": "203.0.113.9"})
    event(who, EventType.SEARCH, query=f"gift for {who.name}", occurred_at=at)
    event(who, EventType.EXPOSURE, occurred_at=at, attributes=tags)
    event(who, EventType.OPEN, occurred_at=at, attributes={**tags, "user_agent": "Mozilla/5.0 (Person)"})
    event(who, EventType.CLICK, occurred_at=at, attributes=tags)
    event(who, EventType.PURCHASE, product=item, occurred_at=at, order_id=f"order-{n}", quantity=1,
          value=Decimal("12.50"), attributes={"address": "1 Tea Street"})
    review(customer=who, product=item, title="Lovely",
           text=f"Lovely mug. Write to me at {who.email}, {who.name}.", rating=5)
    RecommendationSet.objects.create(customer=who, items=[{"product": item.pk, "sku": item.sku, "score": 1.0}])
    variant(camp, customer=who, status=Variant.Status.APPROVED, body=f"Just for you, {who.name}.")
    conversation = Conversation.objects.create(customer=who)
    ConversationMessage.objects.create(conversation=conversation, author="shopper", text=f"Where is order-{n}?")
    ConversationMessage.objects.create(conversation=conversation, author="assistant", text="Let me check.")
    GeneratedText.objects.create(
        prompt_hash=f"hash-{n}", model_name="test", prompt=f"Write to {who.email.lower()}", output="Dear reader"
    )
    return Person(who, item, camp, exp, arm)
