"""The OpenAPI schema describes what the API answers: schemathesis generates requests for EVERY operation
of the live schema (valid and invalid ones) and sends them through the WSGI app in this process, on the
real database, as a campaign manager and as an analyst. No answer may be a server error, and every answer
must have a documented status code, content type and a body matching its schema.

A small shop is built first, and the path parameters are drawn half the time from its ids, so the reads and
writes of real objects are tried too, not only 404s. Deterministic (derandomized Hypothesis); the number of
examples an operation is `SCHEMATHESIS_EXAMPLES` (default 5: about a minute for both roles on 2 cores).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from access.tokens import issue_token
from campaigns.models import Campaign
from jobs.models import Job, JobStatus
from tests.assistant.builders import make_article, make_product_question
from tests.assistant.builders_api import answered, conversation, scripted_answering
from tests.campaigns.builders import campaign, subscriber, variant
from tests.catalog.builders import model_version, product, review
from tests.customers.builders import customer, event, segment

__all__ = ["scripted_answering"]  # a fixture, used by name

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """Django's WSGI handler, minus the per-request connection reset that would end the test's transaction
    (Django's own test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def shop() -> dict[str, list[Any]]:
    """A small shop with every kind of object an operation names, and with the empty references (no
    author, no model version) that a schema must allow; returns the ids each path parameter may take."""
    item = product(embedding=[1.0] + [0.0] * 383)
    product(embedding=[0.9, 0.1] + [0.0] * 382)
    buyer = customer()
    subscriber()
    review(product=item, customer=buyer)
    review(product=item)  # anonymous: no customer
    ev = event(buyer, "view", product=item)
    seg = segment(model_version=None)
    segment(model_version=model_version(role="segments"))
    camp = campaign(created_by=None, status_changed_by=None)  # made by the system
    camp.transitions.create(from_status=Campaign.Status.DRAFT, to_status=Campaign.Status.DRAFT, user=None)
    var = variant(camp)
    job = Job.objects.create(kind="ping", params={"steps": 1}, created_by=None, status=JobStatus.FAILED)
    conv = conversation()
    message = answered(conv)
    return {
        "products": [item.pk], "reviews": [review(product=item).pk], "customers": [buyer.pk],
        "events": [ev.pk], "segments": [seg.pk], "campaigns": [camp.pk], "variants": [var.pk],
        "jobs": [job.pk], "product-questions": [make_product_question(product=item).pk],
        "articles": [make_article().pk], "conversations": [str(conv.pk)], "messages": [message.pk],
        "chunk-indexes": [0],  # a job's chunk, by its index (the plain job above has none: a 404 to document)
    }


def _collection(path: str, name: str) -> str:
    """The collection a path parameter names: the segment before it, or the parameter's own name."""
    if name != "id":
        return {"campaign_pk": "campaigns", "customer_pk": "customers", "product_pk": "products",
                "conversation_pk": "conversations", "index": "chunk-indexes"}[name]
    segments = path.strip("/").split("/")
    before = segments[segments.index("{id}") - 1]
    return {"variants": "variants", "conversations": "conversations", "messages": "messages"}.get(before, before)


def _token(user: User) -> str:
    return issue_token(user, "full", "schemathesis")[1]


def _strategy(operation: Any, ids: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Valid and invalid requests of `operation`, half of them on the shop's real objects."""
    strategies = []
    for mode in GenerationMode:
        strategies.append(operation.as_strategy(generation_mode=mode))
        names = [parameter.name for parameter in operation.path_parameters]
        if names:
            real = {name: ids[_collection(operation.path, name)][0] for name in names}
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=real))
    return st.one_of(strategies)


def _run_operation(operation: Any, ids: dict[str, list[Any]], headers: dict[str, str], found: list[str]) -> int:
    """Sends EXAMPLES requests of `operation` (at least); returns how many were sent. Every failed check is
    added to `found` (deduplicated: operation, check, message), so one run lists all the disagreements."""
    sent = 0

    @hypothesis.given(case=_strategy(operation, ids))
    @hypothesis.settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                first = failure.message.splitlines()[0] if failure.message else ""
                line = f"{operation.label}: {failure.title}: {first}"
                if line not in found:
                    found.append(line)

    run()
    return sent


@pytest.mark.parametrize("role", ["manager", "analyst"])
def test_every_operation_answers_as_documented(
    role: str, request: pytest.FixtureRequest, wsgi_app: WSGIHandler, scripted_answering: Any, db: None
) -> None:
    user: User = request.getfixturevalue(role)
    ids = shop()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    headers = {"Authorization": f"Token {_token(user)}"}
    # deletions last, so the other operations still find the shop's objects
    results = list(schema.get_all_operations())
    readable = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(readable) == len(results), "schemathesis cannot read some operations of the schema"
    operations = sorted(readable, key=lambda op: op.method == "delete")
    found: list[str] = []
    sent = sum(_run_operation(operation, ids, headers, found) for operation in operations)
    kinds = Counter(line.split(": ")[1] for line in found)
    print(f"schemathesis as {role}: {len(operations)} operations, {sent} requests, {len(found)} failures {dict(kinds)}")
    assert len(operations) >= 70
    assert not found, "\n".join(found)
