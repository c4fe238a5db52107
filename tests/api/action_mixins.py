"""API test mixins for actions on one object, `<object>/<action>/`: reads of a sub-resource (insight, profile,
members, recommendations, ...) and steps that change it (approve, send, retry, ...).

An action may need more than the model's view permission (a profile also needs `view_customerprofile`; a
step needs the change permission its check asks for): each route class names every permission it needs, and
a user who lacks any one of them is refused (403) with nothing changed. The role matrix is the same as for
the collections (mixins.py): anonymous 401, no group 403, analysts read but take no step, campaign managers
do everything.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import pytest
from django.contrib.auth.models import Permission, User
from django.db.models import Model
from rest_framework.test import APIClient

from jobs.models import Job

from .mixins import JSON, REFUSED_READERS, REFUSED_WRITERS, UNKNOWN_ID, Endpoint

_users = itertools.count(1)


def client_with(*permissions: str) -> APIClient:
    """A client of a new user who holds exactly `permissions` ("app_label.codename"), in no group."""
    name = f"holder-{next(_users)}"
    user = User.objects.create_user(name, f"{name}@example.com")  # an address of their own (test sends)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = APIClient()
    client.force_authenticate(user)
    return client


class ActionEndpoint(Endpoint):
    """One action of a route: `GET` or `POST <object>/<action>/`."""

    action: ClassVar[str]  # e.g. "insight"
    permissions: ClassVar[tuple[str, ...]]  # every permission the action needs, e.g. ("catalog.view_product",)

    def make_ready(self) -> Model:
        """An object the action succeeds on (by default any object)."""
        return self.make()

    def action_url(self, obj: Model | int | str, of: Model | None = None) -> str:
        return f"{self.detail(obj, of)}{self.action}/"

    def request(self, client: APIClient, obj: Model) -> Any:
        """The action on `obj`, asked by `client`."""
        raise NotImplementedError

    def request_url(self, client: APIClient, url: str) -> Any:
        """The action's method on `url`, with no body."""
        raise NotImplementedError

    def test_action_of_unknown_object_is_404(self, manager_client: APIClient) -> None:
        of = self.make()
        for pk in (UNKNOWN_ID, "not-a-number"):
            response = self.request_url(manager_client, self.action_url(pk, of=of))
            assert response.status_code == 404, (pk, response.content)


class ReadActionTests(ActionEndpoint):
    """GET `<object>/<action>/`: a read of one object's sub-resource. Only GET is offered."""

    def check_read(self, obj: Model, body: Any) -> None:
        """What the body must show for `obj`."""

    def request(self, client: APIClient, obj: Model) -> Any:
        return self.request_url(client, self.action_url(obj))

    def request_url(self, client: APIClient, url: str) -> Any:
        return client.get(url)

    @REFUSED_READERS
    def test_read_refused(self, who: str, status: int, request: pytest.FixtureRequest) -> None:
        assert self.request(request.getfixturevalue(who), self.make_ready()).status_code == status

    @pytest.mark.parametrize("who", ["analyst_client", "manager_client"])
    def test_read(self, who: str, request: pytest.FixtureRequest) -> None:
        obj = self.make_ready()
        response = self.request(request.getfixturevalue(who), obj)
        assert response.status_code == 200, response.content
        self.check_read(obj, response.json())

    def test_read_needs_each_of_its_permissions(self) -> None:
        obj = self.make_ready()
        for missing in self.permissions:
            held = [p for p in self.permissions if p != missing]
            assert self.request(client_with(*held), obj).status_code == 403, f"without {missing}"
        assert self.request(client_with(*self.permissions), obj).status_code == 200

    def test_read_only(self, manager_client: APIClient) -> None:
        url = self.action_url(self.make_ready())
        for method in ("post", "put", "patch", "delete"):
            assert getattr(manager_client, method)(url, {}, format=JSON).status_code == 405, method


class WriteActionTests(ActionEndpoint):
    """POST `<object>/<action>/`: a step that changes one object (and may queue a job). A refused step, for
    any reason, changes nothing; only POST is offered."""

    action_status: ClassVar[int] = 200

    def action_body(self, obj: Model) -> dict[str, Any]:
        """A valid request body for the step on `obj`."""
        return {}

    def check_done(self, obj: Model, body: Any) -> None:
        """What the response and the database must show after the step on `obj`."""

    def state(self, obj: Model) -> Any:
        """Everything the step may change: by default the object's row and the jobs."""
        return self.row(obj), list(Job.objects.order_by("pk").values_list("pk", "kind", "status"))

    def request(self, client: APIClient, obj: Model) -> Any:
        return client.post(self.action_url(obj), self.action_body(obj), format=JSON)

    def request_url(self, client: APIClient, url: str) -> Any:
        return client.post(url, {}, format=JSON)

    def _refused(self, client: APIClient, status: int) -> None:
        obj = self.make_ready()
        before = self.state(obj)
        response = self.request(client, obj)
        assert response.status_code == status, response.content
        assert self.state(obj) == before

    @REFUSED_WRITERS
    def test_step_refused(self, who: str, status: int, request: pytest.FixtureRequest) -> None:
        self._refused(request.getfixturevalue(who), status)

    def test_manager_takes_the_step(self, manager_client: APIClient) -> None:
        obj = self.make_ready()
        response = self.request(manager_client, obj)
        assert response.status_code == self.action_status, response.content
        self.check_done(obj, response.json())

    def test_step_needs_each_of_its_permissions(self) -> None:
        for missing in self.permissions:
            self._refused(client_with(*[p for p in self.permissions if p != missing]), 403)
        obj = self.make_ready()
        assert self.request(client_with(*self.permissions), obj).status_code == self.action_status

    def test_step_is_post_only(self, manager_client: APIClient) -> None:
        obj = self.make_ready()
        before = self.state(obj)
        for method in ("get", "put", "patch", "delete"):
            assert getattr(manager_client, method)(self.action_url(obj)).status_code == 405, method
        assert self.state(obj) == before
