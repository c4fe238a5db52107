"""The plain-text part of an email, read from its HTML: one source, so the two parts never drift apart.

Rules: the head, styles and elements marked `data-text="skip"` are left out (the hidden preheader; the header
and headline, which the footer and the Subject already say; images and the link around a product's image,
whose alt text and link repeat the title and the button). Rows, tables, headings and elements marked
`data-text="block"` are separated by a blank line; paragraphs and elements marked `data-text="line"` by a
line break. A link marked `data-button` or `data-text="line"` (buttons, the unsubscribe link) becomes its
own line "Label: URL", any other link "text (URL)" (just the URL when that is its text), so every link of
the HTML is in the text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SKIPPED_TAGS = {"head", "style", "script", "title"}
VOID_TAGS = {"img", "br", "meta", "link", "hr", "input", "col", "area", "base", "source", "wbr"}
PARAGRAPH_TAGS = {"table", "tr", "h1", "h2", "h3", "h4", "ul", "ol"}
LINE_TAGS = {"p", "div", "li"}
PARAGRAPH, LINE, NONE = "\n\n", "\n", ""


def _break_of(tag: str, marked: str | None) -> str:
    if marked == "line":
        return LINE
    if marked == "block":
        return PARAGRAPH
    if tag in PARAGRAPH_TAGS:
        return PARAGRAPH
    return LINE if tag in LINE_TAGS else NONE


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool, str]] = []  # open elements: tag, hides its content, break around it
        self.link: tuple[str, bool] | None = None  # the open link: its URL and whether it is a line of its own
        self.link_text: list[str] = []

    @property
    def hidden(self) -> bool:
        return any(hides for _, hides, _ in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        marked = attributes.get("data-text")
        hidden_before = self.hidden
        hides = tag in SKIPPED_TAGS or marked == "skip"
        brk = _break_of(tag, marked)
        if tag not in VOID_TAGS:
            self.stack.append((tag, hides, brk))
        if hidden_before or hides:
            return
        if tag == "br":
            self.out.append(LINE)
        elif tag == "a" and attributes.get("href"):
            line = "data-button" in attributes or marked == "line"
            self.link, self.link_text = (attributes["href"] or "", line), []
        else:
            self._break(brk)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS or not any(open_tag == tag for open_tag, _, _ in self.stack):
            return
        while self.stack:  # close up to the matching element (HTML forgives unclosed ones)
            open_tag, hides, brk = self.stack.pop()
            if open_tag == tag:
                break
        if hides or self.hidden:
            return
        if tag == "a" and self.link is not None:
            url, line = self.link
            text = " ".join("".join(self.link_text).split())
            self.link = None
            if line:
                self._break(LINE)
                self.out.append(f"{text}: {url}" if text else url)
                self._break(LINE)
            else:
                self.out.append(url if not text or text == url else f"{text} ({url})")
        else:
            self._break(brk)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        text = re.sub(r"\s+", " ", data)
        if self.link is not None:
            self.link_text.append(text)
        else:
            self.out.append(text)

    def _break(self, brk: str) -> None:
        """At least `brk` line breaks at the end of what is written so far (never more)."""
        if not brk:
            return
        tail = "".join(self.out[-4:]).rstrip(" ")
        have = len(tail) - len(tail.rstrip("\n"))
        if have < len(brk):
            self.out.append("\n" * (len(brk) - have))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.out).split("\n")]
        return re.sub(r"\n{3,}", PARAGRAPH, "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """The readable text of an email's HTML (see the module docstring)."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.text()
