"""How fast does the service accept work, on each store?

Starts `video-server --no-workers` as a real process (SQLite in a temp dir,
then PostgreSQL in a fresh database, then two servers on that one database)
and drives it from this process with grpc.aio, CALLS calls in flight:
CreateVideo (a durable commit each, nothing processes it) against the
baseline of a no-op unary call on the same server in the same run (the
health service's Check). The figure to read is the ratio; absolute rates on
a small shared machine vary from run to run.

    .venv/bin/python bench/accept.py [--seconds 5] [--calls 64]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "VIDEO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def servers(count: int, *store: str, workers: bool = False) -> Iterator[list[str]]:
    command = [str(BIN / "video-server"), "--listen", "127.0.0.1:0",
               *([] if workers else ["--no-workers"]),
               "--max-backlog", "100000000", "--log-level", "error", *store]  # fmt: skip
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    try:
        targets = []
        for proc in procs:
            line = proc.stdout.readline() if proc.stdout else ""
            if "listening on " not in line:
                raise SystemExit(f"video-server did not start: {line!r}")
            targets.append(line.split("listening on ")[1].split()[0])
        yield targets
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    name = f"longreel_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def drive(
    targets: list[str], make_call: Callable[[grpc.aio.Channel, int], Awaitable[object]],
    calls: int, seconds: float,
) -> tuple[float, float, float]:  # fmt: skip
    """(calls per second, p50 ms, p99 ms) with `calls` in flight, spread over targets."""
    channels = [grpc.aio.insecure_channel(t) for t in targets]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(1 << 62))

    async def loop(k: int) -> None:
        channel = channels[k % len(channels)]
        while (start := time.perf_counter()) < deadline:
            await make_call(channel, next(counter))
            latencies.append(time.perf_counter() - start)

    try:
        await asyncio.gather(*(loop(k) for k in range(calls)))  # warm-up
        latencies.clear()
        deadline = time.perf_counter() + seconds
        began = time.perf_counter()
        await asyncio.gather(*(loop(k) for k in range(calls)))
        elapsed = time.perf_counter() - began
    finally:
        for channel in channels:
            await channel.close()
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


async def check(channel: grpc.aio.Channel, _: int) -> object:
    return await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())


async def create(channel: grpc.aio.Channel, n: int) -> object:
    request = pb.CreateVideoRequest(video=pb.Video(title=f"Film {n}", plot="Benchmarked."))
    return await pb_grpc.VideoServiceStub(channel).CreateVideo(request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--calls", type=int, default=64, help="calls in flight")
    args = parser.parse_args()

    def measure(label: str, targets: list[str]) -> None:
        base, _, _ = asyncio.run(drive(targets, check, args.calls, args.seconds))
        rps, p50, p99 = asyncio.run(drive(targets, create, args.calls, args.seconds))
        print(f"{label}: {rps:,.0f} creates/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms);"
              f" no-op {base:,.0f}/s; ratio {rps / base:.2f}", flush=True)  # fmt: skip

    with tempfile.TemporaryDirectory() as data, servers(1, "--data-dir", data) as targets:
        measure("SQLite, 1 server", targets)
    with postgres_database() as url:
        with servers(1, "--database", url) as targets:
            measure("PostgreSQL, 1 server", targets)
        with servers(2, "--database", url) as targets:
            measure("PostgreSQL, 2 servers", targets)


if __name__ == "__main__":
    main()
