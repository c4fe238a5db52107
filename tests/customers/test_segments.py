"""Behavioural segments: three clear groups of customers are found, labelled by what sets them apart,
sized, recorded as a model version, and keep their keys across rebuilds."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.models import ModelRole, ModelVersion
from customers import profiles, segments
from customers.models import CustomerProfile, Segment
from tests.catalog.builders import product
from tests.customers.builders import NOW, customer, event, purchase
from tests.vectors import fake_embed

pytestmark = pytest.mark.django_db

GROUPS = [
    ("Home > Kitchen > Mugs", "Stoneware coffee mug"),
    ("Sports > Running > Shoes", "Trail running shoe"),
    ("Electronics > Audio > Headphones", "Wireless headphones"),
]


def _direction(group: int, jitter: int) -> np.ndarray:
    rng = np.random.default_rng(1000 * group + jitter)
    vector = np.zeros(384, dtype=np.float32)
    vector[group * 10 : group * 10 + 10] = 1.0
    vector += rng.normal(scale=0.15, size=384).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _shop(per_group: int = 12, groups: int = 3) -> list[list[int]]:
    members: list[list[int]] = []
    for g in range(groups):
        category, title = GROUPS[g]
        items = [product(embedding=_direction(g, j), category=category, title=f"{title} {j}") for j in range(4)]
        ids = []
        for i in range(per_group):
            who = customer()
            for j, item in enumerate(items[: 2 + i % 3]):
                event(who, "view", product=item, days_ago=i + j)
            purchase(who, items[i % 4], days_ago=i, order_id=f"o-{who.pk}")
            ids.append(who.pk)
        members.append(ids)
    return members


def test_clusters_are_labelled_sized_and_recorded() -> None:
    members = _shop()
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    result = segments.rebuild_segments(now=NOW)
    assert result["segments"] == 3
    found = list(Segment.objects.filter(kind=Segment.Kind.BEHAVIOURAL, is_active=True))
    assert sorted(s.size for s in found) == [12, 12, 12]
    names = {s.name for s in found}
    assert len(names) == 3
    for s in found:
        leaf = s.top_categories[0][0]
        assert leaf in {g[0] for g in GROUPS}  # the deepest, most distinctive level wins
        assert s.name.startswith(leaf.split(" > ")[-1] + " & ")
        assert s.top_keywords and s.centroid is not None
        assert s.key.startswith("behaviour-")
    for ids in members:  # each hand-made group is one segment
        assigned = set(CustomerProfile.objects.filter(customer_id__in=ids).values_list("behaviour_segment", flat=True))
        assert len(assigned) == 1 and None not in assigned
    version = ModelVersion.objects.get(role=ModelRole.SEGMENTS, is_active=True)
    assert version.params["k"] == 3
    assert version.metrics["silhouette"] > 0.3
    assert all(s.model_version_id == version.pk for s in found)


def test_keys_stable_across_rebuilds_and_vanished_segments_retired(monkeypatch: pytest.MonkeyPatch) -> None:
    _shop()
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    segments.rebuild_segments(now=NOW)
    first = {s.top_categories[0][0]: s.key for s in Segment.objects.filter(kind=Segment.Kind.BEHAVIOURAL)}
    # a few more customers arrive; the same groups come back under the same keys
    more = customer()
    event(more, "view", product=product(embedding=_direction(0, 99), category=GROUPS[0][0], title="Mug 99"))
    profiles.update_profiles(now=NOW, embed_texts=fake_embed)
    result = segments.rebuild_segments(now=NOW)
    assert result["kept_keys"] == 3
    second = {s.top_categories[0][0]: s.key for s in Segment.objects.filter(kind=Segment.Kind.BEHAVIOURAL)}
    assert second == first
    # one group stops existing (its customers are gone): its segment is retired, not deleted
    CustomerProfile.objects.filter(behaviour_segment__key=first[GROUPS[2][0]]).delete()
    monkeypatch.setattr(segments, "K_RANGE", range(2, 4))
    segments.rebuild_segments(now=NOW)
    retired = Segment.objects.get(key=first[GROUPS[2][0]])
    assert (retired.is_active, retired.size) == (False, 0)
    active = Segment.objects.filter(kind=Segment.Kind.BEHAVIOURAL, is_active=True)
    assert {s.key for s in active} == {first[GROUPS[0][0]], first[GROUPS[1][0]]}
    assert not CustomerProfile.objects.filter(behaviour_segment=retired).exists()


def test_too_few_profiles_are_not_clustered() -> None:
    who = customer()
    event(who, "view", product=product(embedding=_direction(0, 1)))
    profiles.rebuild_profiles(now=NOW, embed_texts=fake_embed)
    result = segments.rebuild_segments(now=NOW)
    assert result["segments"] == 0 and "fewer than" in result["skipped"]
    assert not Segment.objects.filter(kind=Segment.Kind.BEHAVIOURAL).exists()


def test_class_tfidf_prefers_distinctive_terms() -> None:
    ranked = segments._class_tfidf([{"home": 10.0, "mugs": 5.0}, {"home": 10.0, "shoes": 5.0}])
    assert ranked[0][0][0] == "mugs" and ranked[1][0][0] == "shoes"


def test_names_read_well() -> None:
    name = segments._name
    assert name([("Electronics > Phones > Smartphones", 1.0)], [("smartphone", 1), ("orbit", 0.6), ("5g", 0.5)],
                set(), {"orbit"}) == "Smartphones & 5g"
    # the levels of one path score alike: the specific one names the segment
    assert name([("Apparel > Women", 1.0), ("Apparel > Women > Dresses", 0.99)], [("dress", 1), ("midi", 0.5)],
                set(), set()) == "Dresses & midi"
    taken = {"dresses & midi"}
    assert name([("Apparel > Women > Dresses", 1.0)], [("midi", 1), ("linen", 0.5)], taken, set()) == "Dresses & linen"
    assert name([], [], set(), set()) == "Mixed interests"
    assert name([], [("coffee", 1.0)], set(), set()) == "Coffee"
