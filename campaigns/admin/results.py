"""The results page: per metric, the arms with rates, intervals, lifts, p-values and Bayesian
probabilities, the sample-ratio check, the verdict of the winner rule, cumulative rates over time with
interval bands; and the forms to create the experiment, apply the rule, or override the winner (a step of
`campaigns.actions`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from jobs.runner import start_job

from .. import charts
from ..actions import CHANGE_EXPERIMENT_PERMISSION, do_override_winner
from ..analysis import analyse, choose_winner
from ..experiments import create_experiment
from ..models import Campaign, Experiment, Variant
from ..outcomes import outcomes_over_time
from .formatting import nan_if_none, p_value, percent, probability, signed_percent
from .pages import CampaignPages
from .uplift import TRAIN_ACTION, uplift_context


def _arm_row(row: dict[str, Any], colour: str, scale: float) -> dict[str, Any]:
    low, high = row["ci"]
    lift_low, lift_high = row["lift_abs_ci"] or (None, None)
    return {
        "key": row["key"],
        "colour": colour,
        "is_control": row["is_control"],
        "is_holdout": row["is_holdout"],
        "n": row["n"],
        "successes": row["successes"],
        "rate": percent(row["rate"], 2),
        "interval": f"{percent(low, 2)} – {percent(high, 2)}" if low is not None else "–",
        "bar": charts.interval_bar(nan_if_none(row["rate"]), nan_if_none(low), nan_if_none(high), scale, colour),
        "lift_abs": signed_percent(row["lift_abs"]),
        "lift_abs_ci": f"{signed_percent(lift_low)} … {signed_percent(lift_high)}" if lift_low is not None else "",
        "lift_rel": signed_percent(row["lift_rel"]),
        "p_value": p_value(row["p_value"]),
        "p_adjusted": p_value(row["p_adjusted"]),
        "prob_beat_control": probability(row["prob_beat_control"]),
        "prob_best": probability(row["prob_best"]),
        "still_needed": row["still_needed"],
        "revenue": row.get("revenue"),
    }


def results_context(experiment: Experiment, analysis: dict[str, Any]) -> dict[str, Any]:
    """Display rows from `analysis.analyse` (plain JSON: undefined numbers are None) and one chart per metric."""
    arms = list(experiment.arms.select_related("variant").order_by("key"))
    colours = {arm.key: charts.arm_colour(i, arm.is_holdout) for i, arm in enumerate(arms)}
    metrics = []
    for key, result in analysis["metrics"].items():
        rows = result["arms"]
        scale = max([r["ci"][1] for r in rows if r["ci"][1] is not None] or [0.0])
        over_time = outcomes_over_time(experiment, key)
        label = Experiment.Metric(key).label if key in Experiment.Metric.values else key
        metrics.append({
            "key": key,
            "label": label,
            "primary": key == experiment.primary_metric,
            "control": result["control"],
            "excluded": result["excluded"],
            "rows": [_arm_row(row, colours.get(row["key"], "#777"), scale) for row in rows],
            "winner": result["verdict"]["winner"],
            "reason": result["verdict"]["reason"],
            "sample_size": result["sample_size"],
            "bayes_method": result["bayes_method"],
            "conversion": key == "conversion",
            "chart": charts.rate_over_time_svg(_series(over_time), title=f"Cumulative {label.lower()} by day"),
        })
    metrics.sort(key=lambda m: not m["primary"])
    return {
        "metrics": metrics,
        "srm": analysis["srm"],
        "outcomes": analysis["outcomes"],
        "arms": arms,
        "winner": experiment.winner,
        "overridden": experiment.winner_overridden_by_id is not None,
        **uplift_context(experiment, analysis["outcomes"]),
    }


def _series(over_time: dict[str, Any]) -> list[charts.Series]:
    """`outcomes.outcomes_over_time` as chart series (days before anyone was assigned are left out)."""
    series = []
    for arm in over_time["arms"]:
        points = [
            charts.Point(date.fromisoformat(p["date"]), p["rate"], nan_if_none(p["low"]), nan_if_none(p["high"]))
            for p in arm["points"]
            if p["rate"] is not None
        ]
        series.append(charts.Series(key=arm["key"], points=points, holdout=arm["is_holdout"]))
    return series


class ResultsPage(CampaignPages):
    def results_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Per metric: arms with rates, intervals, lifts, p-values, Bayesian probabilities; SRM; the verdict;
        the override form; cumulative rates over time with interval bands."""
        campaign = self._viewable(request, object_id)
        url = reverse("admin:campaigns_campaign_results", args=[campaign.pk])
        experiment = (
            Experiment.objects.filter(campaign=campaign).select_related("winner", "winner_overridden_by").first()
        )
        can_decide = request.user.has_perm(CHANGE_EXPERIMENT_PERMISSION)
        if request.method == "POST":
            if not can_decide:
                raise PermissionDenied
            try:
                self._results_action(request, campaign, experiment, request.POST)
            except PermissionDenied as exc:
                return self.refused(request, campaign, exc)
            return HttpResponseRedirect(url)
        context: dict[str, Any] = {
            **self._page_context(request, campaign, "results"),
            "title": f"Results: {campaign}",
            "experiment": experiment,
            "can_decide": can_decide,
            "approved_variants": campaign.variants.filter(status=Variant.Status.APPROVED).count(),
        }
        if experiment is not None:
            context.update(results_context(experiment, analyse(experiment)))
        return TemplateResponse(request, "admin/campaigns/campaign/results.html", context)

    def _results_action(
        self, request: HttpRequest, campaign: Campaign, experiment: Experiment | None, data: Any
    ) -> None:
        """Create the experiment, apply the winner rule, or override the winner (arm + note; no arm = withdraw)."""
        action = data.get("action", "")
        try:
            if action == "create":
                experiment = create_experiment(campaign)
                text = f"Experiment created with {experiment.arms.count()} arm(s)."
                self.message_user(request, text, messages.SUCCESS)
            elif experiment is None:
                self.message_user(request, "The campaign has no experiment yet.", messages.ERROR)
            elif action == "rule":
                result = choose_winner(experiment)
                extra = " (a manager's override stays in place)" if result["overridden"] else ""
                self.message_user(request, f"Winner rule: {result['reason']}{extra}.", messages.INFO)
            elif action == TRAIN_ACTION:
                job = start_job("train_uplift", {"experiment": experiment.pk}, user=request.user)
                self.message_user(request, f"Uplift model training queued (job {job.pk}).", messages.SUCCESS)
            elif action == "override":
                arm = do_override_winner(experiment, data.get("arm") or "", request.user, data.get("note") or "")
                if arm is None:
                    self.message_user(request, "Override withdrawn: the winner rule decides again.", messages.SUCCESS)
                else:
                    self.message_user(request, f"Winner set to {arm.key} by {request.user}.", messages.SUCCESS)
            else:
                self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
        except ValueError as exc:  # the steps' REFUSALS, and a bad setting of the experiment
            self.message_user(request, str(exc), messages.ERROR)
