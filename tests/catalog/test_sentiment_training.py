"""Training the sentiment model from files and the database: reading, refusals, the command, the job,
the activation rule and what serves. Training runs use a handful of reviews and a few steps."""

from __future__ import annotations

import csv
import gzip
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from catalog import model_versions
from catalog.active_models import active_sentiment_classifier
from catalog.models import ModelRole, ModelVersion
from catalog.sentiment_data import (
    NotEnoughData,
    SentimentDataError,
    TrainingData,
    check_enough,
    load_from_database,
    load_from_file,
)
from catalog.sentiment_training import activate_if_beats
from inference.sentiment.finetuned import FineTunedSentiment
from inference.sentiment.prototypes import PrototypeSentiment
from jobs import runner
from jobs.models import Job, JobStatus
from tests.catalog.builders import product, review

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_models")]

WORDS = {
    1: ["Terrible", "Awful quality", "Broke at once", "Returned it", "Cheap and itchy"],
    3: ["It is okay", "Average", "Fine I guess", "Not bad not great", "So-so"],
    5: ["Love it", "Great fit", "Beautiful", "Excellent quality", "Perfect"],
}


def write_csv(path: Path, per_class: int = 110) -> Path:
    """Enough synthetic rated reviews to pass the minimum (330 rows, 110 per class)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "headline", "body", "stars"])
        for i in range(per_class):
            for stars, words in WORDS.items():
                writer.writerow([f"{stars}-{i}", words[i % 5], f"{words[(i + 1) % 5]} number {i}", stars])
    return path


# --- Reading -------------------------------------------------------------------------------------------

def test_load_from_csv_joins_title_and_skips_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("t,b,r\nFits,Love the colour,5\n,Runs small,2\nMeh,,3\nNo,rating,\nOdd,one,7\n,,4\n")
    data = load_from_file(path, text_column="b", rating_column="r", title_column="t")
    assert data.texts == ["Fits. Love the colour", "Runs small", "Meh"]
    assert data.labels == ["positive", "negative", "neutral"]
    assert data.stars() == data.ratings == [5, 2, 3]  # the ordinal model's target, in step with the labels
    assert (data.rows, data.skipped) == (6, 3)
    assert data.problems == ["r.csv line 5: r is empty", "r.csv line 6: r '7' is not a rating from 1 to 5",
                             "r.csv line 7: b and t are empty"]


def test_load_binary_labels_from_jsonl_gz(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    rows = [{"text": "great", "label": 1}, {"text": "bad", "label": "0"}, {"text": "x", "label": 2}]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows) + "\n")
    data = load_from_file(path, text_column="text", rating_column="label", binary_labels=True)
    assert data.labels == ["positive", "negative"] and data.binary
    assert data.stars() is None  # 0/1 labels: a two-level target, no stars
    assert data.counts == {"negative": 1, "positive": 1}  # no neutral class to ask for
    assert "label '2' is not 0 or 1" in data.problems[0]


def test_file_errors_name_the_problem(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", per_class=2)
    with pytest.raises(SentimentDataError, match=r"no column 'text'; columns are 'id', 'headline', 'body', 'stars'"):
        load_from_file(path, text_column="text", rating_column="stars")
    with pytest.raises(SentimentDataError, match="no such file"):
        load_from_file(tmp_path / "missing.csv", text_column="b", rating_column="r")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,rating\ncaf\xe9 ok,3\n".encode("latin-1"))
    with pytest.raises(SentimentDataError, match="cannot read"):
        load_from_file(latin, text_column="text", rating_column="rating")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "ok", "r": 3}\n{not json\n')
    with pytest.raises(SentimentDataError, match=r"broken\.jsonl line 2: not valid JSON"):
        load_from_file(broken, text_column="text", rating_column="r")


def test_too_little_data_is_refused_with_counts() -> None:
    data = TrainingData(["a"] * 40 + ["b"] * 300, ["negative"] * 40 + ["positive"] * 300, "x.csv")
    with pytest.raises(NotEnoughData, match=r"\(negative 40, neutral 0, positive 300\).*prototype classifier"):
        check_enough(data)
    data.binary = True
    check_enough(data)  # binary labels: neutral is not expected


# --- Command -------------------------------------------------------------------------------------------

def test_command_refuses_too_few_rated_reviews_in_the_database() -> None:
    mug = product(sku="p1", title="Mug")
    for i, rating in enumerate([5, 1, 3, None]):
        review(product=mug, rating=rating, text=f"review {i}")
    data = load_from_database()
    assert len(data.texts) == 3 and data.stars() == [5, 1, 3]
    expected = r"only 3 rated reviews .*\(negative 1, neutral 1, positive 1\).*keeps serving"
    with pytest.raises(CommandError, match=expected):
        call_command("train_sentiment", stdout=StringIO(), stderr=StringIO())
    assert not ModelVersion.objects.exists()


def test_command_errors_for_missing_column_and_unreadable_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", per_class=2)
    with pytest.raises(CommandError, match="no column 'review'"):
        call_command("train_sentiment", input=str(path), text_column="review", rating_column="stars", stderr=StringIO())
    with pytest.raises(CommandError, match="no such file"):
        call_command("train_sentiment", input=str(tmp_path / "nope.csv"), text_column="a", rating_column="b")
    with pytest.raises(CommandError, match="--input needs --text-column and --rating-column"):
        call_command("train_sentiment", input=str(path))


@pytest.mark.slow
def test_command_trains_records_and_activates_from_a_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "reviews.csv")
    out = StringIO()
    call_command(
        "train_sentiment", input=str(path), text_column="body", rating_column="stars", title_column="headline",
        max_per_class=6, validation_fraction=0.03, name="tiny-1", no_progress=True, stdout=out, stderr=StringIO(),
    )
    version = ModelVersion.objects.get(role=ModelRole.SENTIMENT, name="tiny-1")
    assert Path(version.path).is_dir() and not Path(version.path + ".partial").exists()
    assert version.metrics["compared_with"] == "prototypes"
    assert set(version.metrics["serving_same_split"]) >= {"macro_f1", "binary_macro_f1"}
    assert version.params["train_rows"] == 18 and version.params["data"]["usable"] == 330
    assert (version.params["head"], version.params["target"]) == ("ordinal", "stars")
    assert version.params["patience"] == 1 and version.params["epochs_run"] >= 1
    text = out.getvalue()
    assert "macro_f1" in text and "tiny-1" in text
    # activated exactly when it beat the prototypes on the same validation reviews
    beat = version.metrics["macro_f1"] > version.metrics["serving_same_split"]["macro_f1"]
    version.refresh_from_db()
    assert version.is_active == beat
    assert ("activated: it beats prototypes" in text) == beat

    with pytest.raises(CommandError, match="named 'tiny-1' exists already"):
        call_command("train_sentiment", input=str(path), text_column="body", rating_column="stars", name="tiny-1",
                     stderr=StringIO())

    model_versions.activate(version)
    classifier, active = active_sentiment_classifier()
    assert isinstance(classifier, FineTunedSentiment) and active == version
    assert classifier.predict(["Love it"])[0].label in ("negative", "neutral", "positive")


@pytest.mark.slow
def test_job_trains_from_an_uploaded_file_with_progress(tmp_path: Path, run_on_commit: Any) -> None:
    out = StringIO()
    source = write_csv(tmp_path / "reviews.csv")
    call_command(
        "train_sentiment", input=str(source), text_column="body", rating_column="stars", max_per_class=4,
        validation_fraction=0.03, name="job-1", no_activate=True, as_job=True, stdout=out,
    )
    job = Job.objects.get(kind="train_sentiment")
    assert f"job {job.pk} queued on inference" in out.getvalue()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.progress_total and job.progress_done == job.progress_total > 0
    assert job.result["version"] == "job-1" and job.result["activated"] is False
    assert job.counts["reviews"] == 330
    version = ModelVersion.objects.get(name="job-1")
    assert version.job_id == job.pk and not version.is_active


def test_job_reads_only_uploaded_files(tmp_path: Path, run_on_commit: Any) -> None:
    assert runner.registered_kinds()["train_sentiment"].queue == "inference"
    with pytest.raises(runner.JobParamsError, match="reads files only under"):  # refused when created
        runner.start_job(
            "train_sentiment", {"path": str(tmp_path / "elsewhere.csv"), "text_column": "a", "rating_column": "b"}
        )


# --- Activation and serving ----------------------------------------------------------------------------

def test_a_new_version_activates_only_when_it_beats_the_serving_one() -> None:
    first = model_versions.record_version(ModelRole.SENTIMENT, "v1", metrics={"macro_f1": 0.62})
    assert activate_if_beats(first, "macro_f1", {"macro_f1": 0.62}, {"macro_f1": 0.45})  # beats prototypes
    worse = model_versions.record_version(ModelRole.SENTIMENT, "v2", metrics={"macro_f1": 0.58})
    assert not activate_if_beats(worse, "macro_f1", {"macro_f1": 0.58}, {"macro_f1": 0.61})
    tie = model_versions.record_version(ModelRole.SENTIMENT, "v3", metrics={"macro_f1": 0.61})
    assert not activate_if_beats(tie, "macro_f1", {"macro_f1": 0.61}, {"macro_f1": 0.61})
    assert model_versions.active_version(ModelRole.SENTIMENT) == first
    better = model_versions.record_version(ModelRole.SENTIMENT, "v4", metrics={"binary_macro_f1": 0.9})
    assert activate_if_beats(better, "binary_macro_f1", {"binary_macro_f1": 0.9}, {"binary_macro_f1": 0.8})
    assert list(ModelVersion.objects.filter(is_active=True).values_list("name", flat=True)) == ["v4"]
    gone = model_versions.record_version(ModelRole.SENTIMENT, "v5")
    assert activate_if_beats(gone, "macro_f1", {"macro_f1": 0.1}, None)  # nothing left to beat


@pytest.mark.slow
def test_prototypes_serve_until_a_version_is_active() -> None:
    classifier, version = active_sentiment_classifier()
    assert isinstance(classifier, PrototypeSentiment) and version is None
    assert active_sentiment_classifier()[0] is classifier  # built once per process
    broken = model_versions.record_version(ModelRole.SENTIMENT, "files-gone", path="/nonexistent/folder")
    model_versions.activate(broken)
    assert isinstance(active_sentiment_classifier()[0], PrototypeSentiment)  # never a crash
