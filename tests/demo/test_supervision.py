"""The demo launcher's supervision: a child that exits is started again with backoff, the others go on
(a killed worker used to stop the web server, Redis and PostgreSQL too)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from demo.supervision import Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _exits() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])


def _lives() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _until_exited(process: subprocess.Popen[bytes]) -> None:
    process.wait(timeout=30)


def test_a_child_that_exits_is_restarted_with_backoff_and_the_others_keep_running() -> None:
    clock, said = Clock(), list[str]()
    supervisor = Supervisor(say=said.append, clock=clock, first_delay=1, max_delay=8, stable_after=60)
    web = supervisor.add("web", _lives)
    worker = supervisor.add("worker", _exits)
    try:
        delays = []
        for _ in range(5):
            _until_exited(supervisor.children[1].process)
            assert supervisor.check() == []  # noted, not yet restarted
            child = supervisor.children[1]
            assert child.restart_at is not None
            delays.append(child.restart_at - clock.now)
            clock.now = child.restart_at - 0.01
            assert supervisor.check() == []
            clock.now = child.restart_at
            assert supervisor.check() == ["worker"]
        assert delays == [1, 2, 4, 8, 8]  # doubling, capped
        assert supervisor.children[1].restarts == 5 and supervisor.children[1].process is not worker
        assert web.poll() is None and supervisor.children[0].process is web  # never touched
        assert any("worker exited with 3" in line for line in said)
    finally:
        for _, process in supervisor.processes():
            process.kill()
            process.wait()


def test_a_child_that_ran_long_enough_restarts_after_the_first_delay_again() -> None:
    clock = Clock()
    supervisor = Supervisor(say=lambda _: None, clock=clock, first_delay=1, stable_after=60)
    supervisor.add("worker", _lives)
    child = supervisor.children[0]
    try:
        child.failures_in_a_row = 4  # it had been failing before
        clock.now = 120.0  # then ran for two minutes
        child.process.send_signal(signal.SIGKILL)  # killed like the worker
        _until_exited(child.process)
        supervisor.check()
        assert child.restart_at == 121.0
        clock.now = 121.0
        assert supervisor.check() == ["worker"]
        time.sleep(0.1)
        assert child.process.poll() is None
    finally:
        child.process.kill()
        child.process.wait()
