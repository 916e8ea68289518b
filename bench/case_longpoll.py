"""Case 7: thousands of WaitOperation calls held on one server for operations
that then finish within moments of each other: every waiter answered, and
soon after the last finish."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from .harness import Result, rss_mb, running, value_at_most

CHANNELS = 10  # connections the waiters spread over (a server allows 1,000 streams on each)
WORK_SECONDS = 15.0  # long enough for 1,000 waiters to be waiting before the first finish


async def _wait_all(target: str, names: list[str]) -> tuple[list[float], Counter[str]]:
    """Hold one WaitOperation per name; when each came back done (epoch s)."""
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(CHANNELS)
    ]
    errors: Counter[str] = Counter()

    async def wait(n: int, name: str) -> float:
        stub = operations_pb2_grpc.OperationsStub(channels[n % CHANNELS])
        while True:
            request = operations_pb2.WaitOperationRequest(name=name)
            request.timeout.FromSeconds(60)
            try:
                op = await stub.WaitOperation(request, timeout=70)
            except grpc.aio.AioRpcError as exc:
                errors[f"{exc.code().name}: {exc.details()}"[:80]] += 1
                await asyncio.sleep(0.1)
                continue
            if op.done:
                return time.time()

    try:
        answered = await asyncio.gather(*(wait(n, name) for n, name in enumerate(names)))
    finally:
        for channel in channels:
            await channel.close()
    return list(answered), errors


async def _create(target: str, count: int) -> list[str]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.VideoServiceStub(channel)
        names: list[str] = []
        for start in range(0, count, 200):
            batch = await asyncio.gather(
                *(
                    stub.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title=f"Wait {n}")))
                    for n in range(start, min(count, start + 200))
                )
            )
            names += [op.name for op in batch]
        return names


def _end_times(target: str, names: list[str]) -> list[float]:
    with grpc.insecure_channel(target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        ends = []
        for name in names:
            op = stub.GetOperation(operations_pb2.GetOperationRequest(name=name))
            meta = pb.OperationMetadata()
            op.metadata.Unpack(meta)
            ends.append(meta.end_time.ToNanoseconds() / 1e9)
        return ends


def run(waiters: int, work_seconds: float = WORK_SECONDS) -> list[Result]:
    flags = ("--processor", "simulated", "--work-seconds", str(work_seconds))
    # All the waiters are one caller (loopback, no auth): lift its cap on held waits.
    flags += ("--max-waits-per-caller", str(max(waiters, 1)))
    with (
        tempfile.TemporaryDirectory() as data,
        running("--data-dir", data, "--workers", str(waiters), *flags) as server,
    ):
        names = asyncio.run(_create(server.target, waiters))
        answered, errors = asyncio.run(_wait_all(server.target, names))
        rss = rss_mb(server.pid)
        ends = _end_times(server.target, names)
    lag = max(answered) - max(ends)
    row = Result(
        "7 long-poll capacity",
        f"{waiters:,} concurrent WaitOperation: last answer after the last finish",
        lag * 1000,
        "ms",
    )
    row.notes.append(
        f"finishes spread over {max(ends) - min(ends):.1f} s; server RSS {rss:.0f} MB;"
        f" call errors: {dict(errors.most_common(3)) or 0}"
    )
    value_at_most(row, 1000)
    row.passed = row.passed and not errors
    return [row]
