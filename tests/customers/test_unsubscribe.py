"""Unsubscribe: every sent email carries List-Unsubscribe (one-click, RFC 8058) and a signed link; the link's
page asks, a post (the page's button or a mail client's one-click) unsubscribes; the customer is out of every
later audience and of queued sends; a tampered link is a 400."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from audit.models import AuditEntry
from campaigns.audience import audience_queryset
from campaigns.delivery import queue_messages, send_campaign
from campaigns.models import Message
from customers.models import Customer, Event, EventType
from customers.unsubscribe import read_token, token_for, unsubscribe_url
from tests.audit.builders import acts
from tests.campaigns.builders import UNSUBSCRIBE_LINE, campaign, experiment, subscriber, variant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = "https://mail.shop.example"
    settings.UNSUBSCRIBE_MAILTO = ""


def running(n: int) -> tuple[Any, list[Customer]]:
    camp = campaign(status="running")
    variant(camp, status="approved", body=f"Stoneware mugs that keep tea warm. {UNSUBSCRIBE_LINE}")
    people = [subscriber(name=f"Ada {i}") for i in range(n)]
    experiment(camp)
    return camp, people


def _path(customer: Customer | None) -> str:
    return unsubscribe_url(customer).removeprefix("https://mail.shop.example")


def test_every_sent_email_carries_one_click_headers_and_the_signed_link() -> None:
    camp, _ = running(2)
    send_campaign(camp)
    assert len(mail.outbox) == 2
    for email in mail.outbox:
        customer = Customer.objects.get(email=email.to[0])
        link = f"https://mail.shop.example/unsubscribe/{token_for(customer)}/"
        assert email.extra_headers["List-Unsubscribe"] == f"<{link}>"
        assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert email.body.endswith(f"Unsubscribe: {link}")
        assert isinstance(email, mail.EmailMultiAlternatives)
        html, _ = email.alternatives[0]
        assert f'href="{link}"' in str(html) and 'class="ecm-unsubscribe"' in str(html)
        assert read_token(token_for(customer)).customer_id == customer.pk
    message = email.message()  # the headers survive into the MIME message a server receives
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_mailto_joins_the_https_link_when_configured(settings: Any) -> None:
    settings.UNSUBSCRIBE_MAILTO = "unsubscribe@shop.example"
    camp, _ = running(1)
    send_campaign(camp)
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    assert header.startswith("<https://mail.shop.example/unsubscribe/")
    assert ", <mailto:unsubscribe@shop.example?subject=unsubscribe%20" in header


def test_the_page_asks_and_a_get_changes_nothing(client: Client) -> None:
    ada = subscriber()
    response = client.get(_path(ada))
    assert response.status_code == 200 and b"<form method=\"post\">" in response.content
    ada.refresh_from_db()
    assert ada.marketing_consent and not Event.objects.filter(type=EventType.UNSUBSCRIBE).exists()


@pytest.mark.parametrize(("body", "via"), [({"List-Unsubscribe": "One-Click"}, "one-click"), ({}, "page")])
def test_a_post_unsubscribes_without_csrf_and_is_recorded(body: dict[str, str], via: str) -> None:
    ada = subscriber()
    mail_client = Client(enforce_csrf_checks=True)  # a mail client posts with no cookie and no form token
    response = mail_client.post(_path(ada), body, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200 and b"You are unsubscribed" in response.content
    ada.refresh_from_db()
    assert not ada.marketing_consent
    event = Event.objects.get(customer=ada, type=EventType.UNSUBSCRIBE)
    assert event.attributes == {"via": via}
    entry = AuditEntry.objects.get(action="unsubscribe")
    assert (entry.actor_label, entry.target_id, entry.details, entry.ip) == ("customer", str(ada.pk), {"via": via},
                                                                              "203.0.113.9")
    again = mail_client.post(_path(ada), body)  # twice: nothing more
    assert again.status_code == 200
    assert Event.objects.filter(type=EventType.UNSUBSCRIBE).count() == 1 and acts().count() == 1


@pytest.mark.parametrize("change", ["flip", "other-customer", "garbage"])
def test_a_tampered_link_is_a_400_and_changes_nothing(client: Client, change: str) -> None:
    ada, bob = subscriber(), subscriber()
    token = token_for(ada)
    if change == "flip":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif change == "other-customer":  # bob's id with ada's signature
        token = token_for(bob).split(":")[0] + ":" + token.split(":", 1)[1]
    else:
        token = "not-a-token"
    for method in (client.get, client.post):
        response = method(f"/unsubscribe/{token}/")
        assert response.status_code == 400 and b"This link is not valid" in response.content
    assert Customer.objects.filter(marketing_consent=True).count() == 2
    assert not Event.objects.filter(type=EventType.UNSUBSCRIBE).exists() and not acts().exists()


def test_a_test_send_link_changes_nothing(client: Client) -> None:
    subscriber()
    response = client.post(_path(None))
    assert response.status_code == 200 and b"Test send" in response.content
    assert not Event.objects.exists() and not acts().exists()


def test_unsubscribed_customers_leave_every_later_audience_and_queued_send(client: Client) -> None:
    camp, people = running(3)
    gone = people[1]
    assert audience_queryset(camp).count() == 3
    # the send assigned and queued everyone; the unsubscribe comes before the messages leave
    queue_messages(camp, camp.experiment)
    client.post(_path(gone), {"List-Unsubscribe": "One-Click"})
    assert list(audience_queryset(camp)) == [people[0], people[2]]
    later = campaign()  # an audience built after the unsubscribe
    assert gone not in list(audience_queryset(later))
    counts = send_campaign(camp)
    assert counts["sent"] == 2 and counts["skipped"] == 1
    assert Message.objects.get(customer=gone).status == Message.Status.SKIPPED
    assert gone.email not in {e.to[0] for e in mail.outbox}
    # an import that sets consent again without saying when does not bring them back
    Customer.objects.filter(pk=gone.pk).update(marketing_consent=True)
    assert gone not in list(audience_queryset(later))
