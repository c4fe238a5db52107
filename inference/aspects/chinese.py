"""Aspect terms in Chinese reviews: frequent nouns and noun compounds of the shop's own Chinese reviews.

spaCy's English pipeline cannot segment Chinese, so Chinese text is cut into words and tagged by rjieba
(jieba's dictionary and tag set, in Rust: maintained, a wheel per platform, 0.2 s to load against
jieba's 0.9 s, the same part-of-speech tags as `jieba.posseg`). Candidates are, in each clause:

- runs of nominal words ("电池续航", "客服态度"): jieba tags nouns n*, verbal nouns vn and Latin words eng;
- the words just before a predicate (adverbs, then an adjective: "蓝牙连接|很稳定", "做工|精细"), where
  jieba's dictionary calls the topic a verb (连接, 做工, 充电): Chinese reviews put the aspect first.

Each candidate also offers its endings ("电池续航" -> "续航"), as the English extractor does. `fit(corpus)`
counts in how many texts each occurs; those reaching `min_count` texts are aspects, minus generic words
(东西, 产品, 评价...). `extract` marks in each candidate the longest ending that is an aspect; spans are
offsets into the caller's text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..progress import OnBatch
from .terms import AspectTerm, as_in, blank_markup, bounded

HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")

# Nouns that are never an aspect: the review's own vocabulary, people, time, vague words, and words
# jieba mis-tags as nouns in reviews (有点, 太短...). 质量 stays: "quality" is what shoppers complain about.
_GENERIC = """东西 产品 商品 宝贝 物品 评价 好评 差评 中评 评论 感觉 问题 地方 时候 时间 朋友 家人 家里人 大家
自己 个人 总体 整体 方面 样子 情况 事情 东东 亲们 有点 一点 一下 总之 其他 之前 以后 现在 今天 昨天
当时 星期 小时 分钟 价位 本人 老公 老婆 孩子 妈妈 爸爸 效果 功能 体验 印象 原因 结果 一次 第一次
真的 实在 还是 而且 但是 不过 预期 五星 下单 缺点 优点 附带 推荐 购买 收货 店家 这款 这个 那个
起来 还会 男朋友 女朋友 小哥 预计 宣传"""
GENERIC_WORDS = frozenset(_GENERIC.split())
# Degree and opinion words jieba may tag as nouns when glued to an adjective ("太短", "超值", "很棒").
_OPINION_START = tuple("太很挺超真蛮较更最好差棒赞不没")  # and negations: 不会, 没用
_NOMINAL_TAGS = ("n", "vn", "eng")  # prefixes: n, nr, ns, nt, nz, ng, nrt...; vn; eng
_TOPIC_TAGS = (*_NOMINAL_TAGS, "v", "q")  # may open a topic before a predicate: 蓝牙连接, 充电盒
_ADVERB_TAGS = ("d", "zg")  # 很 非常 也 都 不 ...
_ADJECTIVE_TAGS = ("a", "ad", "an", "i")
_STOP = """的 了 和 是 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它 他
她 我 你 这 那 这个 那个 也 很 还 又 在 有 被 把 给 让 对 从 到 用
说 要 会 能 可以 吧 啊 呢 吗 嘛 哦 呀 么 之 其 更 最 太 挺 比较
非常 特别 真 就是 还是 不是 但是 不过 而且 所以 因为 如果 虽然 然后 已经
一直 一样 一下 一些 一点 有点 感觉 觉得 东西 产品 买 购买 收到 这款 这次"""
STOP_WORDS = frozenset(_STOP.split())  # left out of topic keywords


@cache
def segmenter() -> Any:
    """rjieba, imported on first use (its dictionary loads with it, about 0.2 s)."""
    import rjieba  # heavy-ish: the dictionary loads at import

    return rjieba


def tagged(text: str) -> list[tuple[str, str, int, int]]:
    """(word, tag, start, end) for every word of `text`; offsets are those of `text` (the words of
    rjieba.tag concatenate back to the text)."""
    words, position = [], 0
    for word, tag in segmenter().tag(text):
        words.append((word, tag, position, position + len(word)))
        position += len(word)
    if position != len(text):  # never seen; fall back to no words rather than wrong offsets
        return []
    return words


def words(text: str) -> list[str]:
    """The words of a text for keyword counting: Han words of two or more characters and Latin words,
    stop words left out ("蓝牙 连接 稳定")."""
    found = []
    for word, _tag in segmenter().tag(text):
        if word in STOP_WORDS or word in GENERIC_WORDS:
            continue
        if (HAN.search(word) and len(word) >= 2) or (word.isascii() and word.isalpha() and len(word) >= 2):
            found.append(word.lower())
    return found


def _has_tag(tag: str, prefixes: Sequence[str]) -> bool:
    return any(tag.startswith(prefix) for prefix in prefixes)


def _content(word: str, tag: str, prefixes: Sequence[str]) -> bool:
    return (
        _has_tag(tag, prefixes)
        and word not in GENERIC_WORDS
        and word not in STOP_WORDS
        and not (word.startswith(_OPINION_START) and len(word) <= 3 and HAN.match(word) is not None)
        and (HAN.search(word) is not None or word.isalpha())
    )


@dataclass(frozen=True)
class _Candidate:
    keys: tuple[str, ...]  # the phrase and its endings, longest first
    starts: tuple[int, ...]
    end: int


def _runs(tokens: list[tuple[str, str, int, int]], prefixes: Sequence[str]) -> list[list[int]]:
    runs, current = [], []
    for i, (word, tag, _, _) in enumerate(tokens):
        if _content(word, tag, prefixes):
            current.append(i)
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


@dataclass(eq=False, kw_only=True)
class ChineseAspectExtractor:
    """Frequent nominal phrases of a Chinese corpus (see the module's docstring)."""

    min_count: int = 3
    # a word in over half the texts names the product itself ("裤子" in a trouser shop); 0.3 dropped
    # 质量 and 房间, which Chinese shoppers do discuss in nearly every review
    max_doc_fraction: float = 0.5
    min_docs_for_fraction: int = 200
    max_words: int = 3
    max_chars: int = 8
    version: str = field(default="zh-frequent-nouns", init=False)
    fitted: bool = field(default=False, init=False)
    aspects: frozenset[str] = field(default_factory=frozenset, init=False, repr=False)
    frequency: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def _candidates(self, text: str) -> list[_Candidate]:
        tokens = tagged(text)
        spans: set[tuple[int, int]] = set()  # (first, last) token indices of candidate phrases
        for run in _runs(tokens, _NOMINAL_TAGS):
            # after 很/太/不 a "noun" is an adjective jieba mis-tagged (很结实, 不油腻): the predicate
            after_adverb = run[0] > 0 and _has_tag(tokens[run[0] - 1][1], _ADVERB_TAGS)
            if not after_adverb and _has_tag(tokens[run[-1]][1], _NOMINAL_TAGS):
                spans.add((run[0], run[-1]))
        for run in _runs(tokens, _TOPIC_TAGS):  # the topic before a predicate: adverbs, or an adjective
            after = run[-1] + 1
            while after < len(tokens) and tokens[after][0].isspace():  # markup blanked out, a stray space
                after += 1
            predicate = after < len(tokens) and _has_tag(tokens[after][1], (*_ADVERB_TAGS, *_ADJECTIVE_TAGS))
            last_word, last_tag = tokens[run[-1]][0], tokens[run[-1]][1]
            # a lone measure word is no topic, but 充电|盒 (verb + measure word) is a compound; a verb
            # with an aspect particle (背着, 用了) is an action, not a thing
            if predicate and (last_tag != "q" or len(run) > 1) and not last_word.endswith(("着", "了", "过")):
                spans.add((run[0], run[-1]))
        found = []
        for first, last in sorted(spans):
            first = max(first, last - self.max_words + 1)
            while first <= last and tokens[last][3] - tokens[first][2] > self.max_chars:
                first += 1
            endings = [i for i in range(first, last + 1) if tokens[i][1] != "q"]
            if not endings:
                continue
            end = tokens[last][3]
            found.append(_Candidate(
                keys=tuple(text[tokens[i][2] : end].lower() for i in endings),
                starts=tuple(tokens[i][2] for i in endings),
                end=end,
            ))
        return [c for c in found if any(HAN.search(key) for key in c.keys)]

    def fit(self, corpus_texts: Sequence[str]) -> ChineseAspectExtractor:
        """Learn which candidates are aspects of the Chinese texts of this corpus (others are ignored)."""
        texts = [blank_markup(bounded(text)) for text in corpus_texts if HAN.search(text or "")]
        frequency: Counter[str] = Counter()
        whole: Counter[str] = Counter()  # texts where the key is a whole candidate, not only an ending
        for text in texts:
            seen: set[str] = set()
            for candidate in self._candidates(text):
                seen.update(key for key in candidate.keys if len(key) >= 2 or not HAN.match(key))
                whole[candidate.keys[0]] += 1
            frequency.update(seen)
        ceiling = self.max_doc_fraction * len(texts) if len(texts) >= self.min_docs_for_fraction else math.inf
        self.aspects = frozenset(
            key for key, n in frequency.items() if self.min_count <= n <= ceiling and whole[key] and len(key) >= 2
        )
        self.frequency = {key: frequency[key] for key in self.aspects}
        self.fitted = True
        return self

    def extract(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[list[AspectTerm]]:
        """Aspect mentions per text, spans as in the text. Unfitted, it fits on `texts` themselves."""
        if not self.fitted:
            self.fit(texts)
        results = []
        for text in texts:
            source = bounded(text)
            prepared = blank_markup(source)
            terms = []
            if HAN.search(prepared):
                for candidate in self._candidates(prepared):
                    for key, start in zip(candidate.keys, candidate.starts, strict=True):
                        if key in self.aspects:
                            terms.append(AspectTerm(prepared[start : candidate.end], start, candidate.end))
                            break
            results.append(as_in(source, _unique(terms)))
            if on_batch is not None:
                on_batch(1)
        return results


def _unique(terms: list[AspectTerm]) -> list[AspectTerm]:
    """Sorted by position, without a span inside another (a noun run and a topic may overlap)."""
    kept: list[AspectTerm] = []
    for term in sorted(terms, key=lambda t: (t.start, -t.end)):
        if kept and term.start < kept[-1].end:
            continue
        kept.append(term)
    return kept
