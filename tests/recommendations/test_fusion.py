"""Fusing the sources: RRF order, per-user normalisation and its edge cases, score fusion with a missing source,
the shrunk weight search, and the product's ranker using the chosen fusion (`engine.fusion.DEFAULT_FUSION`)
end to end, with older versions still fused as they were trained."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from recommendations.engine.data import build_dataset
from recommendations.engine.fusion import (
    DEFAULT_FUSION,
    RRF_60,
    FusionMethod,
    fuse,
    normalise,
    score_fuse,
    shrink_weights,
)
from recommendations.engine.hybrid import HybridRecommender, default_sources
from recommendations.engine.queries import query_for
from recommendations.ranking import Ranker, recommend_for_customer
from recommendations.ranking import fuse as live_fuse
from recommendations.serving import forget_loaded_model

from .conftest import NOW, Shop

# --- reciprocal rank ----------------------------------------------------------------------------------


def test_rrf_orders_by_summed_reciprocal_ranks() -> None:
    # 2: 1/62 + 1/61, 3: 1/63 + 1/62, 1: 1/61 only
    fused = fuse({"a": [1, 2, 3], "b": [2, 3]})
    assert [item for item, _, _ in fused] == [2, 3, 1]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    # k sets how much the head counts: with k=1 a's first item (1/2) beats 4, which both list 4th (2/5); with a
    # large k agreement wins (2/1004 > 1/1001)
    lists = {"a": [1, 2, 3, 4], "b": [5, 6, 7, 4]}
    assert next(item for item, _, _ in fuse(lists, k=1)) == 1
    assert next(item for item, _, _ in fuse(lists, k=1000)) == 4
    fused, shares = RRF_60.apply({"a": [(1, 9.0), (2, 8.0)], "b": [(2, 0.1)]})
    assert shares[2] == {"a": pytest.approx(1 / 62), "b": pytest.approx(1 / 61)}
    assert sum(shares[2].values()) == pytest.approx(dict((i, s) for i, s, _ in fused)[2])


# --- normalisation ----------------------------------------------------------------------------------------


def test_normalise_min_max_z_and_rank() -> None:
    assert normalise([10.0, 5.0, 0.0], "minmax") == ([1.0, 0.5, 0.0], 0.0)
    z, floor = normalise([3.0, 1.0], "z")
    assert z == [1.0, -1.0] and floor == -1.0
    assert normalise([0.9, 0.5, 0.5, 0.1], "rank") == ([1.0, 0.75, 0.75, 0.25], 0.0)  # ties share the best rank
    # scores on wildly different scales land on the same scale
    assert normalise([1000.0, 500.0, 0.0], "minmax")[0] == normalise([0.2, 0.1, 0.0], "minmax")[0]


@pytest.mark.parametrize(("method", "one", "flat"), [
    ("minmax", [1.0], [1.0, 1.0, 1.0]),  # the only (or every) item is the source's best
    ("z", [0.0], [0.0, 0.0, 0.0]),  # no spread, no information
    ("rank", [1.0], [1.0, 1.0, 1.0]),
])
def test_normalise_one_item_and_all_equal(method: str, one: list[float], flat: list[float]) -> None:
    assert normalise([42.0], method)[0] == one
    assert normalise([3.0, 3.0, 3.0], method)[0] == flat
    assert normalise([], method) == ([], 0.0)
    values, _ = normalise([2.0, math.nan, -math.inf], method)  # non-finite scores count as the lowest
    assert all(math.isfinite(v) for v in values) and values[1] == values[2]


def test_normalise_refuses_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="normalisation 'softmax'"):
        normalise([1.0], "softmax")
    with pytest.raises(ValueError, match="expected 'score' or 'rrf'"):
        FusionMethod("borda")


# --- score fusion ------------------------------------------------------------------------------------------


def test_score_fusion_with_a_source_missing_an_item() -> None:
    a = [(1, 10.0), (2, 0.0)]
    b = [(2, 5.0), (3, 1.0)]
    # min-max: 1 -> 1 + 0 (b did not list it), 2 -> 0 + 1, 3 -> 0 + 0; ties go to the smaller item
    fused = score_fuse({"a": a, "b": b}, normalisation="minmax")
    assert [(item, score) for item, score, _ in fused] == [(1, 1.0), (2, 1.0), (3, 0.0)]
    assert fused[0][2] == {"a": 1}  # ranks name only the sources that listed the item
    assert [item for item, _, _ in score_fuse({"a": a, "b": b}, {"a": 1.0, "b": 2.0})] == [2, 1, 3]
    # z: an unlisted item takes the source's lowest z, never a neutral 0 above the listed ones
    fused = score_fuse({"a": a, "b": b}, normalisation="z")
    assert dict((i, s) for i, s, _ in fused) == {1: 0.0, 2: 0.0, 3: -2.0}


def test_score_fusion_ignores_empty_and_zero_weight_sources() -> None:
    lists = {"a": [(1, 3.0), (2, 1.0)], "empty": [], "off": [(2, 100.0)]}
    fused = score_fuse(lists, {"a": 1.0, "off": 0.0}, normalisation="rank")
    assert [(item, score) for item, score, _ in fused] == [(1, 1.0), (2, 0.5)]
    assert score_fuse({}) == []


def test_fusion_labels_round_trip_and_legacy_is_rrf() -> None:
    for method in (DEFAULT_FUSION, RRF_60, FusionMethod("score", "z"), FusionMethod("rrf", k=10)):
        assert FusionMethod.parse(method.label) == method
    assert DEFAULT_FUSION.label == "score:rank"
    assert FusionMethod.parse(None) == FusionMethod.parse("") == RRF_60


# --- shrunk weight search ---------------------------------------------------------------------------------


def test_shrunk_search_is_equal_weights_when_validation_is_tiny() -> None:
    searched = {"als": 2.0, "popularity": 0.0, "content": 0.5}
    assert shrink_weights(searched, 0) == {"als": 1.0, "popularity": 1.0, "content": 1.0}
    assert shrink_weights(searched, 12) == {"als": 1.0, "popularity": 1.0, "content": 1.0}
    half = shrink_weights(searched, 200)  # n / (n + 200) = 1/2
    assert half == {"als": 1.5, "popularity": 0.5, "content": 0.75}
    large = shrink_weights(searched, 200_000)
    assert large["als"] == pytest.approx(2.0, abs=0.01) and large["popularity"] == pytest.approx(0.0, abs=0.01)


# --- the engine and the product use the chosen fusion -------------------------------------------------------


def _two_tastes() -> tuple[list[str], list[str], np.ndarray]:
    users, items = [], []
    for u in range(12):
        taste = ["a", "b", "c", "d"] if u % 2 else ["w", "x", "y", "z"]
        for i in taste[: 2 + u % 3]:
            users.append(f"u{u}")
            items.append(i)
    return users, items, np.arange(len(users), dtype=np.float64) * 3600.0


def test_engine_recommends_with_the_chosen_fusion_and_stores_it(tmp_path: Path) -> None:
    users, items, times = _two_tastes()
    ds = build_dataset(users, items, times)
    model = HybridRecommender(default_sources(with_content=False, seed=1)).fit(ds)
    assert model.fusion == DEFAULT_FUSION and set(model.weights.values()) == {1.0}
    query = query_for(ds, "u1")
    lists = model.per_source(query)
    expected, _ = DEFAULT_FUSION.apply(lists, model.weights)
    assert model.recommend(query, 3) == expected[:3]
    model.save(tmp_path / "v2")
    assert json.loads((tmp_path / "v2" / "model.json").read_text())["fusion"] == "score:rank"
    assert HybridRecommender.load(tmp_path / "v2").fusion == DEFAULT_FUSION
    # a folder saved before the fusion was stored loads as what it was: reciprocal rank with its k
    meta = json.loads((tmp_path / "v2" / "model.json").read_text())
    del meta["fusion"]
    meta["rrf_k"] = 30
    (tmp_path / "v2" / "model.json").write_text(json.dumps(meta))
    legacy = HybridRecommender.load(tmp_path / "v2")
    assert legacy.fusion == FusionMethod("rrf", k=30.0)
    rrf, _ = legacy.fusion.apply(legacy.per_source(query), legacy.weights)
    assert legacy.recommend(query, 3) == rrf[:3]


def test_live_ranker_uses_the_version_fusion_end_to_end(trained_shop: Shop) -> None:
    version = trained_shop.extra["version"]
    assert version.params["fusion"] == "score:rank"
    assert json.loads((Path(version.path) / "serving.json").read_text())["fusion"] == "score:rank"
    ranker = Ranker.active()
    assert ranker.fusion == DEFAULT_FUSION
    alice = trained_shop.customers["alice"].pk
    result = ranker.recommend([alice], k=5, exclude_purchased=False, now=NOW)[alice]
    assert result.items
    for item in result.items:
        # the score is the rank-normalised fusion of the ranks each source gave the product...
        assert 0 < item.score <= sum(ranker.weights[s] for s in item.sources) + 1e-9
        # ...and the reason names the source with the largest share (or one tried after it found nothing to say)
        assert item.reason_source in item.sources or item.reason_source == ""
    # the reasons' source is the top share when that source can speak: popularity and trending always can
    fused, _ranks, shares = live_fuse({"popularity": [7, 8], "trending": [8, 7]}, {"popularity": 1.0, "trending": 3.0})
    assert [pid for pid, _ in fused] == [8, 7] and max(shares[8], key=lambda s: shares[8][s]) == "trending"


def test_a_version_trained_before_the_fusion_was_stored_keeps_reciprocal_rank(trained_shop: Shop) -> None:
    version = trained_shop.extra["version"]
    serving_json = Path(version.path) / "serving.json"
    meta = json.loads(serving_json.read_text())
    del meta["fusion"]
    serving_json.write_text(json.dumps(meta))
    forget_loaded_model()
    assert Ranker.active().fusion == RRF_60
    result = recommend_for_customer(trained_shop.customers["alice"], k=5, now=NOW)
    assert result.items and all(item.score < 1.0 for item in result.items)  # RRF scores: sums of w / (60 + rank)


# --- the evaluation's summary (no data needed) --------------------------------------------------------------


def test_evaluation_summary_counts_wins_across_windows_not_on_one() -> None:
    from evaluation.fusion import FUSIONS, _bootstrap, summary

    rng = np.random.default_rng(0)
    same = _bootstrap(np.array([0.5, 0.0, 1.0]), np.array([0.5, 0.0, 1.0]), rng)
    assert same["ratio"] == 1.0 and same["ratio_low"] == same["ratio_high"] == 1.0
    assert same["low"] <= same["mean"] <= same["high"]

    def window(best: str, big: float) -> dict[str, object]:
        methods = {name: {"recall": {"mean": 0.1, "ratio": 1.0}, "ndcg": {"mean": 0.1}}
                   for name in ("popularity", *FUSIONS)}
        methods[best] = {"recall": {"mean": 0.1 * big, "ratio": big}, "ndcg": {"mean": 0.1}}
        return {"methods": methods}

    # rrf:60 wins one window by a mile, score:rank two by a little: wins decide, not one window's size
    rows = summary([window("rrf:60", 5.0), window("score:rank", 1.1), window("score:rank", 1.1)])
    assert rows["score:rank"]["wins"] == 2 and rows["rrf:60"]["wins"] == 1
    assert rows["rrf:60"]["mean_ratio"] > rows["score:rank"]["mean_ratio"]
    assert rows["score:rank"]["beats_popularity"] == 2 and rows["popularity"]["beats_popularity"] == 0
