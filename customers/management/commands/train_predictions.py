"""`manage.py train_predictions [--now DATE] [--targets ...]`: train the per-customer prediction models,
store every customer's predictions and print the metrics; see the customers.predictions package."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.moments import parse_now
from core.progress import TqdmProgress
from customers.predictions import TARGETS, PredictionsReport, TargetOutcome, check_targets, train_predictions
from jobs.runner import JobParamsError, start_job


def _num(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


class Command(BaseCommand):
    help = (
        "Train purchase_30d, churn, value_90d and next_order models on the shop's events with a time split "
        "(features before a cutoff, labels after it), validate on the latest window, record and activate the "
        "versions, and store every customer's predictions. Targets the history cannot support are refused "
        "with the reason; the others still train."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", help="Date (YYYY-MM-DD, midnight UTC) or ISO date-time the history ends at "
                          "(default: midnight after the latest event, or now if earlier).",
        )
        parser.add_argument("--targets", nargs="+", metavar="TARGET", choices=list(TARGETS),
                            help=f"Which of {', '.join(TARGETS)} (default all).")
        parser.add_argument("--no-activate", action="store_true",
                            help="Record the versions but keep the active ones serving.")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--calibration", action="store_true", help="Also print the calibration deciles.")
        parser.add_argument("--as-job", action="store_true", help="Run as a background job; print its id.")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            now = parse_now(opts["now"])
            targets = check_targets(opts["targets"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["as_job"]:
            try:
                job = start_job("train_predictions", {"now": now.isoformat() if now else None, "targets": targets,
                                                      "activate": not opts["no_activate"]})
            except JobParamsError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"job {job.pk} queued on {job.queue}")
            return
        show = opts["verbosity"] > 0 and opts["format"] == "table"
        with TqdmProgress(unit="target", disable=not show) as progress:
            report = train_predictions(now, targets, activate_new=not opts["no_activate"], progress=progress)
        if opts["format"] == "json":
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
            return
        self._table(report, opts["calibration"])

    def _table(self, report: PredictionsReport, calibration: bool) -> None:
        out = self.stdout
        out.write(f"history up to {report.now}")
        header = (f"{'target':<13}{'status':<9}{'validation':<16}{'n_train':>8}{'n_valid':>8}{'AUC':>8}{'Brier':>8}"
                  f"{'base_Br':>8}{'logloss':>8}{'MAE':>10}{'base_MAE':>10}{'seconds':>8}{'scored':>8}")
        out.write(header)
        out.write("-" * len(header))
        for o in report.outcomes:
            if o.status != "trained":
                continue
            m, p = o.metrics, o.params
            auc = m.get("auc", m.get("buy_auc"))
            brier = m.get("brier", m.get("buy_brier"))
            base_brier = m.get("baseline_brier", m.get("buy_baseline_brier"))
            logloss = m.get("log_loss", m.get("buy_log_loss"))
            mae = m.get("mae", m.get("mae_days"))
            base_mae = m.get("baseline_mae_mean", m.get("baseline_mae_days_own_median_gap"))
            out.write(
                f"{o.target:<13}{'trained':<9}{m.get('validation', ''):<16}{p.get('n_train', 0):>8}"
                f"{p.get('n_validation', 0):>8}{_num(auc):>8}{_num(brier):>8}{_num(base_brier):>8}"
                f"{_num(logloss):>8}{_num(mae, 2):>10}{_num(base_mae, 2):>10}{o.seconds:>8.1f}{o.scored:>8}"
            )
        for o in report.outcomes:
            if o.status == "trained":
                self._details(o, calibration)
        for target, message in report.refused.items():
            out.write(self.style.WARNING(f"refused {target}: {message}"))
        out.write(f"trained: {', '.join(report.trained) or 'none'}; refused: {', '.join(report.refused) or 'none'}")

    def _details(self, o: TargetOutcome, calibration: bool) -> None:
        m = o.metrics
        state = "activated" if o.activated else "not activated"
        served = f"; predictions from {o.serving}" if o.serving else "; no active version: nothing stored"
        self.stdout.write(f"{o.target}: version {o.version} ({state}{served})")
        if "baseline_mae_last_90d" in m:
            baselines = {"training mean": "mean", "last 90 days": "last_90d", "BG/NBD x Gamma-Gamma": "bgnbd",
                         "zero": "zero"}
            rows = (("mae", "MAE", 2), ("rmse", "RMSE", 2), ("normalised_gini", "normalised Gini", 3),
                    ("spearman", "Spearman", 3))
            for metric, label, digits in rows:
                others = ", ".join(f"{name} {_num(m.get(f'baseline_{metric}_{key}'), digits).strip()}"
                                   for name, key in baselines.items() if f"baseline_{metric}_{key}" in m)
                self.stdout.write(f"  value {label} {_num(m.get(metric), digits).strip()} vs baselines: {others}")
            self.stdout.write(f"  total predicted {m['total_predicted']:.2f} vs observed {m['total_observed']:.2f}")
        if "mae_days" in m:
            self.stdout.write(
                f"  next-order MAE {m['mae_days']:.2f} days vs own median gap "
                f"{m['baseline_mae_days_own_median_gap']:.2f}, global median gap "
                f"{m['baseline_mae_days_global_median_gap']:.2f} ({m['n_reordered_validation']} re-orders)"
            )
        if "baseline_auc" in m:
            self.stdout.write(f"  AUC {m['auc']:.4f} vs recency alone {m['baseline_auc']:.4f}")
        table = m.get("calibration", m.get("buy_calibration"))
        if calibration and table:
            self.stdout.write("  decile      n  predicted  observed")
            for row in table:
                self.stdout.write(
                    f"  {row['decile']:>6}{row['n']:>7}{row['mean_predicted']:>11.4f}{row['observed']:>10.4f}"
                )
