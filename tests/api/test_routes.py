"""Every route of the API router has its test class on the generic mixins: a new route without one fails here."""

from __future__ import annotations

import importlib

from django.urls import URLPattern, resolve

from ecommarketing.api import router

from .action_mixins import ActionEndpoint
from .mixins import BulkTests, CreateTests, DeleteTests, Endpoint, GetTests, ListTests, UpdateTests

ROUTE_MODULES = (
    "tests.api.test_endpoints", "tests.api.test_read_routes", "tests.api.test_step_routes",
    "tests.assistant.test_knowledge_api", "tests.api.test_assistant_routes", "tests.privacy.test_api_routes",
)
PREFIX = "/api/v1/"


def _route_classes() -> list[type[Endpoint]]:
    for name in ROUTE_MODULES:
        importlib.import_module(name)
    found: list[type[Endpoint]] = []
    todo: list[type[Endpoint]] = [Endpoint]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__name__.startswith("Test"):
            found.append(cls)
    return found


def _covered(cls: type[Endpoint]) -> set[str]:
    """The router's names of the routes the class's mixins request (resolved from sample URLs)."""
    collection = cls.url.format(parent=1)
    urls = []
    if issubclass(cls, ListTests | CreateTests):
        urls.append(collection)
    if issubclass(cls, GetTests | UpdateTests | DeleteTests):
        urls.append(f"{collection}1/")
    if issubclass(cls, BulkTests):
        urls.append(f"{collection}bulk/")
    if issubclass(cls, ActionEndpoint):
        urls.append(f"{collection}1/{cls.action}/")
    return {resolve(url).url_name or url for url in urls}


def test_every_route_has_a_test_class_on_the_mixins() -> None:
    routes = {p.name for p in router.urls if isinstance(p, URLPattern)} - {"api-root"}  # the root: test_schema.py
    covered = set().union(*(_covered(cls) for cls in _route_classes()))
    assert routes - covered == set(), "routes without a test class on the mixins"
    assert covered <= routes
    assert all(url.startswith(PREFIX) for url in (cls.url for cls in _route_classes()))
