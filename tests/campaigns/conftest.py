"""Admin clients for the campaign tests: a campaign manager's and an analyst's browser session."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from .campaign_builders import admin_login


@pytest.fixture
def manager_web(client: Client, manager: User) -> Client:
    return admin_login(client, manager)


@pytest.fixture
def analyst_web(analyst: User) -> Client:
    return admin_login(Client(), analyst)
