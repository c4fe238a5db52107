"""docker-compose.yml scales workers (`--scale worker=4`: no fixed name or host port on a worker) and offers
RabbitMQ as the broker behind a profile, passed to every app service through CELERY_BROKER_URL."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_workers_scale_and_rabbitmq_is_an_optional_broker() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("worker", "worker-gpu"):
        assert "container_name" not in services[name] and "ports" not in services[name], name
    assert services["rabbitmq"]["profiles"] == ["rabbitmq"]
    for name in ("web", "worker", "worker-gpu", "beat"):
        assert "CELERY_BROKER_URL" in services[name]["environment"], name
        assert "JOB_CHUNK_SIZE" in services[name]["environment"], name
