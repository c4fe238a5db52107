"""`make demo`: start every service, prepare the data, run the pipeline through the real queue, serve.

Starts (or reuses) the embedded PostgreSQL and a private Redis, migrates, creates an admin user
(credentials printed, password kept in var/admin_password), then starts the web server and one Celery
worker per queue at once (`WORKERS`: an import never waits behind a model job), loads the demo shop as
a job through the queue and says it is ready: http://127.0.0.1:8000 serves within a minute or two. The
model steps (`MODEL_STEPS`: sentiment, analysis, profiles, recommender, predictions, the demo campaign,
summaries) then run behind as jobs, each queued once the steps it needs have finished; the dashboard's
jobs panel shows their progress. Ctrl-C stops every process this launcher started. A second run reuses
the database and skips work already done.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from core import embedded
from demo.supervision import Supervisor

HOST = os.environ.get("DEMO_HOST", "127.0.0.1")
PORT = int(os.environ.get("DEMO_PORT", "8000"))


@dataclass(frozen=True)
class Step:
    """A job the demo queues once the steps it needs (`after`, by kind) have finished."""

    kind: str
    params: dict[str, object] = field(default_factory=dict)
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkerSpec:
    """One Celery worker per queue, so a quick import never waits behind a model job (before issue 15 one
    worker took every queue, and an import waited 17 minutes behind copy generation)."""

    queue: str
    pool: str
    concurrency: int

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "ecommarketing", "worker", "-Q", self.queue,
            "--pool", self.pool, "--concurrency", str(self.concurrency), "--prefetch-multiplier", "1",
            "--loglevel", "INFO", "-n", f"demo-{self.queue}@%h",
        ]


# `default` (database work, no model: two jobs at once); the model queues in one process each with a
# thread pool: each model is loaded once, and one model job at a time already uses every core
# (benchmarks/workers.py measured this layout against prefork: README, "Workers").
WORKERS = (
    WorkerSpec("default", "prefork", 2),
    WorkerSpec("inference", "threads", 1),
    WorkerSpec("generation", "threads", 1),
)
# Before serving: only the demo shop itself (seconds). DEMO_SEED_PARAMS (JSON) sizes it, e.g.
# '{"products": 20, "customers": 30}' for a quick run.
SEED = Step("seed_demo", json.loads(os.environ.get("DEMO_SEED_PARAMS") or "{}"))
# The model steps run behind, through the queue, while the app already serves; each is queued once the
# steps it needs have finished (the dashboard's jobs panel shows what runs). Later issues append here.
MODEL_STEPS: list[Step] = [
    # a sentiment model per language of the shop's rated reviews, trained once (skipped while a language
    # has an active model, or has too few reviews): English fine-tunes the encoder on the stars (about 4 min
    # for 3,800 reviews on 2 CPU cores; the prototypes call "the battery life is nowhere near the advertised
    # hours" praise), Chinese trains character n-grams in a second
    Step("train_sentiment", {"only_missing": True}),
    Step("analyze_reviews", {"then_products": False}, after=("train_sentiment",)),
    Step("product_insights", {}, after=("analyze_reviews",)),
    # the assistant's knowledge (product facts, questions and answers, help articles, review insight):
    # chunked, embedded and indexed for full-text search; unchanged sources are skipped on a second run
    Step("index_knowledge", {}, after=("product_insights",)),
    # the fusion weight and the answerability threshold, measured on the shop's own answered questions
    # (15 s on the demo's 600 answers; a tiny demo shop keeps the defaults)
    Step("tune_assistant", {"skip_if_too_few": True}, after=("index_knowledge",)),
    Step("embed_products", {}),
    Step("rebuild_profiles", {}, after=("embed_products",)),  # profile vectors, RFM, lifecycle, segments
    Step("train_predictions", {}, after=("rebuild_profiles",)),  # purchase in 30 days, churn, value, next order
    Step("train_recommender", {}, after=("rebuild_profiles",)),
    Step("precompute_recommendations", {}, after=("train_recommender",)),  # top-10 for everyone
    # the demo campaign's product and its copy generation (generation queue, a few minutes on CPU)
    Step("demo_campaign", {}, after=("product_insights", "rebuild_profiles")),
]
# Generation is slow on CPU: summarise a few top products (DEMO_SUMMARIES=0 skips it); the rest are
# summarised on demand or by a GPU worker.
if int(os.environ.get("DEMO_SUMMARIES", "3")) > 0:
    MODEL_STEPS.append(Step("summarize_products", {"top": int(os.environ.get("DEMO_SUMMARIES", "3"))},
                            after=("product_insights",)))


def launch_plan(workers: Sequence[WorkerSpec] = WORKERS, steps: Sequence[Step] = MODEL_STEPS) -> list[str]:
    """What `make demo` does, in order (pure: the test pins it): web and every worker at once right after
    migrate, the demo data (a job on the `default` worker), then the model steps in an order that honours
    their `after`."""
    plan = ["migrate", "web", *(f"worker {w.queue}" for w in workers), f"job {SEED.kind}"]
    done: set[str] = {SEED.kind}
    waiting = list(steps)
    while waiting:
        ready = [step for step in waiting if set(step.after) <= done]
        if not ready:
            raise ValueError(f"demo steps wait for steps that never run: {[(s.kind, s.after) for s in waiting]}")
        for step in ready:
            plan.append(f"job {step.kind}")
            done.add(step.kind)
            waiting.remove(step)
    return plan


def steps_to_start(steps: Sequence[Step], started: set[str], finished: set[str]) -> list[Step]:
    """The steps not started yet whose `after` steps have all finished (succeeded, failed or skipped: a
    failed step is reported and the demo goes on without it)."""
    return [step for step in steps if step.kind not in started and set(step.after) <= finished]


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

        # web and one worker per queue, all at once: the login page answers while the workers start
        web = self._spawn("web", [sys.executable, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"])
        workers = {spec.queue: self._spawn(f"worker-{spec.queue}", spec.command()) for spec in WORKERS}
        self._wait_for_web(web)
        say(f"web answers after {time.monotonic() - t0:.0f} s")
        self._wait_for_workers(workers)
        self._finish(self._start_job(SEED), wait=True)
        self._allow_demo_origin()
        say(f"ready in {time.monotonic() - t0:.0f} s; the model steps run behind (dashboard: jobs)")
        say(f"admin:    http://{HOST}:{PORT}/admin/   user {username!r}, password {password!r}")
        say(f"API docs: http://{HOST}:{PORT}/api/docs/")
        say(f"assistant: http://{HOST}:{PORT}/assistant/demo/   (a storefront page with the chat widget)")
        say(f"logs in {self.log_dir}; press Ctrl-C to stop everything")
        running: dict[str, int] = {}  # kind -> job id of the model steps under way
        started: set[str] = set()
        finished: set[str] = set()
        while True:  # a child that exits is restarted with backoff; the others keep running
            self.supervisor.check()
            for step in steps_to_start(MODEL_STEPS, started, finished):
                started.add(step.kind)
                running[step.kind] = self._start_job(step)
            for kind, job_id in list(running.items()):
                if self._finish(job_id, wait=False):
                    finished.add(kind)
                    del running[kind]
                    if len(finished) == len(MODEL_STEPS):
                        say(f"every model step has finished, {time.monotonic() - t0:.0f} s after the start")
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

    def _wait_for_workers(self, workers: dict[str, subprocess.Popen[bytes]], timeout: float = 120) -> None:
        """Each queue's worker answers a ping (by its name `demo-<queue>@host`)."""
        from ecommarketing.celery import app  # after django.setup(), like every import of the project here

        deadline = time.monotonic() + timeout
        waiting = set(workers)
        while time.monotonic() < deadline:
            for queue in waiting:
                if workers[queue].poll() is not None:
                    raise RuntimeError(f"the {queue} worker exited; see {self.log_dir / f'worker-{queue}.log'}")
            answered = {name for reply in app.control.ping(timeout=0.5) or [] for name in reply}
            waiting = {queue for queue in waiting if not any(n.startswith(f"demo-{queue}@") for n in answered)}
            if not waiting:
                say(f"workers ready: {', '.join(workers)}")
                return
        raise RuntimeError(f"no answer within {timeout:.0f} s from the worker(s) of {', '.join(sorted(waiting))}; "
                           f"see {self.log_dir}")

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

    def _start_job(self, step: Step) -> int:
        # the project's modules are imported only after django.setup() in _run
        from django.db import transaction

        from jobs.runner import start_job

        with transaction.atomic():
            job = start_job(step.kind, step.params)
        say(f"job {step.kind}: queued on {job.queue} (see /admin/jobs/job/{job.pk}/change/)")
        return job.pk

    def _finish(self, job_id: int, *, wait: bool) -> bool:
        """Whether the job has finished (with `wait`, poll until it has, printing its progress); report its
        outcome once. A failed essential step stops the demo; any other is reported and skipped."""
        from jobs.models import Job

        last = ""
        while True:
            job = Job.objects.get(pk=job_id)
            if wait:
                line = f"job {job.kind}: {job.status} {job.progress_done}/{job.progress_total or '?'}"
                if line != last:
                    say(line)
                    last = line
            if job.is_finished:
                break
            if not wait:
                return False
            time.sleep(0.5)
        if job.status != "succeeded":
            reason = f"job {job.kind} {job.status}: {job.error.splitlines()[0] if job.error else ''}"
            if job.kind in ESSENTIAL:
                raise RuntimeError(reason)
            say(f"{reason}; the demo goes on without it")
            return True
        refused = job.result.get("refused") if isinstance(job.result, dict) else None
        if refused:  # e.g. prediction targets a shop without purchases cannot support
            say(f"job {job.kind}: skipped {', '.join(refused) if isinstance(refused, dict) else refused}")
        say(f"job {job.kind}: succeeded {job.counts or job.result}")
        return True

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
