"""Changes of who may do what reach the audit log: group membership, a user's permissions, a group's
permissions, from code and from the admin's forms (the signed-in person is the actor)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from audit.models import AuditAction, AuditEntry
from campaigns.roles import ANALYST, CAMPAIGN_MANAGER

pytestmark = pytest.mark.django_db


def changes() -> list[tuple[str, str, dict[str, object]]]:
    return [(e.actor_label, e.target_label, e.details)
            for e in AuditEntry.objects.filter(action=AuditAction.PERMISSION_CHANGE).order_by("id")]


def test_group_membership_from_either_side() -> None:
    user = User.objects.create_user("carol")
    analysts, managers = Group.objects.get(name=ANALYST), Group.objects.get(name=CAMPAIGN_MANAGER)
    user.groups.add(analysts)
    managers.user_set.add(user)
    user.groups.remove(analysts)
    user.groups.clear()
    assert changes() == [
        ("system", "carol", {"relation": "groups", "added": [ANALYST]}),
        ("system", "carol", {"relation": "groups", "added": [CAMPAIGN_MANAGER]}),
        ("system", "carol", {"relation": "groups", "removed": [ANALYST]}),
        ("system", "carol", {"relation": "groups", "removed": [CAMPAIGN_MANAGER]}),
    ]


def test_user_and_group_permissions() -> None:
    user = User.objects.create_user("dave")
    group = Group.objects.create(name="auditors")
    perm = Permission.objects.get(codename="view_job")
    user.user_permissions.add(perm)
    group.permissions.set([perm])
    assert changes() == [
        ("system", "dave", {"relation": "user_permissions", "added": ["jobs.view_job"]}),
        ("system", "auditors", {"relation": "permissions", "added": ["jobs.view_job"]}),
    ]


def test_a_change_in_the_admin_names_who_made_it(admin_client: Client) -> None:
    user = User.objects.create_user("erin")
    analysts = Group.objects.get(name=ANALYST)
    response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", {
        "username": "erin", "password": user.password, "is_active": "on", "groups": [analysts.pk],
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action=AuditAction.PERMISSION_CHANGE, target_label="erin")
    assert (entry.actor_label, entry.details, entry.ip) == (
        "admin", {"relation": "groups", "added": [ANALYST]}, "127.0.0.1",
    )
