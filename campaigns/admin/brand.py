"""The brand's admin page: one row (name, colours, logo, address, reply-to) edited in place.

The list holds the one row (created with the defaults on the first visit); nobody adds a second row or
deletes it. The model's `clean` (`campaigns.brand.brand_problems`) refuses a colour white text
cannot be read on, or a logo that is no PNG, JPEG or GIF or is too big, naming the field and the reason.
Each saved change is an audit entry (fields from -> to) in the save's transaction: the brand is in every
email customers get.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.log import record
from audit.models import AuditAction

from ..brand import current_brand, logo_address
from ..models import Brand

AUDITED_FIELDS = ("name", "primary_colour", "accent_colour", "logo", "logo_url", "address", "reply_to")


def _value(brand: Brand, field: str) -> str:
    value = getattr(brand, field)
    return value.name if field == "logo" else str(value)


class BrandForm(forms.ModelForm[Brand]):
    logo_url = forms.URLField(required=False, assume_scheme="https", max_length=200,
                              help_text=Brand._meta.get_field("logo_url").help_text)

    class Meta:
        model = Brand
        fields = ["name", "primary_colour", "accent_colour", "logo", "logo_url", "address", "reply_to"]
        widgets = {
            "primary_colour": forms.TextInput(attrs={"size": 8, "placeholder": "#1f5f8b"}),
            "accent_colour": forms.TextInput(attrs={"size": 8, "placeholder": "#b4461b"}),
        }


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin[Brand]):
    form = BrandForm
    list_display = ["name", "primary_colour", "accent_colour", "reply_to", "updated_at"]
    fieldsets = [
        ("Name and colours", {"fields": ["name", "primary_colour", "accent_colour", "swatches"]}),
        ("Logo", {"fields": ["logo", "logo_url", "logo_preview"]}),
        ("Footer and replies", {"fields": ["address", "reply_to"]}),
    ]
    readonly_fields = ["swatches", "logo_preview"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Brand | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The list of the one row (created with the defaults on the first visit), a click from its form."""
        current_brand()
        return super().changelist_view(request, extra_context)

    @admin.display(description="as buttons and prices")
    def swatches(self, brand: Brand) -> SafeString:
        return format_html(
            '<span style="display:inline-block;padding:8px 16px;background:{};color:#fff;border-radius:4px;'
            'font-weight:bold">View product</span> <span style="color:{};font-weight:bold">$59.00</span>',
            brand.primary_colour, brand.accent_colour,
        )

    @admin.display(description="logo in the email")
    def logo_preview(self, brand: Brand) -> SafeString:
        address = logo_address(brand)
        if not address:
            return format_html("<span class='help'>{}</span>", "No logo: the email's header shows the name.")
        return format_html(
            '<span style="display:inline-block;padding:12px 20px;background:{}"><img src="{}" alt="{}" '
            'style="height:40px;width:auto"></span><br><span class="help">{}</span>',
            brand.primary_colour, address, brand.name, address,
        )

    def save_model(self, request: HttpRequest, obj: Brand, form: ModelForm[Brand], change: bool) -> None:
        """Save and write what changed to the audit log, in one transaction."""
        before = Brand.objects.filter(pk=obj.pk).first()
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            changes = {
                field: {"from": _value(before, field) if before else "", "to": _value(obj, field)}
                for field in AUDITED_FIELDS
                if before is None or _value(before, field) != _value(obj, field)
            }
            if changes:
                record(request.user, AuditAction.OTHER, obj, details={"what": "brand", "changes": changes},
                       request=request)
