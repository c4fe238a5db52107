"""The audit log: who did what to which record, written in the act's transaction, read-only in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, RequestFactory

from audit.log import record
from audit.models import AuditAction, AuditEntry


@pytest.mark.django_db
def test_a_person_a_system_and_a_token_are_named(manager: User) -> None:
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    entry = record(manager, AuditAction.EXPORT, manager, details={"sections": 3}, request=request)
    record(None, AuditAction.ERASE, target_label="customer 7")
    record("token:crm-sync", AuditAction.TOKEN_REVOKE)

    assert (entry.actor, entry.actor_label, entry.ip) == (manager, "manager", "203.0.113.9")
    assert (entry.target_type, entry.target_id, entry.details) == ("auth.user", str(manager.pk), {"sections": 3})
    acts = AuditEntry.objects.exclude(action=AuditAction.PERMISSION_CHANGE)  # the fixture's group is audited too
    assert list(acts.order_by("id").values_list("actor_label", flat=True)) == [
        "manager",
        "system",
        "token:crm-sync",
    ]


@pytest.mark.django_db
def test_an_unknown_action_is_refused_and_a_rolled_back_act_leaves_no_entry() -> None:
    with pytest.raises(ValueError, match="unknown audit action 'launch'"):
        record(None, "launch")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(None, AuditAction.SEND)
        raise RuntimeError("the send failed")
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_the_admin_shows_entries_and_allows_no_edit(manager: User) -> None:
    superuser = User.objects.create_superuser("root", "root@example.com", "pw")
    entry = record(manager, AuditAction.APPROVE, target_label="variant B")
    client = Client()
    client.force_login(superuser)
    listing = client.get("/admin/audit/auditentry/")
    assert listing.status_code == 200 and "variant B" in listing.content.decode()
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
