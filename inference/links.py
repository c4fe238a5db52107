"""Links and markup in text that should have neither: what a mail client, a browser or a reader would follow
or run. The campaign guardrails use them on generated copy (a link to anything but the shop's own domains,
or an HTML tag, is never sent).

A list of endings (".com", ".de", ...) misses every other one: "evil.example", "shop.evil.ru",
"xn--80ak6aa92e.com" passed. A link is instead any of:
- a scheme and "//" (http, https, ftp, ws, and the defanged "hxxp"; "javascript:" and "data:" too),
  "www." + anything, or a dotted IPv4 address with a port or a path;
- a dotted host whose last label is letters only, 2-63 of them, or punycode ("xn--..."), with "." or a
  defanged dot ("[.]", "(.)", "[dot]"), e.g. "evil.example", "Shop.Evil.RU";
- a host of an ending that is no English word, written with spaced dots or " dot " ("evil . com",
  "evil dot ru").
Not links: numbers ("4.5 stars", "v2.0", "10.30", "$4.99"), one-letter abbreviations ("e.g.", "i.e.",
"a.m."), and a missing space before a capitalised word ("shoes.Love them") unless that word is such an
ending (".Com"). Lower-case words glued by a dot ("great.the") do read as a link: a false alarm in
generated copy costs one regeneration.

Markup (as a browser reads it: "<" right before a letter, "/" or "!"): any tag ("<script>", "<a href=...>",
"<img onerror=...>", "</b>", "<!-- -->"), an unclosed tag with attributes ("<img src=x onerror=alert(1)"),
an HTML entity ("&lt;", "&#60;", "&amp;") or an inline event handler ("onload=").

Pure text: no Django, nothing of ours outside `inference`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .grounding import word_set

# Endings that are no English word, so a spaced or spelled-out dot before one still reads as a link ("evil
# . com", "evil dot ru"), and a capital does not make one the start of a sentence ("Shop.Evil.RU").
SPELLED_ENDINGS = word_set("com net org info biz io ru cn xyz de uk fr eu su tk")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOT = r"(?:\.|\s?\[\.\]\s?|\s?\(\.\)\s?|\s?\{\.\}\s?|\s?\[dot\]\s?|\s?\(dot\)\s?)"
_ENDING = r"(?:xn--[a-z0-9-]{1,59}|[a-z]{2,63})"
_PATH = r"(?:[:/?#][^\s<>\"')\]]*)?"
_SCHEME = re.compile(
    r"(?<![\w])(?:h[tx]{2}ps?|ftp|wss?)\s?(?::|\[:\])\s?//[^\s<>\"')\]]+|(?<![\w])(?:javascript|vbscript)\s*:\S*"
    r"|(?<![\w])data\s*:\s*[a-z]+/[a-z0-9.+-]+[;,]\S*|(?<![\w.])www\d?" + _DOT + r"[^\s<>\"')\]]+",
    re.IGNORECASE,
)
_IP = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5}|/)[^\s<>\"')\]]*", re.IGNORECASE)
_HOST = re.compile(
    rf"(?<![\w@.-])(?P<host>(?:{_LABEL}{_DOT})+(?P<ending>{_ENDING}))(?![\w-])(?!\.\w){_PATH}", re.IGNORECASE
)
_SPACED = re.compile(
    rf"(?<![\w@.-])(?P<host>{_LABEL}(?:\s+\.\s+|\s+dot\s+)(?P<ending>[a-z]{{2,6}}))(?![\w-])",
    re.IGNORECASE,
)
_ABBREVIATIONS = frozenset({"e.g", "i.e", "a.m", "p.m", "a.k.a", "ph.d", "u.s", "u.k", "n.b", "p.s"})
_DEFANGED = re.compile(r"\s?(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))\s?|\s+dot\s+|\s*\.\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    text: str  # as written
    host: str  # lower case, dots plain ("" for a scheme without a host, e.g. "javascript:")
    start: int
    end: int


def _host_of(url: str) -> str:
    match = re.match(r"^\s*(?:[a-z]+\s?(?::|\[:\])\s?//)?([^/\s:?#]+)", url, re.IGNORECASE)
    return _DEFANGED.sub(".", match.group(1)).lower().strip(".") if match else ""


def _is_host(match: re.Match[str]) -> bool:
    host, ending = match.group("host"), match.group("ending")
    plain = _DEFANGED.sub(".", host).lower()
    if plain in _ABBREVIATIONS or plain.rstrip(".") in _ABBREVIATIONS:
        return False
    defanged = plain != host.lower()
    common = ending.lower() in SPELLED_ENDINGS
    if not defanged and ending[0].isupper() and ending[1:].islower() and not common:
        return False  # "shoes.Love them": a missing space, not a host
    labels = plain.split(".")[:-1]
    return common or any(re.search(r"[a-z]", label) for label in labels)


def find_links(text: str) -> list[Link]:
    """Every link of `text`, in order (see the module docstring for what counts)."""
    found: list[Link] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, host: str) -> None:
        if any(start < b and a < end for a, b in taken):
            return
        taken.append((start, end))
        found.append(Link(text[start:end], host, start, end))

    for match in _SCHEME.finditer(text):
        add(match.start(), match.end(), _host_of(match.group(0)) if "//" in match.group(0) or
            match.group(0).lower().startswith("www") else "")
    for match in _IP.finditer(text):
        add(match.start(), match.end(), _host_of(match.group(0)))
    for match in _HOST.finditer(text):
        if _is_host(match):
            add(match.start(), match.end(), _DEFANGED.sub(".", match.group("host")).lower())
    for match in _SPACED.finditer(text):
        if match.group("ending").lower() in SPELLED_ENDINGS:
            add(match.start(), match.end(), _DEFANGED.sub(".", match.group("host")).lower())
    return sorted(found, key=lambda link: link.start)


def within(host: str, domains: Iterable[str]) -> bool:
    """Whether `host` is one of `domains` or below one ("www.shop.example" is within "shop.example")."""
    host = host.lower().strip(".")
    if host.startswith("www."):
        host = host[4:]
    for domain in domains:
        domain = domain.lower().strip(".").removeprefix("www.")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


_TAG = re.compile(
    r"</?[a-z][a-z0-9:-]*(?:\s[^<>]*)?/?\s*>|<[a-z][a-z0-9:-]*\s+[a-z:-]+\s*=|<!--|<!doctype|<\?",
    re.IGNORECASE,
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});", re.IGNORECASE)
_HANDLER = re.compile(r"(?<![\w])on[a-z]{3,20}\s*=\s*[\"'\w(]", re.IGNORECASE)


def find_markup(text: str) -> list[str]:
    """Every HTML tag, entity and inline event handler of `text`, in order."""
    matches = [m for pattern in (_TAG, _ENTITY, _HANDLER) for m in pattern.finditer(text)]
    return [m.group(0) for m in sorted(matches, key=lambda m: m.start())]
