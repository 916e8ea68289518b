"""Hostile inputs (issue 17, findings 5-7): numbers of any length in every
header and parameter, list pages past a client's receive limit, and log
injection. The server and gateway run as real processes where the log is
what is checked, as an operator runs them."""

from __future__ import annotations

import io
import logging
import re
import socket
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2

from longreel.common import logs
from longreel.gateway import errors
from longreel.gateway.content import byte_range
from longreel.gateway.errors import HttpError
from longreel.server import filtering
from longreel.server.api import pages
from longreel.server.api.operations import FILTER_FIELDS
from longreel.video.v1 import video_service_pb2 as pb

from ..processors import GatedProcessor
from ..programs import Program, server_args
from .test_videoctl import videoctl

LONG = "9" * 5000  # past Python's 4,300-digit int() limit
LINE_START = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ |  ")


def raw_status(address: str, request: bytes) -> int:
    """The status of one hand-written HTTP/1.1 request (httpx would not send it)."""
    host, port = address.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        head = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(head.split()[1])


def test_a_range_of_any_length_is_the_whole_file_or_416():
    assert byte_range(f"bytes={LONG}-", 1000) is None
    assert byte_range(f"bytes=0-{LONG}", 1000) is None
    assert byte_range(f"bytes=-{LONG}", 1000) is None
    assert (
        byte_range("bytes=\u0661-\u0662", 1000) is None
    )  # other scripts' digits are not numbers here
    assert byte_range("bytes=0-99999999999999999999", 1000) == (0, 999)
    with pytest.raises(HttpError):
        byte_range("bytes=5000-", 1000)


@pytest.mark.parametrize("text", [LONG, "\u0661\u0662", "1_0", "+1", "-" + LONG, "2147483648"])
def test_a_filter_integer_is_ascii_digits_of_int32(text):
    with pytest.raises(filtering.FilterError):
        filtering.parse(f"error.code = {text}", FILTER_FIELDS)
    assert filtering.parse("error.code = -2147483648", FILTER_FIELDS) is not None


def test_a_page_is_cut_to_its_byte_budget():
    videos = [pb.Video(name=f"videos/{n}", plot="x" * 1000) for n in range(10)]
    shown = pages.fit(videos, budget=3500)
    assert len(shown) == 3 and shown == videos[:3]
    assert pages.fit(videos[:1], budget=10) == videos[:1]  # one at least


@pytest.fixture
def hosts(tmp_path: Path, start: Any) -> tuple[Program, Program]:
    """A rendering server and a gateway logging text, as processes."""
    server = start(
        "video-server",
        *server_args(tmp_path, "--log-level", "warning"),
        "--processor", "render", "--render-size", "64x64",
        "--render-fps", "2", "--render-seconds", "1",
    )  # fmt: skip
    gateway = start("video-gateway", "--listen", "127.0.0.1:0", "--target", server.address)
    return server, gateway


def _rendered(http: httpx.Client) -> str:
    made = http.post("/videos/tasks", json={"title": "t"})
    task = made.headers["Content-Location"]
    for _ in range(60):
        done = http.get(task, params={"wait": "5s"})
        if done.status_code == 303:
            return str(done.headers["Location"])
    raise AssertionError(f"no video: {done.text}")


def test_long_numbers_in_headers_and_parameters_are_answered_without_a_traceback(hosts):
    _, gateway = hosts
    with httpx.Client(base_url=gateway.address, timeout=30) as http:
        video = _rendered(http)
        content = f"{video}/content"
        for header in (f"bytes={LONG}-", f"bytes=0-{LONG}", f"bytes=-{LONG}"):
            assert http.get(content, headers={"Range": header}).status_code in (200, 416)
        task = http.post("/videos/tasks", json={"title": "u"}).headers["Content-Location"]
        for wait in (LONG, LONG + "ms", "\u0661\u0660", "nan", "inf", "1e400"):
            assert http.get(task, params={"wait": wait}).status_code == 400, wait
        for size in (LONG, "\u0661", "-1", "1_0"):
            assert http.get("/videos", params={"pageSize": size}).status_code == 400, size
        assert http.get("/videos", params={"pageToken": "A" * 600}).status_code == 400
        assert http.get("/videos", params={"pageToken": "A" * 10_000}).status_code in (400, 414)
    body = "POST /videos/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status = raw_status(gateway.address, f"{body}Content-Length: {LONG}\r\n\r\n{{}}".encode())
    assert status in (400, 413)
    log = gateway.stop()
    assert "Traceback" not in log and " 500 " not in log, log


def test_wait_operation_refuses_a_duration_that_is_not_one(start_server):
    api = start_server(GatedProcessor())
    op = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="t")))
    bad = duration_pb2.Duration(seconds=1, nanos=2_000_000_000)
    with pytest.raises(grpc.RpcError) as caught:
        api.operations.WaitOperation(
            operations_pb2.WaitOperationRequest(name=op.name, timeout=bad), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_long_operations_come_in_pages_under_the_budget_and_videoctl_lists_them(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    plot = "🎬" * 10_000  # 40 KB a video; 120 of them pass a client's 4 MiB
    names = [
        api.videos.CreateVideo(
            pb.CreateVideoRequest(video=pb.Video(title="t" * 200, plot=plot))
        ).name
        for _ in range(120)
    ]
    deadline = time.monotonic() + 60
    for name in names:
        op = api.operations.WaitOperation(
            operations_pb2.WaitOperationRequest(name=name),
            timeout=max(1, deadline - time.monotonic()),
        )
        assert op.done
    page = api.operations.ListOperations(operations_pb2.ListOperationsRequest(page_size=1000))
    assert page.next_page_token and 0 < len(page.operations) < 120
    assert page.ByteSize() <= pages.MAX_PAGE_BYTES + 1024
    listed = videoctl(api.target, "-o", "json", "operations", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("operations/") >= 120


@pytest.mark.parametrize(
    "injected",
    [
        "%0A2026-01-01T00:00:00.000Z INFO forged: FORGED",
        "%0DFORGED",
        "%1B[2JFORGED",
        "%E2%80%AEFORGED",
    ],
)
def test_a_url_cannot_forge_or_hide_a_line_of_the_text_log(tmp_path, start, injected):
    server = start("video-server", *server_args(tmp_path, "--log-level", "warning"))
    gateway = start("video-gateway", "--listen", "127.0.0.1:0", "--target", server.address)
    with httpx.Client(base_url=gateway.address, timeout=10) as http:
        assert http.get(f"/videos/x{injected}").status_code in (400, 404)
        assert http.get(f"/nowhere{injected}").status_code == 404
    log = gateway.stop()
    assert "FORGED" in log  # the path was logged, escaped
    for line in log.splitlines():
        assert LINE_START.match(line), f"a line the gateway did not write: {line!r}"
        assert not line.startswith("2026-01-01T00:00:00.000Z"), f"a forged line: {line!r}"
    assert not any(c in log for c in "\r\x1b\u202e")


def test_the_text_log_escapes_what_json_escapes():
    assert (
        logs.escape("a\nb\r\x1b\u202e\u2066\u2028\x85") == "a\\nb\\r\\x1b\\u202e\\u2066\\u2028\\x85"
    )


def test_uvicorns_lines_lose_their_query_strings(tmp_path, start):
    server = start("video-server", *server_args(tmp_path, "--log-level", "warning"))
    gateway = start("video-gateway", "--listen", "127.0.0.1:0", "--target", server.address)
    upgrade = (
        "GET /videos?access_token=query-never-in-the-log HTTP/1.1\r\nHost: x\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    raw_status(gateway.address, upgrade.encode())
    log = gateway.stop()
    assert "query-never-in-the-log" not in log, log


def test_failed_logins_are_limited_per_address_by_default(start_server, tmp_path):
    keys = tmp_path / "api-keys"
    keys.write_text("alice-key-0123456789abcdef alice\n")
    api = start_server(auth="api-keys", api_keys_file=keys)  # no --rate-limit
    stub = api.videos

    def list_with(token: str) -> grpc.StatusCode:
        md = [("authorization", f"Bearer {token}")]
        try:
            stub.ListVideos(pb.ListVideosRequest(), metadata=md, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
        return grpc.StatusCode.OK

    assert list_with("alice-key-0123456789abcdef") == grpc.StatusCode.OK
    codes = [list_with(f"guess-{n:020d}") for n in range(70)]
    assert codes[:60] == [grpc.StatusCode.UNAUTHENTICATED] * 60
    assert set(codes[61:]) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    # Past the budget no key is even tried, the right one included: guessing is slow.
    assert list_with("alice-key-0123456789abcdef") == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("part", [99, -5])
def test_read_video_content_refuses_a_part_that_is_not_defined(start_server, part):
    api = start_server(GatedProcessor())
    request = pb.ReadVideoContentRequest(name="videos/any", part=part)
    with pytest.raises(grpc.RpcError) as caught:
        list(api.videos.ReadVideoContent(request, timeout=10))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_answer_too_large_for_the_gateway_is_500_not_429():
    error = grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(),
        details="Received message larger than max (5000000 vs. 4194304)",
    )
    status = errors.status_of(error)
    assert errors.http_status(status.code) == 500 and "RESPONSE_TOO_LARGE" in str(status)
    busy = grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), grpc.aio.Metadata(), "busy"
    )
    assert errors.http_status(errors.status_of(busy).code) == 429


@pytest.mark.parametrize("form", ["text", "json"])
def test_no_caller_text_reaches_a_log_line_raw(form):
    stream = io.StringIO()
    log = logging.getLogger(f"longreel.test.hostile.{form}")
    log.propagate, log.level = False, logging.INFO
    log.addHandler(logs.handler(form, stream))
    evil = "a\nFORGED\r\x1b[2J\u202eb\u2028c"
    with logs.context(path=evil, request_id=evil):
        try:
            raise ValueError(evil)
        except ValueError:
            log.exception("GET %s", evil)
    written = stream.getvalue()
    assert not any(c in written for c in "\r\x1b\u202e\u2028")
    assert not any(line.startswith("FORGED") for line in written.splitlines())


def test_uvicorns_own_lines_lose_their_query_strings_whatever_the_protocol():
    stream = io.StringIO()
    handler = logs.handler("text", stream)
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" 403',
        ("127.0.0.1:5555", "/videos?access_token=query-never-in-the-log"), None,
    )  # fmt: skip
    handler.handle(record)
    assert "query-never-in-the-log" not in stream.getvalue()
    assert '"WebSocket /videos?…" 403' in stream.getvalue()


def test_videoctl_does_not_call_an_answer_too_large_retry_later():
    from google.api_core import exceptions

    from longreel.client._cli_errors import failure

    large = exceptions.ResourceExhausted("Received message larger than max (5000000 vs. 4194304)")
    assert failure(large).startswith("RESPONSE_TOO_LARGE: ")
    assert failure(exceptions.ResourceExhausted("busy")) == "RESOURCE_EXHAUSTED: busy"
