"""The aspect polarity head: its pooling, saving and loading, the tagger reading polarity in the same pass
as its terms (windows included), the clause fallback for a tagger without a head, and a tiny real joint
training run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from inference.aspects.polarity import mentions_with_polarity
from inference.aspects.polarity_head import (
    HEAD_FILE,
    META_FILE,
    POLARITY_LABELS,
    PolarityHead,
    load_head,
    save_head,
    term_positions,
)
from inference.aspects.tagger import AspectTagger
from inference.aspects.terms import AspectMention, AspectTerm
from inference.aspects.training import polarity_scores, train_aspect_tagger
from inference.device import select_device
from inference.loading import default_embedding_path
from tests.inference.tiny_tagger import tiny_tagger_folder

# --- The head ----------------------------------------------------------------------------------------


def test_head_pools_the_terms_pieces_and_the_sentence_it_may_attend() -> None:
    head = PolarityHead(4).eval()
    with torch.no_grad():
        head.out.weight.zero_()
        head.out.bias.zero_()
        head.out.weight[0, 0] = 1.0  # logit 0: feature 0 of the term's mean
        head.out.weight[1, 4] = 1.0  # logit 1: feature 0 of the sentence summary
    states = torch.arange(2 * 5 * 4, dtype=torch.float32).reshape(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    term = torch.tensor([[0, 1, 1, 0, 0], [0, 0, 1, 0, 0]])
    logits = head(states, mask, term)
    assert logits.shape == (2, len(POLARITY_LABELS))
    # term: mean of its pieces; sentence: with the untrained (zero) query, the mean of the unpadded pieces
    assert logits[0, 0].item() == pytest.approx((states[0, 1, 0] + states[0, 2, 0]).item() / 2)
    assert logits[1, 0].item() == pytest.approx(states[1, 2, 0].item())
    assert logits[0, 1].item() == pytest.approx(states[0, :, 0].mean().item())
    assert logits[1, 1].item() == pytest.approx(states[1, :3, 0].mean().item())
    padded = states.clone()
    padded[1, 3:] = 1e6  # what padding holds never reaches the result
    assert torch.allclose(head(padded, mask, term), logits)


def test_the_query_makes_the_summary_depend_on_the_term() -> None:
    torch.manual_seed(0)
    head = PolarityHead(8).eval()
    torch.nn.init.normal_(head.query.weight)
    states = torch.randn(1, 6, 8).repeat(2, 1, 1)
    mask = torch.ones(2, 6, dtype=torch.long)
    term = torch.zeros(2, 6, dtype=torch.long)
    term[0, 1], term[1, 4] = 1, 1
    logits = head(states, mask, term)
    assert not torch.allclose(logits[0], logits[1])  # two terms of one sentence are read differently


def test_term_positions_are_the_pieces_of_the_span() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(default_embedding_path())
    text = "the battery life is nowhere near the advertised hours"
    encoded = tokenizer([text], return_offsets_mapping=True)
    offsets = encoded["offset_mapping"][0]
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    assert [tokens[i] for i in term_positions(offsets, 4, 16)] == ["battery", "life"]
    every = term_positions(offsets, 0, len(text))
    assert tokens[0] == "[CLS]" and 0 not in every and len(tokens) - 1 not in every  # special pieces never
    assert term_positions(offsets, 3, 4) == []  # the space between two words


def test_head_saves_and_loads_with_its_labels(tmp_path: Path) -> None:
    torch.manual_seed(1)
    head = PolarityHead(8).eval()
    torch.nn.init.normal_(head.query.weight)
    entry = save_head(head, tmp_path)
    assert entry == {"file": HEAD_FILE, "labels": list(POLARITY_LABELS), "hidden": 8, "pooling": entry["pooling"]}
    assert load_head(tmp_path) is None  # no meta file: a folder without a head
    (tmp_path / META_FILE).write_text(json.dumps({"labels": ["O", "B-ASP", "I-ASP"]}))
    assert load_head(tmp_path) is None  # a meta file without a head entry (taggers trained before heads)
    (tmp_path / META_FILE).write_text(json.dumps({"polarity_head": entry}))
    loaded = load_head(tmp_path)
    assert loaded is not None and loaded.labels == POLARITY_LABELS and not loaded.training
    states, mask = torch.randn(3, 7, 8), torch.ones(3, 7, dtype=torch.long)
    term = torch.zeros(3, 7, dtype=torch.long)
    term[:, 2] = 1
    assert torch.allclose(loaded(states, mask, term), head(states, mask, term))
    (tmp_path / HEAD_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=HEAD_FILE):
        load_head(tmp_path)


def test_polarity_scores() -> None:
    true = ["positive", "negative", "neutral", "positive"]
    scores = polarity_scores(true, ["positive", "negative", "positive", "positive"])
    assert scores["accuracy"] == 0.75 and scores["n"] == 4
    assert scores["macro_f1"] == pytest.approx((0.8 + 1.0 + 0.0) / 3, abs=1e-4)
    with pytest.raises(ValueError):
        polarity_scores(["positive"], [])


# --- The tagger with and without a head ---------------------------------------------------------------

_LONG = "nothing to report here. " * 120  # about 700 word pieces: three windows
TEXTS = [
    "the battery life is nowhere near the advertised hours",
    "great screen but the keyboard is awful",
    "",
    "<p>The <b>screen</b> flickers</p>",
    "The laces stay tied. " + _LONG + "The laces stay tied.",
]


def _clause_classify(calls: list[list[str]]) -> Any:
    def classify(contexts: list[str]) -> list[str]:
        calls.append(list(contexts))
        return ["negative" if ("awful" in c or "nowhere" in c) else "positive" for c in contexts]

    return classify


@pytest.fixture(scope="module")
def old_tagger(tmp_path_factory: pytest.TempPathFactory) -> AspectTagger:
    return AspectTagger(tiny_tagger_folder(tmp_path_factory.mktemp("old") / "tagger", with_head=False))


@pytest.fixture(scope="module")
def head_tagger(tmp_path_factory: pytest.TempPathFactory) -> AspectTagger:
    return AspectTagger(tiny_tagger_folder(tmp_path_factory.mktemp("head") / "tagger", with_head=True))


def test_a_tagger_folder_without_a_head_falls_back_to_clauses(old_tagger: AspectTagger) -> None:
    assert not old_tagger.has_polarity
    calls: list[list[str]] = []
    mentions = old_tagger.extract_with_polarity(TEXTS, fallback=_clause_classify(calls))
    assert [[m.term for m in group] for group in mentions] == old_tagger.extract(TEXTS)
    assert all(m.source == "clause" and m.polarity in POLARITY_LABELS for group in mentions for m in group)
    assert mentions_with_polarity(old_tagger, TEXTS, _clause_classify(calls)) == mentions
    with pytest.raises(ValueError, match="no polarity head"):
        old_tagger.extract_with_polarity(TEXTS)
    with pytest.raises(ValueError, match="no polarity head"):
        old_tagger.span_polarities(TEXTS[:1], [[(4, 16)]])


def test_clause_fallback_reads_each_terms_clause() -> None:
    class Fixed:
        """An extractor without polarity of its own: the two terms of the contrast sentence."""

        def extract(self, texts: Any, on_batch: Any = None) -> list[list[AspectTerm]]:
            return [[AspectTerm("screen", 6, 12), AspectTerm("keyboard", 21, 29)] for _ in texts]

    calls: list[list[str]] = []
    mentions = mentions_with_polarity(Fixed(), [TEXTS[1]], _clause_classify(calls))
    assert mentions == [[AspectMention(AspectTerm("screen", 6, 12), "positive", "clause"),
                         AspectMention(AspectTerm("keyboard", 21, 29), "negative", "clause")]]
    assert calls == [["great screen", "but the keyboard is awful"]]
    assert mentions[0][1].as_dict() == {
        "term": "keyboard", "start": 21, "end": 29, "polarity": "negative", "polarity_source": "clause"
    }


def test_a_tagger_with_a_head_reads_polarity_in_the_same_pass(head_tagger: AspectTagger) -> None:
    assert head_tagger.has_polarity
    calls: list[list[str]] = []
    mentions = head_tagger.extract_with_polarity(TEXTS, fallback=_clause_classify(calls))
    assert calls == []  # the classifier is not asked: every mention has the head's polarity
    assert [[m.term for m in group] for group in mentions] == head_tagger.extract(TEXTS)
    assert sum(len(group) for group in mentions) > 0  # a random tagger tags something in these texts
    for text, group in zip(TEXTS, mentions, strict=True):
        for mention in group:
            assert mention.source == "head" and mention.polarity in POLARITY_LABELS
            assert text[mention.term.start : mention.term.end] == mention.term.term
    assert mentions_with_polarity(head_tagger, TEXTS, _clause_classify(calls)) == mentions and calls == []


def test_span_polarities_for_given_spans_across_windows(head_tagger: AspectTagger) -> None:
    long_text = TEXTS[4]
    last = long_text.rindex("laces")
    spans = [[(4, 16), (37, 53)], [], [(4, 9), (last, last + 5)]]
    labels = head_tagger.span_polarities([TEXTS[0], "", long_text], spans)
    assert [len(group) for group in labels] == [2, 0, 2]
    assert all(label in POLARITY_LABELS for group in labels for label in group)
    # each term is read in one chosen window of its own text, whatever else shares the batch
    assert head_tagger.span_polarities([long_text], [spans[2]], batch_size=1) == [labels[2]]
    with pytest.raises(ValueError, match="span lists"):
        head_tagger.span_polarities(TEXTS, [[]])


# --- A tiny real joint training run -------------------------------------------------------------------

_SENTENCES: list[tuple[str, list[tuple[str, str]]]] = [
    ("the battery life is nowhere near the advertised hours", [("battery life", "negative")]),
    ("great screen but the keyboard is awful", [("screen", "positive"), ("keyboard", "negative")]),
    ("The laces stay tied for the whole run", [("laces", "positive")]),
    ("The screen is not bright enough", [("screen", "negative")]),
    ("The keyboard feels better than my old one", [("keyboard", "positive")]),
    ("It comes with a charger", [("charger", "neutral")]),
    ("The battery died after a week", [("battery", "negative")]),
    ("I love the keyboard", [("keyboard", "positive")]),
    ("I bought it for my son", []),
]


def _examples() -> tuple[list[tuple[str, list[tuple[int, int]]]], list[list[str | None]]]:
    examples: list[tuple[str, list[tuple[int, int]]]] = []
    polarities: list[list[str | None]] = []
    for copy in range(3):  # copies differ in their ending, so the held-out split (by text) keeps some
        for text, terms in _SENTENCES:
            spans = [(text.index(term), text.index(term) + len(term)) for term, _ in terms]
            examples.append((f"{text}{'.' * copy}", spans))
            polarities.append([label for _, label in terms])
    return examples, polarities


@pytest.fixture(scope="module")
def joint(tmp_path_factory: pytest.TempPathFactory) -> Any:
    examples, polarities = _examples()
    folder = tmp_path_factory.mktemp("joint") / "tagger"
    return train_aspect_tagger(
        examples, folder, polarities=polarities, epochs=4, learning_rate=5e-4, batch_size=8, patience=4,
        validation_fraction=0.3, device=select_device("cpu"),
    )


@pytest.mark.slow
def test_joint_training_saves_a_tagger_with_a_head_that_reloads(joint: Any) -> None:
    assert (Path(joint.path) / HEAD_FILE).exists()
    meta = json.loads((Path(joint.path) / META_FILE).read_text())
    assert meta["polarity_head"]["labels"] == list(POLARITY_LABELS) and meta["params"]["polarity_head"]
    assert joint.params["train_polarity_terms"] > 0
    assert joint.metrics["polarity_terms"] > 0 and 0 <= joint.metrics["polarity_accuracy"] <= 1
    assert 0 <= joint.metrics["polarity_macro_f1"] <= 1
    losses = [record["polarity_loss"] for record in joint.history]
    assert min(losses[1:]) < losses[0]  # the head learns on its training sentences
    tagger = AspectTagger(joint.path)
    assert tagger.has_polarity
    texts = ["the battery life is nowhere near the advertised hours", "great screen but the keyboard is awful"]
    for text, group in zip(texts, tagger.extract_with_polarity(texts), strict=True):
        for mention in group:
            assert text[mention.term.start : mention.term.end] == mention.term.term
            assert mention.source == "head" and mention.polarity in POLARITY_LABELS
    labels = tagger.span_polarities(texts, [[(4, 16)], [(6, 12), (21, 29)]])
    assert [len(group) for group in labels] == [1, 2]


@pytest.mark.slow
def test_training_without_polarity_labels_saves_no_head(tmp_path: Path) -> None:
    examples, _ = _examples()
    result = train_aspect_tagger(
        examples[:9], tmp_path / "tagger", polarities=[[None] * len(spans) for _, spans in examples[:9]],
        epochs=1, batch_size=8, max_steps=1, device=select_device("cpu"),
    )
    assert not (result.path / HEAD_FILE).exists() and not result.params["polarity_head"]
    assert "polarity_accuracy" not in result.metrics
    assert not AspectTagger(result.path).has_polarity


def test_training_rejects_polarities_that_do_not_match_the_spans(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="polarity labels"):
        train_aspect_tagger([("the screen", [(4, 10)])], tmp_path / "x", polarities=[[]])
    with pytest.raises(ValueError, match="polarity lists"):
        train_aspect_tagger([("the screen", [(4, 10)])], tmp_path / "x", polarities=[])
