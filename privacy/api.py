"""The customers' API with personal-data rights: `GET customers/{id}/export/` (everything stored, one JSON
document), `POST customers/{id}/erase/` and `DELETE customers/{id}/` (both queue the erasure job, 202).

DELETE erases instead of deleting the row: a plain delete cascaded to messages and experiment assignments
(past results changed) and left the email in the mail log. Registered in place of customers' own viewset
(ecommarketing/api.py), which cannot import this package (it sits below campaigns and the assistant).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from core.permissions import ModelPermissions
from customers.api import CustomerViewSet as BaseCustomerViewSet
from customers.models import Customer
from jobs.api import JobSerializer

from .erasure import request_erasure
from .export import check_export, do_export

VIEW = "%(app_label)s.view_%(model_name)s"


class ExportPermissions(ModelPermissions):
    """Reading everything about a person at once needs its own permission besides the view."""

    perms_map = {**ModelPermissions.perms_map, "GET": [VIEW, "%(app_label)s.export_%(model_name)s"]}


class ErasePermissions(ModelPermissions):
    perms_map = {
        **ModelPermissions.perms_map,
        "POST": [VIEW, "%(app_label)s.erase_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s", "%(app_label)s.erase_%(model_name)s"],
    }


ERASE_DESCRIPTION = (
    "Queues the erasure job and answers 202 with it. The job deletes what is only about the person (profile, "
    "predictions, recommendations, browsing events, messages, conversations), anonymises what the shop keeps "
    "(the customer row gets a pseudonym; purchases and campaign events lose free text; experiment assignments "
    "stay, so results do not change), and leaves a tombstone: the old external id and email are refused by "
    "every later create, bulk call and import. The job's result lists per table what was deleted and "
    "anonymised. Needs customers.erase_customer."
)


def _queued(actor: Any, customer: Customer) -> Response:
    try:
        job = request_erasure(actor, customer)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    destroy=extend_schema(
        summary="Erase a customer",
        description="Same as `POST customers/{id}/erase/`: the row is anonymised, not deleted. "
        + ERASE_DESCRIPTION,
        responses={202: JobSerializer},
    )
)
class CustomerViewSet(BaseCustomerViewSet):
    """The shop's customers, keyed by the shop's customer id; with export and erasure of personal data."""

    def get_permissions(self) -> list[Any]:
        if self.action == "destroy":
            return [ErasePermissions()]
        return list(super().get_permissions())

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _queued(request.user, self.get_object())

    @extend_schema(
        summary="Export a customer's personal data",
        description="Everything stored about the customer as one JSON document (a download): the customer, "
        "profile, segments, predictions, events, reviews, recommendations, messages, experiment assignments, "
        "copy written for them, assistant conversations and generated texts that name them. Each export "
        "is written to the audit log. Needs customers.view_customer and customers.export_customer.",
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"], permission_classes=[ExportPermissions])
    def export(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        try:
            check_export(request.user, customer)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        document = do_export(request.user, customer, request=request)
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    @extend_schema(summary="Erase a customer", description=ERASE_DESCRIPTION, request=None,
                   responses={202: JobSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ErasePermissions])
    def erase(self, request: Request, pk: str | None = None) -> Response:
        return _queued(request.user, self.get_object())
