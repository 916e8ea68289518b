"""Metrics: real traffic against real programs, read back from /metrics over HTTP."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2
from google.rpc import code_pb2
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from longreel.gateway.__main__ import serve_metrics
from longreel.gateway.metrics import GatewayMetrics
from longreel.server import notify
from longreel.server.metrics import JobMetrics
from longreel.server.store import NewOperation
from longreel.server.store.sqlite import SQLiteStore
from longreel.server.workers import WorkerPool
from longreel.video.v1 import video_service_pb2 as pb

from ..certs import make_pki
from ..helpers import create, wait
from ..processors import GatedProcessor

BIN = Path(sys.executable).parent

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of name's samples that carry labels (0 if there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def failure(call: Callable[[], Any]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    code: grpc.StatusCode = failed.value.code()
    return code


def test_rpcs_jobs_and_operations_by_state_are_counted(
    make_backend: Any, start_server: Any
) -> None:
    processor = GatedProcessor()
    api = start_server(processor, backend=make_backend(), metrics_port=0)
    server = api.server.server
    assert server.metrics.url.startswith("http://127.0.0.1:")
    before = scrape(server.metrics.url)

    doomed = create(api, title="Cancelled while it runs")
    assert processor.started.wait(10)
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=doomed.name))
    assert wait(api, doomed.name).error.code == code_pb2.CANCELLED
    processor.gate.set()
    for title in ("One", "Two"):
        assert wait(api, create(api, title=title).name).HasField("response")
    missing = operations_pb2.GetOperationRequest(name="operations/nosuchoperation")
    assert failure(lambda: api.operations.GetOperation(missing)) == grpc.StatusCode.NOT_FOUND
    untitled = pb.CreateVideoRequest(video=pb.Video(title=""))
    assert failure(lambda: api.videos.CreateVideo(untitled)) == grpc.StatusCode.INVALID_ARGUMENT
    unread = pb.ReadVideoContentRequest(name="videos/nosuchvideo")  # a stream fails as it is read
    assert failure(lambda: list(api.videos.ReadVideoContent(unread))) == grpc.StatusCode.NOT_FOUND
    api.server.call(server.store_counts.refresh())
    after = scrape(server.metrics.url)

    def handled(method: str, code: str) -> float:
        return delta(before, after, "grpc_server_handled_total", grpc_method=method, grpc_code=code)

    assert handled("CreateVideo", "OK") == 3
    assert handled("CreateVideo", "INVALID_ARGUMENT") == 1
    assert handled("GetOperation", "NOT_FOUND") == 1
    assert handled("CancelOperation", "OK") == 1
    assert handled("WaitOperation", "OK") == 3
    assert handled("ReadVideoContent", "NOT_FOUND") == 1
    create_video = {"grpc_service": "longreel.video.v1.VideoService", "grpc_method": "CreateVideo"}
    assert delta(before, after, "grpc_server_started_total", **create_video) == 4
    assert delta(before, after, "grpc_server_handling_seconds_count", **create_video) == 4
    # Long calls are timed apart, not with the answers of the service.
    timed = delta(before, after, "grpc_server_handling_seconds_count", grpc_method="WaitOperation")
    assert timed == 0
    long_waits = {"grpc_method": "WaitOperation", "grpc_type": "unary"}
    assert delta(before, after, "longreel_grpc_long_call_seconds_count", **long_waits) == 3
    streams = {"grpc_method": "ReadVideoContent", "grpc_type": "server_stream"}
    assert delta(before, after, "longreel_grpc_long_call_seconds_count", **streams) == 1

    jobs = "longreel_job_duration_seconds_count"
    assert delta(before, after, jobs, verb="create", outcome="done") == 2
    assert delta(before, after, jobs, verb="create", outcome="cancelled") == 1
    assert delta(before, after, jobs, outcome="failed") == 0
    assert delta(before, after, "longreel_job_cancellations_total") == 1
    assert delta(before, after, "longreel_job_retries_total") == 0

    states = {s: value(after, "longreel_operations", state=s) for s in ("queued", "running")}
    states |= {s: value(after, "longreel_operations", state=s) for s in ("done", "cancelled")}
    assert states == {"queued": 0, "running": 0, "done": 2, "cancelled": 1}
    assert ("longreel_operations", frozenset({("state", "failed")})) in after
    assert value(after, "longreel_oldest_queued_job_age_seconds") == 0


def test_waiting_operations_show_as_queued_with_the_age_of_the_oldest(start_server: Any) -> None:
    api = start_server(GatedProcessor(), workers=0, metrics_port=0)
    server = api.server.server
    first = create(api, title="First in line")
    create(api, title="Second")
    api.server.call(server.store_counts.refresh())
    samples = scrape(server.metrics.url)
    assert value(samples, "longreel_operations", state="queued") == 2
    assert value(samples, "longreel_operations", state="running") == 0
    row = api.server.call(server.store.get_operation(first.name.split("/")[1]))
    oldest = (server.store.now() - row.create_time) / 1e6
    assert 0 < value(samples, "longreel_oldest_queued_job_age_seconds") <= oldest


async def test_a_takeover_and_a_retry_are_counted_by_the_worker_that_makes_them(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "videos.db")
    await store.open()
    registry = CollectorRegistry()
    processor = GatedProcessor(open_gate=True)
    processor.fail_with, processor.failures_left = OSError("a disk hiccup"), 1
    pool = WorkerPool(
        store, processor, concurrency=1, lease_seconds=1.0, metrics=JobMetrics(registry)
    )
    try:
        op = NewOperation("op1", "v1", "videos/v1", store.now(), "queued")
        await store.start_create(op, "Orphaned", "")
        # A worker that claimed it for a moment and died, lease and all.
        assert await store.claim_job("ghost", store.now(), 1) is not None
        with store.signals.subscribe(notify.operation_done("op1")) as done:
            pool.start()
            assert await done.wait(30)
    finally:
        await pool.stop()
        await store.close()
    assert registry.get_sample_value("longreel_lease_takeovers_total") == 1
    assert registry.get_sample_value("longreel_job_retries_total") == 1
    labels = {"verb": "create", "outcome": "done"}
    assert registry.get_sample_value("longreel_job_duration_seconds_count", labels) == 1


def test_gateway_requests_are_counted_by_route_template_and_status(
    start_server: Any, start_gateway: Any
) -> None:
    registry = CollectorRegistry()
    endpoint = serve_metrics(registry, "127.0.0.1:0", 0)
    url = endpoint.url
    try:
        http = start_gateway(start_server(GatedProcessor()), GatewayMetrics(registry))
        task = http.client.post("/videos/tasks", json={"title": "Counted"}).json()["id"]
        assert http.client.get(f"/videos/tasks/{task}").status_code == 200
        assert http.client.get("/videos/tasks/nosuchtask").status_code == 404
        assert http.client.get("/no/such/path").status_code == 404
        assert http.client.put("/videos").status_code == 405
        samples = scrape(url)
    finally:
        endpoint.close()

    def requests(method: str, route: str, code: str) -> float:
        name = "longreel_gateway_requests_total"
        return value(samples, name, method=method, route=route, code=code)

    assert requests("POST", "/videos/tasks", "202") == 1
    assert requests("GET", "/videos/tasks/{task}", "200") == 1
    assert requests("GET", "/videos/tasks/{task}", "404") == 1
    assert requests("GET", "unmatched", "404") == 1
    assert requests("PUT", "/videos", "405") == 1
    timed = {"method": "GET", "route": "/videos/tasks/{task}"}
    assert value(samples, "longreel_gateway_request_duration_seconds_count", **timed) == 2
    labels = {v for (_, have) in samples for _, v in have}
    assert not any(task in label or "nosuch" in label for label in labels)


def test_metrics_are_served_over_https_where_the_api_speaks_tls(
    start_server: Any, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    tls = {"tls_cert": pki.server_cert, "tls_key": pki.server_key}
    server = start_server(GatedProcessor(), metrics_port=0, **tls).server.server
    assert server.metrics.url.startswith("https://127.0.0.1:")
    trusting = ssl.create_default_context(cafile=pki.ca)
    with httpx.Client(verify=trusting) as client:
        assert "grpc_server_started_total" in client.get(server.metrics.url).text
    registry = CollectorRegistry()
    GatewayMetrics(registry)
    endpoint = serve_metrics(registry, "127.0.0.1:0", 0, (pki.server_cert, pki.server_key))
    url = endpoint.url
    try:
        assert url.startswith("https://")
        with httpx.Client(verify=trusting) as client:
            assert "longreel_gateway_requests_total" in client.get(url).text
    finally:
        endpoint.close()


def test_a_worker_serves_plaintext_metrics_off_loopback_only_when_told(tmp_path: Path) -> None:
    refused = subprocess.run(
        [str(BIN / "video-worker"), "--data-dir", str(tmp_path), "--metrics-host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "refusing to serve plaintext metrics on 0.0.0.0" in refused.stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [
        ["video-server", "--listen", "127.0.0.1:0"],
        ["video-worker"],
        ["video-gateway", "--listen", "127.0.0.1:0"],
    ],
)
def test_a_taken_metrics_port_is_one_line_and_a_failed_start(
    command: list[str], taken_port: int, tmp_path: Path
) -> None:
    store = [] if command[0] == "video-gateway" else ["--data-dir", str(tmp_path)]
    finished = subprocess.run(
        [str(BIN / command[0]), *command[1:], *store, "--metrics-port", str(taken_port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    assert finished.stderr.count("\n") == 1
    assert f"cannot serve metrics on 127.0.0.1:{taken_port}" in finished.stderr
