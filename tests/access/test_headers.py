"""Security headers and the production settings: a Content-Security-Policy on every page, Swagger UI from
our own static files, secure cookies and HSTS, and `check --deploy` clean with a production environment."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def production_env(**extra: str) -> dict[str, str]:
    """The environment README's production table documents (DATABASE_URL is not connected to by checks)."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_URL", "DEBUG", "SECRET_KEY"}}
    return env | {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "shop.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
        "DATABASE_URL": "postgres://shop:secret@127.0.0.1:1/shop",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        **extra,
    }


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_cookies_are_secure_and_hsts_is_on() -> None:
    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SECURE_HSTS_SECONDS",
             "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT", "SECURE_CONTENT_TYPE_NOSNIFF", "DEBUG"]
    script = f"from django.conf import settings; print(*[getattr(settings, n) for n in {names!r}])"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=production_env(DJANGO_SETTINGS_MODULE="ecommarketing.settings"))
    assert result.stdout.split() == ["True", "True", "True", "31536000", "True", "True", "True", "False"], result.stderr


@pytest.mark.parametrize("url", ["/admin/login/", "/api/docs/", "/healthz"])
def test_every_page_carries_the_policy(client: Client, url: str) -> None:
    policy = client.get(url)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no other origin
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_swagger_ui_is_served_from_our_own_static_files(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "https://" not in page and "<script>" not in page  # no CDN, no inline script
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
