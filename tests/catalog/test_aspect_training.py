"""The aspect training service: the SemEval-layout reader, versions and the activation rule, serving,
the job and the command. Training itself is replaced by a stub here (a real tiny run is in
tests/inference/test_aspects.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog import active_models, aspect_training
from catalog.active_models import active_aspect_extractor
from catalog.aspect_training import AspectDataError, check_job_path, locate_term, read_aspect_csv, train_aspects
from catalog.models import ModelRole, ModelVersion
from core.progress import NO_PROGRESS
from inference.aspects.noun_phrases import UnsupervisedAspectExtractor
from inference.aspects.training import TrainResult
from jobs.models import JobStatus
from jobs.runner import JobParamsError, start_job
from tests.catalog.builders import model_version

HEADER = "sentence_id,text,aspect_term,from,to,polarity\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "aspects.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


SAMPLE = (
    '1,"  I charge it at night because of the good battery life.",battery life,42,54,positive\n'  # off by 2
    '2,The screen is dim but the keyboard is great.,screen,4,10,negative\n'
    '2,The screen is dim but the keyboard is great.,keyboard,26,34,positive\n'
    "3,I bought it for my son.,,,,\n"
    "4,The fan is loud.,touchpad,4,12,negative\n"  # the term is not in the text: skipped
    "5,The fan is loud.,fan,x,7,negative\n"  # bad offsets: skipped
)


def test_reader_groups_sentences_fixes_offsets_and_keeps_negatives(tmp_path: Path) -> None:
    data = read_aspect_csv(_csv(tmp_path, SAMPLE))
    assert [s.sentence_id for s in data.sentences] == ["1", "2", "3", "4", "5"]
    first = data.sentences[0]
    (start, end, polarity), = first.terms
    assert first.text[start:end] == "battery life" and polarity == "positive"
    assert data.sentences[1].spans == [(4, 10), (26, 34)]
    assert data.sentences[2].terms == []  # a sentence without aspects stays as a negative example
    assert data.fixed_offsets == 1 and data.skipped_terms == 2
    assert any("line 6" in p and "touchpad" in p for p in data.problems)
    assert any("line 7" in p and "whole numbers" in p for p in data.problems)
    assert data.summary()["sentences_without_aspects"] == 3
    assert data.examples[1] == ("The screen is dim but the keyboard is great.", [(4, 10), (26, 34)])


def test_reader_keeps_polarities_and_names_a_bad_one_by_line_and_column(tmp_path: Path) -> None:
    data = read_aspect_csv(_csv(tmp_path, SAMPLE + "6,The fan is Loud.,fan,4,7,CONFLICT\n7,Ok fan.,fan,3,6,\n"))
    assert data.polarities == [["positive"], ["negative", "positive"], [], [], [], ["conflict"], [None]]
    summary = data.summary()
    assert (summary["polarity_positive"], summary["polarity_negative"], summary["polarity_conflict"]) == (2, 1, 1)
    with pytest.raises(AspectDataError, match=r"line 3, column polarity: 'postive' is not one of negative"):
        read_aspect_csv(_csv(tmp_path, "1,The fan is loud.,fan,4,7,negative\n2,Nice fan.,fan,5,8,postive\n"))


def test_locate_term_prefers_the_nearest_occurrence() -> None:
    text = "screen here, and the screen there"
    assert locate_term(text, "screen", 21, 27) == (21, 27)
    assert locate_term(text, "screen", 19, 25) == (21, 27)
    assert locate_term(text, "Screen", 0, 6) == (0, 6)  # any case when the exact case is absent
    assert locate_term(text, "mouse", 0, 5) is None


def test_reader_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(AspectDataError, match=r"missing column.*aspect_term"):
        read_aspect_csv(_csv(tmp_path, "1,text,1,2\n", header="sentence_id,text,from,to\n"))
    with pytest.raises(AspectDataError, match="cannot read"):
        read_aspect_csv(tmp_path / "absent.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(AspectDataError):
        read_aspect_csv(binary)


# --- Versions and activation -------------------------------------------------------------------------


@pytest.fixture
def fake_training(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """Training returns a scripted F1; the active tagger's score on the same split is scripted too."""
    settings.VAR_DIR = tmp_path / "var"
    script: dict[str, Any] = {"f1": 0.7, "active_f1": None, "calls": [], "polarity": {}}

    def train(examples: Any, out_dir: Path, **kwargs: Any) -> TrainResult:
        script["calls"].append(kwargs)
        Path(out_dir).mkdir(parents=True)
        progress = kwargs.get("progress", NO_PROGRESS)
        progress.set_total(2)
        progress.advance(2)
        metrics = {"precision": script["f1"], "recall": script["f1"], "f1": script["f1"], "validation_sentences": 1}
        metrics |= script["polarity"]
        return TrainResult(metrics, Path(out_dir), [0], {"base_model": "minilm", "epochs": 1}, [{"epoch": 1}])

    monkeypatch.setattr(aspect_training, "train_aspect_tagger", train)
    monkeypatch.setattr(aspect_training, "_score_on", lambda version, examples: script["active_f1"])
    # with polarities in the file taggers compete end to end: the candidate scores its scripted F1 too
    monkeypatch.setattr(
        aspect_training, "_end_to_end_on",
        lambda version, sentences: script["active_f1"] if version.is_active else script["f1"],
    )
    return script


@pytest.mark.django_db
def test_activation_rule(tmp_path: Path, fake_training: dict[str, Any]) -> None:
    path = _csv(tmp_path, SAMPLE)
    first = train_aspects(path, name="first")
    assert first.activated and first.active_f1 is None  # nothing active: the first version serves
    assert first.version.metrics["f1"] == 0.7 and first.version.params["data"]["terms"] == 3

    fake_training.update(f1=0.6, active_f1=0.7)
    worse = train_aspects(path, name="worse")
    assert not worse.activated and worse.active_f1 == 0.7
    assert ModelVersion.objects.get(role=ModelRole.ASPECTS, is_active=True).name == "first"

    fake_training.update(f1=0.8, active_f1=0.7)
    better = train_aspects(path, name="better")
    assert better.activated
    assert ModelVersion.objects.get(role=ModelRole.ASPECTS, is_active=True).name == "better"
    assert better.version.metrics["compared_with"] == "first"

    fake_training.update(f1=0.99)
    kept = train_aspects(path, name="kept", activate=False)
    assert not kept.activated and ModelVersion.objects.get(is_active=True, role=ModelRole.ASPECTS).name == "better"

    with pytest.raises(AspectDataError, match="exists already"):
        train_aspects(path, name="better")
    with pytest.raises(AspectDataError, match="version name"):
        train_aspects(path, name="../escape")


@pytest.mark.django_db
def test_serving_falls_back_to_unsupervised_until_a_tagger_is_active(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extractor, version = active_aspect_extractor()
    assert isinstance(extractor, UnsupervisedAspectExtractor) and version is None and not extractor.fitted
    fitted: list[list[str]] = []
    sourced: list[list[object] | None] = []

    def fit(
        self: UnsupervisedAspectExtractor, texts: list[str], sources: list[object] | None = None
    ) -> UnsupervisedAspectExtractor:
        fitted.append(list(texts))
        sourced.append(sources)
        self.fitted = True
        return self

    monkeypatch.setattr(UnsupervisedAspectExtractor, "fit", fit)
    monkeypatch.setattr(active_models, "_fitted", {})  # leave the process cache as it was
    corpus = ["The screen is dim.", "Great screen."]
    first, _ = active_aspect_extractor(corpus=corpus)
    again, _ = active_aspect_extractor(corpus=list(corpus))
    assert first is again and fitted == [corpus]  # fitted once per corpus and process
    by_product, _ = active_aspect_extractor(corpus=corpus, sources=[1, 2])  # the products reviewed
    assert by_product is not first and sourced == [None, [1, 2]]
    folder = tmp_path / "tagger"
    folder.mkdir()
    active = model_version(role=ModelRole.ASPECTS, name="t", path=str(folder), is_active=True)
    loaded: list[str] = []

    def model_folder(role: str, path: str, factory: Any) -> str:
        loaded.append(path)
        return "T"

    monkeypatch.setattr(active_models.registry, "model_folder", model_folder)
    extractor, version = active_aspect_extractor()
    assert extractor == "T" and version == active and loaded == [str(folder)]


# --- Job and command ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_job_trains_from_uploads_only(
    tmp_path: Path, settings: Any, fake_training: dict[str, Any], run_on_commit: None
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    outside = _csv(tmp_path, SAMPLE)
    with pytest.raises(AspectDataError, match="only under"):
        check_job_path(outside)
    staged = aspect_training.stage_for_job(outside)
    job = start_job("train_aspects", {"path": str(staged), "epochs": 1, "name": "from-job"})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["version"] == "from-job" and job.result["activated"] is True
    assert job.progress_total == 2 and job.queue == "inference"
    with pytest.raises(JobParamsError, match="only under"):  # refused when created, not when run
        start_job("train_aspects", {"path": str(outside)})


@pytest.mark.django_db
def test_command_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="missing column"):
        call_command("train_aspects", "--input", str(_csv(tmp_path, "1,a\n", header="sentence_id,text\n")))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("train_aspects", "--input", str(tmp_path / "nope.csv"))
    with pytest.raises(CommandError, match="no usable aspect terms"):
        call_command("train_aspects", "--input", str(_csv(tmp_path, "1,Just text.,,,,\n")))
    with pytest.raises(CommandError, match="epochs"):
        call_command("train_aspects", "--input", str(tmp_path / "nope.csv"), "--epochs", "0")


@pytest.mark.django_db
def test_command_trains_and_reports(tmp_path: Path, fake_training: dict[str, Any], capsys: Any) -> None:
    call_command("train_aspects", "--input", str(_csv(tmp_path, SAMPLE)), "--name", "cli", "--no-progress")
    out = capsys.readouterr().out
    assert "version cli" in out and "F1 0.7000" in out and "activated" in out
    assert "no polarity head" in out
    assert fake_training["calls"][-1]["seed"] == 0
    assert fake_training["calls"][-1]["polarities"] == [["positive"], ["negative", "positive"], [], [], []]
    fake_training["polarity"] = {"polarity_accuracy": 0.75, "polarity_macro_f1": 0.7, "polarity_terms": 4}
    call_command("train_aspects", "--input", str(_csv(tmp_path, SAMPLE)), "--name", "cli2", "--no-progress")
    out = capsys.readouterr().out
    assert "polarity head on 4 held-out gold terms: accuracy 0.7500  macro-F1 0.7000" in out
    assert ModelVersion.objects.get(name="cli2").metrics["polarity_accuracy"] == 0.75


# --- Serving: polarity from the head when the active tagger has one ------------------------------------


class _Sentiment:
    """A sentiment classifier that says negative for "awful", else positive; counts what it reads."""

    version = "keywords"

    def __init__(self) -> None:
        self.read: list[str] = []

    def predict(self, texts: Any, on_batch: Any = None) -> list[Any]:
        from inference.sentiment.classifier import SentimentPrediction

        self.read.extend(texts)
        return [
            SentimentPrediction(label, 0.9, {"negative": 0.05, "neutral": 0.05, "positive": 0.05} | {label: 0.9})
            for label in ("negative" if "awful" in text else "positive" for text in texts)
        ]


@pytest.mark.parametrize("with_head", [False, True])
def test_scorer_takes_polarity_from_the_head_else_the_clause(tmp_path: Path, with_head: bool) -> None:
    from catalog.insights.scoring import Scorer
    from inference.aspects.tagger import AspectTagger
    from tests.inference.tiny_tagger import tiny_tagger_folder

    tagger = AspectTagger(tiny_tagger_folder(tmp_path / "tagger", with_head=with_head))
    sentiment = _Sentiment()
    texts = ["great screen but the keyboard is awful", "the battery life is nowhere near the advertised hours"]
    scores = Scorer(sentiment, None, tagger, None).score(texts, embed=False)
    found = [[(t.term, t.start, t.end) for t in group] for group in tagger.extract(texts)]
    assert [[(a["term"], a["start"], a["end"]) for a in score.aspects] for score in scores] == found
    aspects = [a for score in scores for a in score.aspects]
    assert aspects  # the random tiny tagger tags something here
    assert all(set(a) == {"term", "polarity", "start", "end", "polarity_source"} for a in aspects)
    assert {a["polarity_source"] for a in aspects} == {"head" if with_head else "clause"}
    assert all(a["polarity"] in {"negative", "neutral", "positive"} for a in aspects)
    # the classifier reads the two whole texts, and each term's clause only without a head
    assert len(sentiment.read) == len(texts) + (0 if with_head else len(aspects))


def test_end_to_end_f1_needs_span_and_polarity() -> None:
    from inference.aspects.terms import AspectMention, AspectTerm

    gold = [[(0, 7, "positive"), (12, 19, "negative"), (25, 29, "conflict")]]
    predicted = [[
        AspectMention(AspectTerm("battery", 0, 7), "positive", "head"),  # right span, right polarity
        AspectMention(AspectTerm("display", 12, 19), "positive", "head"),  # right span, wrong polarity
        AspectMention(AspectTerm("fans", 25, 29), "negative", "head"),  # a conflict term: left out
    ]]
    # one of two predictions right, one of two gold terms found
    assert aspect_training.polar_span_f1(gold, predicted) == 0.5
    assert aspect_training.polar_span_f1(gold, [[]]) == 0.0
