"""Admin login lockout (django-axes): after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for a username
from an address, even the right one is refused until the cool-off ends; the lockout is audited once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("sam", "sam@example.com", "right-password-1", is_staff=True)


def log_in(client: Client, password: str, username: str = "sam") -> int:
    return client.post(LOGIN, {"username": username, "password": password}).status_code


def test_forty_wrong_passwords_then_the_right_one_is_refused(staff: User) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    codes = [log_in(client, f"wrong-{i}") for i in range(40)]
    assert codes[:4] == [200] * 4  # the form again, with its error
    assert set(codes[5:]) == {429}
    response = client.post(LOGIN, {"username": "sam", "password": "right-password-1"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still not signed in
    entries = AuditEntry.objects.filter(action=AuditAction.LOGIN_LOCKOUT)
    assert [(e.actor_label, e.target_label, e.ip) for e in entries] == [("login:sam", "sam", "203.0.113.9")]


def test_the_lockout_ends_with_the_cool_off_and_is_per_username_and_address(staff: User) -> None:
    client = Client(REMOTE_ADDR="203.0.113.10")
    for i in range(5):
        log_in(client, f"wrong-{i}")
    assert log_in(client, "right-password-1") == 429
    assert log_in(Client(REMOTE_ADDR="198.51.100.3"), "right-password-1") == 302  # another address
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))  # the cool-off passed
    assert log_in(client, "right-password-1") == 302


def test_signed_in_fixtures_still_work(manager_web: Client) -> None:
    assert manager_web.get("/admin/").status_code == 200


def test_an_address_trying_many_usernames_is_stopped(staff: User, settings: object) -> None:
    """Per username, axes never triggers here; per address, failed sign-ins and token failures share a count."""
    settings.API_FAILED_AUTH_PER_MINUTE = 6  # type: ignore[attr-defined]
    sprayer = Client(REMOTE_ADDR="203.0.113.11")
    assert [log_in(sprayer, "Summer2026!", username=f"user{i}") for i in range(6)] == [200] * 6
    sprayer.post(LOGIN, {"username": "sam", "password": "right-password-1"})
    assert "_auth_user_id" not in sprayer.session  # refused, even the right password
    api = APIClient(REMOTE_ADDR="203.0.113.11")
    api.credentials(HTTP_AUTHORIZATION="Token ecm_anything-at-all-000000000000000")  # the same count
    assert api.get("/api/v1/products/").status_code == 429
    assert log_in(Client(REMOTE_ADDR="198.51.100.4"), "right-password-1") == 302  # another address
