"""What each arm of an experiment achieved: attributed exposures, opens, clicks and purchases, in total
(`arm_outcomes`) and day by day for the charts (`outcomes_over_time`). Set-based SQL: one aggregate query
each, whatever the number of customers.

Attribution, all within the customer's window [assigned_at, assigned_at + campaign.attribution_days),
with `until` as an optional cut-off:
- exposed / opened / clicked: EXPOSURE / OPEN / CLICK events tagged `attributes.campaign == campaign id`
  (they answer this campaign's message; an untagged click on the site is not about the message);
- converted: any PURCHASE (tagged or not), revenue = the sum of their values. Counting untagged purchases is
  what makes the holdout comparison measure the message's incremental effect.
Rates use everyone assigned as denominator (intention to treat: a failed send stays in its arm, so arms
remain comparable).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from customers.models import Event, EventType

from . import experiment_stats as st
from .experiments import METRICS, ExperimentError
from .models import Arm, Assignment, Campaign, Experiment

OUTCOME_OF_METRIC = {"open": "opened", "click": "clicked", "conversion": "converted"}

_TAGGED = "e.attributes->>'campaign' = %(campaign)s"
_KIND_SQL = {
    "exposed": f"e.type = %(exposure)s AND {_TAGGED}",
    "opened": f"e.type = %(open)s AND {_TAGGED}",
    "clicked": f"e.type = %(click)s AND {_TAGGED}",
    "converted": "e.type = %(purchase)s",
}


def window_params(experiment: Experiment, until: datetime | None) -> dict[str, Any]:
    campaign = Campaign.objects.only("attribution_days").get(pk=experiment.campaign_id)
    return {
        "experiment": experiment.pk,
        "campaign": str(experiment.campaign_id),
        "days": int(campaign.attribution_days),
        "until": until,
        "exposure": EventType.EXPOSURE,
        "open": EventType.OPEN,
        "click": EventType.CLICK,
        "purchase": EventType.PURCHASE,
        "tz": settings.TIME_ZONE,
    }


def window_sql(until: datetime | None) -> str:
    """Events of the assignment's customer inside its attribution window (and before `until`)."""
    sql = (
        "e.customer_id = a.customer_id AND e.occurred_at >= a.assigned_at"
        " AND e.occurred_at < a.assigned_at + make_interval(days => %(days)s)"
        " AND e.type IN (%(exposure)s, %(open)s, %(click)s, %(purchase)s)"
    )
    return sql + (" AND e.occurred_at <= %(until)s" if until is not None else "")


def _assignments_sql(until: datetime | None) -> str:
    return "a.experiment_id = %(experiment)s" + (" AND a.assigned_at <= %(until)s" if until is not None else "")


def arm_outcomes(experiment: Experiment, until: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per arm key (every arm, in key order): assigned, exposed, opened, clicked, converted (customers) and
    revenue (float), attributed as the module docstring says. One aggregate query."""
    firsts = ", ".join(f"bool_or({cond}) AS {name}" for name, cond in _KIND_SQL.items())
    sql = f"""
        SELECT a.arm_id, COUNT(*) AS assigned,
               COUNT(*) FILTER (WHERE f.exposed), COUNT(*) FILTER (WHERE f.opened),
               COUNT(*) FILTER (WHERE f.clicked), COUNT(*) FILTER (WHERE f.converted),
               COALESCE(SUM(f.revenue), 0)
        FROM {Assignment._meta.db_table} a
        LEFT JOIN LATERAL (
            SELECT {firsts}, SUM(e.value) FILTER (WHERE {_KIND_SQL["converted"]}) AS revenue
            FROM {Event._meta.db_table} e WHERE {window_sql(until)}
        ) f ON TRUE
        WHERE {_assignments_sql(until)}
        GROUP BY a.arm_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, window_params(experiment, until))
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    outcomes: dict[str, dict[str, Any]] = {}
    for arm in Arm.objects.filter(experiment=experiment).order_by("key"):
        assigned, exposed, opened, clicked, converted, revenue = rows.get(arm.pk, (0, 0, 0, 0, 0, 0))
        outcomes[arm.key] = {
            "arm_id": arm.pk,
            "assigned": assigned,
            "exposed": exposed,
            "opened": opened,
            "clicked": clicked,
            "converted": converted,
            "revenue": float(revenue),
        }
    return outcomes


def json_number(value: float | None) -> float | None:
    """nan (undefined) becomes None, so the result is plain JSON."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ExperimentError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    return metric


def outcomes_over_time(experiment: Experiment, metric: str, until: datetime | None = None) -> dict[str, Any]:
    """Cumulative rate per arm per day (TIME_ZONE days) with Wilson intervals, for charts.

    {"metric", "days": [iso dates], "arms": [{"key", "is_control", "is_holdout", "points": [{"date",
    "assigned", "successes", "rate", "low", "high"}]}]}; a day's point counts everyone assigned by its end and
    their first success by its end. Rates are None before anyone is assigned. One aggregate query.
    """
    outcome = OUTCOME_OF_METRIC[check_metric(metric)]
    sql = f"""
        WITH per AS (
            SELECT a.arm_id, a.assigned_at, f.first_at
            FROM {Assignment._meta.db_table} a
            LEFT JOIN LATERAL (
                SELECT MIN(e.occurred_at) AS first_at FROM {Event._meta.db_table} e
                WHERE {window_sql(until)} AND {_KIND_SQL[outcome]}
            ) f ON TRUE
            WHERE {_assignments_sql(until)}
        )
        SELECT arm_id, day, SUM(assigned), SUM(successes) FROM (
            SELECT arm_id, (assigned_at AT TIME ZONE %(tz)s)::date AS day, 1 AS assigned, 0 AS successes FROM per
            UNION ALL
            SELECT arm_id, (first_at AT TIME ZONE %(tz)s)::date, 0, 1 FROM per WHERE first_at IS NOT NULL
        ) x GROUP BY arm_id, day ORDER BY day
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, window_params(experiment, until))
        rows: list[tuple[int, date, int, int]] = cursor.fetchall()
    arms = list(Arm.objects.filter(experiment=experiment).order_by("key"))
    if not rows:
        return {"metric": metric, "days": [], "arms": [_chart_arm(arm, []) for arm in arms]}
    first, last = rows[0][1], rows[-1][1]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    daily: dict[tuple[int, date], tuple[int, int]] = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}
    series = []
    for arm in arms:
        assigned = successes = 0
        points = []
        for day in days:
            add_n, add_s = daily.get((arm.pk, day), (0, 0))
            assigned, successes = assigned + add_n, successes + add_s
            low, high = st.wilson_interval(successes, assigned)
            points.append(
                {
                    "date": day.isoformat(),
                    "assigned": assigned,
                    "successes": successes,
                    "rate": json_number(st.rate(successes, assigned)),
                    "low": json_number(low),
                    "high": json_number(high),
                }
            )
        series.append(_chart_arm(arm, points))
    return {"metric": metric, "days": [d.isoformat() for d in days], "arms": series}


def _chart_arm(arm: Arm, points: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": arm.key, "is_control": arm.is_control, "is_holdout": arm.is_holdout, "points": points}



def customer_conversions(experiment: Experiment) -> list[tuple[int, int, bool]]:
    """(customer id, arm id, converted) of everyone assigned, attributed as `arm_outcomes` counts them (any
    purchase inside the customer's attribution window); one query. The rows an uplift model learns from."""
    sql = f"""
        SELECT a.customer_id, a.arm_id, EXISTS (
            SELECT 1 FROM {Event._meta.db_table} e WHERE {window_sql(None)} AND {_KIND_SQL["converted"]}
        )
        FROM {Assignment._meta.db_table} a WHERE {_assignments_sql(None)} ORDER BY a.customer_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, window_params(experiment, None))
        return [(int(c), int(a), bool(v)) for c, a, v in cursor.fetchall()]
