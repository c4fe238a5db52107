"""The uplift section of the results page: the experiment's latest uplift model (Qini curve against random
targeting with its Qini coefficient and AUUC, the top 10/20/30% table with intervals, n treated / control,
whether the sample is enough), or, without one, whether the experiment could train one and the sample
it would need; and the button that starts the `train_uplift` job."""

from __future__ import annotations

from typing import Any

from .. import charts
from .. import uplift_stats as us
from ..models import Experiment, UpliftModel
from .formatting import nan_if_none, percent, signed_percent

TRAIN_ACTION = "train_uplift"


def _top_row(row: dict[str, Any], scale: float) -> dict[str, Any]:
    low, high = row["low"], row["high"]
    return {
        "share": f"{row['fraction']:.0%}",
        "n": row["n"], "treated": row["treated"], "control": row["control"],
        "treated_rate": percent(row["treated_rate"], 1), "control_rate": percent(row["control_rate"], 1),
        "uplift": signed_percent(row["uplift"]),
        "interval": f"{signed_percent(low)} … {signed_percent(high)}" if low is not None else "–",
        "predicted": signed_percent(row["mean_predicted"]),
        "bar": charts.interval_bar(nan_if_none(row["uplift"]) + scale / 2, nan_if_none(low) + scale / 2,
                                   nan_if_none(high) + scale / 2, scale, charts.ARM_COLOURS[0]),
    }


def uplift_context(experiment: Experiment, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the template's uplift section shows; `outcomes` is `analysis.analyse(...)["outcomes"]`."""
    latest = UpliftModel.objects.filter(experiment=experiment).select_related("version").first()
    if latest is None:
        return {"uplift": None, "uplift_readiness": _readiness(experiment, outcomes)}
    m = latest.version.metrics
    top = m.get("top") or []
    bounds = [abs(v) for r in top for v in (r.get("low"), r.get("high")) if v is not None]
    scale = 2 * max([*bounds, 0.01])  # the bars centre zero uplift
    return {
        "uplift": {
            "version": latest.version, "model": latest, "metrics": m,
            "qini": m.get("qini_coefficient"), "auuc": m.get("auuc"),
            "chart": charts.qini_svg(m.get("qini_curve") or [], qini=m.get("qini_coefficient"), auuc=m.get("auuc"),
                                     title=f"Qini curve of {latest.version.name} (held-out part)"),
            "top": [_top_row(r, scale) for r in top],
            "audience": f'{{"uplift_top_percent": 20, "uplift_model": "{latest.version.name}"}}',
        },
        "uplift_readiness": None,
    }


def _readiness(experiment: Experiment, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts of the control and offer arms and the sample an uplift model would need."""
    arms = list(experiment.arms.order_by("key"))
    control = next((a for a in arms if a.is_control), None)
    if control is None:
        return {"ok": False, "reason": "no control arm: mark the holdout (or one arm) as the control"}
    offered = [a for a in arms if not a.is_control]
    if not offered:
        return {"ok": False, "reason": "only the control arm: no offer to compare with"}
    c = outcomes.get(control.key, {})
    n_control, s_control = int(c.get("assigned", 0)), int(c.get("converted", 0))
    n_treated = sum(int(outcomes.get(a.key, {}).get("assigned", 0)) for a in offered)
    s_treated = sum(int(outcomes.get(a.key, {}).get("converted", 0)) for a in offered)
    base = s_control / n_control if n_control else 0.0
    mde = us.plausible_uplift(experiment.minimum_detectable_effect, s_treated / n_treated if n_treated else 0.0, base)
    needed = us.sample_needed(base, mde, alpha=experiment.alpha, power=experiment.power)
    minimum = int(us.MIN_PER_ARM / (1 - us.TEST_FRACTION)) + 1
    ok = min(n_control, n_treated) >= minimum and min(s_control, s_treated) >= us.MIN_CONVERSIONS
    return {
        "ok": ok, "has_counts": True, "reason": "" if ok else "too small to train an uplift model yet",
        "n_control": n_control, "n_treated": n_treated, "s_control": s_control, "s_treated": s_treated,
        "needed": needed, "base": base, "mde": mde,
    }
