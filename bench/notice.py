"""How soon does a client learn that an operation is done?

Starts a real server (in this process, SQLite under a temp dir) whose work
takes a random 0.1-3 s per video, then drives the same kind of operations to
`result()` with (a) our client, which long-polls WaitOperation, and (b)
google-api-core's `operation.from_gapic(...)` with its default polling
(GetOperation after 1 s, backing off x1.5 to 20 s). The figure is the time
from the worker's recorded end of the operation (metadata.end_time) to
`result()` returning, over N operations run concurrently.

    make bench (case 3)   # or: .venv/bin/python -m bench.notice --operations 40
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from google.api_core import operation as api_operation
from google.api_core import operations_v1

from longreel.client import VideoClient
from longreel.server.app import VideoServer
from longreel.server.config import Config
from longreel.server.processor import Progress, VideoSpec
from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from .harness import Result, percentile, postgres_database, running, value_at_most


class RandomWork:
    """Work of a random length, so completions fall at every phase of a poll."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    async def create(self, video: VideoSpec, progress: Progress) -> None:
        await asyncio.sleep(random.uniform(self.low, self.high))

    async def delete(self, video_id: str, progress: Progress) -> None:
        await asyncio.sleep(self.low)


def serve(data_dir: Path, workers: int) -> tuple[str, Callable[[], None]]:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = VideoServer(
        Config(listen="127.0.0.1:0", data_dir=data_dir, workers=workers),
        processor=RandomWork(0.1, 3.0),
    )
    port = asyncio.run_coroutine_threadsafe(server.start(), loop).result()

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)

    return f"127.0.0.1:{port}", stop


def lag_ours(client: VideoClient, title: str) -> float:
    op = client.create_video(video={"title": title})
    op.result(timeout=120)
    returned = time.time()
    return returned - op.metadata.end_time.ToNanoseconds() / 1e9


def lag_api_core(channel: grpc.Channel, title: str) -> float:
    stub = pb_grpc.VideoServiceStub(channel)
    proto = stub.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title=title)))
    future = api_operation.from_gapic(
        proto, operations_v1.OperationsClient(channel), pb.Video, metadata_type=pb.OperationMetadata
    )
    future.result(timeout=120)
    returned = time.time()
    return returned - future.metadata.end_time.ToNanoseconds() / 1e9


def summary(name: str, lags: list[float]) -> str:
    ms = sorted(lag * 1000 for lag in lags)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (
        f"{name:<44} n={len(ms):<4} p50 {statistics.median(ms):8.1f} ms"
        f"   p99 {p99:8.1f} ms   max {ms[-1]:8.1f} ms"
    )


def measure(operations: int) -> tuple[list[float], list[float]]:
    """Lags in seconds: (ours, api-core's), over the same kind of operations."""
    with tempfile.TemporaryDirectory() as tmp:
        target, stop = serve(Path(tmp), workers=operations)
        try:
            with VideoClient(target) as client, ThreadPoolExecutor(operations) as pool:
                ours = list(pool.map(lambda i: lag_ours(client, f"ours {i}"), range(operations)))
            with grpc.insecure_channel(target) as channel, ThreadPoolExecutor(operations) as pool:
                theirs = list(
                    pool.map(lambda i: lag_api_core(channel, f"api-core {i}"), range(operations))
                )
        finally:
            stop()
    return ours, theirs


def across_processes(operations: int) -> list[float]:
    """Lags on PostgreSQL: a server without workers, a worker process, a
    client waiting on the server: the notice travels by LISTEN/NOTIFY. The
    creates are 50 ms apart, so that the operations (all 0.5 s of simulated
    work) end apart too, as the in-process ones (0.1-3 s) do: a herd of
    simultaneous finishes is case 7's subject."""

    def staggered(i: int) -> float:
        time.sleep(i * 0.05)
        return lag_ours(client, f"pg {i}")

    with (
        postgres_database() as url,
        running("--database", url, "--no-workers") as server,
        running(
            "--database", url, "--processor", "simulated", "--work-seconds", "0.5",
            "--concurrency", str(operations), program="video-worker",
        ),
        VideoClient(server.target) as client,
        ThreadPoolExecutor(operations) as pool,
    ):  # fmt: skip
        return list(pool.map(staggered, range(operations)))


def run(operations: int, postgres: bool = True) -> list[Result]:
    ours, theirs = measure(operations)
    ms = [x * 1000 for x in ours]
    api_core = [x * 1000 for x in theirs]
    row = Result(
        "3 noticing completion",
        f"our client, p99 (SQLite, in process, {operations} operations of 0.1-3 s)",
        percentile(ms, 99), "ms",
    )  # fmt: skip
    row.notes.append(
        f"ours p50 {statistics.median(ms):.1f} ms; api-core p50 "
        f"{statistics.median(api_core):.0f} ms, p99 {percentile(api_core, 99):.0f} ms"
    )
    rows = [value_at_most(row, 20)]
    if postgres:
        pg = [x * 1000 for x in across_processes(operations)]
        across = Result(
            "3 noticing completion",
            f"our client, p99 (PostgreSQL, across processes, {operations} operations)",
            percentile(pg, 99), "ms",
        )  # fmt: skip
        across.notes.append(f"p50 {statistics.median(pg):.1f} ms")
        rows.append(value_at_most(across, 50))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=30, help="per client")
    args = parser.parse_args()
    ours, theirs = measure(args.operations)
    print("Time from an operation's end (worker commit) to result() returning:")
    print(summary("longreel client (WaitOperation long poll)", ours))
    print(summary("google-api-core from_gapic (default polling)", theirs))
    ratio = statistics.median(theirs) / max(statistics.median(ours), 1e-6)
    print(f"median ratio api-core / ours: {ratio:.0f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
