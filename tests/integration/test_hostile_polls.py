"""Hoarded long polls: one caller's held calls cannot take waits, event
streams or short calls away from another, at the gateway or at the server;
shed calls say when to retry, are counted, and the client retries them."""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from longreel.client import AsyncVideoClient, VideoClient
from longreel.gateway.holds import HoldLimits
from longreel.server import app as server_app
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import until
from ..processors import GatedProcessor

HOLD = "30s"  # how long a hoarded long poll asks to wait: longer than any test step


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {name}"}


def start_task(http: Any) -> str:
    return str(http.client.post("/videos/tasks", json={"title": "Hoarded"}).json()["id"])


class Hoard:
    """Long polls held open, one per entry of callers: requests sent on raw
    sockets that nobody reads, closed at the end. A probe of the test's may
    take a place first and have one refused: refill() sends that one again."""

    def __init__(self, url: str, task: str, callers: list[dict[str, str]]) -> None:
        self.host, port = url.removeprefix("http://").rsplit(":", 1)
        self.port, self.task = int(port), task
        self.held = {self._send(headers): headers for headers in callers}

    def _send(self, headers: dict[str, str]) -> socket.socket:
        lines = [f"GET /videos/tasks/{self.task}?wait={HOLD} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        sock = socket.create_connection((self.host, self.port), timeout=10)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return sock

    def refill(self) -> None:
        answered, _, _ = select.select(list(self.held), [], [], 0)
        for sock in answered:
            headers = self.held.pop(sock)
            sock.close()
            self.held[self._send(headers)] = headers

    def __enter__(self) -> Hoard:
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self.held:
            sock.close()


def hoard(url: str, task: str, callers: list[dict[str, str]]) -> Hoard:
    return Hoard(url, task, callers)


def refused(http: Any, task: str, headers: dict[str, str], hoarded: Hoard) -> httpx.Response:
    """A short long poll, repeated until the gateway refuses it: the hoard is in."""
    answer: list[httpx.Response] = []

    def refusal() -> bool:
        hoarded.refill()
        answer[:] = [http.client.get(f"/videos/tasks/{task}?wait=0s", headers=headers)]
        return answer[0].status_code == 429

    until(refusal, timeout=30, what="a refusal")
    return answer[0]


def reason(response: httpx.Response) -> str:
    details = response.json()["error"]["details"]
    return str(next(d["reason"] for d in details if "reason" in d))


@pytest.fixture
def api(start_server: Any) -> Any:
    """A server on SQLite whose renders wait for the test (the caps know no store)."""
    return start_server(GatedProcessor())


def test_a_caller_past_its_cap_gets_429_while_another_caller_is_served(api, start_gateway):
    http = start_gateway(api, holds=HoldLimits(per_caller=5, per_address=1000, total=100))
    task = start_task(http)
    with hoard(http.url, task, [bearer("hoarder")] * 5) as hoarded:
        answer = refused(http, task, bearer("hoarder"), hoarded)
        assert answer.headers["Retry-After"] == "5"
        assert answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert reason(answer) == "TOO_MANY_WAITS"
        honest = http.client.get(f"/videos/tasks/{task}?wait=200ms", headers=bearer("honest"))
        assert honest.status_code == 200
        with http.client.stream(
            "GET", f"/videos/tasks/{task}/events", headers=bearer("honest")
        ) as stream:
            assert stream.status_code == 200
            first = next(line for line in stream.iter_lines() if line.startswith("event:"))
            assert first == "event: progress"
    # Held calls are given back: the hoarder may poll again.
    again = http.client.get(f"/videos/tasks/{task}?wait=200ms", headers=bearer("hoarder"))
    assert again.status_code == 200


def test_event_streams_count_against_the_same_cap(api, start_gateway):
    http = start_gateway(api, holds=HoldLimits(per_caller=2, per_address=1000, total=100))
    task = start_task(http)
    with (
        http.client.stream("GET", f"/videos/tasks/{task}/events") as one,
        http.client.stream("GET", f"/videos/tasks/{task}/events") as two,
    ):
        assert (one.status_code, two.status_code) == (200, 200)
        third = http.client.get(f"/videos/tasks/{task}/events")
        assert third.status_code == 429
        assert reason(third) == "TOO_MANY_WAITS"


@pytest.mark.parametrize("spelling", ["bearer hoarder", "Bearer  hoarder", "BEARER hoarder"])
def test_one_credential_spelt_another_way_is_the_same_caller(api, start_gateway, spelling):
    http = start_gateway(api, holds=HoldLimits(per_caller=2, per_address=1000, total=100))
    task = start_task(http)
    with hoard(http.url, task, [bearer("hoarder")] * 2) as hoarded:
        answer = refused(http, task, {"Authorization": spelling}, hoarded)
        assert reason(answer) == "TOO_MANY_WAITS"


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (HoldLimits(per_caller=100, per_address=1000, total=4), "GATEWAY_WAITS_FULL"),
        # New credentials for each call do not escape the cap on their address.
        (HoldLimits(per_caller=100, per_address=4, total=100), "TOO_MANY_WAITS"),
    ],
    ids=["total", "per-address"],
)
def test_the_total_and_per_address_caps_hold_whatever_the_credentials(
    api, start_gateway, limits, expected
):
    http = start_gateway(api, holds=limits)
    task = start_task(http)
    with hoard(http.url, task, [bearer(f"minted-{n}") for n in range(4)]) as hoarded:
        answer = refused(http, task, bearer("one-more"), hoarded)
        assert reason(answer) == expected
        assert answer.headers["Retry-After"] == "5"
        assert http.client.get(f"/videos/tasks/{task}").status_code == 200


def test_a_hoard_on_one_wait_channel_leaves_the_others_and_short_calls_free(
    start_server, start_gateway, monkeypatch
):
    # A server with few streams per connection, so that a small hoard fills one.
    monkeypatch.setattr(server_app, "MAX_STREAMS", 6)
    api = start_server(GatedProcessor())
    http = start_gateway(api, holds=HoldLimits(per_caller=6, per_address=1000, total=10, lanes=2))
    task = start_task(http)
    with hoard(http.url, task, [bearer("hoarder")] * 6) as hoarded:
        refused(http, task, bearer("hoarder"), hoarded)  # all six are held
        honest = http.client.get(f"/videos/tasks/{task}?wait=1s", headers=bearer("honest"))
        assert honest.status_code == 200, honest.text
        assert http.client.get(f"/videos/tasks/{task}").status_code == 200


def rich_status(error: grpc.RpcError) -> tuple[str, float | None]:
    """(ErrorInfo reason, RetryInfo seconds) of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None
    found, delay = "", None
    for detail in status.details:
        info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            found = info.reason
        elif detail.Unpack(retry):
            delay = retry.retry_delay.ToTimedelta().total_seconds()
    return found, delay


def wait_request(name: str, seconds: float) -> operations_pb2.WaitOperationRequest:
    request = operations_pb2.WaitOperationRequest(name=name)
    request.timeout.FromMilliseconds(int(seconds * 1000))
    return request


def held_waits(api: Any, name: str, count: int) -> list[Any]:
    return [
        api.operations.WaitOperation.future(wait_request(name, 30), timeout=40)
        for _ in range(count)
    ]


def refusal(call: Callable[[], Any]) -> grpc.RpcError:
    """Repeat call until it fails (the held calls are in), and return the failure."""
    failures: list[grpc.RpcError] = []

    def fails() -> bool:
        try:
            call()
        except grpc.RpcError as exc:
            failures.append(exc)
            return True
        return False

    until(fails, timeout=30, what="a failure")
    return failures[0]


def create(api: Any) -> str:
    op = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Held")))
    return str(op.name)


def test_the_server_caps_held_waits_per_caller_with_retry_info(start_server, start_gateway):
    api = start_server(GatedProcessor(), max_waits_per_caller=3)
    name = create(api)
    holders = held_waits(api, name, 3)
    try:
        error = refusal(lambda: api.operations.WaitOperation(wait_request(name, 0.2), timeout=5))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert rich_status(error) == ("TOO_MANY_WAITS", 5.0)
        api.operations.GetOperation(operations_pb2.GetOperationRequest(name=name), timeout=5)
        # Through the gateway: 429 with Retry-After, in the API's words.
        http = start_gateway(api)
        answer = http.client.get(f"/videos/tasks/{name.split('/')[1]}?wait=200ms")
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "5"
        assert reason(answer) == "TOO_MANY_WAITS"
    finally:
        for holder in holders:
            holder.cancel()
    until(lambda: _waits_again(api, name), timeout=30, what="a wait let in again")


def _waits_again(api: Any, name: str) -> bool:
    try:
        api.operations.WaitOperation(wait_request(name, 0.01), timeout=5)
    except grpc.RpcError:
        return False
    return True


def test_calls_past_the_in_flight_limit_are_shed_with_retry_info_and_counted(start_server):
    api = start_server(GatedProcessor(), max_calls_in_flight=2)
    name = create(api)
    holders = held_waits(api, name, 2)
    try:
        get = operations_pb2.GetOperationRequest(name=name)
        error = refusal(lambda: api.operations.GetOperation(get, timeout=5))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert rich_status(error) == ("SERVER_OVERLOADED", 1.0)
    finally:
        for holder in holders:
            holder.cancel()
    registry = api.server.server.registry
    shed = registry.get_sample_value("longreel_calls_shed_total", {"reason": "SERVER_OVERLOADED"})
    assert shed is not None and shed >= 1


async def _get_async(target: str, name: str) -> Any:
    async with AsyncVideoClient(target) as client:
        return await client.get_operation(name=name, timeout=30)


def _get_sync(target: str, name: str) -> Any:
    with VideoClient(target) as client:
        return client.get_operation(name=name, timeout=30)


@pytest.mark.parametrize("face", ["sync", "async"])
def test_the_client_retries_a_shed_call_after_the_delay_it_was_given(start_server, face):
    api = start_server(GatedProcessor(), max_calls_in_flight=1)
    name = create(api)
    holder = held_waits(api, name, 1)[0]
    get = operations_pb2.GetOperationRequest(name=name)
    refusal(lambda: api.operations.GetOperation(get, timeout=5))  # the holder is in
    release = threading.Timer(0.5, holder.cancel)
    release.start()
    started = time.monotonic()
    if face == "sync":
        op = _get_sync(api.target, name)
    else:
        op = asyncio.run(_get_async(api.target, name))
    assert op.name == name
    assert time.monotonic() - started >= 0.9  # slept the 1 s RetryInfo asked for, not 0.1 s
    release.join()
