"""Generic API test mixins, NetBox style: each route's test class says what it is (url, model, a builder of an
existing object, a valid create payload, an update payload, bulk rows) and inherits the tests. Actions on one
object (`<object>/<action>/`) have their own mixins in action_mixins.py.

Every route gets the same permission matrix (REFUSED_READERS and REFUSED_WRITERS):
  anonymous                -> 401 (Token auth is first, so DRF answers 401 with a WWW-Authenticate header)
  authenticated, no group  -> 403 on reads and writes
  analyst                  -> 200 on list/retrieve, 403 on create/update/delete/bulk (and nothing written)
  campaign manager         -> everything the route offers, with the response bodies checked; 405 for the rest
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

JSON = "json"
UNKNOWN_ID = 987654321
# who is refused a write, and how: anonymous 401, no group 403, analysts (read-only) 403
REFUSED_WRITERS = pytest.mark.parametrize(
    ("who", "status"), [("anon_client", 401), ("nobody_client", 403), ("analyst_client", 403)]
)
REFUSED_READERS = pytest.mark.parametrize(("who", "status"), [("anon_client", 401), ("nobody_client", 403)])


def assert_subset(expected: dict[str, Any], body: dict[str, Any]) -> None:
    """Every expected field is in the body with the expected value (the body may hold more)."""
    mismatched = {k: (v, body.get(k, "<missing>")) for k, v in expected.items() if body.get(k, "<missing>") != v}
    assert not mismatched, f"field: (expected, got) -> {mismatched}"


class Endpoint:
    """What one route is; the concrete test class fills it in."""

    url: ClassVar[str]  # the collection, e.g. "/api/v1/products/"; nested: "/api/v1/campaigns/{parent}/variants/"
    model: ClassVar[type[Model]]
    parent_field: ClassVar[str] = ""  # nested routes: the attribute holding the parent's id, e.g. "campaign_id"
    paginated: ClassVar[bool] = True  # False: the list is a bare JSON array
    create_status: ClassVar[int] = 201
    list_max_queries: ClassVar[int] = 5  # token+user, 2 permission queries, count, page

    builder: ClassVar[Callable[[], Model]]  # makes one object, when that is all `make` needs

    def make(self, like: Model | None = None) -> Model:
        """An existing object (and whatever it needs); on a nested route, under the same parent as `like`."""
        return type(self).builder()

    def create_url(self) -> str:
        """Where a create is posted; a nested route's class names (and may make) the parent."""
        return self.url

    def create_payload(self) -> dict[str, Any]:
        """A valid create body; may make the objects it refers to."""
        raise NotImplementedError

    def expected_created(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Fields the create response must show; by default the payload round-trips unchanged."""
        return dict(payload)

    def invalid_payloads(self) -> list[tuple[dict[str, Any], str]]:
        """(body, field named in the 400) pairs."""
        return []

    def update_payload(self, obj: Model) -> dict[str, Any]:
        raise NotImplementedError

    def replace_payload(self, obj: Model) -> dict[str, Any] | None:
        """A full PUT body, or None where PUT is not offered."""
        return None

    def collection(self, obj: Model | None = None) -> str:
        """The list URL; on a nested route, the one `obj` is listed in."""
        if not self.parent_field:
            return self.url
        assert obj is not None, "a nested route's collection is named by one of its objects"
        return self.url.format(parent=getattr(obj, self.parent_field))

    def detail(self, obj: Model | int | str, of: Model | None = None) -> str:
        """The object's URL; an id on a nested route needs `of`, an object of the same collection."""
        if isinstance(obj, Model):
            return f"{self.collection(obj)}{obj.pk}/"
        return f"{self.collection(of)}{obj}/"

    def rows(self, body: Any) -> list[dict[str, Any]]:
        return body["results"] if self.paginated else body

    def count(self) -> int:
        return self.model._default_manager.count()

    def row(self, obj: Model) -> dict[str, Any]:
        """The object as stored (to show that a refused request changed nothing)."""
        return self.model._default_manager.filter(pk=obj.pk).values().get()


class ListTests(Endpoint):
    def test_list_rejects_anonymous(self, anon_client: APIClient) -> None:
        response = anon_client.get(self.collection(self.make()))
        assert response.status_code == 401, response.content
        assert response.headers["WWW-Authenticate"] == "Token"

    def test_list_forbidden_without_group(self, nobody_client: APIClient) -> None:
        assert nobody_client.get(self.collection(self.make())).status_code == 403

    def test_analyst_lists(self, analyst_client: APIClient) -> None:
        obj = self.make()
        response = analyst_client.get(self.collection(obj))
        assert response.status_code == 200, response.content
        assert [str(row["id"]) for row in self.rows(response.json())] == [str(obj.pk)]  # ids may be UUIDs

    def test_list_query_count_is_constant(self, manager_client: APIClient, django_assert_max_num_queries: Any) -> None:
        first = self.make()
        self.make(like=first)
        manager_client.get(self.collection(first))  # a token's first request records its use (once a minute)
        with CaptureQueriesContext(connection) as few:
            assert manager_client.get(self.collection(first)).status_code == 200
        for _ in range(18):
            self.make(like=first)
        with django_assert_max_num_queries(self.list_max_queries) as many:
            response = manager_client.get(self.collection(first))
        assert len(self.rows(response.json())) == 20
        assert len(many) == len(few), "queries grow with the number of rows (N+1)"


class NestedTests(Endpoint):
    """A route under a parent object: the parent must exist, and an object is found only under its own."""

    def test_unknown_parent_is_404(self, manager_client: APIClient) -> None:
        for parent in (UNKNOWN_ID, "not-a-number"):
            assert manager_client.get(self.url.format(parent=parent)).status_code == 404, parent

    def test_object_is_not_found_under_another_parent(self, manager_client: APIClient) -> None:
        obj, elsewhere = self.make(), self.make()
        assert manager_client.get(self.detail(obj.pk, of=elsewhere)).status_code == 404


class GetTests(Endpoint):
    @REFUSED_READERS
    def test_get_refused(self, who: str, status: int, request: pytest.FixtureRequest) -> None:
        assert request.getfixturevalue(who).get(self.detail(self.make())).status_code == status

    def test_analyst_gets(self, analyst_client: APIClient) -> None:
        obj = self.make()
        response = analyst_client.get(self.detail(obj))
        assert response.status_code == 200, response.content
        assert str(response.json()["id"]) == str(obj.pk)

    def test_get_unknown_is_404(self, manager_client: APIClient) -> None:
        assert manager_client.get(self.detail(UNKNOWN_ID, of=self.make())).status_code == 404


class CreateTests(Endpoint):
    def _refuse_create(self, client: APIClient, status: int) -> None:
        payload, before = self.create_payload(), self.count()
        assert client.post(self.create_url(), payload, format=JSON).status_code == status
        assert self.count() == before

    @REFUSED_WRITERS
    def test_create_refused(self, who: str, status: int, request: pytest.FixtureRequest) -> None:
        self._refuse_create(request.getfixturevalue(who), status)

    def test_manager_creates_and_fields_round_trip(self, manager_client: APIClient) -> None:
        payload, before = self.create_payload(), self.count()
        response = manager_client.post(self.create_url(), payload, format=JSON)
        assert response.status_code == self.create_status, response.content
        body = response.json()
        assert_subset(self.expected_created(payload), body)
        assert self.count() == before + 1
        again = manager_client.get(self.detail(body["id"]))
        assert again.status_code == 200
        assert_subset(self.expected_created(payload), again.json())

    def test_invalid_create_is_400_naming_the_field(self, manager_client: APIClient) -> None:
        cases = self.invalid_payloads()
        assert cases, "each endpoint lists at least one invalid payload"
        before = self.count()
        for payload, field in cases:
            response = manager_client.post(self.create_url(), payload, format=JSON)
            assert response.status_code == 400, (payload, response.content)
            assert field in response.json(), (payload, response.json())
        assert self.count() == before


class UpdateTests(Endpoint):
    def _refuse_update(self, client: APIClient, status: int) -> None:
        obj = self.make()
        before = self.row(obj)
        assert client.patch(self.detail(obj), self.update_payload(obj), format=JSON).status_code == status
        replace = self.replace_payload(obj)
        if replace is not None:
            assert client.put(self.detail(obj), replace, format=JSON).status_code == status
        assert self.row(obj) == before

    @REFUSED_WRITERS
    def test_update_refused(self, who: str, status: int, request: pytest.FixtureRequest) -> None:
        self._refuse_update(request.getfixturevalue(who), status)

    def test_manager_patches(self, manager_client: APIClient) -> None:
        obj = self.make()
        payload = self.update_payload(obj)
        response = manager_client.patch(self.detail(obj), payload, format=JSON)
        assert response.status_code == 200, response.content
        assert_subset(payload, response.json())
        assert_subset(payload, manager_client.get(self.detail(obj)).json())

    def test_manager_replaces(self, manager_client: APIClient) -> None:
        obj = self.make()
        payload = self.replace_payload(obj)
        if payload is None:
            assert manager_client.put(self.detail(obj), {}, format=JSON).status_code == 405
            return
        response = manager_client.put(self.detail(obj), payload, format=JSON)
        assert response.status_code == 200, response.content
        assert_subset(payload, response.json())


class DeleteTests(Endpoint):
    def _refuse_delete(self, client: APIClient, status: int) -> None:
        obj = self.make()
        assert client.delete(self.detail(obj)).status_code == status
        assert self.model._default_manager.filter(pk=obj.pk).exists()

    @REFUSED_WRITERS
    def test_delete_refused(self, who: str, status: int, request: pytest.FixtureRequest) -> None:
        self._refuse_delete(request.getfixturevalue(who), status)

    def test_manager_deletes(self, manager_client: APIClient) -> None:
        obj = self.make()
        assert manager_client.delete(self.detail(obj)).status_code == 204
        assert not self.model._default_manager.filter(pk=obj.pk).exists()
        assert manager_client.get(self.detail(obj)).status_code == 404


class ReadOnlyTests(Endpoint):
    """The writes a route does not offer answer 405, even to a campaign manager, and change nothing."""

    refused: ClassVar[tuple[str, ...]] = ("create", "replace", "update", "delete")

    def test_writes_not_offered_are_405(self, manager_client: APIClient) -> None:
        obj = self.make()
        before, count = self.row(obj), self.count()
        writes = {
            "create": lambda: manager_client.post(self.collection(obj), {}, format=JSON),
            "replace": lambda: manager_client.put(self.detail(obj), {}, format=JSON),
            "update": lambda: manager_client.patch(self.detail(obj), {}, format=JSON),
            "delete": lambda: manager_client.delete(self.detail(obj)),
        }
        for name in self.refused:
            assert writes[name]().status_code == 405, name
        assert (self.row(obj), self.count()) == (before, count)


class BulkTests(Endpoint):
    """POST <collection>/bulk/: upsert by the model's key; good rows stored, bad rows reported."""

    key: ClassVar[str]

    @property
    def bulk_url(self) -> str:
        return f"{self.url}bulk/"

    def bulk_rows(self) -> list[dict[str, Any]]:
        """Two or more valid rows with new keys (may make the objects they refer to)."""
        raise NotImplementedError

    def bad_bulk_rows(self) -> list[tuple[dict[str, Any], str]]:
        """(row, field its error names) pairs; each row is invalid."""
        raise NotImplementedError

    def stored_keys(self) -> set[str]:
        return set(self.model._default_manager.values_list(self.key, flat=True))

    def _refuse_bulk(self, client: APIClient, status: int) -> None:
        rows = self.bulk_rows()
        assert client.post(self.bulk_url, rows, format=JSON).status_code == status
        assert self.count() == 0

    @REFUSED_WRITERS
    def test_bulk_refused(self, who: str, status: int, request: pytest.FixtureRequest) -> None:
        self._refuse_bulk(request.getfixturevalue(who), status)

    def test_bulk_mixed_rows_stores_good_and_reports_bad(self, manager_client: APIClient) -> None:
        good, bad = self.bulk_rows(), self.bad_bulk_rows()
        # interleave: bad rows at odd positions, so the reported indexes must be the request's own
        rows: list[dict[str, Any]] = []
        expected_errors: dict[int, str] = {}
        for i in range(max(len(good), len(bad))):
            if i < len(good):
                rows.append(good[i])
            if i < len(bad):
                expected_errors[len(rows)] = bad[i][1]
                rows.append(bad[i][0])
        response = manager_client.post(self.bulk_url, rows, format=JSON)
        assert response.status_code == 200, response.content
        report = response.json()
        assert (report["created"], report["updated"], report["rejected"]) == (len(good), 0, len(bad)), report
        assert {(e["index"], e["field"]) for e in report["errors"]} == set(expected_errors.items()), report
        assert all(e["message"] for e in report["errors"])
        assert report["errors_truncated"] is False
        assert self.stored_keys() == {str(row[self.key]) for row in good}

    def test_bulk_resend_updates_instead_of_creating(self, manager_client: APIClient) -> None:
        rows = self.bulk_rows()
        first = manager_client.post(self.bulk_url, rows, format=JSON).json()
        assert (first["created"], first["updated"], first["rejected"]) == (len(rows), 0, 0), first
        second = manager_client.post(self.bulk_url, {"rows": rows}, format=JSON).json()  # the wrapped form
        assert (second["created"], second["updated"], second["rejected"]) == (0, len(rows), 0), second
        assert self.count() == len(rows)

    def test_bulk_all_bad_is_400_and_writes_nothing(self, manager_client: APIClient) -> None:
        bad = self.bad_bulk_rows()
        before = self.count()
        response = manager_client.post(self.bulk_url, [row for row, _ in bad], format=JSON)
        assert response.status_code == 400, response.content
        assert response.json()["rejected"] == len(bad)
        assert response.json()["created"] == response.json()["updated"] == 0
        assert self.count() == before

    def test_bulk_body_must_be_a_list_of_objects(self, manager_client: APIClient) -> None:
        row = self.bulk_rows()[0]
        for body in (row, "rows", [row, "not an object"], {"rows": row}):
            response = manager_client.post(self.bulk_url, body, format=JSON)
            assert response.status_code == 400, (body, response.content)
            assert "rows" in response.json()
        assert self.count() == 0
