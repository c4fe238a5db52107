"""Admin lists over tables of millions of rows: counts the database can afford.

Django's admin counts a list with `SELECT COUNT(*)` (twice, with `show_full_result_count`): at a million
customers or ten million events that is a scan of the table on every page view. `EstimatedCountPaginator`
asks PostgreSQL's planner first (`pg_class.reltuples` for a whole table, the `EXPLAIN` row estimate for a
filtered one) and counts exactly only when the answer is small, and then at most `ADMIN_EXACT_COUNT_LIMIT`
rows, so a page costs the same whatever the table's size. The list then says "about 1.2 million customers".
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


def about(number: int) -> str:
    """A rounded count for people: "about 1.2 million", "about 340 thousand"."""
    if number >= 1_000_000:
        return f"about {number / 1_000_000:.1f}".rstrip("0").rstrip(".") + " million"
    if number >= 10_000:
        return f"about {round(number / 1000):,} thousand"
    return f"about {round(number, -2 if number >= 1000 else -1):,}"


def table_estimate(queryset: QuerySet[Any]) -> int | None:
    """Rows of the queryset's table as of the last ANALYZE (None when it was never analysed)."""
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


def planner_estimate(queryset: QuerySet[Any]) -> int:
    """The planner's row estimate for the queryset (its plan, not its rows: no scan)."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def estimated_count(queryset: QuerySet[Any], limit: int) -> tuple[int, bool]:
    """(count, whether it is an estimate): exact when the table or filter holds at most `limit` rows."""
    unfiltered = not queryset.query.where and not queryset.query.distinct
    estimate = table_estimate(queryset) if unfiltered else None
    if estimate is None:
        estimate = planner_estimate(queryset)
    if estimate <= limit:
        exact = queryset.order_by()[: limit + 1].count()  # bounded: never more than limit + 1 rows read
        if exact <= limit:
            return exact, False
    return max(estimate, limit + 1), True


class EstimatedCountPaginator(Paginator):
    """A paginator whose count is the planner's estimate on large lists (`estimated` says which)."""

    estimated = False

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().count
        number, self.estimated = estimated_count(self.object_list, settings.ADMIN_EXACT_COUNT_LIMIT)
        return number

    @property
    def count_text(self) -> str:
        """The count as the list shows it: exact, or rounded with "about"."""
        return about(self.count) if self.estimated else f"{self.count:,}"


class LargeListAdmin:
    """Mix into a ModelAdmin of a big table (before `admin.ModelAdmin`): estimated counts, no second COUNT(*)
    of the whole table, and "about 1.2 million" in the list's footer (`templates/admin/pagination.html`)."""

    paginator: ClassVar[type] = EstimatedCountPaginator
    show_full_result_count: ClassVar[bool] = False
