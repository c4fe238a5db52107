"""The personal-data actions of the customers' API on the generic mixins: who may export and erase (each a
permission of its own; analysts neither), and that a refused request changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from customers.models import Customer
from tests.api.action_mixins import ReadActionTests, WriteActionTests
from tests.audit.builders import acts
from tests.customers.builders import customer

pytestmark = pytest.mark.django_db


class TestCustomerExport(ReadActionTests):
    url = "/api/v1/customers/"
    model = Customer
    permissions = ("customers.view_customer", "customers.export_customer")
    builder = customer
    action = "export"

    @pytest.mark.parametrize("who", ["manager_client"])
    def test_read(self, who: str, request: pytest.FixtureRequest) -> None:
        super().test_read(who, request)

    def test_analysts_may_not_export(self, analyst_client: APIClient) -> None:
        assert self.request(analyst_client, self.make_ready()).status_code == 403
        assert not acts().exists()

    def check_read(self, obj: Model, body: Any) -> None:
        assert isinstance(obj, Customer)
        assert body["customer"]["email"] == obj.email
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT, target_id=str(obj.pk)).exists()


class TestCustomerErase(WriteActionTests):
    url = "/api/v1/customers/"
    model = Customer
    permissions = ("customers.view_customer", "customers.erase_customer")
    builder = customer
    action = "erase"
    action_status = 202

    def check_done(self, obj: Model, body: Any) -> None:
        assert (body["kind"], body["params"], body["status"]) == ("erase_customer", {"customer_id": obj.pk}, "queued")
