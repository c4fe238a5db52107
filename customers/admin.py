from __future__ import annotations

from django.contrib import admin

from .models import Customer, Event


class EventInline(admin.TabularInline[Event, Customer]):
    model = Event
    fields = ["occurred_at", "type", "product", "query", "order_id", "quantity", "value"]
    readonly_fields = ["occurred_at", "type", "product", "query", "order_id", "quantity", "value"]
    extra = 0
    max_num = 0
    ordering = ["-occurred_at"]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin[Customer]):
    list_display = ["external_id", "name", "email", "locale", "marketing_consent", "created_at"]
    list_filter = ["marketing_consent", "locale"]
    search_fields = ["external_id", "email", "name"]
    date_hierarchy = "created_at"
    readonly_fields = ["updated_at"]
    inlines = [EventInline]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["occurred_at", "type", "customer", "product", "query", "order_id", "quantity", "value"]
    list_filter = ["type"]
    search_fields = ["external_id", "customer__external_id", "customer__email", "product__sku", "query", "order_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer", "product"]
    autocomplete_fields = ["customer", "product"]
    show_full_result_count = False  # events grow to millions: skip the second COUNT(*)
    readonly_fields = ["created_at"]
