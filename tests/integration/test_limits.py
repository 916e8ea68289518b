"""Overload, retention and duplicates under pressure: the service stays bounded."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.longrunning import operations_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, details, until, wait
from ..processors import GatedProcessor


def test_a_full_backlog_refuses_creates_with_a_retry_delay_and_recovers(start_server):
    api = start_server(GatedProcessor(), max_backlog=3)
    names = [create(api, title=f"Queued {i}").name for i in range(3)]
    with pytest.raises(grpc.RpcError) as err:
        create(api, title="One too many")
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details(err.value)
    assert found["ErrorInfo"].reason == "BACKLOG_FULL"
    assert found["RetryInfo"].retry_delay.seconds > 0
    api.processor.gate.set()
    for name in names:
        wait(api, name)
    assert create(api, title="Room again").name


def test_the_gateway_turns_a_full_backlog_into_429_with_retry_after(start_server, start_gateway):
    http = start_gateway(start_server(GatedProcessor(), max_backlog=1))
    assert http.client.post("/videos/tasks", json={"title": "First"}).status_code == 202
    refused = http.client.post("/videos/tasks", json={"title": "Second"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_finished_operations_expire_after_the_retention(start_server):
    api = start_server(GatedProcessor(open_gate=True), retention_seconds=0.5, sweep_interval=0.2)
    done = wait(api, create(api).name)
    api.processor.gate.clear()
    running = create(api, title="Still going")  # not finished: never expires
    until(
        lambda: (
            not api.operations.ListOperations(
                operations_pb2.ListOperationsRequest(filter="done = true")
            ).operations
        ),
        what="the finished operation expiring",
    )
    with pytest.raises(grpc.RpcError) as err:
        api.operations.GetOperation(operations_pb2.GetOperationRequest(name=done.name))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert api.operations.GetOperation(operations_pb2.GetOperationRequest(name=running.name))


def test_a_hundred_concurrent_duplicates_make_one_operation(start_server):
    api = start_server(GatedProcessor())
    request = pb.CreateVideoRequest(
        video=pb.Video(title="Once"), request_id="1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
    )
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda _: api.videos.CreateVideo(request).name, range(100)))
    assert len(set(answers)) == 1
    listed = api.operations.ListOperations(operations_pb2.ListOperationsRequest(page_size=1000))
    assert [op.name for op in listed.operations] == [answers[0]]


def test_a_burst_of_calls_is_served_not_shed(start_server):
    """2,000 calls arriving at once (clients reconnecting after a restart, a
    fleet of waiters): gRPC's own pending-call limits would cancel some."""
    api = start_server(workers=0)

    async def burst() -> Counter[str]:
        options = [("grpc.use_local_subchannel_pool", 1)]
        channels = [grpc.aio.insecure_channel(api.target, options=options) for _ in range(10)]
        failed: Counter[str] = Counter()

        async def call(n: int) -> None:
            stub = health_pb2_grpc.HealthStub(channels[n % 10])
            try:
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=60)
            except grpc.aio.AioRpcError as exc:
                failed[exc.code().name] += 1

        try:
            await asyncio.gather(*(call(n) for n in range(2_000)))
        finally:
            for channel in channels:
                await channel.close()
        return failed

    assert asyncio.run(burst()) == Counter()
