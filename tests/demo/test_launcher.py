"""`make demo`'s launcher end to end: services up, admin printed, pages served, Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from core import embedded

ROOT = Path(__file__).resolve().parents[2]


def _wait_for_line(process: subprocess.Popen[str], pattern: str, lines: list[str], timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise AssertionError("launcher exited:\n" + "".join(lines))
            continue
        lines.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n" + "".join(lines))


@pytest.mark.slow
def test_demo_launcher_serves_and_stops_everything_it_started(tmp_path: Path) -> None:
    port = embedded.free_port()
    # share the prepared model files with the test session instead of converting them again
    (tmp_path / "var").mkdir()
    shared_models = Path(settings.VAR_DIR) / "models"
    shared_models.mkdir(exist_ok=True)
    (tmp_path / "var" / "models").symlink_to(shared_models, target_is_directory=True)
    env = {
        **os.environ,
        "ECOM_VAR_DIR": str(tmp_path / "var"),
        "DEMO_PORT": str(port),
        "DEMO_SEED_PARAMS": json.dumps({"products": 12, "customers": 15, "events": 150, "reviews": 20}),
        "DEMO_SUMMARIES": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    lines: list[str] = []
    process = subprocess.Popen(
        [sys.executable, "-m", "demo.launcher"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        credentials = _wait_for_line(process, r"user '(\w+)', password '([^']+)'", lines, timeout=240)
        _wait_for_line(process, r"press Ctrl-C", lines, timeout=30)
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 5  # redis, web, a worker per queue (default, inference, generation)
        # the model steps run behind, while the app already serves
        _wait_for_line(process, r"every model step has finished", lines, timeout=600)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        output = "".join(lines)
        assert "job seed_demo: succeeded" in output
        assert "job analyze_reviews: succeeded" in output
        assert "job product_insights: succeeded" in output
        assert "job index_knowledge: succeeded" in output
        assert f"http://127.0.0.1:{port}/assistant/demo/" in output
        assert credentials.group(1) == "admin"
        assert (tmp_path / "var" / "admin_password").read_text().strip() == credentials.group(2)

        # a worker killed whole (main process and pool, SIGKILL) is restarted; web and Redis keep running
        worker = next(c for c in children if "celery" in " ".join(c.cmdline()) and c.ppid() == process.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        _wait_for_line(process, r"worker-\w+ exited with -9", lines, timeout=30)
        _wait_for_line(process, r"worker-\w+ restarted \(pid \d+", lines, timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as response:
            assert response.status == 200
        assert process.poll() is None
        children = psutil.Process(process.pid).children(recursive=True)

        process.send_signal(signal.SIGINT)  # what Ctrl-C does
        process.wait(timeout=60)
        rest = process.stdout.read() if process.stdout else ""
        assert "embedded PostgreSQL stopped" in rest
        for child in children:
            assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child
        assert not embedded.postgres_running(tmp_path / "var")
    finally:
        if process.poll() is None:
            process.kill()
        embedded.stop_postgres(tmp_path / "var")
