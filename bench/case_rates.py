"""Cases 1, 2 and 9: how fast the service accepts work and answers reads,
against a no-op call (health Check) on the same server in the same run, on
SQLite, on PostgreSQL, and with two servers on one PostgreSQL database; and
two servers' creates against one server's, which shows whether servers'
creates wait for one another."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator

import grpc
import psycopg
from google.longrunning import operations_pb2, operations_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from .harness import (
    Call,
    Load,
    Result,
    drive,
    postgres_database,
    ratio_at_least,
    running,
)

IN_FLIGHT = 64
LOCK_SAMPLE = 0.005  # seconds between samples of the backends waiting on a lock
LOCK_WAITERS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
CREATE_GOAL = {"SQLite": 0.5, "PostgreSQL": 0.6}  # of the no-op rate (issue 19 for PostgreSQL)


async def check(channel: grpc.aio.Channel, _: int) -> object:
    return await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())


async def create(channel: grpc.aio.Channel, n: int) -> object:
    # With a request_id, as VideoClient sends every create.
    video = pb.Video(title=f"Film {n}", plot="Benchmarked.")
    request = pb.CreateVideoRequest(video=video, request_id=str(uuid.uuid4()))
    return await pb_grpc.VideoServiceStub(channel).CreateVideo(request)


def get_operation(name: str) -> Call:
    request = operations_pb2.GetOperationRequest(name=name)

    async def call(channel: grpc.aio.Channel, _: int) -> object:
        return await operations_pb2_grpc.OperationsStub(channel).GetOperation(request)

    return call


def _row(case: str, figure: str, load: Load, base: Load) -> Result:
    result = Result(case, figure, load.rps, "calls/s", base.rps, "health Check calls/s")
    result.notes.append(f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms")
    if load.errors:
        result.notes.append(f"{load.errors} errors")
    return result


def _measure(
    targets: list[str], label: str, seconds: float, reads: bool, url: str | None = None
) -> list[Result]:
    base = asyncio.run(drive(targets, check, IN_FLIGHT, seconds))
    with lock_waits(url) as waits:
        made = asyncio.run(drive(targets, create, IN_FLIGHT, seconds))
    goal = CREATE_GOAL[label.split(",")[0]]
    rows = [ratio_at_least(_row("1 accepting work", f"CreateVideo, {label}", made, base), goal)]
    if url is not None:
        rows[0].notes.append(f"backends waiting on a lock: {waits():.2f} on average")
    if reads:
        with grpc.insecure_channel(targets[0]) as channel:
            request = pb.CreateVideoRequest(video=pb.Video(title="Read me"))
            name = pb_grpc.VideoServiceStub(channel).CreateVideo(request).name
        read = asyncio.run(drive(targets, get_operation(name), IN_FLIGHT, seconds))
        rows.append(ratio_at_least(_row("2 reading", f"GetOperation, {label}", read, base), 0.7))
    return rows


@contextlib.contextmanager
def lock_waits(url: str | None) -> Iterator[Callable[[], float]]:
    """How many of the database's backends wait on a lock, on average over
    samples every LOCK_SAMPLE seconds while the block runs (nothing without a url)."""
    counts: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(url or "", autocommit=True) as conn:
            while not stop.wait(LOCK_SAMPLE):
                row = conn.execute(LOCK_WAITERS).fetchone()
                counts.append(row[0] if row else 0)

    sampler = threading.Thread(target=sample, daemon=True)
    if url is not None:
        sampler.start()
    try:
        yield lambda: sum(counts) / max(len(counts), 1)
    finally:
        stop.set()
        if url is not None:
            sampler.join()


def _servers(one: Result, two: Result) -> Result:
    """Two servers' creates ÷ one server's: at 1 or more, no server waits for another's."""
    result = Result(
        "1 accepting work", "CreateVideo, PostgreSQL, 2 servers ÷ 1 server", two.value,
        "calls/s", one.value, "CreateVideo, 1 server (calls/s)",
    )  # fmt: skip
    return ratio_at_least(result, 1.0)


def _beside(postgres: Result, sqlite: Result, call: str) -> Result:
    """PostgreSQL's rate ÷ SQLite's for one call, measured minutes apart: what
    the round trip and the driver cost, apart from the API around both
    (which the ratios to Check include, and which moves with the machine's load)."""
    return Result(
        postgres.case, f"{call}, PostgreSQL ÷ SQLite", postgres.value, "calls/s",
        sqlite.value, f"{call}, SQLite (calls/s)",
    )  # fmt: skip


def run(seconds: float, postgres: bool = True) -> list[Result]:
    rows: list[Result] = []
    with tempfile.TemporaryDirectory() as data, running("--data-dir", data, "--no-workers") as s:
        rows += _measure([s.target], "SQLite, 1 server", seconds, reads=True)
    if postgres:
        with postgres_database() as url:
            with running("--database", url, "--no-workers") as s:
                rows += _measure([s.target], "PostgreSQL, 1 server", seconds, True, url)
            with (
                running("--database", url, "--no-workers") as a,
                running("--database", url, "--no-workers") as b,
            ):
                two = [a.target, b.target]
                rows += _measure(two, "PostgreSQL, 2 servers", seconds, False, url)
            rows.append(_servers(rows[2], rows[-1]))
            rows.append(_beside(rows[2], rows[0], "CreateVideo"))
            rows.append(_beside(rows[3], rows[1], "GetOperation"))
        for row in rows[2:]:
            row.case = "9 stores side by side: " + row.case
    return rows
