"""The demo storefront page (`/assistant/demo/`): a plain product page that embeds the widget the way a shop
would, with one script tag and a publishable key.

The page keeps its own key, "Demo storefront" (site DEMO_SITE), and adds the page's own origin to it, so
the widget works on whatever host and port the demo runs. Only that key is ever changed, and only with the
request's host, which Django has checked against ALLOWED_HOSTS: the page cannot widen a shop's real key, nor
let another site use the demo key. Outside DEBUG only staff see the page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from catalog.models import Product

from .keys import normalise_origin
from .models import PublishableKey

DEMO_KEY_NAME = "Demo storefront"
DEMO_SITE = "assistant-demo"  # marks the page's own key; a shop's keys name their storefront's host


def demo_key(origin: str) -> PublishableKey:
    """The demo page's key, made on first use, allowing `origin` (the page's own) from now on."""
    with transaction.atomic():
        key, _ = PublishableKey.objects.select_for_update().get_or_create(
            name=DEMO_KEY_NAME, site=DEMO_SITE, defaults={"allowed_origins": [origin]}
        )
        if origin not in key.allowed_origins:
            key.allowed_origins = [*key.allowed_origins, origin]
            key.save(update_fields=["allowed_origins"])
    return key


def demo_storefront(request: HttpRequest) -> HttpResponse:
    """A demo product page (the first active product, or `?sku=`) with the assistant's widget."""
    if not (settings.DEBUG or (request.user.is_authenticated and request.user.is_staff)):
        raise Http404("the demo storefront is shown only with DEBUG on, or to staff")
    products = Product.objects.filter(is_active=True).order_by("id")
    sku = request.GET.get("sku", "").strip()
    product = products.filter(sku=sku).first() if sku else products.first()
    if sku and product is None:
        raise Http404(f"no active product with SKU {sku!r}")
    origin = normalise_origin(request.build_absolute_uri("/"))
    key = demo_key(origin)
    return render(request, "assistant/demo.html", {
        "product": product,
        "key": key,
        "widget_src": request.build_absolute_uri(static("assistant/widget.js")),
        "others": products.exclude(pk=product.pk)[:8] if product else [],
    })
