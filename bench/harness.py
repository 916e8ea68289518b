"""What every benchmark case shares: real server processes on loopback,
load driven from this process with grpc.aio, percentiles, RSS, and the
result rows that run.py prints and saves.

Figures are ratios against a baseline measured in the same run on the same
machine: absolute numbers on a small shared machine vary run to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg

BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "VIDEO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Result:
    case: str
    figure: str  # what was measured, e.g. "CreateVideo rps"
    value: float
    unit: str
    baseline: float | None = None  # the same run's reference figure
    baseline_name: str = ""
    goal: str = ""  # e.g. "ratio >= 0.5"
    passed: bool | None = None  # None: no goal
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline


def ratio_at_least(result: Result, goal: float) -> Result:
    result.goal = f"ratio >= {goal:g}"
    result.passed = result.ratio is not None and result.ratio >= goal
    return result


def ratio_at_most(result: Result, goal: float) -> Result:
    result.goal = f"ratio <= {goal:g}"
    result.passed = result.ratio is not None and result.ratio <= goal
    return result


def value_at_most(result: Result, goal: float) -> Result:
    result.goal = f"<= {goal:g} {result.unit}"
    result.passed = result.value <= goal
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class ServerProcess:
    """`video-server` (or another of our programs) as a real process."""

    def __init__(self, *args: str, program: str = "video-server") -> None:
        server = ["--listen", "127.0.0.1:0", "--max-backlog", "100000000"]
        if program.startswith("bench."):  # one of ours, run as a module
            command = [sys.executable, "-m", program, *args]
        else:
            command = [
                str(BIN / program), "--log-level", "error",
                *(server if program == "video-server" else []), *args,
            ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        self.first_line = line
        if program == "video-server":
            if "listening on " not in line:
                self.stop()
                raise RuntimeError(f"{program} did not start: {line!r}")
            self.target = line.split("listening on ")[1].split()[0]
        self.pid = self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


@contextlib.contextmanager
def running(*args: str, program: str = "video-server") -> Iterator[ServerProcess]:
    server = ServerProcess(*args, program=program)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one case, dropped after it."""
    name = f"longreel_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


Call = Callable[[grpc.aio.Channel, int], Awaitable[object]]


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


async def drive(targets: list[str], call: Call, in_flight: int, seconds: float) -> Load:
    """`in_flight` calls at all times for `seconds` (after a warm-up of a
    fifth of that), spread over one channel per target."""
    channels = [grpc.aio.insecure_channel(t) for t in targets]
    counter = iter(range(1 << 62))
    latencies: list[float] = []
    errors = 0

    async def loop(k: int, until: float) -> None:
        nonlocal errors
        channel = channels[k % len(channels)]
        while (start := time.perf_counter()) < until:
            try:
                await call(channel, next(counter))
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - start)

    try:
        warm = time.perf_counter() + max(0.5, seconds / 5)
        await asyncio.gather(*(loop(k, warm) for k in range(in_flight)))
        latencies.clear()
        errors = 0
        began = time.perf_counter()
        await asyncio.gather(*(loop(k, began + seconds) for k in range(in_flight)))
        elapsed = time.perf_counter() - began
    finally:
        for channel in channels:
            await channel.close()
    ms = [x * 1000 for x in latencies] or [0.0]
    return Load(len(latencies) / elapsed, statistics.median(ms), percentile(ms, 99), errors)
