"""API tokens: stored hashed, shown once, revocable, last use recorded (throttled), authtoken keys migrated."""

from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import ApiToken
from access.tokens import issue_token, revoke_token
from audit.models import AuditAction, AuditEntry
from tests.catalog.builders import product

pytestmark = pytest.mark.django_db
PRODUCTS = "/api/v1/products/"


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_key_is_stored_only_as_its_hash(manager: User) -> None:
    token, key = issue_token(manager, "full", "crm-sync")
    assert key.startswith("ecm_") and len(key) > 40
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in str(row)  # no column holds the key
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[:12]
    product()
    assert client_with(key).get(PRODUCTS).status_code == 200


def test_a_wrong_key_with_a_right_prefix_is_refused(manager: User) -> None:
    _, key = issue_token(manager, "full")
    response = client_with(key[:-1] + ("a" if key[-1] != "a" else "b")).get(PRODUCTS)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_a_revoked_token_is_refused_and_the_acts_are_audited(manager: User, nobody: User) -> None:
    token, key = issue_token(manager, "read", "bi-export", by=nobody)
    client = client_with(key)
    assert client.get(PRODUCTS).status_code == 200
    assert revoke_token(token, by=nobody) is True
    assert revoke_token(token, by=nobody) is False  # once
    assert client.get(PRODUCTS).status_code == 401
    entries = list(AuditEntry.objects.filter(target_type="access.apitoken").order_by("id"))
    assert [(e.action, e.actor_label) for e in entries] == [
        (AuditAction.TOKEN_CREATE, "nobody"), (AuditAction.TOKEN_REVOKE, "nobody"),
    ]
    assert entries[0].details == {"user": "manager", "scope": "read", "prefix": token.prefix}


def test_last_use_is_recorded_at_most_once_a_minute(manager: User, django_assert_num_queries: Any) -> None:
    token, key = issue_token(manager, "full")
    assert token.last_used_at is None
    client = client_with(key)
    client.get(PRODUCTS)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and token.last_used_ip == "127.0.0.1"
    client.get(PRODUCTS)
    token.refresh_from_db()
    assert token.last_used_at == first  # not written again within the minute
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get(PRODUCTS)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > first


def test_a_token_of_an_inactive_user_is_refused(manager: User) -> None:
    _, key = issue_token(manager, "full")
    manager.is_active = False
    manager.save()
    assert client_with(key).get(PRODUCTS).status_code == 401


def test_the_command_prints_the_key_once_and_revokes(manager: User) -> None:
    out, err = StringIO(), StringIO()
    call_command("issue_token", "manager", "--scope", "ingest", "--name", "shop-sync", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert (token.name, token.scope, token.prefix) == ("shop-sync", "ingest", key[:12])
    call_command("issue_token", "--revoke", token.prefix, stdout=StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_admin_shows_a_new_key_once_and_never_lists_it(admin_client: Client, manager: User) -> None:
    response = admin_client.post(
        "/admin/access/apitoken/add/", {"user": manager.pk, "name": "crm", "scope": "read"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    key = next(m.split(": ")[-1] for m in shown if "shown only now" in m)
    assert key[:12] == token.prefix and hashlib.sha256(key.encode()).hexdigest() == token.key_hash
    assert key not in admin_client.get("/admin/access/apitoken/").content.decode()
    assert key not in admin_client.get(f"/admin/access/apitoken/{token.pk}/change/").content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.TOKEN_CREATE, actor_label="admin").count() == 1

    admin_client.post("/admin/access/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client_with(key).get(PRODUCTS).status_code == 401


def test_plaintext_authtoken_keys_are_migrated_and_keep_working(manager: User) -> None:
    """The data migration moves DRF authtoken keys into hashed rows and deletes the plaintext."""
    legacy = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
            "user_id integer NOT NULL)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [legacy, manager.pk])
    migration = importlib.import_module("access.migrations.0002_cache_table_and_legacy_tokens")
    with connection.schema_editor() as editor:
        migration.migrate_authtoken_keys(django_apps, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
    token = ApiToken.objects.get()
    assert (token.user, token.scope, token.prefix) == (manager, "full", legacy[:12])
    product()
    assert client_with(legacy).get(PRODUCTS).status_code == 200
