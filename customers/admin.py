from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.models import ModelVersion, Product
from catalog.version_metrics import deciles_chart, quality_table
from core.large_lists import LargeListAdmin
from jobs.runner import start_job

from .models import Customer, CustomerPrediction, CustomerProfile, Event, Lifecycle, PredictionTarget, Segment
from .predictions.drivers import EFFECT_TEXT, describe
from .predictions.targets import TARGETS
from .send_time import preferred_hour

EVENTS_PER_PAGE = 25  # events on one page of a customer's events (a customer may have 100k: never all inline)
EVENTS_PAGE_PARAM = "events_page"


def events_section(customer: Customer, raw_page: str | None) -> dict[str, Any]:
    """One page of the customer's events, newest first, with product titles, in two queries (an exact count
    and the page, both on the (customer, occurred_at) index) whatever the customer's history.

    A page that is not a number gives page 1 with a note; one past the end gives the last page."""
    note = ""
    try:
        wanted = int(raw_page) if raw_page else 1
        if wanted < 1:
            raise ValueError
    except ValueError:
        wanted = 1
        note = f"{EVENTS_PAGE_PARAM}={raw_page!r} is not a page number (1, 2, ...): showing page 1."
    total = Event.objects.filter(customer=customer).count()
    pages = max(1, -(-total // EVENTS_PER_PAGE))
    if wanted > pages:
        note = f"There are {pages} page{'s' if pages != 1 else ''} of events: showing the last."
        wanted = pages
    start = (wanted - 1) * EVENTS_PER_PAGE
    rows = list(
        Event.objects.filter(customer=customer).select_related("product")
        .order_by("-occurred_at", "-id")[start:start + EVENTS_PER_PAGE]
    )
    all_url = reverse("admin:customers_event_changelist") + f"?customer__id__exact={customer.pk}"
    return {
        "rows": rows, "total": total, "page": wanted, "pages": pages, "note": note, "param": EVENTS_PAGE_PARAM,
        "first": start + 1 if rows else 0, "last": start + len(rows), "all_url": all_url,
        "previous": wanted - 1 if wanted > 1 else None, "next": wanted + 1 if wanted < pages else None,
    }


def shown_value(p: CustomerPrediction) -> tuple[str, str]:
    """(the prediction in the reader's units, a note): probability as %, value in the shop's currency, next
    order as a date (with the days after the last order it stands for)."""
    if p.target == PredictionTarget.NEXT_ORDER:
        note = f"{round(p.value)} days after the last order" if p.value is not None else ""
        return (f"{p.predicted_at:%Y-%m-%d}" if p.predicted_at else "-"), note
    if p.probability is not None:
        return (f"{p.probability:.0%}" if p.probability >= 0.01 else f"{p.probability:.1%}"), ""
    if p.value is not None:
        return f"{p.value:,.2f} {settings.DEFAULT_CURRENCY}", ""
    return "-", ""


def prediction_row(p: CustomerPrediction) -> dict[str, Any]:
    """One stored prediction as the customer page shows it: its value in the reader's units, its version,
    when it was scored, and its drivers in words."""
    currency = settings.DEFAULT_CURRENCY
    shown, note = shown_value(p)
    no_drivers = ("One order so far: the last order plus the shop's median gap between orders."
                  if p.target == PredictionTarget.NEXT_ORDER
                  else "No feature moved it: this customer is like the shop's median customer.")
    return {
        "label": p.get_target_display(),
        "what": "when the next order is expected" if p.target == PredictionTarget.NEXT_ORDER else (
            TARGETS[p.target].what if p.target in TARGETS else ""),
        "shown": shown,
        "note": note,
        "version": p.model_version.name,
        "version_url": reverse("admin:catalog_modelversion_change", args=[p.model_version_id]),
        "scored": p.computed_at,
        "drivers": [describe(p.target, d, currency) for d in p.drivers or [] if p.target in EFFECT_TEXT],
        "no_drivers": no_drivers,
    }


class LifecycleFilter(admin.SimpleListFilter):
    title = "lifecycle"
    parameter_name = "lifecycle"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in Lifecycle.choices] + [("none", "No profile yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        value = self.value()
        if value == "none":
            return queryset.filter(profile__isnull=True)
        return queryset.filter(profile__lifecycle=value) if value else queryset


class SegmentFilter(admin.SimpleListFilter):
    """Members of one segment, lifecycle or behavioural (the segment admin links here)."""

    title = "segment"
    parameter_name = "segment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(s.pk), f"{s.name} ({s.size})") for s in Segment.objects.filter(is_active=True)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(Q(profile__lifecycle_segment_id=value) | Q(profile__behaviour_segment_id=value))


def _weights(items: list[list[Any]]) -> SafeString | str:
    if not items:
        return "-"
    return format_html_join(", ", "{} <small>({})</small>", ((name, f"{weight:.2f}") for name, weight in items))


@admin.register(Customer)
class CustomerAdmin(LargeListAdmin, admin.ModelAdmin[Customer]):
    """A million customers: estimated counts, filters on indexed columns (a date range on `created_at`, not a
    date hierarchy, which reads every row for its years), search on trigram indexes (migration 0008)."""

    list_display = ["external_id", "name", "email", "locale", "marketing_consent", "lifecycle", "created_at"]
    list_filter = [
        LifecycleFilter, SegmentFilter, "marketing_consent", "locale", ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["external_id", "email", "name"]
    list_select_related = ["profile"]
    readonly_fields = ["updated_at", "profile_summary", "predictions_summary", "send_hour"]
    fieldsets = [
        (None, {"fields": ["external_id", "email", "name", "locale", "timezone", "marketing_consent", "attributes"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
        ("Profile", {"fields": ["profile_summary"]}),
        ("Predictions", {"fields": ["predictions_summary"]}),
        ("Send time", {"fields": ["send_hour"]}),
    ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None,
    ) -> Any:
        """The change form plus one page of the customer's events (`?events_page=N`, below the form)."""
        customer = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if customer is not None:
            extra["events"] = events_section(customer, request.GET.get(EVENTS_PAGE_PARAM))
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="lifecycle", ordering="profile__lifecycle")
    def lifecycle(self, customer: Customer) -> str:
        profile = getattr(customer, "profile", None)
        return profile.get_lifecycle_display() if profile is not None else "-"

    @admin.display(description="profile")
    def profile_summary(self, customer: Customer) -> SafeString | str:
        """Interests, RFM, lifecycle and segments, read-only (profiles are rebuilt by jobs)."""
        profile = (
            CustomerProfile.objects.filter(customer=customer)
            .select_related("lifecycle_segment", "behaviour_segment")
            .first()
        )
        if profile is None:
            return "No profile yet: run the rebuild_profiles job (Segments page, or the jobs API)."
        segments = [s for s in (profile.lifecycle_segment, profile.behaviour_segment) if s is not None]
        segment_links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:customers_segment_change", args=[s.pk]), s.name) for s in segments),
        )
        interests = profile.interests or {}
        return format_html(
            "<table>"
            "<tr><th>Lifecycle</th><td>{}</td></tr>"
            "<tr><th>Segments</th><td>{}</td></tr>"
            "<tr><th>Orders / revenue</th><td>{} / {}</td></tr>"
            "<tr><th>First / last order</th><td>{} / {}</td></tr>"
            "<tr><th>Recency (days)</th><td>{}</td></tr>"
            "<tr><th>RFM score</th><td>{}</td></tr>"
            "<tr><th>Last seen</th><td>{}</td></tr>"
            "<tr><th>Top categories</th><td>{}</td></tr>"
            "<tr><th>Brands</th><td>{}</td></tr>"
            "<tr><th>Keywords</th><td>{}</td></tr>"
            "<tr><th>Updated</th><td>{}</td></tr>"
            "</table>",
            profile.get_lifecycle_display(),
            segment_links or "-",
            profile.orders,
            profile.revenue,
            profile.first_order_at or "-",
            profile.last_order_at or "-",
            "-" if profile.recency_days is None else f"{profile.recency_days:.0f}",
            profile.rfm_score or "-",
            profile.last_seen_at or "-",
            _weights(interests.get("categories", [])),
            _weights(interests.get("brands", [])),
            _weights(interests.get("keywords", [])),
            profile.updated_at,
        )

    @admin.display(description="predictions")
    def predictions_summary(self, customer: Customer) -> SafeString:
        """Each stored prediction in the reader's units, the version that made it and its drivers (one query)."""
        stored = {p.target: p for p in CustomerPrediction.objects.filter(customer=customer)
                  .select_related("model_version")}
        rows = [prediction_row(stored[target]) for target in TARGETS if target in stored]
        return render_to_string("admin/customers/predictions.html", {"rows": rows})

    @admin.display(description="preferred send hour")
    def send_hour(self, customer: Customer) -> SafeString | str:
        """The hour a best-hour campaign aims at (`customers.send_time`), on their clock and in UTC today."""
        if customer.pk is None:
            return "-"
        hour = preferred_hour(customer)
        evidence = (
            "the shop's best hour: no engagement yet" if hour.from_shop_curve
            else f"from {hour.engagements} engagement{'s' if hour.engagements != 1 else ''} (opens, clicks, orders)"
        )
        return format_html(
            "<strong>{}:00 {}</strong> ({}:00 UTC today) · probability of that hour {} · {}",
            f"{hour.hour:02d}", hour.zone, f"{hour.utc_hour():02d}", f"{hour.probability:.0%}", evidence,
        )


@admin.register(CustomerPrediction)
class CustomerPredictionAdmin(LargeListAdmin, admin.ModelAdmin[CustomerPrediction]):
    """The predictions overview: per target, the serving version's deciles and metrics beside baselines, then
    every customer's stored prediction with its first driver. Read-only: predictions are made by training."""

    change_list_template = "admin/customers/customerprediction/change_list.html"
    list_display = ["customer", "target", "shown", "first_driver", "model_version", "computed_at"]
    list_filter = ["target"]
    search_fields = ["customer__external_id__exact", "customer__email__exact"]  # unique / indexed: no scan
    search_help_text = "A customer's exact id or email."
    list_select_related = ["customer", "model_version"]
    fields = ("customer", "target", "shown", "drivers_text", "model_version", "computed_at")
    readonly_fields = fields

    @admin.display(description="prediction", ordering=Coalesce("probability", "value"))
    def shown(self, p: CustomerPrediction) -> str:
        shown, note = shown_value(p)
        return f"{shown} ({note})" if note else shown

    @admin.display(description="largest driver")
    def first_driver(self, p: CustomerPrediction) -> str:
        return describe(p.target, p.drivers[0], settings.DEFAULT_CURRENCY) if p.drivers else "-"

    @admin.display(description="drivers")
    def drivers_text(self, p: CustomerPrediction) -> SafeString | str:
        texts = prediction_row(p)["drivers"]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((t,) for t in texts))) if texts else "-"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        serving = {v.role: v for v in ModelVersion.objects.filter(role__in=list(TARGETS), is_active=True)}
        targets = [
            {"label": PredictionTarget(t).label, "version": serving[t],
             "version_url": reverse("admin:catalog_modelversion_change", args=[serving[t].pk]),
             "chart": deciles_chart(t, serving[t].metrics), "quality": quality_table(serving[t].metrics)}
            for t in TARGETS if t in serving
        ]
        return super().changelist_view(request, {**(extra_context or {}), "serving_targets": targets})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CustomerPrediction | None = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(LargeListAdmin, admin.ModelAdmin[Event]):
    """Tens of millions of rows: estimated counts, the type and date filters and the newest-first order on
    indexes, and an exact-match search (a text search inside every event would read them all)."""

    list_display = ["occurred_at", "type", "customer", "product", "query", "order_id", "quantity", "value"]
    list_filter = ["type", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["external_id"]  # the search box; `get_search_results` decides what it matches
    search_help_text = "An exact event id, order id, customer id or email, or product SKU."
    list_select_related = ["customer", "product"]
    autocomplete_fields = ["customer", "product"]
    readonly_fields = ["created_at"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str,
    ) -> tuple[QuerySet[Event], bool]:
        """Exact matches on indexed keys. The customers and products are looked up first, so the events
        are found by `customer_id IN (...)` on the event's own index rather than a join across the table."""
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = list(
            Customer.objects.filter(Q(external_id=term) | Q(email=term)).values_list("pk", flat=True)[:100]
        )
        products = list(Product.objects.filter(sku=term).values_list("pk", flat=True)[:1])
        wanted = Q(external_id=term) | Q(order_id=term)
        if customers:
            wanted |= Q(customer_id__in=customers)
        if products:
            wanted |= Q(product_id__in=products)
        return queryset.filter(wanted), False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin[Segment]):
    """Segments are built by jobs: read-only here, with a link to their members and a rebuild action."""

    list_display = ["name", "kind", "size", "categories", "keywords", "is_active", "updated_at", "members_link"]
    list_filter = ["kind", "is_active"]
    search_fields = ["key", "name", "description"]
    ordering = ["kind", "-size"]
    fields = (
        "key", "kind", "name", "description", "size", "categories", "keywords", "model_version", "is_active",
        "updated_at", "members_link",
    )
    readonly_fields = fields
    actions = ["rebuild"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        return False

    @admin.display(description="top categories")
    def categories(self, segment: Segment) -> SafeString | str:
        return _weights(segment.top_categories[:3])

    @admin.display(description="top keywords")
    def keywords(self, segment: Segment) -> SafeString | str:
        return _weights(segment.top_keywords[:5])

    @admin.display(description="members")
    def members_link(self, segment: Segment) -> str:
        url = reverse("admin:customers_customer_changelist")
        return format_html('<a href="{}?segment={}">{} customers</a>', url, segment.pk, segment.size)

    @admin.action(description="Rebuild profiles and segments (a job)", permissions=["view"])
    def rebuild(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        if not request.user.has_perm("jobs.add_job"):
            self.message_user(request, "Starting jobs needs the permission jobs.add_job.", messages.ERROR)
            return
        job = start_job("rebuild_profiles", {}, user=request.user)
        url = reverse("admin:jobs_job_change", args=[job.pk])
        self.message_user(request, format_html('Rebuild started: <a href="{}">job {}</a>.', url, job.pk))
