"""The pure engine on hand-made data whose answers can be worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from recommendations.engine.data import DAY, Dataset, build_dataset
from recommendations.engine.fusion import fuse
from recommendations.engine.hybrid import HybridRecommender, default_sources, tune_weights
from recommendations.engine.metrics import catalog_coverage, evaluate, hit_rate_at_k, ndcg_at_k, recall_at_k
from recommendations.engine.queries import UserQuery, query_for
from recommendations.engine.sources import (
    ALS,
    Content,
    CoPurchase,
    ItemItem,
    Popularity,
    Trending,
)
from recommendations.engine.splits import cutoff_split, holdout_split, holdout_windows


def two_tastes(repeat: int = 6) -> Dataset:
    """Users g*_i like items a, b, c; users h*_i like x, y, z. 'g_new' saw a and b, 'h_new' saw x and y."""
    users, items, times = [], [], []
    t = 0.0
    for n in range(repeat):
        for group, catalogue in (("g", "abc"), ("h", "xyz")):
            for item in catalogue:
                users.append(f"{group}{n}")
                items.append(item)
                times.append(t)
                t += 3600
    for user, seen in (("g_new", "ab"), ("h_new", "xy")):
        for item in seen:
            users.append(user)
            items.append(item)
            times.append(t)
            t += 3600
    return build_dataset(users, items, np.array(times))


def test_build_dataset_indexes_sums_and_orders_history() -> None:
    times = np.array(["2024-01-01T00:00", "2024-01-02T00:00", "2024-01-03T00:00", "2024-01-01T12:00"], "datetime64[m]")
    baskets = ["o1", "o1", "o2", "o3"]
    ds = build_dataset([1, 1, 1, 2], ["p", "q", "p", "q"], times, weights=[1, 2, 3, 1], baskets=baskets)
    assert ds.users == ["1", "2"] and ds.items == ["p", "q"]
    assert ds.user_index == {"1": 0, "2": 1} and ds.item_index == {"p": 0, "q": 1}
    assert ds.matrix.toarray().tolist() == [[4.0, 2.0], [0.0, 1.0]]
    epoch = build_dataset([1], ["p"], np.array([1704240000.0]))  # 2024-01-03 in epoch seconds
    assert ds.last_time[0] == epoch.last_time[0]
    assert [(item, weight) for item, _, weight in ds.history(0)] == [(0, 3.0), (1, 2.0), (0, 1.0)]
    assert ds.seen(1) == {1}
    assert ds.row_basket is not None and ds.row_basket.tolist() == [0, 0, 1, 2]
    with pytest.raises(ValueError, match="item_ids"):
        build_dataset(["1"], [], np.array([0.0]))


def test_popularity_counts_distinct_users_and_skips_excluded() -> None:
    ds = build_dataset(["u1", "u1", "u2", "u3", "u3"], ["a", "a", "a", "b", "c"], np.arange(5.0))
    source = Popularity()
    source.fit(ds)
    assert source.candidates(UserQuery(), 3) == [(0, 2.0), (1, 1.0), (2, 1.0)]
    assert source.candidates(UserQuery(exclude={0}), 3) == [(1, 1.0), (2, 1.0)]


def test_trending_prefers_recent_rows() -> None:
    # old: 2 rows 14 days before the newest row (each worth 1/4 with a 7-day half-life); new: 1 row now
    ds = build_dataset(["u1", "u2", "u3"], ["old", "old", "new"], np.array([0.0, 0.0, 14 * DAY]))
    source = Trending(half_life_days=7)
    source.fit(ds)
    ranked = source.candidates(UserQuery(), 2)
    assert [ds.items[i] for i, _ in ranked] == ["new", "old"]
    assert ranked[0][1] == pytest.approx(1.0) and ranked[1][1] == pytest.approx(0.5)


def test_item_item_finds_items_of_the_same_taste() -> None:
    ds = two_tastes()
    source = ItemItem()
    source.fit(ds)
    a, c, x = ds.item_index["a"], ds.item_index["c"], ds.item_index["x"]
    assert {i for i, _ in source.neighbours(a)} == {ds.item_index["b"], c}
    query = query_for(ds, "g_new")
    assert source.candidates(query, 3)[0][0] == c
    assert source.contributions(query, c)[0][0] in {a, ds.item_index["b"]}
    assert x not in {i for i, _ in source.candidates(query, 10)}


def test_co_purchase_is_count_over_root_of_item_counts() -> None:
    # baskets: {A,B} x3, {A,C} x1 -> count A=4, B=3, C=1; AB=3, AC=1
    users, items, baskets = [], [], []
    for n, pair in enumerate(["AB", "AB", "AB", "AC"]):
        for item in pair:
            users.append(f"u{n}")
            items.append(item)
            baskets.append(f"o{n}")
    ds = build_dataset(users, items, np.zeros(len(users)), baskets=baskets)
    source = CoPurchase()
    source.fit(ds)
    a, b, c = (ds.item_index[i] for i in "ABC")
    neighbours = source.neighbours(a)
    assert [i for i, _ in neighbours] == [b, c]
    assert neighbours[0][1] == pytest.approx(3 / math.sqrt(12), rel=1e-5)
    assert neighbours[1][1] == pytest.approx(1 / math.sqrt(4), rel=1e-5)
    assert source.candidates(UserQuery(history=[(c, 0.0, 1.0)], exclude={c}), 5) == [(a, pytest.approx(0.5))]


def test_co_purchase_without_baskets_groups_by_user() -> None:
    ds = build_dataset(["u1", "u1", "u2"], ["A", "B", "C"], np.array([0.0, 5 * DAY, 0.0]))
    source = CoPurchase()
    source.fit(ds)
    assert [ds.items[i] for i, _ in source.neighbours(ds.item_index["A"])] == ["B"]


def test_als_ranks_the_missing_item_of_the_users_taste_and_folds_in_new_users() -> None:
    ds = two_tastes()
    source = ALS(factors=4, iterations=20, regularization=0.01, seed=7)
    source.fit(ds)
    query = query_for(ds, "g_new")
    assert source.candidates(query, 1)[0][0] == ds.item_index["c"]
    unseen = UserQuery(user_index=None, history=[(ds.item_index["x"], 0.0, 1.0), (ds.item_index["y"], 0.0, 1.0)])
    unseen.exclude = {ds.item_index["x"], ds.item_index["y"]}
    assert source.candidates(unseen, 1)[0][0] == ds.item_index["z"]
    assert source.candidates(UserQuery(), 3) == []  # nothing known: no opinion (popularity takes over)


def test_content_uses_the_recency_weighted_mean_of_history_vectors() -> None:
    ds = build_dataset(["u", "u", "v", "v"], ["red", "blue", "crimson", "navy"], np.array([0.0, 30 * DAY, 0, 0]))
    vectors = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.1, 0.9]], dtype=np.float32)
    source = Content(half_life_days=1)
    source.fit(ds, vectors)
    query = query_for(ds, "u")  # blue is recent, red 30 half-lives old
    assert [ds.items[i] for i, _ in source.candidates(query, 2)] == ["navy", "crimson"]
    assert source.neighbours(ds.item_index["red"], 1)[0][0] == ds.item_index["crimson"]
    with pytest.raises(ValueError, match="rows"):
        source.fit(ds, vectors[:2])


def test_fuse_is_weighted_reciprocal_rank() -> None:
    fused = fuse({"a": [1, 2], "b": [2, 3], "c": [9]}, {"a": 1, "b": 2, "c": 0}, k=60)
    assert [item for item, _, _ in fused] == [2, 3, 1]
    assert fused[0][1] == pytest.approx(1 / 62 + 2 / 61)
    assert fused[1][1] == pytest.approx(2 / 62)
    assert fused[2][1] == pytest.approx(1 / 61)
    assert fused[0][2] == {"a": 2, "b": 1}
    assert fuse({"a": [5, 4]}, None, k=1) == [(5, 0.5, {"a": 1}), (4, 1 / 3, {"a": 2})]


def test_metrics_against_hand_computed_values() -> None:
    ranked = ["a", "b", "c", "d"]
    relevant = {"b", "d", "e"}
    assert recall_at_k(ranked, relevant, 3) == pytest.approx(1 / 3)
    assert hit_rate_at_k(ranked, relevant, 3) == 1.0
    assert hit_rate_at_k(ranked, relevant, 1) == 0.0
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx((1 / math.log2(3)) / ideal)
    assert ndcg_at_k(ranked, relevant, 4) == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert recall_at_k(ranked, set(), 3) == 0.0
    assert catalog_coverage([["a", "b"], ["b", "c"]], 10, 2) == pytest.approx(0.3)
    summary = evaluate({"u1": ["a"], "u2": ["x"]}, {"u1": {"a"}, "u2": {"y"}, "u3": {"z"}}, 1, 4)
    assert summary["recall@1"] == pytest.approx(1 / 3) and summary["users"] == 3  # u3 had no ranking: zeros


def test_hybrid_save_load_round_trip(tmp_path: Path) -> None:
    ds = two_tastes()
    vectors = np.random.default_rng(0).normal(size=(ds.n_items, 8)).astype(np.float32)
    model = HybridRecommender(default_sources(seed=3), weights={"trending": 2.0}).fit(ds, vectors)
    model.save(tmp_path / "v1")
    loaded = HybridRecommender.load(tmp_path / "v1")
    assert loaded.weights == model.weights and loaded.items == model.items and loaded.users == model.users
    for user in ("g_new", "h_new", "g0"):
        query = query_for(ds, user)
        assert loaded.recommend(query, 5) == model.recommend(query, 5)
        assert loaded.per_source(query, 5) == model.per_source(query, 5)
    cold = UserQuery(history=[(ds.item_index["x"], 0.0, 1.0)], exclude={ds.item_index["x"]})
    assert [i for i, _, _ in loaded.recommend(cold, 2)] == [i for i, _, _ in model.recommend(cold, 2)]
    np.load(tmp_path / "v1" / "arrays.npz", allow_pickle=False).close()  # numpy arrays only, no pickles
    assert loaded.source("co_purchase").neighbours(0) == model.source("co_purchase").neighbours(0)


def test_splits_and_coarse_tuning() -> None:
    times = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) * DAY
    users = ["u1"] * 5 + ["u2"] * 5
    items = ["a", "b", "c", "a", "d", "a", "b", "e", "f", "g"]
    ds = build_dataset(users, items, times)
    split = cutoff_split(ds, 3 * DAY)  # u1 before: a b c, after: a d -> {d}; u2 only after: not evaluated
    assert split.targets == {"u1": {"d"}} and split.train.n_items == 3
    per_user = holdout_split(ds, 0.4)  # last 2 rows of each user
    assert per_user.targets == {"u1": {"d"}, "u2": {"f", "g"}}
    assert per_user.train.row_time.size == 6
    windows = holdout_windows(two_tastes(), 0.34, 2)
    assert len(windows) == 2
    result = tune_weights(windows, lambda: HybridRecommender(default_sources(with_content=False)), k=3)
    assert set(result.weights.values()) <= {0.0, 0.5, 1.0, 2.0}
    assert len(result.default_scores) == len(result.chosen_scores) == 2
    assert np.mean(result.chosen_scores) >= np.mean(result.default_scores)
