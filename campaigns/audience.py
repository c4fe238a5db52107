"""Who a campaign reaches: consenting, subscribed customers of its segments, narrowed by its filters.

`audience_queryset(campaign) -> QuerySet[Customer]`: customers with `marketing_consent`, not unsubscribed,
reachable on the channel (an email address for email, `attributes.phone` for SMS; push goes to the
customer's external id), members of any of the campaign's segments (lifecycle or behavioural, through
`CustomerProfile`) or everyone when it has none, narrowed by `campaign.audience_filters`.
`audience_size(campaign) -> int`, `audience_sample(campaign, n) -> list[Customer]`.
`validate_audience_filters(filters) -> dict` normalises the filters or raises `AudienceError` naming the key.
`consenting(queryset=None)` applies the consent rule alone; delivery re-applies it at send time.

Unsubscribed: an `unsubscribe` event at or after the customer's consent. The consent time is
`attributes.marketing_consent_at` (ISO date or datetime) when the shop sends it, else the sign-up time,
so a customer who unsubscribed and later consented again is reachable only if the shop says when.

Filters (all optional, combined with AND):
  lifecycle                 "at_risk" or ["at_risk", "lapsed"]  (CustomerProfile.lifecycle)
  locale                    "en" or ["en-GB", "fr"]: a language matches its regional forms (en -> en-GB)
  country                   "GB" or ["GB", "IE"]: attributes.country, case-insensitive
  min_orders / max_orders   whole numbers >= 0 (customers without a profile have 0 orders)
  min_revenue               number >= 0
  min_purchase_probability  0..1: predicted purchase in 30 days (CustomerPrediction) at least this
  min_churn_risk            0..1: predicted churn risk at least this (win-back)
  max_churn_risk            0..1
  category                  "Sports > Running" or a list: viewed, added to cart or bought a product of that category
                            or one below it ("Sports > Running" covers "Sports > Running > Shoes"), case-insensitive
  uplift_top_percent        0 < k <= 100: "customers most likely to be changed by the offer", the top k% of the
                            audience (the other filters applied) by predicted uplift, keeping only a positive one
                            (sleeping dogs, whom the offer puts off, are never included); customers the model has
                            not scored are left out; ties at the threshold are broken by customer id (exactly k%)
  uplift_model              the uplift model version (name) to rank by; default the active one. Either one
                            refused, with the reason, when no uplift model exists (`campaigns.uplift`)
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, QuerySet, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from catalog.model_versions import active_version
from catalog.models import ModelRole, ModelVersion
from customers.models import Customer, CustomerPrediction, Event, EventType, Lifecycle, PredictionTarget

from .models import Campaign, UpliftModel, UpliftScore


class AudienceError(ValueError):
    """Invalid audience filters; the message names the key, the value and what is expected."""


FILTER_KEYS = (
    "lifecycle", "locale", "country", "min_orders", "max_orders", "min_revenue",
    "min_purchase_probability", "min_churn_risk", "max_churn_risk", "uplift_top_percent", "uplift_model",
    "category",
)
# what counts as showing interest in a product: browsing it, carting it or buying it (not a message click or open)
CATEGORY_EVENTS = (EventType.VIEW, EventType.ADD_TO_CART, EventType.PURCHASE)
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}"


def _string_list(key: str, value: Any, choices: list[str] | None = None) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise AudienceError(f"audience filter {key!r}: expected a non-empty string or list of strings, got {value!r}")
    items = [v.strip() for v in items]
    if choices is not None:
        unknown = [v for v in items if v not in choices]
        if unknown:
            raise AudienceError(f"audience filter {key!r}: unknown value(s) {unknown}; expected any of {choices}")
    return items


def _whole(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AudienceError(f"audience filter {key!r}: expected a whole number >= 0, got {value!r}")
    return value


def _number(key: str, value: Any, low: float, high: float | None) -> float:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise AudienceError(f"audience filter {key!r}: expected a number {bounds}, got {value!r}")
    return float(value)


def validate_audience_filters(filters: Any) -> dict[str, Any]:
    """The filters, normalised (single values become lists); raises AudienceError on the first bad key or value."""
    if filters in (None, ""):
        return {}
    if not isinstance(filters, dict):
        raise AudienceError(f"audience filters must be a JSON object, got {type(filters).__name__}")
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise AudienceError(f"unknown audience filter(s) {unknown}; known filters: {', '.join(FILTER_KEYS)}")
    clean: dict[str, Any] = {}
    for key, value in filters.items():
        if key == "lifecycle":
            clean[key] = _string_list(key, value, list(Lifecycle.values))
        elif key in ("locale", "country"):
            clean[key] = _string_list(key, value)
        elif key == "category":
            clean[key] = [" > ".join(part.strip() for part in v.split(">")) for v in _string_list(key, value)]
        elif key in ("min_orders", "max_orders"):
            clean[key] = _whole(key, value)
        elif key == "min_revenue":
            clean[key] = _number(key, value, 0, None)
        elif key == "uplift_top_percent":
            clean[key] = _number(key, value, 0, 100)
            if clean[key] == 0:
                raise AudienceError(f"audience filter {key!r}: expected a share above 0 and at most 100, got {value!r}")
        elif key == "uplift_model":
            if not isinstance(value, str) or not value.strip():
                raise AudienceError(f"audience filter {key!r}: expected an uplift model version name, got {value!r}")
            clean[key] = value.strip()
        else:
            clean[key] = _number(key, value, 0.0, 1.0)
    if "min_orders" in clean and "max_orders" in clean and clean["min_orders"] > clean["max_orders"]:
        raise AudienceError(
            f"audience filters: min_orders ({clean['min_orders']}) is above max_orders ({clean['max_orders']})"
        )
    if "uplift_model" in clean and "uplift_top_percent" not in clean:
        raise AudienceError("audience filter 'uplift_model' needs 'uplift_top_percent' (the top k% to keep)")
    if "uplift_top_percent" in clean:
        uplift_model(clean.get("uplift_model"))
    return clean


def uplift_model(name: str | None) -> UpliftModel:
    """The uplift model of version `name` (the active uplift version when None); AudienceError saying why
    when there is none."""
    if name is None:
        version = active_version(ModelRole.UPLIFT)
        if version is None:
            raise AudienceError(
                "audience filter 'uplift_top_percent': no uplift model exists yet; train one from an experiment "
                "with an offer arm and a holdout (job train_uplift)"
            )
    else:
        version = ModelVersion.objects.filter(role=ModelRole.UPLIFT, name=name).first()
        if version is None:
            known = list(ModelVersion.objects.filter(role=ModelRole.UPLIFT).values_list("name", flat=True)[:5])
            raise AudienceError(
                f"audience filter 'uplift_model': no uplift model named {name!r}; known: {known or 'none'}"
            )
    found = UpliftModel.objects.filter(version=version).first()
    if found is None:
        raise AudienceError(f"audience filter 'uplift_model': version {version.name!r} is not linked to an experiment")
    return found


def top_uplift(queryset: QuerySet[Customer], model: UpliftModel, percent: float) -> QuerySet[Customer]:
    """The top `percent`% of `queryset`'s scored customers by predicted uplift, positive uplift only."""
    scores = UpliftScore.objects.filter(model=model, customer__in=queryset.values("pk"))
    k = math.ceil(percent / 100 * scores.count())
    if k == 0:
        return queryset.none()
    # the k-th customer by (uplift desc, id): ties (a tree model gives many) are broken by id, so exactly k stay
    u_k, id_k = scores.order_by("-uplift", "customer_id").values_list("uplift", "customer_id")[k - 1]
    kept = UpliftScore.objects.filter(
        Q(uplift__gt=u_k) | Q(uplift=u_k, customer_id__lte=id_k), model=model, customer_id=OuterRef("pk"), uplift__gt=0
    )
    return queryset.filter(Exists(kept))


def _consent_at() -> Case:
    return Case(
        When(
            attributes__marketing_consent_at__regex=_ISO_DATE,
            then=Cast(KT("attributes__marketing_consent_at"), DateTimeField()),
        ),
        default=F("created_at"),
        output_field=DateTimeField(),
    )


def consenting(queryset: QuerySet[Customer] | None = None) -> QuerySet[Customer]:
    """`queryset` (all customers by default) narrowed to those who may receive marketing now."""
    queryset = Customer.objects.all() if queryset is None else queryset
    unsubscribed = Event.objects.filter(
        customer_id=OuterRef("pk"), type=EventType.UNSUBSCRIBE, occurred_at__gte=OuterRef("consent_at")
    )
    return queryset.alias(consent_at=_consent_at()).filter(marketing_consent=True).exclude(Exists(unsubscribed))


def reachable_q(channel: str) -> Q:
    if channel == Campaign.Channel.EMAIL:
        return ~Q(email="")
    if channel == Campaign.Channel.SMS:
        return Q(attributes__has_key="phone") & ~Q(attributes__phone="") & ~Q(attributes__phone=None)
    return Q()


def _prediction(target: str, **lookup: float) -> Exists:
    return Exists(CustomerPrediction.objects.filter(customer_id=OuterRef("pk"), target=target, **lookup))


def filters_q(filters: dict[str, Any]) -> Q:
    """The validated filters as one Q over Customer."""
    q = Q()
    if "lifecycle" in filters:
        stages = filters["lifecycle"]
        in_stage = Q(profile__lifecycle__in=stages)
        if Lifecycle.PROSPECT in stages:  # customers without a profile yet have never bought
            in_stage |= Q(profile__isnull=True)
        q &= in_stage
    if "locale" in filters:
        locale_q = Q()
        for locale in filters["locale"]:
            locale_q |= Q(locale__iexact=locale) | Q(locale__istartswith=f"{locale}-")
        q &= locale_q
    if "country" in filters:
        country_q = Q()
        for country in filters["country"]:
            country_q |= Q(attributes__country__iexact=country)
        q &= country_q
    if "min_orders" in filters and filters["min_orders"] > 0:
        q &= Q(profile__orders__gte=filters["min_orders"])
    if "max_orders" in filters:
        q &= Q(profile__orders__lte=filters["max_orders"]) | Q(profile__isnull=True)
    if "min_revenue" in filters and filters["min_revenue"] > 0:
        q &= Q(profile__revenue__gte=Decimal(str(filters["min_revenue"])))
    if "min_purchase_probability" in filters:
        q &= Q(_prediction(PredictionTarget.PURCHASE_30D, probability__gte=filters["min_purchase_probability"]))
    if "min_churn_risk" in filters:
        q &= Q(_prediction(PredictionTarget.CHURN, probability__gte=filters["min_churn_risk"]))
    if "max_churn_risk" in filters:
        q &= Q(_prediction(PredictionTarget.CHURN, probability__lte=filters["max_churn_risk"]))
    if "category" in filters:
        q &= Q(_in_category(filters["category"]))
    return q


def _in_category(categories: list[str]) -> Exists:
    """Whether the customer browsed, carted or bought a product of any of `categories` or a category below one."""
    category_q = Q()
    for category in categories:
        category_q |= Q(product__category__iexact=category) | Q(product__category__istartswith=f"{category} >")
    return Exists(
        Event.objects.filter(category_q, customer_id=OuterRef("pk"), type__in=CATEGORY_EVENTS, product__isnull=False)
    )


def audience_queryset(campaign: Campaign) -> QuerySet[Customer]:
    """The campaign's audience now; raises AudienceError when its filters are invalid."""
    filters = validate_audience_filters(campaign.audience_filters)
    queryset = consenting().filter(reachable_q(campaign.channel))
    segment_ids = list(campaign.segments.values_list("pk", flat=True)) if campaign.pk else []
    if segment_ids:
        queryset = queryset.filter(
            Q(profile__lifecycle_segment_id__in=segment_ids) | Q(profile__behaviour_segment_id__in=segment_ids)
        )
    queryset = queryset.filter(filters_q(filters))
    if "uplift_top_percent" in filters:
        queryset = top_uplift(queryset, uplift_model(filters.get("uplift_model")), filters["uplift_top_percent"])
    return queryset.order_by("pk")


def audience_size(campaign: Campaign) -> int:
    return audience_queryset(campaign).count()


def audience_sample(campaign: Campaign, n: int = 10) -> list[Customer]:
    """The first `n` customers of the audience, by id (stable, so a manager sees the same sample twice)."""
    return list(audience_queryset(campaign)[:n])


def recipient_of(customer: Customer, channel: str) -> str:
    """Where the message goes: email address, phone number (attributes.phone) or, for push, the external id."""
    if channel == Campaign.Channel.EMAIL:
        return customer.email
    if channel == Campaign.Channel.SMS:
        return str((customer.attributes or {}).get("phone") or "")
    return customer.external_id
