"""The ordinal sentiment head: cumulative probabilities, thresholds, the loss and the cutpoints, bad
input, and (slow, the packaged MiniLM on a few synthetic reviews) training end to end with early
stopping and loading folders of the earlier cross-entropy head."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inference.sentiment import ordinal
from inference.sentiment.classifier import LABELS, sentiment_metrics
from inference.sentiment.finetuned import FineTunedSentiment
from inference.sentiment.training import (
    Cutpoints,
    balanced_weights,
    initial_cutpoints,
    ordinal_loss,
    train_sentiment,
)
from tests.progress import RecordedProgress


def test_class_probabilities_are_ordered_and_sum_to_one() -> None:
    scores = np.linspace(-6, 6, 49)
    probs = ordinal.class_probs(scores, (-1.0, 1.5))
    assert probs.shape == (49, 3) and (probs >= 0).all()
    assert probs.sum(axis=1) == pytest.approx(np.ones(49))
    negative, neutral, positive = probs.T
    assert (np.diff(negative) <= 0).all() and (np.diff(positive) >= 0).all()  # P(y > k) grows with the score
    assert neutral.argmax() == np.abs(scores - 0.25).argmin()  # neutral peaks between the thresholds
    # the same threshold twice: no neutral, a plain logistic decision
    binary = ordinal.class_probs(np.array([-2.0, 0.0, 2.0]), (0.0, 0.0))
    assert binary[:, 1] == pytest.approx([0, 0, 0]) and binary[1, 2] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="thresholds must be ordered"):
        ordinal.class_probs(scores, (1.0, -1.0))


def test_thresholds_decide_the_label_and_probabilities_follow() -> None:
    predictions = ordinal.predictions(np.array([-3.0, -1.0, 0.2, 1.49, 1.5, 4.0]), (-1.0, 1.5))
    assert [p.label for p in predictions] == ["negative", "neutral", "neutral", "neutral", "positive", "positive"]
    for p in predictions:
        assert p.score == p.probs[p.label] and sum(p.probs.values()) == pytest.approx(1)
    assert predictions[0].polarity < predictions[2].polarity < predictions[5].polarity


def test_thresholds_are_chosen_for_macro_f1_on_validation() -> None:
    rng = np.random.default_rng(0)
    centres = {"negative": -3.0, "neutral": 0.0, "positive": 3.0}
    labels = ["negative"] * 60 + ["neutral"] * 40 + ["positive"] * 300
    scores = np.array([centres[label] for label in labels]) + rng.normal(0, 0.6, len(labels))
    (t1, t2), f1 = ordinal.choose_thresholds(scores, labels, fallback=(2.5, 2.6))  # poor learned cutpoints
    assert -3 < t1 < 0 < t2 < 3 and t1 <= t2
    assert f1 > 0.9
    assert sentiment_metrics(labels, ordinal.predictions(scores, (t1, t2)))["macro_f1"] == pytest.approx(f1, abs=1e-4)
    # binary validation (no neutral rows): one threshold
    binary_labels = ["negative"] * 50 + ["positive"] * 150
    binary_scores = np.array([-1.0] * 50 + [1.0] * 150) + rng.normal(0, 0.3, 200)
    (b1, b2), bf1 = ordinal.choose_thresholds(binary_scores, binary_labels, fallback=(3.0, 3.0))
    assert b1 == b2 and -1 < b1 < 1 and bf1 > 0.95
    assert ordinal.choose_thresholds(np.zeros(0), [], fallback=(0.1, 0.2)) == ((0.1, 0.2), 0.0)


def test_levels_and_boundary_cutpoints() -> None:
    levels, classes = ordinal.ordinal_levels(["negative", "neutral", "positive"], [2, 3, 5])
    assert levels == [1, 2, 4] and classes == list(ordinal.STAR_CLASSES)
    assert ordinal.boundary_cutpoints([-2.0, -1.0, 0.5, 2.0], classes) == (-1.0, 0.5)  # 2|3 and 3|4 stars
    levels, classes = ordinal.ordinal_levels(["positive", "negative"], None)
    assert (levels, classes) == ([1, 0], ["negative", "positive"])
    assert ordinal.boundary_cutpoints([0.3], classes) == (0.3, 0.3)
    with pytest.raises(ValueError, match="row 1: 4 stars but label 'neutral'"):
        ordinal.ordinal_levels(["positive", "neutral"], [5, 4])
    with pytest.raises(ValueError, match="at least two classes"):
        ordinal.ordinal_levels(["positive", "positive"], None)


@pytest.mark.parametrize("bad", [0, 6, 3.5, "abc", None, ""])
def test_ratings_outside_one_to_five_are_refused_with_the_row(bad: object) -> None:
    with pytest.raises(ValueError, match=r"row 2: rating .* is not a whole number of stars from 1 to 5"):
        ordinal.check_ratings([5, "4", bad])
    assert ordinal.check_ratings([1, "2", 3.0, " 5 "]) == [1, 2, 3, 5]


def test_cutpoints_stay_ordered_and_start_at_the_training_marginal() -> None:
    initial = initial_cutpoints([0, 1, 1, 2, 2, 2, 2, 3], 5)  # no 5-star rows: the last cutpoint is clipped
    assert initial == sorted(initial) and initial[0] == pytest.approx(np.log(1 / 7))
    cuts = Cutpoints(initial)
    with torch.no_grad():
        cuts.raw_gaps.fill_(-20.0)  # whatever the optimiser does, the gaps stay positive
    values = cuts().detach()
    assert (values[1:] >= values[:-1]).all()
    cuts = Cutpoints([-1.0, 0.0, 1.0, 2.0])
    levels = torch.tensor([0, 4])
    right = ordinal_loss(torch.tensor([-4.0, 5.0]), cuts(), levels)
    wrong = ordinal_loss(torch.tensor([5.0, -4.0]), cuts(), levels)
    assert float(right.detach()) < 0.1 < float(wrong.detach())
    right.backward()
    assert cuts.first.grad is not None


def test_bad_training_input_is_refused_before_any_model_loads(tmp_path: Path) -> None:
    texts, labels = ["Love it", "Meh", "Awful"], ["positive", "neutral", "negative"]
    with pytest.raises(ValueError, match="row 1: rating 7 is not a whole number"):
        train_sentiment(texts, labels, tmp_path / "m", ratings=[5, 7, 1])
    with pytest.raises(ValueError, match="3 labels but 2 ratings"):
        train_sentiment(texts, labels, tmp_path / "m", ratings=[5, 3])
    with pytest.raises(ValueError, match="no training examples with text"):
        train_sentiment(["", "  ", None], labels, tmp_path / "m", ratings=[5, 3, 1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unknown head"):
        train_sentiment(texts, labels, tmp_path / "m", head="softmax")
    with pytest.raises(ValueError, match="patience must be at least 1"):
        train_sentiment(texts, labels, tmp_path / "m", patience=0)


# --- Real model (packaged MiniLM) ---------------------------------------------------------------------

REVIEWS = {
    5: ["Love it, fits perfectly", "Beautiful and comfortable", "Perfect, five stars", "Love love love this dress"],
    4: ["Great quality, a little long", "Very nice, runs slightly big", "Lovely colour, happy with it",
        "Good fit, would buy again"],
    3: ["It is okay", "Average, nothing special", "Not bad, not great", "Mixed feelings about it"],
    2: ["Disappointing fabric", "Did not fit well, returned", "Cheap looking, meh", "Not what I hoped"],
    1: ["Terrible, fell apart", "Worst purchase ever", "Awful quality, do not buy", "Hate it"],
}


@pytest.fixture(scope="module")
def ordinal_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, FineTunedSentiment, RecordedProgress]:
    texts = [t for stars in REVIEWS for t in REVIEWS[stars]] * 2
    ratings = [stars for stars in REVIEWS for _ in REVIEWS[stars]] * 2
    labels = [ordinal.STAR_CLASSES[s - 1] for s in ratings]
    progress = RecordedProgress()
    result = train_sentiment(
        texts, labels, tmp_path_factory.mktemp("ordinal") / "stars", ratings=ratings, epochs=3, patience=1,
        batch_size=8, validation_fraction=0.25, seed=1, learning_rate=1e-4, max_length=32, progress=progress,
    )
    return result, FineTunedSentiment(result.path), progress


@pytest.mark.slow
def test_ordinal_training_saves_thresholds_and_reloads_as_measured(
    ordinal_model: tuple[Any, FineTunedSentiment, RecordedProgress],
) -> None:
    result, model, progress = ordinal_model
    meta = json.loads((result.path / "sentiment.json").read_text())
    assert meta["head"] == "ordinal" and meta["levels"] == list(ordinal.STAR_CLASSES)
    assert len(meta["cutpoints"]) == 4 and meta["cutpoints"] == sorted(meta["cutpoints"])
    t1, t2 = meta["thresholds"]
    assert t1 <= t2 and model.thresholds == (t1, t2)
    params = result.params
    assert params["head"] == "ordinal" and params["target"] == "stars" and params["max_per_class"] is None
    assert params["train_rows"] == 30  # every row: no balancing
    history = params["epoch_history"]
    assert 2 <= params["epochs_run"] == len(history) <= 3 and 1 <= params["best_epoch"] <= len(history)
    best = max(h["validation_macro_f1"] for h in history)
    assert history[params["best_epoch"] - 1]["validation_macro_f1"] == best
    assert progress.steps[-1][0] == progress.steps[-1][1]  # early stopping still finishes the bar
    # the reloaded model (the best epoch's weights, the saved thresholds) scores validation as training did
    reloaded = sentiment_metrics(result.validation_labels, model.predict(result.validation_texts))
    assert reloaded["macro_f1"] == result.metrics["macro_f1"] == pytest.approx(best)
    predictions = model.predict(["Love it, perfect", "", "It is okay I guess"])
    assert predictions[1].label == "neutral" and predictions[1].score == pytest.approx(1 / 3)
    for p in predictions:
        assert p.label in LABELS and sum(p.probs.values()) == pytest.approx(1, abs=1e-5)


@pytest.mark.slow
def test_binary_labels_train_a_two_level_ordinal_model(tmp_path: Path) -> None:
    texts = REVIEWS[5] * 3 + REVIEWS[1] * 3
    labels = ["positive"] * 12 + ["negative"] * 12
    result = train_sentiment(texts, labels, tmp_path / "binary", epochs=1, batch_size=8, validation_fraction=0.25,
                             max_length=32)
    meta = json.loads((result.path / "sentiment.json").read_text())
    assert meta["levels"] == ["negative", "positive"] and len(meta["cutpoints"]) == 1
    assert meta["thresholds"][0] == meta["thresholds"][1]  # no neutral band
    assert all(p.probs["neutral"] == 0 for p in FineTunedSentiment(result.path).predict(["Love it", "Hate it"]))


@pytest.mark.slow
def test_folders_of_the_cross_entropy_head_still_load(
    ordinal_model: tuple[Any, FineTunedSentiment, RecordedProgress], tmp_path: Path
) -> None:
    texts = [t for stars in REVIEWS for t in REVIEWS[stars]]
    labels = [ordinal.STAR_CLASSES[stars - 1] for stars in REVIEWS for _ in REVIEWS[stars]]
    result = train_sentiment(texts, labels, tmp_path / "ce", head="classifier", max_per_class=6, batch_size=8,
                             validation_fraction=0.25, max_length=32)
    assert result.params["head"] == "classifier" and result.params["epochs"] == 1  # the earlier defaults
    meta_path = result.path / "sentiment.json"
    meta = json.loads(meta_path.read_text())
    del meta["head"]  # as saved before the ordinal head existed
    meta_path.write_text(json.dumps(meta))
    old = FineTunedSentiment(result.path)
    assert old.head == "classifier" and old.thresholds is None
    reloaded = sentiment_metrics(result.validation_labels, old.predict(result.validation_texts))
    assert reloaded["macro_f1"] == result.metrics["macro_f1"]
    meta_path.unlink()  # no metadata at all: labels from the config
    assert FineTunedSentiment(result.path).labels == LABELS
    # an ordinal folder that lost its metadata is refused with a reason, not read as one class
    copy = tmp_path / "ordinal-without-meta"
    shutil.copytree(ordinal_model[0].path, copy)
    (copy / "sentiment.json").unlink()
    with pytest.raises(ValueError, match=r"needs its sentiment\.json"):
        FineTunedSentiment(copy)


def test_balanced_weights_give_every_class_the_same_weight() -> None:
    labels = ["positive"] * 8 + ["negative"] * 2
    weights = balanced_weights(labels)
    assert sum(weights) == pytest.approx(len(labels))  # mean 1: the learning rate keeps its meaning
    positive = sum(w for w, label in zip(weights, labels, strict=True) if label == "positive")
    negative = sum(w for w, label in zip(weights, labels, strict=True) if label == "negative")
    assert positive == pytest.approx(negative)


def test_weighted_ordinal_loss_follows_the_weights() -> None:
    cuts = torch.tensor([-1.0, 1.0])
    levels = torch.tensor([0, 2])
    scores = torch.tensor([-4.0, -4.0])  # right about the first review, wrong about the second
    plain = ordinal_loss(scores, cuts, levels)
    assert torch.isclose(ordinal_loss(scores, cuts, levels, torch.tensor([1.0, 1.0])), plain)
    heavier_wrong = ordinal_loss(scores, cuts, levels, torch.tensor([1.0, 3.0]))
    lighter_wrong = ordinal_loss(scores, cuts, levels, torch.tensor([3.0, 1.0]))
    assert heavier_wrong > plain > lighter_wrong
