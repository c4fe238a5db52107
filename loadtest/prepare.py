"""The shop the load test runs against: the demo shop (`seed_demo`, no model runs), product embeddings,
profiles and a trained recommender (so recommendations take the full hybrid path, not the popularity
fallback), and a manager's API token. Each step is skipped when already done; writes the locust config."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management import call_command

from access.tokens import issue_token
from campaigns.roles import CAMPAIGN_MANAGER
from catalog.models import ModelRole, ModelVersion, Product, ProductEmbedding
from customers.models import Customer, CustomerProfile
from jobs.models import Job, JobStatus
from jobs.runner import start_job

USERNAME = "loadtest"


def _job(kind: str, **params: Any) -> float:
    """Run a job in this process (no broker: Celery runs it eagerly); its seconds."""
    started = time.perf_counter()
    job = start_job(kind, params)
    job.refresh_from_db()
    if job.status != JobStatus.SUCCEEDED:
        raise RuntimeError(f"{kind} ended {job.status}: {Job.objects.get(pk=job.pk).error[:500]}")
    return time.perf_counter() - started


def prepare(config_path: Path) -> dict[str, Any]:
    report: dict[str, Any] = {}
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)  # skips when the demo shop exists
    if ProductEmbedding.objects.count() < Product.objects.count():
        report["embed_products_s"] = round(_job("embed_products"), 1)
    if not CustomerProfile.objects.filter(vector__isnull=False).exists():
        report["rebuild_profiles_s"] = round(_job("rebuild_profiles"), 1)
    if not ModelVersion.objects.filter(role=ModelRole.RECOMMENDER, is_active=True).exists():
        report["train_recommender_s"] = round(_job("train_recommender"), 1)
    user, _ = User.objects.get_or_create(username=USERNAME)
    user.groups.add(Group.objects.get(name=CAMPAIGN_MANAGER))
    _, key = issue_token(user, "full", "load test")
    customers = list(Customer.objects.order_by("pk").values_list("pk", "external_id")[:3000])
    config = {
        "token": key,
        "customer_ids": [pk for pk, _ in customers],
        "customers": [external_id for _, external_id in customers],
        "skus": list(Product.objects.filter(is_active=True).values_list("sku", flat=True)),
    }
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(json.dumps(config))
    report.update(customers=len(customers), products=len(config["skus"]))
    return report
