"""Chinese reviews without the English encoder: the character n-gram sentiment model (trained on a small
rated set, saved and loaded without pickle) and the Chinese aspect extractor (spans, polarity)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.aspects.chinese import ChineseAspectExtractor, tagged, words
from inference.aspects.polarity import aspect_polarities
from inference.sentiment.classifier import rating_to_label
from inference.sentiment.ngram import MODEL_FILE, WEIGHTS_FILE, NgramSentiment, train_ngram_sentiment
from tests.chinese_reviews import chinese_reviews


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> NgramSentiment:
    reviews = chinese_reviews(300)
    folder = tmp_path_factory.mktemp("ngram") / "zh"
    result = train_ngram_sentiment(
        [text for text, _ in reviews], [str(rating_to_label(stars)) for _, stars in reviews], folder, language="zh"
    )
    assert result.metrics["macro_f1"] > 0.8  # on its held-out validation rows
    assert set(result.train_counts) == {"negative", "neutral", "positive"}
    return NgramSentiment(folder)


def test_a_five_star_chinese_review_is_positive_and_a_complaint_negative(model: NgramSentiment) -> None:
    texts = ["强烈推荐 蓝牙连接很稳定…", "蓝牙经常断连，很失望。", "一般般吧，中规中矩。"]
    praise, complaint, lukewarm = model.predict(texts)
    assert praise.label == "positive" and praise.polarity > 0.3
    assert complaint.label == "negative" and complaint.polarity < -0.3
    assert lukewarm.label == "neutral"
    assert model.language == "zh" and model.labels == ("negative", "neutral", "positive")


def test_empty_and_odd_input_never_raises(model: NgramSentiment) -> None:
    empty, markup, latin = model.predict(["", "<p>音质<b>很好</b></p>", "great sound"])
    assert empty.label == "neutral" and empty.score == pytest.approx(1 / 3)
    assert markup.label == "positive"
    assert latin.label in {"negative", "neutral", "positive"}


def test_a_binary_model_from_labels_gives_two_classes(tmp_path: Path) -> None:
    reviews = [(text, stars) for text, stars in chinese_reviews(200) if stars != 3]
    labels = ["positive" if stars >= 4 else "negative" for _, stars in reviews]
    train_ngram_sentiment([text for text, _ in reviews], labels, tmp_path / "m", language="zh")
    loaded = NgramSentiment(tmp_path / "m")
    assert loaded.labels == ("negative", "positive")
    prediction = loaded.predict(["强烈推荐 蓝牙连接很稳定"])[0]
    assert prediction.label == "positive" and prediction.probs["neutral"] == 0.0


def test_the_model_folder_is_plain_data_and_loading_runs_no_pickle(model: NgramSentiment, tmp_path: Path) -> None:
    files = sorted(path.name for path in model.path.iterdir())
    assert files == sorted(["ngram.json", "ngram.npz", "sentiment.json"])
    vocabulary = json.loads((model.path / MODEL_FILE).read_text(encoding="utf-8"))["vocabulary"]
    assert "蓝牙" in vocabulary and all(isinstance(index, int) for index in vocabulary.values())
    # a planted object array (what a pickle payload needs) is refused instead of unpickled
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    (tampered / MODEL_FILE).write_text((model.path / MODEL_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    with np.load(model.path / WEIGHTS_FILE) as weights:
        arrays = {name: weights[name] for name in weights.files}
    arrays["coef"] = np.array([object()], dtype=object)
    np.savez(tampered / WEIGHTS_FILE, **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        NgramSentiment(tampered)


def test_segmenter_offsets_are_those_of_the_text() -> None:
    text = "😀好评！强烈推荐 蓝牙连接很稳定"
    tokens = tagged(text)
    assert all(text[start:end] == word for word, _, start, end in tokens)
    assert "".join(word for word, *_ in tokens) == text
    assert "蓝牙" in words(text) and "很" not in words(text)


def test_chinese_aspects_have_exact_spans_and_the_polarity_of_their_clause(model: NgramSentiment) -> None:
    corpus = [text for text, _ in chinese_reviews(300)]
    extractor = ChineseAspectExtractor().fit(corpus)
    assert {"做工", "续航", "蓝牙连接"} <= extractor.aspects
    assert not {"东西", "产品", "评价"} & extractor.aspects  # generic words are no aspects
    text = "蓝牙连接很稳定，但是续航太短了。<b>做工</b>很扎实"
    terms = extractor.extract([text])[0]
    assert [(t.term, t.start, t.end) for t in terms] == [("蓝牙连接", 0, 4), ("续航", 10, 12), ("做工", 19, 21)]
    assert all(text[t.start : t.end] == t.term for t in terms)

    def classify(contexts: list[str]) -> list[str]:
        return [p.label for p in model.predict(contexts)]

    assert aspect_polarities(text, terms, classify) == ["positive", "negative", "positive"]
    assert extractor.extract(["The battery is great", ""]) == [[], []]  # not Chinese: nothing to read
