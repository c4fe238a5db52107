"""The passages of each knowledge source, as the assistant retrieves and cites them: pure functions from
rows to `Passage`s (no database, no model), so the indexer can tell what changed by comparing texts.

- product facts: one facts block (title, category, brand, price, stock, attributes) opening the first
  passage, then the description in passages of about 60-120 words cut at sentence ends;
- a product question with its answer: one passage "Q: ... A: ..." (unanswered questions have none);
- an article: one passage per Markdown section (## or ### heading; the text before the first heading is
  its own), titled "Article: Section", Markdown reduced to plain text; a long section is cut like a
  description;
- review insight: one passage per praised aspect and per pain point, with its count and quotes (emails and
  phone numbers redacted: quotes come from shoppers' reviews).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import markdown

from catalog.language import detect_language
from catalog.models import Product, ProductInsight

from .models import Article, ProductQuestion
from .redaction import redact

MIN_WORDS = 60  # a passage is cut at the first sentence end after this many words...
MAX_WORDS = 120  # ...and never runs past this many (a longer sentence is cut between words)
TITLE_CHARS = 300  # KnowledgeChunk.title's length
QUOTES_PER_ASPECT = 3
MAX_FACTS = 40  # attributes indexed per product, one passage each

_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\u3000-\u303f\uff00-\uffef]")  # Han and CJK punctuation
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])|\n+")
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|pre|blockquote|tr|table|ul|ol)>|<br\s*/?>|<hr\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Passage:
    """One chunk of a source: its place, what a citation shows, the text, its language and product."""

    position: int
    title: str
    text: str
    language: str
    product_id: int | None


def words_in(text: str) -> int:
    """A passage's length in words: Latin words, plus a word per two Han characters (a Chinese word is
    one to three characters, and the text has no spaces to count)."""
    han = len(_HAN.findall(text))
    return len(_HAN.sub(" ", text).split()) + (han + 1) // 2


def split_passages(text: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """`text` in pieces of about `min_words`-`max_words` words, cut at sentence ends (a sentence longer
    than `max_words` is cut between words). Whitespace inside a sentence is normalised."""
    sentences = [" ".join(s.split()) for s in _SENTENCE_END.split(text or "")]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in (s for s in sentences if s):
        length = words_in(sentence)
        if current and size + length > max_words:
            pieces.append(_join(current))
            current, size = [], 0
        if length > max_words:
            pieces.extend(_cut_long(sentence, max_words))
            continue
        current.append(sentence)
        size += length
        if size >= min_words:
            pieces.append(_join(current))
            current, size = [], 0
    if current:
        # a short tail joins the previous piece when both fit, rather than standing alone
        if pieces and size < min_words // 2 and words_in(pieces[-1]) + size <= max_words:
            pieces[-1] = _join([pieces[-1], *current])
        else:
            pieces.append(_join(current))
    return pieces


def _join(sentences: Sequence[str]) -> str:
    text = ""
    for sentence in sentences:  # Chinese sentences join without a space
        glue = "" if not text or (_CJK.match(text[-1]) and _CJK.match(sentence[0])) else " "
        text += glue + sentence
    return text


def _cut_long(sentence: str, max_words: int) -> list[str]:
    if " " not in sentence:  # unspaced (Chinese): by characters, two per word
        step = max_words * 2
        return [sentence[i : i + step] for i in range(0, len(sentence), step)]
    words = sentence.split()
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def _language(declared: str, text: str) -> str:
    return (declared or "").split("-")[0].lower() or detect_language(text) or "en"


# --- product facts -------------------------------------------------------------------------------------

def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value if v not in (None, ""))
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


_UNITS = {"g": "g", "kg": "kg", "mm": "mm", "cm": "cm", "m": "m", "ml": "ml", "l": "litres", "w": "W", "v": "V",
          "mah": "mAh", "hours": "hours", "h": "hours", "min": "minutes", "mins": "minutes",
          "days": "days", "in": "inches"}


def fact_name(key: str) -> str:
    """An attribute key as a shopper would say it: "battery_hours" -> "battery (hours)", "weight_g" -> "weight (g)"."""
    words = [w for w in re.split(r"[_\s]+", str(key).strip()) if w]
    if len(words) > 1 and words[-1].lower() in _UNITS:
        return " ".join(words[:-1]) + f" ({_UNITS[words[-1].lower()]})"
    return " ".join(words)


def facts_text(product: Product) -> str:
    """What the product is, one per line: name, category, brand."""
    lines = [product.title.strip()]
    levels = [part.strip() for part in (product.category or "").split(">") if part.strip()]
    if levels:
        lines.append("Category: " + " > ".join(levels))
    if product.brand.strip():
        lines.append(f"Brand: {product.brand.strip()}")
    return "\n".join(lines)


def offer_lines(product: Product) -> list[str]:
    """Price and stock, each a passage of its own like an attribute ("How much is it?" found the weight
    while the price sat in the block with the name and category)."""
    lines = [f"Price: {Decimal(product.price):.2f} {product.currency}"] if product.price is not None else []
    lines.append("Availability: in stock" if product.in_stock else "Availability: out of stock")
    return lines


def attribute_lines(product: Product) -> list[str]:
    """One line per attribute ("battery (hours): 60"), at most MAX_FACTS."""
    lines = []
    for key, value in (product.attributes or {}).items():
        shown = _value(value)
        if shown:
            lines.append(f"{fact_name(key)}: {shown}")
    return lines[:MAX_FACTS]


def product_passages(product: Product) -> list[Passage]:
    """What it is, then its price, its stock and each attribute as passages of their own, then the
    description in pieces.

    An attribute gets a passage of its own because a shopper asks about one thing at a time: "How long does
    the battery last?" is far nearer "battery (hours): 60" than a block of every fact and a description
    (cosine 0.13 for the block on the demo's headphones, and the product never made the top five).
    """
    language = _language("", f"{product.title}\n{product.description}")
    title = _title(product.title)
    texts = [
        facts_text(product), *offer_lines(product), *attribute_lines(product), *split_passages(product.description)
    ]
    return [Passage(i, title, text, language, product.pk) for i, text in enumerate(texts)]


# --- product questions ---------------------------------------------------------------------------------

def question_passages(question: ProductQuestion) -> list[Passage]:
    """"Q: ... A: ..." titled by the question; nothing while the question is unanswered."""
    asked, answer = " ".join(question.question.split()), " ".join((question.answer or "").split())
    if not asked or not answer:
        return []
    language = _language(question.language, f"{asked}\n{answer}")
    return [Passage(0, _title(asked), f"Q: {asked}\nA: {answer}", language, question.product_id)]


# --- articles ------------------------------------------------------------------------------------------

def markdown_text(source: str) -> str:
    """Markdown as plain text: emphasis, links, code marks and tags gone, one line per block."""
    rendered = markdown.markdown(source or "", extensions=["tables", "fenced_code"])
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", rendered)))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def article_sections(body: str) -> list[tuple[str, str]]:
    """(heading, Markdown) of each section: the text before the first heading has heading ""; headings
    inside fenced code blocks do not count."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in (body or "").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading:
            sections.append((markdown_text(heading.group(2)), []))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in sections]


def article_passages(article: Article) -> list[Passage]:
    """A passage per section (a long one in several); nothing for an unpublished article."""
    if not article.is_published:
        return []
    name = " ".join(article.title.split())
    language = _language(article.language, f"{name}\n{article.body}")
    found: list[tuple[str, str]] = []
    for heading, body in article_sections(article.body):
        text = markdown_text(body)
        if not text and not heading:
            continue
        title = f"{name}: {heading}" if heading else name
        if words_in(text) <= MAX_WORDS:
            found.append((title, text or heading))
        else:  # lines are cut points too, so list items stay whole
            found.extend((title, piece) for piece in split_passages(text))
    return [Passage(i, _title(title), text, language, None) for i, (title, text) in enumerate(found)]


# --- review insight ------------------------------------------------------------------------------------

def _quotes(entry: Mapping[str, Any]) -> list[str]:
    found = []
    for quote in entry.get("quotes") or []:
        text = quote.get("text") if isinstance(quote, Mapping) else quote
        text = " ".join(redact(str(text or "")).split())
        if text and text not in found:
            found.append(text)
    return found[:QUOTES_PER_ASPECT]


def _insight_text(entry: Mapping[str, Any], praised: bool, reviews: int, chinese: bool) -> tuple[str, str]:
    aspect = " ".join(str(entry.get("aspect") or entry.get("key") or "").split())
    count = int(entry.get("count") or entry.get("mentions") or 0)
    quotes = _quotes(entry)
    if chinese:
        verb = "称赞" if praised else "抱怨"
        head = f"评论{verb}{aspect}（{reviews} 条评论中有 {count} 条）"
        return f"评论{verb}：{aspect}", head + ("：" + "；".join(f"“{q}”" for q in quotes) if quotes else "。")
    out_of = f"{count} of {reviews} reviews" if reviews else f"{count} reviews"
    verb = "praise" if praised else "complain about"
    head = f"Reviewers {verb} the {aspect} ({out_of})"
    title = f"Reviewers {'praise' if praised else 'complain about'}: {aspect}"
    return title, head + (": " + "; ".join(f'"{q}"' for q in quotes) if quotes else ".")


def insight_passages(insight: ProductInsight) -> list[Passage]:
    """A passage per praised aspect, then per pain point, in the insight's order."""
    entries = [(e, True) for e in insight.praised_aspects or [] if isinstance(e, Mapping)]
    entries += [(e, False) for e in insight.pain_points or [] if isinstance(e, Mapping)]
    passages: list[Passage] = []
    for entry, praised in entries:
        sample = f"{entry.get('aspect', '')} {' '.join(_quotes(entry))}"
        language = _language("", sample)
        title, text = _insight_text(entry, praised, int(insight.review_count or 0), language == "zh")
        if entry.get("aspect") or entry.get("key"):
            passages.append(Passage(len(passages), _title(title), text, language, insight.product_id))
    return passages
