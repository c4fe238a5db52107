"""The public unsubscribe page: no login, the signed token is the only key (see `customers.unsubscribe`).

GET shows what will happen and one button; POST unsubscribes at once. POST is exempt from CSRF because
mail clients post `List-Unsubscribe=One-Click` themselves (RFC 8058) with no cookie or form token; the
signature authorises, and the worst a forged post can do is what the link's owner asked for. A damaged
token is a 400 with a short page; a GET never changes anything (link scanners open every link).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Customer
from .unsubscribe import ONE_CLICK, BadToken, do_unsubscribe, read_token

TEMPLATE = "customers/unsubscribe.html"


def _page(request: HttpRequest, state: str, status: int = 200, **context: object) -> HttpResponse:
    response = TemplateResponse(request, TEMPLATE, {"state": state, **context}, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = read_token(token)
    except BadToken as exc:
        return _page(request, "bad", status=400, reason=str(exc))
    if target.is_test:
        return _page(request, "test")
    assert target.customer_id is not None  # a test token was answered above
    customer = Customer.objects.filter(pk=target.customer_id).first()
    if request.method == "GET":
        if customer is None or not customer.marketing_consent:
            return _page(request, "done")
        return _page(request, "ask")
    if customer is not None:
        one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK.split("=", 1)[1]
        do_unsubscribe(customer, "one-click" if one_click else "page", request=request)
    return _page(request, "done")
