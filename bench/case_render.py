"""Case 8: rendering does not stall the API. GetOperation's p99 from a few
concurrent callers while the server renders two videos (the real renderer,
640x360, 24 fps, 60 s of video so that renders outlast the measurement),
against the same server idle."""

from __future__ import annotations

import asyncio
import tempfile
import time

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

from .harness import Result, percentile, ratio_at_most, running

CALLS = 8


async def _latencies(target: str, name: str, seconds: float) -> list[float]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        request = operations_pb2.GetOperationRequest(name=name)
        found: list[float] = []
        deadline = time.perf_counter() + seconds

        async def loop() -> None:
            while (start := time.perf_counter()) < deadline:
                await stub.GetOperation(request)
                found.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(loop() for _ in range(CALLS)))
        return found


async def _measure(target: str, seconds: float) -> tuple[float, list[float], list[float], int]:
    async with grpc.aio.insecure_channel(target) as channel:
        videos = pb_grpc.VideoServiceStub(channel)
        operations = operations_pb2_grpc.OperationsStub(channel)

        async def create(title: str) -> operations_pb2.Operation:
            return await videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title=title)))

        async def finish(op: operations_pb2.Operation) -> operations_pb2.Operation:
            while not op.done:
                request = operations_pb2.WaitOperationRequest(name=op.name)
                request.timeout.FromSeconds(30)
                op = await operations.WaitOperation(request)
            return op

        began = time.perf_counter()
        first = await finish(await create("Warm-up and timing"))
        one_render = time.perf_counter() - began
        idle = await _latencies(target, first.name, seconds)
        busy_ops = [await create(f"Busy {n}") for n in range(2)]
        window = min(seconds, one_render * 0.7)  # inside the renders' run
        busy = await _latencies(target, first.name, window)
        ended_early = 0
        for op in busy_ops:
            got = await operations.GetOperation(operations_pb2.GetOperationRequest(name=op.name))
            ended_early += got.done
            await finish(op)
        return one_render, idle, busy, ended_early


def run(seconds: float, video_seconds: float = 60) -> list[Result]:
    length = f"{video_seconds:g}"
    with (
        tempfile.TemporaryDirectory() as data,
        running("--data-dir", data, "--workers", "2", "--render-seconds", length) as server,
    ):
        one_render, idle, busy, ended_early = asyncio.run(_measure(server.target, seconds))
    row = Result(
        "8 work does not stall the API",
        "GetOperation p99 while 2 renders run",
        percentile(busy, 99), "ms", percentile(idle, 99), "p99 idle (ms)",
    )  # fmt: skip
    row.notes.append(f"one render of {length} s of 640x360 video: {one_render:.2f} s")
    if ended_early:
        row.notes.append(f"{ended_early} render(s) ended inside the window")
    return [ratio_at_most(row, 2)]
