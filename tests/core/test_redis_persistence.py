"""The demo's Redis keeps its queue on disk: a job queued before Redis died is still queued after it starts
again (append-only file, synced every second)."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from core import embedded


def test_a_queued_message_survives_redis_being_killed(tmp_path: Path) -> None:
    process, url = embedded.start_redis(tmp_path / "redis")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        redis.Redis.from_url(url).lpush("default", b'{"task": "jobs.run_job"}')
        time.sleep(1.5)  # appendfsync everysec
    finally:
        process.kill()  # SIGKILL: no shutdown save
        process.wait(timeout=10)
    process, url = embedded.start_redis(tmp_path / "redis", port)
    try:
        assert redis.Redis.from_url(url).lrange("default", 0, -1) == [b'{"task": "jobs.run_job"}']
    finally:
        process.terminate()
        process.wait(timeout=10)
