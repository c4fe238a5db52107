"""Help articles' Markdown as HTML that is safe to show in the admin (and anywhere else).

An article is written by a manager, but a page that renders it is read by other staff: raw HTML in the
Markdown (`<script>`, `<img onerror=...>`) is shown as text, never as markup, and links or images whose
address is not http(s), mailto or relative (`javascript:`, `data:`) lose it.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from urllib.parse import urlsplit

import markdown
from django.utils.safestring import SafeString, mark_safe
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = frozenset({"", "http", "https", "mailto"})


class _SafeLinks(Treeprocessor):
    """Drops `href` / `src` values with a scheme outside SAFE_SCHEMES."""

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not _safe_url(value):
                    element.set(attribute, "")


def _safe_url(value: str) -> bool:
    # browsers ignore control characters and whitespace inside a scheme ("java\tscript:")
    cleaned = "".join(ch for ch in value if ch > " " and ch != "\x7f")
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES


def _converter() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["sane_lists", "tables"], output_format="html")
    # raw HTML blocks and inline tags stay text (Markdown escapes them once these are gone)
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)
    return md


def render_markdown(text: str) -> SafeString:
    """The Markdown as HTML, with raw HTML escaped and unsafe link addresses removed."""
    html = _converter().convert(text or "")
    return mark_safe(html)  # built from escaped text by the converter above
