"""`make load`: find the sustained rate at which p99 stays under 200 ms with zero errors, and watch memory.

1. prepare the shop (loadtest/prepare.py) and write the locust config;
2. start gunicorn (WORKERS sync workers, DEBUG off, JSON logs at WARNING, throttles lifted: a single token
   sends the whole load) on a free loopback port;
3. for each scenario, step the users (each user offers one request a second) and repeat each step; a step
   holds when the median p99 of its repeats is under the target and no repeat had an error; the ladder
   stops at the first step that does not hold;
4. soak: ingest and recommendations together for SOAK seconds, RSS of each gunicorn worker sampled every 30 s.

Run it inside the embedded services: `python -m core.embedded python -m loadtest` (what `make load` does).
Results go to var/loadtest/results.json and stdout. Locust runs as a separate process, on the same machine.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "loadtest"
P99_TARGET_MS = 200
SCENARIOS = {
    "ingest": ("IngestUser", [5, 10, 15, 20, 30, 40, 60, 80]),
    "bulk_ingest": ("BulkIngestUser", [1, 2, 4, 6, 8, 12]),
    "recommendations": ("RecommendationsUser", [5, 10, 20, 30, 40, 60, 80]),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0",
        API_THROTTLE_USER="10000000/minute", LOG_FORMAT="json", LOG_LEVEL="WARNING",
        PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="ecom-prom-"),
    )
    return env


def start_gunicorn(port: int, workers: int) -> subprocess.Popen[bytes]:
    with open(OUT / "gunicorn.log", "ab") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "ecommarketing.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--timeout", "120"],
            cwd=ROOT, env=_server_env(), stdout=log, stderr=log,
        )
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"gunicorn did not answer on port {port}; see {OUT / 'gunicorn.log'}")


def run_locust(port: int, users: list[str], count: int, seconds: int, tag: str) -> dict[str, float]:
    """One headless locust run; the aggregated row of its stats."""
    prefix = OUT / "csv" / tag
    prefix.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LOADTEST_CONFIG=str(OUT / "config.json"), LOADTEST_RUN=f"{tag}-{time.time_ns()}")
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless",
         "-u", str(count), "-r", str(max(count, 1)), "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}",
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", *users],
        cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(f"{prefix}_stats.csv") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return {
        "rps": float(row["Requests/s"]), "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]), "p50_ms": float(row["50%"]), "p99_ms": float(row["99%"]),
    }


def ladder(port: int, name: str, seconds: int, repeats: int) -> dict[str, Any]:
    user, steps = SCENARIOS[name]
    run_locust(port, [user], steps[0], 10, f"{name}-warmup")  # each worker loads its tables and connections
    rows, held = [], None
    for count in steps:
        runs = [run_locust(port, [user], count, seconds, f"{name}-{count}-{i}") for i in range(repeats)]
        row: dict[str, Any] = {
            "users": count,
            "rps": round(statistics.median(r["rps"] for r in runs), 1),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "p99_each_ms": [r["p99_ms"] for r in runs],
            "failures": sum(r["failures"] for r in runs),
            "load_average_1m": round(os.getloadavg()[0], 1),  # the machine is shared: how busy it was
        }
        rows.append(row)
        print(f"  {name} {count:4d} users: {row}", flush=True)
        if row["p99_ms"] >= P99_TARGET_MS or row["failures"]:
            break
        held = row
    return {"steps": rows, "sustained": held}


def worker_rss(master: subprocess.Popen[bytes]) -> list[float]:
    return [round(child.memory_info().rss / 2**20, 1) for child in psutil.Process(master.pid).children()]


def soak(port: int, master: subprocess.Popen[bytes], users: int, seconds: int) -> dict[str, Any]:
    env = dict(os.environ, LOADTEST_CONFIG=str(OUT / "config.json"), LOADTEST_RUN=f"soak-{time.time_ns()}")
    prefix = OUT / "csv" / "soak"
    locust = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless",
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}",
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "IngestUser", "RecommendationsUser"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    while locust.poll() is None:
        samples.append({"t": round(time.monotonic() - started), "rss_mb": worker_rss(master)})
        print(f"  soak t={samples[-1]['t']}s rss={samples[-1]['rss_mb']}", flush=True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            locust.wait(timeout=30)
    with open(f"{prefix}_stats.csv") as handle:
        rows = {r["Name"]: r for r in csv.DictReader(handle)}
    totals = [sum(s["rss_mb"]) for s in samples]
    return {
        "users": users, "seconds": seconds, "samples": samples,
        "workers_rss_mb": {"start": totals[0], "end": totals[-1], "max": max(totals)},
        "per_worker_start_end_mb": list(zip(samples[0]["rss_mb"], samples[-1]["rss_mb"], strict=False)),
        "stats": {name: {k: row[k] for k in ("Request Count", "Failure Count", "Requests/s", "50%", "99%")}
                  for name, row in rows.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as in the Dockerfile)")
    parser.add_argument("--step-seconds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"of {', '.join(SCENARIOS)}")
    parser.add_argument("--soak-seconds", type=int, default=600, help="0 skips the soak")
    parser.add_argument("--soak-users", type=int, default=0, help="default: half the sustained rates, summed")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommarketing.settings")
    import django

    django.setup()
    from loadtest.prepare import prepare

    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"prepare": prepare(OUT / "config.json"), "workers": args.workers,
                               "cpus": os.cpu_count(), "step_seconds": args.step_seconds, "repeats": args.repeats}
    print("prepared:", results["prepare"], flush=True)
    port = _free_port()
    master = start_gunicorn(port, args.workers)
    try:
        for name in [s for s in args.scenarios.split(",") if s]:
            results[name] = ladder(port, name, args.step_seconds, args.repeats)
        if args.soak_seconds:
            users = args.soak_users or max(2, sum(
                (results.get(name, {}).get("sustained") or {"users": 10})["users"] // 2
                for name in ("ingest", "recommendations")
            ))
            results["soak"] = soak(port, master, users, args.soak_seconds)
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(timeout=30)
        (OUT / "results.json").write_text(json.dumps(results, indent=1))
    print(json.dumps({k: v for k, v in results.items() if k != "soak"} | {
        "soak": {k: v for k, v in results.get("soak", {}).items() if k != "samples"}}, indent=1))


if __name__ == "__main__":
    main()
