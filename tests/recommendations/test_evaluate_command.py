"""`manage.py evaluate_recommendations` on tiny files written here, with metrics worked out by hand."""

from __future__ import annotations

import gzip
import json
import math
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

# Before the cutoff (2024-01-10): u1 A B, u2 A C, u3 A B, u4 D.  After: u1 C (new) and A (seen: not a
# test item), u2 B and E (E unknown to the model, still counted), u5 A (no history: not evaluated), and a
# row without a user (skipped). Popularity before the cutoff: A 3, B 2, C 1, D 1 (C before D: first seen).
# Top 2 with each user's own items excluded: u1 -> [C, D] (recall 1, ndcg 1); u2 -> [B, D] (recall 1/2,
# ndcg 1 / (1 + 1/log2 3)). Means: recall 0.75, ndcg (1 + 1/(1 + 1/log2 3)) / 2, hit rate 1; coverage
# {B, C, D} of the 4 training items = 0.75.
RETAIL_LIKE = """InvoiceNo,StockCode,Description,InvoiceDate,CustomerID
1,A,white mug,05/01/2024 09:00,u1
1,B,blue mug,05/01/2024 09:00,u1
2,A,white mug,05/01/2024 10:00,u2
2,C,tea pot,05/01/2024 10:00,u2
3,A,white mug,09/01/2024 11:00,u3
3,B,blue mug,09/01/2024 11:00,u3
4,D,garden hose,09/01/2024 12:00,u4
5,C,tea pot,11/01/2024 09:00,u1
5,A,white mug,11/01/2024 09:00,u1
6,B,blue mug,13/01/2024 09:00,u2
6,E,tea cup,13/01/2024 09:00,u2
7,A,white mug,13/01/2024 10:00,u5
8,A,white mug,13/01/2024 10:00,
"""
BASE = ["--user-column", "CustomerID", "--item-column", "StockCode", "--time-column", "InvoiceDate"]


def run(path: Path, *extra: str) -> tuple[dict[str, Any], str]:
    out, err = StringIO(), StringIO()
    call_command("evaluate_recommendations", "--interactions", str(path), *extra, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


@pytest.fixture
def retail_csv(tmp_path: Path) -> Path:
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL_LIKE)
    return path


def test_popularity_matches_the_hand_computed_figures(retail_csv: Path) -> None:
    result, err = run(retail_csv, *BASE, "--cutoff", "2024-01-10", "--k", "2", "--format", "json")
    popularity = result["popularity"]
    assert popularity["users"] == 2
    assert popularity["recall@2"] == pytest.approx(0.75)
    assert popularity["ndcg@2"] == pytest.approx((1 + 1 / (1 + 1 / math.log2(3))) / 2)
    assert popularity["hit_rate@2"] == pytest.approx(1.0)
    assert popularity["coverage"] == pytest.approx(0.75)
    assert {"popularity", "trending", "als", "item_item", "co_purchase", "hybrid"} <= set(result)
    assert "content" not in result  # no text column given
    for metrics in result.values():
        assert 0 <= metrics["recall@2"] <= 1 and metrics["users"] == 2
    assert "1 empty user" in err


def test_readable_table_gzip_baskets_and_excluded_codes(tmp_path: Path, retail_csv: Path) -> None:
    packed = tmp_path / "retail.csv.gz"
    packed.write_bytes(gzip.compress(retail_csv.read_bytes()))
    out, err = StringIO(), StringIO()
    call_command(
        "evaluate_recommendations", "--interactions", str(packed), *BASE, "--cutoff", "2024-01-10", "--k", "2",
        "--basket-column", "InvoiceNo", "--exclude-items", "D", stdout=out, stderr=err,
    )
    text = out.getvalue()
    assert "recall@2" in text and "hybrid" in text and "popularity" in text
    assert "excluded item" in err.getvalue()
    # without D the training items are A B C: u1 (saw A B) is offered C, u2 (saw A C) is offered B
    result, _ = run(packed, *BASE, "--cutoff", "2024-01-10", "--k", "2", "--exclude-items", "D", "--format", "json")
    assert result["popularity"]["coverage"] == pytest.approx(2 / 3)  # B and C of the 3 training items A B C


def test_weight_column_drops_cancellations(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text(
        "user,item,time,qty\nu1,A,2024-01-01,1\nu1,B,2024-01-01,-1\nu2,B,2024-01-01,2\nu1,C,2024-01-05,1\n"
        "u2,A,2024-01-05,1\n"
    )
    result, err = run(path, "--user-column", "user", "--item-column", "item", "--time-column", "time",
                      "--weight-column", "qty", "--cutoff", "2024-01-03", "--k", "1", "--format", "json")
    assert "1 weight <= 0" in err
    # u1 knows only A (B was cancelled): popularity offers B, u1 bought C -> miss; u2 gets A -> hit
    assert result["popularity"]["recall@1"] == pytest.approx(0.5)


def test_per_user_holdout_and_epoch_times(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    rows = ["userId,movieId,rating,timestamp"]
    for user, movies in {"1": "abcd", "2": "abce", "3": "ab"}.items():
        rows += [f"{user},{m},4.0,{1_000_000_000 + n * 100}" for n, m in enumerate(movies)]
    path.write_text("\n".join(rows) + "\n")
    result, _ = run(path, "--user-column", "userId", "--item-column", "movieId", "--time-column", "timestamp",
                    "--holdout-fraction", "0.25", "--k", "1", "--format", "json")
    # test items: user 1 -> d, user 2 -> e, user 3 -> b. Popularity over the train rows (a 3, b 2, c 2):
    # user 1 and 2 saw a b c -> nothing left to offer; user 3 saw a -> b (hit). Recall (0 + 0 + 1) / 3.
    assert result["popularity"]["users"] == 3
    assert result["popularity"]["recall@1"] == pytest.approx(1 / 3)


def test_missing_column_is_a_clear_error(retail_csv: Path) -> None:
    with pytest.raises(CommandError, match="no column 'Customer'"):
        run(retail_csv, "--user-column", "Customer", "--item-column", "StockCode", "--time-column", "InvoiceDate",
            "--cutoff", "2024-01-10")


def test_unparsable_date_names_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("u,i,t\na,x,2024-01-01\nb,y,yesterday\n")
    with pytest.raises(CommandError, match=r"line 3: t='yesterday' is not a date"):
        run(path, "--user-column", "u", "--item-column", "i", "--time-column", "t", "--cutoff", "2024-01-02")


def test_no_user_on_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "apart.csv"
    path.write_text("u,i,t\na,x,2024-01-01\nb,y,2024-02-01\n")
    with pytest.raises(CommandError, match="no user has rows on both sides"):
        run(path, "--user-column", "u", "--item-column", "i", "--time-column", "t", "--cutoff", "2024-01-15")
    with pytest.raises(CommandError, match="no rows before"):
        run(path, "--user-column", "u", "--item-column", "i", "--time-column", "t", "--cutoff", "2023-01-01")
    with pytest.raises(CommandError, match="cutoff 'soon'"):
        run(path, "--user-column", "u", "--item-column", "i", "--time-column", "t", "--cutoff", "soon")


@pytest.mark.slow
def test_content_source_with_the_real_embedder(retail_csv: Path) -> None:
    result, err = run(retail_csv, *BASE, "--cutoff", "2024-01-10", "--k", "2", "--item-text-column", "Description",
                      "--format", "json")
    assert "embedded 4 item texts" in err
    # u1 saw white and blue mugs: content offers the closest unseen texts among tea pot / garden hose
    assert result["content"]["users"] == 2 and 0 <= result["content"]["recall@2"] <= 1
