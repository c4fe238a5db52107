"""Links of any ending and HTML markup (`inference.links`), with positives and negatives."""

from __future__ import annotations

import pytest

from inference.links import find_links, find_markup, within


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("visit evil.example now", "evil.example"), ("shop.evil.ru", "shop.evil.ru"),
        ("xn--80ak6aa92e.com", "xn--80ak6aa92e.com"), ("http://1.2.3.4", "1.2.3.4"), ("1.2.3.4:8080/x", "1.2.3.4"),
        ("hxxp://evil.com/x", "evil.com"), ("evil . com", "evil.com"), ("evil dot ru", "evil.ru"),
        ("evil[.]com", "evil.com"), ("evil(.)example", "evil.example"), ("Shop.Evil.RU", "shop.evil.ru"),
        ("www.evil.com", "www.evil.com"), ("[click](https://x.example)", "x.example"),
        ("sub.domain.co.uk/path?q=1", "sub.domain.co.uk"), ("EVIL.COM", "evil.com"), ("javascript:alert(1)", ""),
    ],
)
def test_links_of_any_ending(text: str, host: str) -> None:
    assert [link.host for link in find_links(text)] == [host]


@pytest.mark.parametrize(
    "text",
    ["Rated 4.5 stars", "v2.0 is here", "e.g. this", "i.e. that", "opens at 10.30", "only $4.99", "Shoes.Love them",
     "3.5mm jack", "a.m. and p.m.", "U.S.A. made", "St.Louis", "polka dot dress", "No.1 choice", "1.2.3.4 version",
     "Hi {first_name},", "it costs 4,5 EUR", "etc. and more", "Mr.Smith", "Spot on. It works", "Grip. No slips"],
)
def test_no_link(text: str) -> None:
    assert find_links(text) == []


def test_within_the_shops_domains() -> None:
    assert within("www.shop.example", ["shop.example"]) and within("help.shop.example", ["shop.example"])
    assert not within("shop.example.evil.ru", ["shop.example"]) and not within("evilshop.example", ["shop.example"])


@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script>", '<a href="x">y</a>', "<img src=x onerror=alert(1)", "&lt;script&gt;",
     "&#60;b&#62;", "</b>", "<!-- x -->", 'click onload="x"', "<svg/onload=alert(1)>"],
)
def test_markup(text: str) -> None:
    assert find_markup(text)


@pytest.mark.parametrize("text", ["I <3 it", "a < b > c", "Tom & Jerry", "R&D", "{first_name}", "x => y"])
def test_no_markup(text: str) -> None:
    assert find_markup(text) == []
