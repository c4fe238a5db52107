import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.env import check_redis_url, env_bool, env_int, env_list, parse_database_url

ROOT = Path(__file__).resolve().parents[2]


def test_bool_accepts_common_spellings() -> None:
    assert env_bool("X", False, environ={"X": "yes"}) is True
    assert env_bool("X", True, environ={"X": "0"}) is False
    assert env_bool("X", True, environ={}) is True


def test_bool_rejects_garbage_naming_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})


def test_int_bounds_and_garbage() -> None:
    assert env_int("N", 3, environ={"N": "7"}) == 7
    with pytest.raises(ImproperlyConfigured, match=r"N='seven' is not a whole number"):
        env_int("N", 3, environ={"N": "seven"})
    with pytest.raises(ImproperlyConfigured, match=r"N=0 is below the minimum of 1"):
        env_int("N", 3, minimum=1, environ={"N": "0"})


def test_list_splits_and_trims() -> None:
    assert env_list("H", [], environ={"H": " a.com, b.com ,,"}) == ["a.com", "b.com"]


def test_database_url_parsing() -> None:
    url = parse_database_url("DATABASE_URL", "postgres://u:p%40ss@db.internal:6432/shop?sslmode=require")
    django = url.as_django()
    assert (django["NAME"], django["USER"], django["PASSWORD"], django["HOST"], django["PORT"]) == (
        "shop", "u", "p@ss", "db.internal", "6432",
    )
    assert django["OPTIONS"] == {"sslmode": "require"}
    socket_url = parse_database_url("DATABASE_URL", "postgresql://postgres:@/shop?host=/tmp/sock")
    assert socket_url.as_django()["HOST"] == "/tmp/sock"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sqlite:///db.sqlite3", "must be a PostgreSQL URL"),
        ("postgres://localhost:5432/", "has no database name"),
        ("postgres://localhost:99999/x", "invalid port"),
    ],
)
def test_database_url_errors(value: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url("DATABASE_URL", value)


def test_redis_url_must_be_a_broker_url() -> None:
    assert check_redis_url("REDIS_URL", "redis://h:6379/0")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL='http://x' must be a redis://"):
        check_redis_url("REDIS_URL", "http://x")


def _start_django(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=full, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0", "SECRET_KEY": ""}, "SECRET_KEY is required when DEBUG is off"),
        ({"DEBUG": "perhaps"}, "DEBUG='perhaps' is not a boolean"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must be a PostgreSQL URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must be a redis://"),
        ({"EMBEDDING_MODEL": "/no/such/folder"}, "EMBEDDING_MODEL='/no/such/folder' is not a folder"),
    ],
)
def test_process_start_fails_fast_with_a_clear_message(env: dict[str, str], message: str) -> None:
    result = _start_django(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
