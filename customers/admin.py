from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobs.runner import start_job

from .models import Customer, CustomerPrediction, CustomerProfile, Event, Lifecycle, Segment
from .send_time import preferred_hour


class EventInline(admin.TabularInline[Event, Customer]):
    model = Event
    fields = ["occurred_at", "type", "product", "query", "order_id", "quantity", "value"]
    readonly_fields = ["occurred_at", "type", "product", "query", "order_id", "quantity", "value"]
    extra = 0
    max_num = 0
    ordering = ["-occurred_at"]
    show_change_link = True


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
class CustomerAdmin(admin.ModelAdmin[Customer]):
    list_display = ["external_id", "name", "email", "locale", "marketing_consent", "lifecycle", "created_at"]
    list_filter = [LifecycleFilter, SegmentFilter, "marketing_consent", "locale"]
    search_fields = ["external_id", "email", "name"]
    date_hierarchy = "created_at"
    list_select_related = ["profile"]
    readonly_fields = ["updated_at", "profile_summary", "predictions_summary", "send_hour"]
    fieldsets = [
        (None, {"fields": ["external_id", "email", "name", "locale", "timezone", "marketing_consent", "attributes"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
        ("Profile", {"fields": ["profile_summary", "predictions_summary"]}),
        ("Send time", {"fields": ["send_hour"]}),
    ]
    inlines = [EventInline]

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
    def predictions_summary(self, customer: Customer) -> SafeString | str:
        predictions = list(CustomerPrediction.objects.filter(customer=customer).select_related("model_version"))
        if not predictions:
            return "No predictions yet."

        def shown(p: CustomerPrediction) -> str:
            if p.probability is not None:
                return f"{p.probability:.0%}"
            if p.value is not None:
                return f"{p.value:.2f}"
            return f"{p.predicted_at:%Y-%m-%d}" if p.predicted_at else "-"

        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td><small>{} · {}</small></td></tr>",
            (
                (p.get_target_display(), shown(p), p.model_version.name, f"{p.computed_at:%Y-%m-%d}")
                for p in predictions
            ),
        )
        return format_html("<table>{}</table>", rows)


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


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["occurred_at", "type", "customer", "product", "query", "order_id", "quantity", "value"]
    list_filter = ["type"]
    search_fields = ["external_id", "customer__external_id", "customer__email", "product__sku", "query", "order_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer", "product"]
    autocomplete_fields = ["customer", "product"]
    show_full_result_count = False  # events grow to millions: skip the second COUNT(*)
    readonly_fields = ["created_at"]


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
