"""`make demo`: start every service, prepare the data, run the pipeline through the real queue, serve.

Starts (or reuses) the embedded PostgreSQL, starts a private Redis and one Celery worker, migrates,
creates an admin user (credentials printed, password kept in var/admin_password), loads the demo shop
as a job through the queue, then serves http://127.0.0.1:8000 until Ctrl-C, which stops every process
this launcher started. A second run reuses the database and skips work already done.

A child that dies (a worker killed, Redis crashed) is started again with backoff (`demo.supervision`)
while the others keep running; Redis keeps its queue in an append-only file, so queued jobs survive.
A pipeline step other than seeding that fails (a shop too small for a model) is reported and skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from core import embedded
from demo.supervision import Supervisor

HOST = os.environ.get("DEMO_HOST", "127.0.0.1")
PORT = int(os.environ.get("DEMO_PORT", "8000"))
# Jobs the demo runs, in order, through the queue: (kind, parameters, wait for it before serving).
# Later issues append their pipeline steps here. DEMO_SEED_PARAMS (JSON) sizes the demo shop, e.g.
# '{"products": 20, "customers": 30}' for a quick run.
PIPELINE: list[tuple[str, dict[str, object], bool]] = [
    ("seed_demo", json.loads(os.environ.get("DEMO_SEED_PARAMS") or "{}"), True),
    # a sentiment model per language of the shop's rated reviews, trained once (skipped while a language
    # has an active model, or has too few reviews): English fine-tunes the encoder on the stars (about 4 min
    # for 3,800 reviews on 2 CPU cores; the prototypes call "the battery life is nowhere near the advertised
    # hours" praise), Chinese trains character n-grams in a second
    ("train_sentiment", {"only_missing": True}, True),
    ("analyze_reviews", {"then_products": False}, True),
    ("product_insights", {}, True),
    # the assistant's knowledge (product facts, questions and answers, help articles, review insight):
    # chunked, embedded and indexed for full-text search; unchanged sources are skipped on a second run
    ("index_knowledge", {}, True),
    # the fusion weight and the answerability threshold, measured on the shop's own answered questions
    # (15 s on the demo's 600 answers; a tiny demo shop keeps the defaults)
    ("tune_assistant", {"skip_if_too_few": True}, True),
    ("embed_products", {}, True),
    ("rebuild_profiles", {}, True),  # profile vectors, RFM, lifecycle and behavioural segments
    ("train_predictions", {}, True),  # purchase in 30 days, churn risk, 90-day value, next order date
    ("train_recommender", {}, True),
    ("precompute_recommendations", {}, False),  # top-10 for everyone, while the app already serves
    ("demo_campaign", {}, True),  # queues copy generation for the demo campaign (background, a few minutes)
]
# Generation is slow on CPU: summarise a few top products in the background while the app serves
# (DEMO_SUMMARIES=0 skips it); the rest are summarised on demand or by a GPU worker.
if int(os.environ.get("DEMO_SUMMARIES", "3")) > 0:
    PIPELINE.append(("summarize_products", {"top": int(os.environ.get("DEMO_SUMMARIES", "3"))}, False))
ESSENTIAL = {"seed_demo"}  # without the shop there is no demo; any other failed step is reported and skipped


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


class Launcher:
    def __init__(self) -> None:
        self.var = embedded.var_dir()
        self.log_dir = self.var / "log"
        self.log_dir.mkdir(exist_ok=True)
        self.supervisor = Supervisor(say=say)
        self.postgres_started_here = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._terminate)
        # Even when started with SIGINT ignored (as a background job), Ctrl-C must stop the demo.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return self._run()
        except KeyboardInterrupt:
            say("Ctrl-C: stopping")
            return 0
        finally:
            self.stop()

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def _run(self) -> int:
        t0 = time.monotonic()
        if not _port_free(HOST, PORT):
            say(f"port {PORT} on {HOST} is in use (is another demo running?); set DEMO_PORT to use another")
            return 1
        redis_port = embedded.free_port()  # kept across restarts: every client's URL stays right
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        self.supervisor.add("redis", lambda: embedded.start_redis(self.var / "redis", redis_port)[0])
        os.environ["REDIS_URL"] = redis_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
        say(f"redis on {redis_url}")

        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        self.postgres_started_here = bool(getattr(settings, "EMBEDDED_POSTGRES_STARTED_HERE", False))
        db = settings.DATABASES["default"]
        origin = "embedded" if settings.EMBEDDED_POSTGRES else "DATABASE_URL"
        say(f"database {db['NAME']} on {db['HOST'] or 'localhost'} ({origin})")
        call_command("migrate", interactive=False, verbosity=0)
        say("migrations applied")
        call_command("prepare_models")  # offline model files: a no-op once done
        username, password = self._admin_user()

        worker = self._spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", "default,inference",
             "--concurrency", "2", "--prefetch-multiplier", "1", "--loglevel", "INFO", "-n", "demo@%h"],
        )
        self._wait_for_worker(worker)
        for kind, params, wait in PIPELINE:
            self._run_job(kind, params, wait=wait)
        self._allow_demo_origin()

        web = self._spawn("web", [sys.executable, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"])
        self._wait_for_web(web)
        say(f"ready in {time.monotonic() - t0:.0f} s")
        say(f"admin:    http://{HOST}:{PORT}/admin/   user {username!r}, password {password!r}")
        say(f"API docs: http://{HOST}:{PORT}/api/docs/")
        say(f"assistant: http://{HOST}:{PORT}/assistant/demo/   (a storefront page with the chat widget)")
        say(f"logs in {self.log_dir}; press Ctrl-C to stop everything")
        while True:  # a child that exits is restarted with backoff; the others keep running
            self.supervisor.check()
            time.sleep(1)

    def _allow_demo_origin(self) -> None:
        """The demo storefront page runs on this host and port: its publishable key must allow them."""
        from demo.seed.knowledge import allow_demo_origin

        allow_demo_origin(f"http://{HOST}:{PORT}")

    def _admin_user(self) -> tuple[str, str]:
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        username = os.environ.get("DEMO_ADMIN_USER", "admin")
        password_file = self.var / "admin_password"
        user = user_model.objects.filter(username=username).first()
        if user is not None and password_file.exists():
            return username, password_file.read_text().strip()
        password = secrets.token_urlsafe(12)
        if user is None:
            user = user_model.objects.create_superuser(username, f"{username}@example.com", password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        password_file.write_text(password)
        password_file.chmod(0o600)
        return username, password

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        return self.supervisor.add(name, lambda: self._popen(name, command))

    def _popen(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=embedded.BASE_DIR, env=os.environ.copy(),
            start_new_session=True,  # Ctrl-C reaches the launcher only, which stops children in order
        )
        say(f"{name} started (pid {process.pid}), log {log.name}")
        return process

    def _wait_for_worker(self, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
        from ecommarketing.celery import app  # after django.setup(), like every import of the project here

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.log_dir / 'worker.log'}")
            if app.control.ping(timeout=0.5):
                say("worker ready")
                return
        raise RuntimeError(f"the worker did not answer within {timeout:.0f} s; see {self.log_dir / 'worker.log'}")

    def _wait_for_web(self, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
        """"Ready" means the web server answers: on a loaded machine Django's start takes a while."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the web server exited; see {self.log_dir / 'web.log'}")
            try:  # connect, never bind: a probe that binds could take the port from the server
                with socket.create_connection((HOST, PORT), timeout=1):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"the web server did not listen within {timeout:.0f} s; see {self.log_dir / 'web.log'}")

    def _run_job(self, kind: str, params: dict[str, object], *, wait: bool = True) -> None:
        # the project's modules are imported only after django.setup() in _run
        from django.db import transaction

        from jobs.models import Job
        from jobs.runner import start_job

        say(f"job {kind}: queued")
        with transaction.atomic():
            job = start_job(kind, params)
        if not wait:
            say(f"job {kind}: runs in the background (see /admin/jobs/job/{job.pk}/change/)")
            return
        last = ""
        while True:
            job = Job.objects.get(pk=job.pk)
            line = f"job {kind}: {job.status} {job.progress_done}/{job.progress_total or '?'}"
            if line != last:
                say(line)
                last = line
            if job.is_finished:
                break
            time.sleep(0.5)
        if job.status != "succeeded":
            reason = f"job {kind} {job.status}: {job.error.splitlines()[0] if job.error else ''}"
            if kind in ESSENTIAL:
                raise RuntimeError(reason)
            say(f"{reason}; the demo goes on without it")
            return
        refused = job.result.get("refused") if isinstance(job.result, dict) else None
        if refused:  # e.g. prediction targets a shop without purchases cannot support
            say(f"job {kind}: skipped {', '.join(refused) if isinstance(refused, dict) else refused}")
        say(f"job {kind}: {job.counts or job.result}")

    def stop(self) -> None:
        for name, process in reversed(self.supervisor.processes()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                say(f"{name} stopped")
        self.supervisor.children.clear()
        if self.postgres_started_here and embedded.stop_postgres(self.var):
            say("embedded PostgreSQL stopped")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def main() -> int:
    os.chdir(Path(__file__).resolve().parent.parent)
    return Launcher().run()


if __name__ == "__main__":
    sys.exit(main())
