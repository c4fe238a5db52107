"""Routes that reach an object by the shop's own key instead of our pk: `products/by-sku/{sku}/...` and
`customers/by-external-id/{external_id}/...`.

A key route answers exactly what the pk route answers, because it is the pk route: the key is turned
into the pk and the request is handed to the view the router serves at `<collection>/{pk}/<rest>` (GET,
PUT, PATCH, DELETE on the object, and every route under it: `insight/`, `profile/`, `export/`,
`erase/`, `recommendations/`, `similar/`). So authentication, token scopes, permissions, throttles and
the body are those of the pk route, with nothing repeated here.

Keys may hold any character. Percent-encode the key as one path segment (`a%2Fb` for `a/b`, `%20` for a
space, `%2B` for `+` is optional: `+` is not a space in a path). The server sees the decoded path, so a
key with `/` cannot be told from a key followed by a sub-route by the pattern alone: the route reads
everything after `by-sku/` and tries each split at a `/` whose remainder is a route under the object,
preferring the longest key that exists. When no key exists the request still goes through the pk route
(so a caller without credentials gets 401, not a hint that the key is unknown), and its 404 names the
key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, ResolverMatch, resolve, reverse
from django.views.decorators.csrf import csrf_exempt

MISSING_PK = 0  # no row has it: auto ids start at 1


def _routes_under(collection: str, rest: str) -> list[tuple[str, str, ResolverMatch]]:
    """Each (key, sub-route, the pk route's match) that `rest` can be read as, shortest key first."""
    if not rest.endswith("/"):
        return []
    splits: list[tuple[str, str, ResolverMatch]] = []
    for position, char in enumerate(rest):
        if char != "/":
            continue
        key, below = rest[:position], rest[position + 1 :]
        try:
            match = resolve(f"{collection}{MISSING_PK}/{below}")
        except Resolver404:
            continue
        splits.append((key, below, match))
    return splits


def key_route(basename: str, model: type[models.Model], key: str, noun: str) -> Callable[..., HttpResponse]:
    """The view of `<collection>/by-<key>/<rest>` for the router's `basename` (e.g. "product")."""

    @csrf_exempt  # the pk route's own view enforces CSRF for session users, as DRF always does
    def view(request: HttpRequest, rest: str) -> HttpResponse:
        collection = reverse(f"{basename}-list")
        splits = _routes_under(collection, rest)
        if not splits:
            return JsonResponse({"detail": "Not found."}, status=404)
        found = dict(
            model._default_manager.filter(**{f"{key}__in": [k for k, _, _ in splits]}).values_list(key, "pk")
        )
        existing = [split for split in splits if split[0] in found]
        chosen_key, below, _ = existing[-1] if existing else splits[0]
        pk = found.get(chosen_key, MISSING_PK)
        match = resolve(f"{collection}{pk}/{below}")
        request.resolver_match = match
        response: Any = match.func(request, *match.args, **match.kwargs)
        if pk == MISSING_PK and response.status_code == 404 and hasattr(response, "data"):
            response.data = {"detail": f"no {noun} with {key} {chosen_key!r}"}
        return response

    return view
