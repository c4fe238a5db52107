"""The customer page with personal-data rights: a "Download personal data (JSON)" link and an "Erase..."
button with a confirmation page; and the customer's precomputed recommendations. Replaces customers' own admin
of Customer (this package may import the campaigns, recommendations and the assistant; customers may not).

Deleting a customer is not offered: it cascaded to messages and experiment assignments; erasure keeps the
shop's figures and removes the person. An erased customer's row is read-only.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.actors import has_perm
from customers.admin import CustomerAdmin
from customers.models import Customer
from recommendations.customer_page import recommendations_section

from .erasure import PERMISSION as ERASE_PERMISSION
from .erasure import request_erasure
from .export import SECTIONS, check_export, do_export, export_customer, section_counts

EXPORT_PERMISSION = "customers.export_customer"


class PrivacyCustomerAdmin(CustomerAdmin):
    readonly_fields = [*CustomerAdmin.readonly_fields, "recommendations_summary", "erased_at", "personal_data"]
    fieldsets = [
        *CustomerAdmin.fieldsets,
        ("Recommendations", {"fields": ["recommendations_summary"]}),
        ("Personal data", {"fields": ["erased_at", "personal_data"]}),
    ]

    @admin.display(description="recommendations")
    def recommendations_summary(self, customer: Customer) -> SafeString | str:
        """The precomputed recommendations with their reasons (customers may not import recommendations)."""
        return recommendations_section(customer)

    def has_delete_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        return False  # erase instead: a delete changed past experiment results

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.erased_at is not None:
            fields += [f.name for f in Customer._meta.fields if f.name not in fields]
        return fields

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("<int:pk>/export/", self.admin_site.admin_view(self.export_view), name="customers_customer_export"),
            path("<int:pk>/erase/", self.admin_site.admin_view(self.erase_view), name="customers_customer_erase"),
        ]
        return own + super().get_urls()

    @admin.display(description="personal data")
    def personal_data(self, customer: Customer) -> SafeString | str:
        if customer.pk is None:
            return "-"
        if customer.erased_at is not None:
            return "Erased: this row is anonymised and kept only for the shop's accounts and experiment counts."
        export = reverse("admin:customers_customer_export", args=[customer.pk])
        erase = reverse("admin:customers_customer_erase", args=[customer.pk])
        return format_html(
            '<a class="button" href="{}">Download personal data (JSON)</a> '
            '<a class="button" style="background:#ba2121" href="{}">Erase…</a>',
            export, erase,
        )

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=pk)
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        check_export(request.user, customer)
        document = do_export(request.user, customer, request=request)
        response = HttpResponse(
            json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    def erase_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=pk)
        if not has_perm(request.user, ERASE_PERMISSION):
            raise PermissionDenied
        change = reverse("admin:customers_customer_change", args=[customer.pk])
        if customer.erased_at is not None:
            self.message_user(request, "This customer is already erased.", messages.INFO)
            return HttpResponseRedirect(change)
        if request.method == "POST":
            job = request_erasure(request.user, customer)
            url = reverse("admin:jobs_job_change", args=[job.pk])
            self.message_user(
                request, format_html('Erasure started: <a href="{}">job {}</a> (its result lists what was '
                                     "deleted and anonymised).", url, job.pk), messages.SUCCESS,
            )
            return HttpResponseRedirect(change)
        counts = section_counts(export_customer(customer))
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase this customer's personal data?",
            "customer": customer,
            "counts": [(name.replace("_", " "), counts[name]) for name in SECTIONS],
            "change_url": change,
            "opts": Customer._meta,
            "may_export": has_perm(request.user, EXPORT_PERMISSION),
            "export_url": reverse("admin:customers_customer_export", args=[customer.pk]),
        }
        return TemplateResponse(request, "admin/privacy/erase_confirmation.html", context)


admin.site.unregister(Customer)
admin.site.register(Customer, PrivacyCustomerAdmin)
