"""Does rendering stall the API? GetOperation latency while renders run.

Starts `video-server` (the real renderer at 640x360, 24 fps, 60 s of video
so that renders outlast the measurement; 2 workers) as a process, and from this process keeps CALLS
GetOperation calls in flight: first with the server idle, then while it
renders two videos at once. The figure is p99 during renders / p99 idle
(goal: at most 2). Also reports how long one such render takes.

    .venv/bin/python bench/render_load.py [--seconds 5] [--calls 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

sys.path.insert(0, str(Path(__file__).parent))
from accept import servers


async def latencies(target: str, name: str, calls: int, seconds: float) -> list[float]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        request = operations_pb2.GetOperationRequest(name=name)
        found: list[float] = []
        deadline = time.perf_counter() + seconds

        async def loop() -> None:
            while (start := time.perf_counter()) < deadline:
                await stub.GetOperation(request)
                found.append(time.perf_counter() - start)

        await asyncio.gather(*(loop() for _ in range(calls)))
        return found


async def run(target: str, calls: int, seconds: float) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        videos = pb_grpc.VideoServiceStub(channel)
        waits = operations_pb2_grpc.OperationsStub(channel)

        async def create(title: str) -> operations_pb2.Operation:
            return await videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title=title)))

        async def finish(op: operations_pb2.Operation) -> operations_pb2.Operation:
            while not op.done:
                request = operations_pb2.WaitOperationRequest(name=op.name)
                request.timeout.FromSeconds(30)
                op = await waits.WaitOperation(request)
            return op

        began = time.perf_counter()
        first = await finish(await create("Warm-up and timing"))
        one_render = time.perf_counter() - began
        idle = await latencies(target, first.name, calls, seconds)
        busy_ops = [await create(f"Busy {n}") for n in range(2)]
        busy = await latencies(target, first.name, calls, min(seconds, one_render * 0.8))
        still_running = [not (await finish(op)).done for op in busy_ops]
    p99 = [statistics.quantiles(x, n=100)[98] * 1000 for x in (idle, busy)]
    print(f"one render (640x360, 24 fps, 60 s of video) end to end: {one_render:.2f} s")
    print(f"GetOperation p99 idle {p99[0]:.2f} ms, while 2 renders run {p99[1]:.2f} ms;"
          f" ratio {p99[1] / p99[0]:.2f} (goal <= 2); {len(busy)} calls measured busy"
          + (" (a render ended early)" if any(still_running) else ""))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--calls", type=int, default=8)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as data,
        servers(
            1, "--data-dir", data, "--workers", "2", "--render-seconds", "60", workers=True
        ) as (target,),
    ):
        asyncio.run(run(target, args.calls, args.seconds))


if __name__ == "__main__":
    main()
