"""Admin clients for the campaign tests: a campaign manager's, an analyst's and a group-less user's browser
session."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client


def _admin_login(client: Client, user: User) -> Client:
    """`client` signed in to the admin as `user` (made staff: what a person's role decides is the group)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


@pytest.fixture
def manager_web(client: Client, manager: User) -> Client:
    return _admin_login(client, manager)


@pytest.fixture
def analyst_web(analyst: User) -> Client:
    return _admin_login(Client(), analyst)


@pytest.fixture
def nobody_web(nobody: User) -> Client:
    return _admin_login(Client(), nobody)
