"""N servers and M workers on one PostgreSQL database, as separate processes:
the work is shared, a killed worker loses nothing, and a client waiting on one
server hears at once of work another process finished (LISTEN/NOTIFY)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from longreel.client import VideoClient

from ..databases import fresh_schema
from ..helpers import until

CREATES = 500
BIN = Path(sys.executable).parent


def spawn(command: str, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [str(BIN / command), *args, "--log-level", "error"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"{command} did not start"
    process.first_line = line  # type: ignore[attr-defined]
    return process


def leases_held_by(database: str, pid: int) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT count(*) FROM jobs WHERE lease_owner LIKE %s", (f"%/{pid}/%",)
        ).fetchone()
    return int(row[0]) if row else 0


def target_of(server: subprocess.Popen[str]) -> str:
    return server.first_line.split("listening on ")[1].split()[0]  # type: ignore[attr-defined]


def test_two_servers_and_three_workers_share_one_database(postgres_database, processes):
    database = fresh_schema(postgres_database)
    servers = [
        spawn("video-server", "--listen", "127.0.0.1:0", "--database", database, "--no-workers")
        for _ in range(2)
    ]
    workers = [
        spawn("video-worker", "--database", database, "--concurrency", "8",
              "--processor", "simulated", "--work-seconds", "0.2", "--lease-seconds", "2")
        for _ in range(3)
    ]  # fmt: skip
    processes.extend(servers + workers)
    targets = [target_of(s) for s in servers]

    def create(i: int) -> str:
        with VideoClient(targets[i % 2]) as client:
            return client.create_video(video={"title": f"Film {i}"}).name

    victim = workers[0]
    with ThreadPoolExecutor(16) as pool:
        pending = pool.map(create, range(CREATES))
        # Kill a worker while it holds leases, so that its jobs must be taken over.
        until(lambda: leases_held_by(database, victim.pid), timeout=60, what="the victim's leases")
        victim.send_signal(signal.SIGKILL)
        names = list(pending)

    with VideoClient(targets[1]) as other:
        for name in names:
            other.operation(name=name).result(timeout=120)

    lags = []
    with VideoClient(targets[0]) as creator, VideoClient(targets[1]) as waiter:
        for i in range(20):
            # Created on one server, waited for on the other, run by a worker process.
            op = waiter.operation(name=creator.create_video(video={"title": f"Watched {i}"}).name)
            op.result(timeout=30)
            lags.append(time.time() - op.metadata.end_time.ToNanoseconds() / 1e9)

    with VideoClient(targets[0]) as first, VideoClient(targets[1]) as second:
        seen_by_first = {op.name for op in first.list_operations()}
        seen_by_second = {op.name for op in second.list_operations()}
        videos = list(first.list_videos())
        done = list(first.list_operations(filter="done = true AND error.code = 0"))
    assert seen_by_first == seen_by_second
    assert set(names) <= seen_by_first
    assert len(done) == CREATES + 20  # every operation finished, successfully
    assert len(videos) == CREATES + 20  # exactly once each
    # Completions reached the waiting server by notification, well before its 5 s re-read.
    median, worst = sorted(lags)[len(lags) // 2] * 1000, max(lags) * 1000
    print(f"notice lag across processes: median {median:.1f} ms, max {worst:.1f} ms")
    assert max(lags) < 2.0, lags
