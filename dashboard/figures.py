"""Every number on the dashboard, computed in a few aggregate queries and cached for a few minutes.

The work is bounded by the size of the summary, never by the number of customers or events: each section
is one GROUP BY (or a short, limited list), so a cold render runs the same number of queries at a hundred
customers as at a million. `figures()` returns plain JSON-able data (the cache may be Redis or the
database); the template turns it into SVG and tables.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Avg, Count, Max, Q, Sum
from django.db.models.functions import Collate, TruncWeek
from django.utils import timezone

from campaigns.analysis import analyse
from campaigns.models import Campaign, Experiment
from catalog.insights.aspects import canonical_aspect
from catalog.insights.quotes import sentence_around
from catalog.models import ReviewInsight
from customers.models import Customer, CustomerProfile, Event, EventType, Lifecycle, Segment
from jobs.models import Job, JobStatus
from recommendations.models import RecommendationSet, ServedCount

CACHE_KEY = "dashboard:figures:v1"
CACHE_SECONDS = 300
WEEKS = 26
CAMPAIGNS_SHOWN = 5  # each costs a constant handful of queries (campaigns.analysis.analyse)
JOBS_SHOWN = 10
PAIN_REVIEWS_SCANNED = 5000  # the two latest weeks' analysed reviews, at most this many, for the alerts
PAIN_ALERTS = 5
SERVED_DAYS = 28  # the daily bars of "recommendations served"


def _week_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def sales_by_week(now: datetime) -> list[dict[str, Any]]:
    """Revenue (sum of purchase line values) and orders (distinct order ids) per week, oldest first, with
    the empty weeks as zeros: one GROUP BY over the purchases' covering index."""
    first = _week_start(now) - timedelta(weeks=WEEKS - 1)
    rows = (
        Event.objects.filter(type=EventType.PURCHASE, occurred_at__gte=first)
        .annotate(week=TruncWeek("occurred_at"))
        .values("week")
        # every column read is in the partial index `event_purchase_sales_idx` (an index-only scan, no heap);
        # order ids compared bytewise ("C"): the distinct count sorts them, and a locale collation is slow
        .annotate(revenue=Sum("value"),
                  orders=Count(Collate("order_id", "C"), distinct=True, filter=~Q(order_id="")),
                  lines=Count("occurred_at", filter=Q(order_id="")))
        .order_by("week")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")  # the distinct sort in memory (a year of orders: ~30 MB)
        by_week = {timezone.localtime(r["week"]).date(): r for r in rows}
    weeks = []
    for n in range(WEEKS):
        day = (first + timedelta(weeks=n)).date()
        row = by_week.get(day, {})
        # a purchase without an order id counts as its own order
        weeks.append({
            "week": day.isoformat(),
            "revenue": float(row.get("revenue") or Decimal(0)),
            "orders": int(row.get("orders") or 0) + int(row.get("lines") or 0),
        })
    return weeks


def lifecycle_counts() -> list[dict[str, Any]]:
    """Customers per lifecycle stage, from the stored profile stage (one GROUP BY); customers without a
    profile yet are counted as prospects."""
    counts = Counter(dict(CustomerProfile.objects.values_list("lifecycle").annotate(n=Count("pk"))
                          .values_list("lifecycle", "n")))
    customers = Customer.objects.filter(erased_at__isnull=True).count()
    without_profile = max(0, customers - sum(counts.values()))
    counts[Lifecycle.PROSPECT] += without_profile
    return [{"stage": str(stage), "label": str(stage.label), "count": counts.get(str(stage), 0)} for stage in Lifecycle]


def segment_sizes() -> list[dict[str, Any]]:
    """Active behavioural segments with their sizes at the last rebuild (lifecycle ones are shown above)."""
    return [
        {"id": s["pk"], "name": s["name"], "size": s["size"]}
        for s in Segment.objects.filter(is_active=True, kind=Segment.Kind.BEHAVIOURAL)
        .order_by("-size", "name").values("pk", "name", "size")[:20]
    ]


def sentiment_by_week(now: datetime) -> list[dict[str, Any]]:
    """Analysed reviews per week of writing: counts by sentiment and the mean polarity (one GROUP BY)."""
    first = _week_start(now) - timedelta(weeks=WEEKS - 1)
    rows = (
        ReviewInsight.objects.filter(review__created_at__gte=first)
        .annotate(week=TruncWeek("review__created_at"))
        .values("week")
        .annotate(
            positive=Count("pk", filter=Q(sentiment="positive")),
            neutral=Count("pk", filter=Q(sentiment="neutral")),
            negative=Count("pk", filter=Q(sentiment="negative")),
            polarity=Avg("polarity"),
        )
        .order_by("week")
    )
    return [
        {"week": timezone.localtime(r["week"]).date().isoformat(), "positive": r["positive"], "neutral": r["neutral"],
         "negative": r["negative"], "polarity": None if r["polarity"] is None else round(float(r["polarity"]), 3)}
        for r in rows
    ]


def growing_pain_points(now: datetime) -> list[dict[str, Any]]:
    """Products whose complaints about an aspect grew: negative mentions in reviews written in the last 7 days
    against the 7 days before, with one quote. One query over at most PAIN_REVIEWS_SCANNED recent reviews."""
    this_week = now - timedelta(days=7)
    rows = (
        ReviewInsight.objects.filter(review__created_at__gte=now - timedelta(days=14), review__created_at__lte=now)
        .exclude(aspects=[])
        .order_by("-review__created_at")
        .values_list("review__product_id", "review__product__title", "review__created_at", "review__text", "aspects")
        [:PAIN_REVIEWS_SCANNED]
    )
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    titles: dict[int, str] = {}
    quotes: dict[tuple[int, str], str] = {}
    for product_id, title, created_at, text, aspects in rows:
        titles[product_id] = title
        recent = created_at >= this_week
        for key in {canonical_aspect(str(a.get("term", ""))) for a in aspects
                    if a.get("polarity") == "negative" and not a.get("wish")}:
            if not key:
                continue
            counts[(product_id, key)][0 if recent else 1] += 1
        if recent:
            for a in aspects:
                key = canonical_aspect(str(a.get("term", "")))
                start, end = int(a.get("start", 0)), int(a.get("end", 0))
                fits = 0 <= start < end <= len(text)
                if a.get("polarity") == "negative" and key and (product_id, key) not in quotes and fits:
                    quotes[(product_id, key)] = sentence_around(text, start, end)
    grown: list[dict[str, Any]] = [
        {"product_id": pid, "product": titles[pid], "aspect": key, "this_week": now_n, "last_week": before,
         "quote": quotes.get((pid, key), "")}
        for (pid, key), (now_n, before) in counts.items() if now_n >= 2 and now_n > before
    ]
    grown.sort(key=lambda g: (g["last_week"] - g["this_week"], -g["this_week"], g["product"]))
    best: dict[int, dict[str, Any]] = {}
    for alert in grown:  # one alert per product: its fastest-growing complaint
        best.setdefault(alert["product_id"], alert)
    return list(best.values())[:PAIN_ALERTS]


def campaign_results() -> list[dict[str, Any]]:
    """Running campaigns, then the latest finished ones, with the primary metric's best lift and the verdict."""
    experiments = list(
        Experiment.objects.select_related("campaign")
        .filter(campaign__status__in=[Campaign.Status.RUNNING, Campaign.Status.FINISHED], started_at__isnull=False)
        .order_by("-campaign__status", "-started_at")[:CAMPAIGNS_SHOWN]  # "running" > "finished": running first
    )
    results = []
    for experiment in experiments:
        metric = experiment.primary_metric
        analysis = analyse(experiment, metric)["metrics"][metric]
        lifts = [(arm["lift_rel"], arm["key"]) for arm in analysis["arms"] if arm.get("lift_rel") is not None]
        best = max(lifts, default=None)
        results.append({
            "campaign_id": experiment.campaign_id, "name": experiment.campaign.name,
            "status": experiment.campaign.get_status_display(), "metric": experiment.get_primary_metric_display(),
            "best_arm": best[1] if best else None, "lift": best[0] if best else None,
            "winner": analysis["verdict"]["winner"], "verdict": analysis["verdict"]["reason"],
        })
    return results


def recommendation_counts() -> dict[str, Any]:
    """Customers with precomputed recommendations and when they were last computed (one aggregate)."""
    row = RecommendationSet.objects.aggregate(customers=Count("pk"), latest=Max("computed_at"))
    return {"customers": row["customers"], "latest": row["latest"].isoformat() if row["latest"] else None}


def recommendations_served(now: datetime) -> dict[str, Any]:
    """Recommendation lists (and their products) served today, in the last 7 days and the 7 before (the trend),
    per day for SERVED_DAYS and per channel this week: one query over at most SERVED_DAYS x channels rows."""
    today = timezone.localdate(now)
    first = today - timedelta(days=SERVED_DAYS - 1)
    lists_by_day: Counter[date] = Counter()
    items_by_day: Counter[date] = Counter()
    week_by_channel: Counter[str] = Counter()
    for day, channel, lists, items in ServedCount.objects.filter(day__gte=first, day__lte=today).values_list(
        "day", "channel", "lists", "items"
    ):
        lists_by_day[day] += lists
        items_by_day[day] += items
        if day > today - timedelta(days=7):
            week_by_channel[channel] += lists
    days = [first + timedelta(days=n) for n in range(SERVED_DAYS)]
    last_7 = sum(lists_by_day[d] for d in days[-7:])
    previous_7 = sum(lists_by_day[d] for d in days[-14:-7])
    labels = dict(ServedCount.Channel.choices)
    return {
        "today": lists_by_day[today],
        "today_items": items_by_day[today],
        "last_7_days": last_7,
        "last_7_days_items": sum(items_by_day[d] for d in days[-7:]),
        "previous_7_days": previous_7,
        "trend": None if not previous_7 else round((last_7 - previous_7) / previous_7, 3),
        "days": [{"day": d.isoformat(), "lists": lists_by_day[d], "items": items_by_day[d]} for d in days],
        "channels": [{"channel": key, "label": str(labels[key]), "lists": n}
                     for key, n in week_by_channel.most_common()],
    }


def job_attention(now: datetime) -> dict[str, Any]:
    """Jobs running or queued, and those that failed in the last 24 hours (with their readable reason)."""
    fields = ("pk", "kind", "status", "progress_done", "progress_total", "error", "created_at", "finished_at")
    active = list(Job.objects.filter(status__in=[JobStatus.RUNNING, JobStatus.QUEUED])
                  .order_by("-created_at").values(*fields)[:JOBS_SHOWN])
    failed = list(Job.objects.filter(status=JobStatus.FAILED, finished_at__gte=now - timedelta(hours=24))
                  .order_by("-finished_at").values(*fields)[:JOBS_SHOWN])
    for job in active + failed:
        job["created_at"] = job["created_at"].isoformat()
        job["finished_at"] = job["finished_at"].isoformat() if job["finished_at"] else None
        job["error"] = (job["error"] or "").splitlines()[0][:200] if job["error"] else ""
    return {"active": active, "failed": failed}


def compute(now: datetime | None = None) -> dict[str, Any]:
    """All the dashboard's figures, uncached."""
    now = now or timezone.now()
    return {
        "computed_at": now.isoformat(),
        "sales": sales_by_week(now),
        "lifecycle": lifecycle_counts(),
        "segments": segment_sizes(),
        "sentiment": sentiment_by_week(now),
        "pain_points": growing_pain_points(now),
        "campaigns": campaign_results(),
        "recommendations": recommendation_counts(),
        "served": recommendations_served(now),
        "jobs": job_attention(now),
    }


def figures(refresh: bool = False) -> dict[str, Any]:
    """The cached figures (CACHE_SECONDS), recomputed when asked or missing."""
    if not refresh:
        cached = cache.get(CACHE_KEY)
        if cached is not None:
            return cached
    data = compute()
    cache.set(CACHE_KEY, data, CACHE_SECONDS)
    return data
