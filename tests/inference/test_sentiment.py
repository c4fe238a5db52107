"""Sentiment runtime: labels, prior correction, metrics, sampling, and the two classifiers on the real
packaged MiniLM (a few training steps on tiny synthetic data; `slow`, still run by CI)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from inference.sentiment.classifier import (
    EMPTY_PREDICTION,
    LABELS,
    SentimentClassifier,
    SentimentPrediction,
    binary_label,
    prepare_text,
    rating_to_label,
    review_text,
    sentiment_metrics,
)
from inference.sentiment.finetuned import FineTunedSentiment
from inference.sentiment.prototypes import PrototypeSentiment
from inference.sentiment.training import (
    balanced_sample,
    class_prior,
    prior_logit_bias,
    stratified_split,
    train_sentiment,
)
from tests.progress import RecordedProgress


@pytest.mark.parametrize(
    ("rating", "label"),
    [(1, "negative"), (2, "negative"), ("3", "neutral"), (4.0, "positive"), (" 5 ", "positive"),
     (0, None), (6, None), (3.5, None), ("abc", None), (None, None), ("", None)],
)
def test_rating_to_label(rating: object, label: str | None) -> None:
    assert rating_to_label(rating) == label


def test_review_text_and_prepare_text() -> None:
    assert review_text("Runs small", "Returned it") == "Runs small. Returned it"
    assert review_text("Love it!", None) == "Love it!"
    assert prepare_text("<p>Great <b>fit</b> &amp; colour</p>") == "Great fit & colour"
    assert prepare_text("a < b and c > d") == "a < b and c > d"  # not a tag: kept
    assert prepare_text(None) == "" and prepare_text("\x00 \n\t") == ""
    assert len(prepare_text("word " * 20_000)) <= 4_000


def test_prediction_polarity_and_binary_decision() -> None:
    prediction = SentimentPrediction.from_probs({"negative": 0.2, "neutral": 0.5, "positive": 0.3})
    assert prediction.label == "neutral" and prediction.score == 0.5
    assert prediction.polarity == pytest.approx(0.1)
    assert binary_label(prediction) == "positive"
    assert EMPTY_PREDICTION.label == "neutral" and EMPTY_PREDICTION.polarity == 0


def test_prior_correction_turns_the_training_posterior_into_the_target_one() -> None:
    train_prior = {"negative": 0.5, "neutral": 0.2, "positive": 0.3}
    bias = np.array(prior_logit_bias(train_prior))
    posterior = np.array([0.6, 0.1, 0.3])  # what a model trained under train_prior says
    corrected = np.exp(np.log(posterior) + bias)
    corrected /= corrected.sum()
    expected = posterior / np.array([0.5, 0.2, 0.3])  # Bayes: p(x|y) * uniform target
    assert corrected == pytest.approx(expected / expected.sum())
    assert prior_logit_bias({label: 1 / 3 for label in LABELS}) == pytest.approx([0, 0, 0])
    # a class absent from training (binary labels) is left alone rather than pushed to infinity
    assert all(math.isfinite(b) for b in prior_logit_bias({"negative": 0.4, "neutral": 0.0, "positive": 0.6}))
    assert class_prior(["negative", "positive", "positive", "positive"]) == {
        "negative": 0.25, "neutral": 0.0, "positive": 0.75
    }


def test_metrics_three_class_and_binary() -> None:
    def p(neg: float, neu: float, pos: float) -> SentimentPrediction:
        return SentimentPrediction.from_probs({"negative": neg, "neutral": neu, "positive": pos})

    true = ["negative", "neutral", "positive", "positive"]
    preds = [p(0.7, 0.2, 0.1), p(0.3, 0.1, 0.6), p(0.1, 0.6, 0.3), p(0, 0.1, 0.9)]
    m = sentiment_metrics(true, preds)
    assert m["accuracy"] == 0.5
    assert m["f1_per_class"] == {"negative": 1.0, "neutral": 0.0, "positive": pytest.approx(0.5)}
    assert m["macro_f1"] == pytest.approx(0.5)
    # binary: neutral rows left out; the third row is neutral by argmax but P(pos) > P(neg)
    assert (m["binary_accuracy"], m["binary_macro_f1"], m["n_binary"]) == (1.0, 1.0, 3)
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        sentiment_metrics(["negative", "positive"], preds[:1])


def test_stratified_split_and_balanced_sample() -> None:
    labels = ["positive"] * 800 + ["neutral"] * 120 + ["negative"] * 80
    train, held = stratified_split(labels, 0.2, seed=1)
    assert len(set(train) | set(held)) == 1000 and not set(train) & set(held)
    held_counts = {label: sum(labels[i] == label for i in held) for label in LABELS}
    assert held_counts == {"negative": 16, "neutral": 24, "positive": 160}
    assert stratified_split(labels, 0.2, seed=1) == (train, held)  # seeded
    _, capped = stratified_split(labels, 0.5, seed=1, max_rows=100)
    assert 95 <= len(capped) <= 105

    chosen = balanced_sample(labels, train, max_per_class=100, seed=1, oversample=1.5)
    counts = {label: sum(labels[i] == label for i in chosen) for label in LABELS}
    assert counts == {"negative": 96, "neutral": 100, "positive": 100}  # 64 negatives repeated up to 1.5x
    assert set(chosen) <= set(train)


# --- Real model (packaged MiniLM) ---------------------------------------------------------------------

BAD_INPUTS: list[Any] = [
    "",
    None,
    "   \n\t ",
    "\x00\x01\x02",
    "great " * 10_000,
    "<div class='review'><b>Terrible</b> quality &amp; <script>alert(1)</script> broke in a day</div>",
    "质量很好 but the battery died after two days 😡",
    "😍😍🔥🔥",
    "12345 !!! ???",
]

SYNTHETIC = {
    "positive": ["Love it, fits perfectly", "Great quality, highly recommend", "Beautiful and comfortable",
                 "Excellent battery life", "Perfect, five stars", "So soft and flattering, love it",
                 "Works great, very happy", "Wonderful product, would buy again", "Amazing value",
                 "Fantastic, exactly as pictured", "Great fit and lovely colour", "Superb, very pleased",
                 "Love love love this dress", "Best purchase this year"],
    "neutral": ["It is okay", "Average, nothing special", "Fine for the price", "It is alright I guess",
                "Decent but a bit large", "Not bad, not great", "Some good points, some bad",
                "Arrived as described", "Mixed feelings about it", "So-so quality", "Just average",
                "It works, that is all", "Fit is fine, colour is meh", "Acceptable"],
    "negative": ["Terrible, fell apart", "Awful quality, returned it", "Broke after one day",
                 "Cheap fabric, very disappointed", "Worst purchase ever", "Do not buy this",
                 "Horrible fit and itchy", "Stopped working, waste of money", "Poorly made and ugly",
                 "Really bad, sent it back", "Complete junk", "Uncomfortable and see-through",
                 "Hate it", "Very poor, avoid"],
}


@pytest.fixture(scope="module")
def prototypes() -> PrototypeSentiment:
    from inference.embedding import Embedder

    return PrototypeSentiment(Embedder())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, FineTunedSentiment]:
    texts = [t for label in LABELS for t in SYNTHETIC[label]]
    labels = [label for label in LABELS for _ in SYNTHETIC[label]]
    progress = RecordedProgress()
    result = train_sentiment(
        texts, labels, tmp_path_factory.mktemp("sentiment") / "tiny", max_per_class=10, batch_size=8,
        validation_fraction=0.2, seed=3, learning_rate=1e-4, progress=progress,
    )
    result.params["progress_calls"] = progress.steps
    return result, FineTunedSentiment(result.path)


@pytest.mark.slow
def test_prototypes_get_obvious_examples_right(prototypes: PrototypeSentiment) -> None:
    texts = [
        "This is the worst product I have ever bought, it broke immediately and I want a refund.",
        "Absolutely love it! Great quality, fits perfectly, highly recommend.",
        "It's okay, nothing special.",
        "Terrible customer service and the package arrived damaged.",
        "Excellent headphones, amazing sound and the battery lasts all day.",
    ]
    labels = [p.label for p in prototypes.predict(texts)]
    assert labels == ["negative", "positive", "neutral", "negative", "positive"]
    assert isinstance(prototypes, SentimentClassifier)
    assert prototypes.version.startswith("prototypes-v2/")


@pytest.mark.slow
def test_prototypes_read_what_is_said_about_a_part_not_which_part(prototypes: PrototypeSentiment) -> None:
    """Issue 11: nearest neighbours called this clause praise, because it sits near praise of batteries."""
    texts = [
        "the battery life is nowhere near the advertised hours",
        "it stopped working after a week",
        "the grip is great and it never slides off the table",
        "My only small gripe is that the cable is short",
        "我很喜欢，质量非常好",
    ]
    assert [p.label for p in prototypes.predict(texts)] == ["negative", "negative", "positive", "negative", "positive"]


@pytest.mark.slow
def test_train_save_reload_round_trip(trained: tuple[Any, FineTunedSentiment]) -> None:
    result, model = trained
    for name in ("config.json", "model.safetensors", "tokenizer.json", "sentiment.json"):
        assert (result.path / name).exists(), name
    meta = json.loads((result.path / "sentiment.json").read_text())
    assert meta["labels"] == list(LABELS) and len(meta["logit_bias"]) == 3
    assert set(meta["metrics"]) >= {"macro_f1", "accuracy", "binary_macro_f1", "binary_accuracy"}
    assert sum(result.train_counts.values()) == result.params["train_rows"] > 0
    calls = result.params["progress_calls"]
    assert calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == list(range(1, len(calls) + 1))
    # the reloaded model scores the validation split exactly as training measured it
    reloaded = sentiment_metrics(result.validation_labels, model.predict(result.validation_texts))
    assert reloaded["macro_f1"] == result.metrics["macro_f1"]
    assert reloaded["accuracy"] == result.metrics["accuracy"]
    assert isinstance(model, SentimentClassifier) and model.version == "tiny"


@pytest.mark.slow
def test_batched_prediction_keeps_input_order(trained: tuple[Any, FineTunedSentiment]) -> None:
    _, model = trained
    texts = ["ok", "This dress is lovely. " * 40, "", "Bad.", "Fits well but the colour is off. " * 8, "Great"]
    batched = model.predict(texts)
    one_by_one = [model.predict([text])[0] for text in texts]
    for a, b in zip(batched, one_by_one, strict=True):
        assert a.label == b.label
        assert [a.probs[label] for label in LABELS] == pytest.approx([b.probs[label] for label in LABELS], abs=1e-4)
    seen: list[int] = []
    model.predict(texts, on_batch=seen.append)
    assert sum(seen) == len(texts)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["fine-tuned", "prototypes"])
def test_bad_inputs_give_valid_predictions(
    which: str, trained: tuple[Any, FineTunedSentiment], prototypes: PrototypeSentiment
) -> None:
    classifier: SentimentClassifier = trained[1] if which == "fine-tuned" else prototypes
    predictions = classifier.predict(BAD_INPUTS)
    assert len(predictions) == len(BAD_INPUTS)
    for prediction in predictions:
        assert prediction.label in LABELS
        assert 0 <= prediction.score <= 1
        assert sum(prediction.probs.values()) == pytest.approx(1, abs=1e-4)
        assert -1 <= prediction.polarity <= 1
    for empty in predictions[:4]:  # nothing to read: neutral, low confidence
        assert empty == EMPTY_PREDICTION
    assert classifier.predict([]) == []
