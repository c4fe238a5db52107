"""Using an uplift model: the audience option "customers most likely to be changed by the offer" (validation,
refusal without a model, the top k% in the admin form, the API and the audience itself), and the results
page's Qini curve, top-k table, readiness message and training button; the Qini chart on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaigns import charts, uplift
from campaigns.audience import AudienceError, audience_queryset, validate_audience_filters
from campaigns.models import Campaign, UpliftModel, UpliftScore
from jobs.models import Job

from .admin_pages import messages, page
from .builders import UNSUBSCRIBE_LINE, campaign
from .uplift_data import offer_experiment

pytestmark = pytest.mark.django_db
URL = "/api/v1/campaigns/"


@pytest.fixture(autouse=True)
def _models_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


@pytest.fixture
def trained() -> UpliftModel:
    exp = offer_experiment(600)
    uplift.train_uplift(exp.pk, name="uplift-use")
    return UpliftModel.objects.get(version__name="uplift-use")


def test_without_an_uplift_model_the_option_is_refused_with_the_reason() -> None:
    with pytest.raises(AudienceError, match="no uplift model exists yet"):
        validate_audience_filters({"uplift_top_percent": 20})


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"uplift_top_percent": 0}, "above 0 and at most 100"),
        ({"uplift_top_percent": 120}, "between 0 and 100"),
        ({"uplift_top_percent": "20"}, "expected a number"),
        ({"uplift_model": "uplift-use"}, "needs 'uplift_top_percent'"),
        ({"uplift_top_percent": 20, "uplift_model": "nope"}, "no uplift model named 'nope'; known: \\['uplift-use'\\]"),
        ({"uplift_top_percent": 20, "uplift_model": ""}, "expected an uplift model version name"),
    ],
)
def test_bad_uplift_filters_name_the_key(trained: UpliftModel, filters: dict[str, Any], message: str) -> None:
    with pytest.raises(AudienceError, match=message):
        validate_audience_filters(filters)


def test_the_audience_keeps_the_top_share_by_predicted_uplift_and_only_positive_uplift(trained: UpliftModel) -> None:
    everyone = audience_queryset(campaign()).count()
    assert everyone == 600
    top = list(audience_queryset(campaign(audience_filters={"uplift_top_percent": 10})).values_list("pk", flat=True))
    assert len(top) == 60  # exactly 10%: ties at the threshold are broken by customer id
    scores = dict(UpliftScore.objects.filter(model=trained).values_list("customer_id", "uplift"))
    ranked = sorted(scores, key=lambda c: (-scores[c], c))
    assert top == sorted(ranked[:60]) and scores[ranked[59]] > 0
    by_name = campaign(audience_filters={"uplift_top_percent": 10, "uplift_model": "uplift-use"})
    assert list(audience_queryset(by_name).values_list("pk", flat=True)) == top
    UpliftScore.objects.filter(model=trained).update(uplift=-0.1)  # everyone a sleeping dog: nobody is kept
    assert not audience_queryset(campaign(audience_filters={"uplift_top_percent": 50})).exists()


def test_the_api_accepts_the_option_and_refuses_it_without_a_model(manager_client: APIClient) -> None:
    payload = {"name": "Persuadables", "brief": "Mugs", "channel": "email", "required_text": UNSUBSCRIBE_LINE,
               "audience_filters": {"uplift_top_percent": 20}}
    response = manager_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "no uplift model exists yet" in str(response.json()["audience_filters"])
    exp = offer_experiment(400)
    uplift.train_uplift(exp.pk, name="uplift-api")
    response = manager_client.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    audience = manager_client.get(f"{URL}{response.json()['id']}/audience/").json()
    assert audience["size"] == 80  # 20% of 400


def test_the_admin_form_refuses_the_option_without_a_model(manager_web: Client) -> None:
    from django.urls import reverse

    data = {"name": "Changed", "goal": "conversion", "channel": "email", "language": "en",
            "audience_filters": '{"uplift_top_percent": 20}', "attribution_days": "7", "variants_per_group": "2"}
    response = manager_web.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 200 and "no uplift model exists yet" in response.content.decode()
    assert not Campaign.objects.filter(name="Changed").exists()


def test_results_page_shows_the_qini_curve_and_the_top_table(manager_web: Client, trained: UpliftModel) -> None:
    html = manager_web.get(page("results", trained.experiment.campaign)).content.decode()
    assert "Uplift: who the offer changes" in html and "uplift-use" in html
    assert "<svg" in html and "Qini curve of uplift-use" in html and "random targeting" in html
    assert "Qini coefficient <strong>" in html
    for share in ("10%", "20%", "30%"):
        assert f"<tr><td>{share}</td>" in html
    assert "{&quot;uplift_top_percent&quot;: 20, &quot;uplift_model&quot;: &quot;uplift-use&quot;}" in html


def test_results_page_says_when_the_experiment_is_too_small(manager_web: Client) -> None:
    exp = offer_experiment(40)
    html = manager_web.get(page("results", exp.campaign)).content.decode()
    assert "No uplift model yet" in html and "too small to train an uplift model yet" in html
    assert "customers per arm are needed" in html


def test_the_train_button_queues_the_job(manager_web: Client) -> None:
    exp = offer_experiment(30)
    response = manager_web.post(page("results", exp.campaign), {"action": "train_uplift"}, follow=True)
    job = Job.objects.get(kind="train_uplift")
    assert job.params["experiment"] == exp.pk
    assert any(f"job {job.pk}" in m for m in messages(response))


def test_analyst_sees_the_curve_without_the_button(analyst_web: Client, trained: UpliftModel) -> None:
    html = analyst_web.get(page("results", trained.experiment.campaign)).content.decode()
    assert "Qini curve of uplift-use" in html and 'value="train_uplift"' not in html


def test_qini_chart_draws_model_and_random_lines_with_the_score() -> None:
    curve = [{"share": s / 10, "model": 5 * (s / 10) ** 0.5, "random": 5 * s / 10} for s in range(11)]
    svg = str(charts.qini_svg(curve, qini=0.31, auuc=0.12, title="Qini <test>"))
    assert svg.count("<polyline") == 2 and "Qini 0.310, AUUC 0.120" in svg and "Qini &lt;test&gt;" in svg
    assert "No Qini curve" in str(charts.qini_svg([], qini=None))


def test_the_results_api_carries_the_uplift_report(manager_client: APIClient, trained: UpliftModel) -> None:
    body = manager_client.get(f"{URL}{trained.experiment.campaign_id}/results/").json()
    assert body["uplift"]["version"] == "uplift-use" and body["uplift"]["control_arm"] == "holdout"
    report = body["uplift"]["report"]
    assert {"qini_coefficient", "auuc", "top", "qini_curve", "n_treated", "n_control", "sample_needed_per_arm"} <= set(
        report
    )
    exp = offer_experiment(30, tag="none")
    assert manager_client.get(f"{URL}{exp.campaign_id}/results/").json()["uplift"] is None


def test_the_experiment_page_shows_the_qini_curve(manager_web: Client, trained: UpliftModel) -> None:
    from django.urls import reverse

    html = manager_web.get(reverse("admin:campaigns_experiment_change", args=[trained.experiment_id])).content.decode()
    assert "Qini curve of uplift-use" in html and "<polyline" in html and "held-out:" in html
    other = offer_experiment(20, tag="page")
    html = manager_web.get(reverse("admin:campaigns_experiment_change", args=[other.pk])).content.decode()
    assert "no uplift model yet" in html


def test_a_customers_uplift_scores_are_exported_and_erased_with_them(trained: UpliftModel) -> None:
    from privacy.erasure import erase_customer
    from privacy.export import export_customer

    person = UpliftScore.objects.filter(model=trained).select_related("customer").first()
    assert person is not None
    exported = export_customer(person.customer)
    assert exported["uplift_scores"] == [
        {"uplift": person.uplift, "computed_at": person.computed_at, "model_name": "uplift-use"}
    ]
    report = erase_customer(person.customer_id)
    assert report["deleted"]["campaigns.upliftscore"] == 1
    assert not UpliftScore.objects.filter(customer_id=person.customer_id).exists()
