"""Hostile connections against the real gateway program: a full connection
table, one address hoarding it, refused connections held, downloads nobody
reads, pipelining, TLS handshakes that never come, and the metrics endpoint
(which every program serves alike, tried in process). Each costs the gateway
a bounded amount, and honest callers are still served.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import socket
import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from longreel.common.metrics_http import Endpoint, serve
from longreel.gateway.connections import RESERVED_FDS
from longreel.server.media import Media, MediaFiles
from longreel.server.processor.base import Progress, VideoSpec
from longreel.video.v1 import video_service_pb2 as pb

from ..certs import make_pki
from ..gateway_process import (  # noqa: F401 (gateway_program, start_gateway_program: fixtures)
    HEAD,
    Gateway,
    MiB,
    answer,
    error_of,
    gateway_program,
    one_response,
    open_files,
    start_gateway_program,
)
from ..helpers import video, wait
from ..processors import GatedProcessor


def test_a_full_table_closes_the_oldest_idle_connection_then_refuses_with_503(start_gateway):
    gateway = start_gateway("--max-connections", "3", "--header-timeout", "1")
    idle = [gateway.connect() for _ in range(3)]
    for sock in idle:
        sock.sendall(HEAD + b"\r\n")
        assert one_response(sock).startswith(b"HTTP/1.1 200 ")
    newcomer = gateway.connect()  # evicts idle[0], the oldest idle one
    newcomer.sendall(HEAD + b"Connection: close\r\n\r\n")
    assert answer(newcomer).startswith(b"HTTP/1.1 200 ")
    assert answer(idle[0]) == b""  # closed to make room
    busy = [
        gateway.connect() for _ in range(3)
    ]  # evict idle[1] and idle[2], then the table is full
    for sock in busy:
        sock.sendall(b"GET /ui HTTP/1.1\r\n")  # mid-head: busy, not evictable
    with gateway.connect() as refused:
        error = answer(refused)
    error_of(error, 503, "TOO_MANY_CONNECTIONS")
    assert b"retry-after: 1" in error.lower()
    for sock in [*idle, newcomer, *busy]:
        sock.close()


def test_one_address_cannot_take_the_whole_table(start_gateway):
    gateway = start_gateway("--max-connections-per-address", "3", "--header-timeout", "1")
    hoard = [gateway.connect("127.0.0.2") for _ in range(3)]
    for sock in hoard:
        sock.sendall(b"GET /ui HTTP/1.1\r\n")
    with gateway.connect("127.0.0.2") as refused:
        response = answer(refused)
    error_of(response, 429, "TOO_MANY_CONNECTIONS_FROM_ADDRESS")
    assert b"retry-after: 1" in response.lower()
    with gateway.connect("127.0.0.1") as other:  # another caller is still served
        other.sendall(HEAD + b"Connection: close\r\n\r\n")
        assert answer(other).startswith(b"HTTP/1.1 200 ")
    for sock in hoard:
        sock.close()


def test_refused_connections_are_held_unread_then_answered_and_the_hold_is_bounded(
    start_gateway,
):
    # Refused at once, a flood reconnects in a tight loop; held, it cannot.
    # The table holds 2, and the descriptors left beside it 2 more held: the
    # rest are answered at once (their descriptors freed at once too).
    gateway = start_gateway(
        "--max-connections", "2", "--max-connections-per-address", "1", "--header-timeout", "2",
        open_files=RESERVED_FDS + 2 + 2,
    )  # fmt: skip
    hoard = gateway.connect("127.0.0.2")
    hoard.sendall(b"GET /ui HTTP/1.1\r\n")
    time.sleep(0.2)
    before = open_files(gateway)
    held = [gateway.connect("127.0.0.2") for _ in range(2)]
    refused = [gateway.connect("127.0.0.2") for _ in range(20)]
    for sock in refused:  # read to the end, but left open: the gateway must not wait on it
        error_of(answer(sock), 429, "TOO_MANY_CONNECTIONS_FROM_ADDRESS")
    assert not select.select(held, [], [], 0.5)[0], "a held connection was answered early"
    assert open_files(gateway) <= before + 2 + 1
    for sock in held:
        error_of(answer(sock), 429, "TOO_MANY_CONNECTIONS_FROM_ADDRESS")
    for sock in [hoard, *held, *refused]:
        sock.close()


def test_the_gateway_raises_its_open_files_limit_to_the_hard_limit(gateway):
    with open(f"/proc/{gateway.process.pid}/limits") as limits:
        line = next(x for x in limits if x.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard


@pytest.fixture
def metrics_endpoint() -> Iterator[Endpoint]:
    endpoint = serve(CollectorRegistry(), "127.0.0.1", 0, max_connections=2, deadline=1.0)
    yield endpoint
    endpoint.close()


def test_a_metrics_connection_that_sends_nothing_is_closed_at_its_deadline(metrics_endpoint):
    with socket.create_connection(("127.0.0.1", metrics_endpoint.port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never the rest
        assert answer(sock) == b""


def test_slow_metrics_connections_past_the_cap_are_closed_and_scrapes_resume(metrics_endpoint):
    address = ("127.0.0.1", metrics_endpoint.port)
    held = [socket.create_connection(address, timeout=10) for _ in range(2)]
    for sock in held:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")
    time.sleep(0.2)  # both are being served
    with socket.create_connection(address, timeout=10) as extra:
        assert answer(extra) == b""  # closed unread, not one more thread
    for sock in held:
        assert answer(sock) == b""  # cut at the deadline
        sock.close()
    with socket.create_connection(address, timeout=10) as scrape:
        scrape.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        assert answer(scrape).startswith(b"HTTP/1.0 200 ")


def test_a_tls_handshake_that_never_comes_is_cut_at_the_header_deadline(start_gateway, tmp_path):
    pki = make_pki(tmp_path / "pki")
    gateway = start_gateway(
        "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
        "--header-timeout", "1",
    )  # fmt: skip
    with gateway.connect() as sock:
        assert answer(sock) == b""  # closed well before asyncio's 60 s


def test_honest_pipelined_requests_and_a_body_near_the_limit_are_served(gateway):
    body = json.dumps({"title": "T", "padding": "p" * 60_000}).encode()
    post = (
        b"POST /videos/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    gets = b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n" * 3000
    last = b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    with gateway.connect() as sock:
        sock.sendall(post + gets + last)
        response = answer(sock)
    assert response.startswith(b"HTTP/1.1 400 ")  # read and judged by the app, not refused
    assert response.count(b"HTTP/1.1 404 ") == 3001


class BigFileProcessor:
    """Makes a video of random bytes, too big for socket buffers to swallow."""

    def __init__(self, files: MediaFiles, size: int = 16 * MiB) -> None:
        self.files, self.size = files, size

    async def create(self, spec: VideoSpec, progress: Progress) -> Media:
        data = os.urandom(self.size)
        sha256 = hashlib.sha256(data).hexdigest()
        self.files.folder.mkdir(parents=True, exist_ok=True)
        self.files.video(spec.video_id, sha256).write_bytes(data)
        self.files.thumbnail(spec.video_id, sha256).write_bytes(b"\x89PNG thumbnail")
        uri = f"/videos/{spec.video_id}"
        return Media(f"{uri}/content", 1_000_000, len(data), sha256, f"{uri}/thumbnail")

    async def delete(self, video_id: str, progress: Progress) -> None:
        pass


def test_a_download_nobody_reads_is_closed_at_the_send_deadline_and_its_hold_freed(
    start_server, start_gateway, tmp_path
):
    media = MediaFiles(tmp_path / "media")
    api = start_server(BigFileProcessor(media), media_dir=media.folder)
    gateway = start_gateway(
        "--target", api.target, "--send-timeout", "1", "--max-waits-per-caller", "1", forked=False
    )
    made = api.videos.CreateVideo(pb.CreateVideoRequest(video=pb.Video(title="Big")), timeout=10)
    uri = video(wait(api, made.name, 30)).uri
    auth = b"Authorization: Bearer reader\r\n"
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window
    stalled.settimeout(10)
    stalled.connect(("127.0.0.1", gateway.port))
    stalled.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" % (uri.encode(), auth))
    time.sleep(0.5)  # the download starts, fills every buffer, and is never read

    def thumbnail() -> bytes:
        with gateway.connect() as sock:
            sock.sendall(
                b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n"
                % (uri.replace("/content", "/thumbnail").encode(), auth)
            )
            return answer(sock)

    first = thumbnail()  # the stalled download holds the caller's one held call
    error_of(first, 429, "TOO_MANY_WAITS")
    deadline = time.monotonic() + 10
    while not (again := thumbnail()).startswith(b"HTTP/1.1 200 "):
        assert time.monotonic() < deadline, again[:300]
        time.sleep(0.2)
    received = 0
    with stalled:
        try:
            while chunk := stalled.recv(MiB):
                received += len(chunk)
        except ConnectionResetError:
            pass  # aborted, as it should be: the unread rest is dropped
    assert received < 16 * MiB


def with_server(start_server, start_gateway, *flags: str) -> tuple[Gateway, bytes]:
    """A gateway in front of a server whose renders wait, and the request of
    a long poll on one of its tasks that lasts 2 s."""
    api = start_server(GatedProcessor())
    gateway = start_gateway("--target", api.target, *flags, forked=False)
    body = b'{"title": "Polled"}'
    with gateway.connect() as sock:
        sock.sendall(
            b"POST /videos/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        task = json.loads(one_response(sock).partition(b"\r\n\r\n")[2])["id"]
    poll = b"GET /videos/tasks/%s?wait=2s HTTP/1.1\r\nHost: localhost\r\n\r\n" % task.encode()
    return gateway, poll


def test_a_pipelined_request_being_answered_is_not_evicted_as_idle(start_server, start_gateway):
    gateway, poll = with_server(
        start_server, start_gateway, "--max-connections", "2", "--header-timeout", "1"
    )
    with gateway.connect() as piped, gateway.connect() as busy:
        piped.sendall(HEAD + b"\r\n" + poll)
        assert one_response(piped).startswith(b"HTTP/1.1 200 ")  # the poll runs now
        busy.sendall(b"GET /ui HTTP/1.1\r\n")  # mid-head: the table is full
        time.sleep(0.3)
        with gateway.connect() as newcomer:  # refused, not let in by evicting the poll
            error_of(answer(newcomer), 503, "TOO_MANY_CONNECTIONS")
        assert one_response(piped).startswith(b"HTTP/1.1 200 ")  # the poll's own answer


def test_a_refused_pipelined_request_waits_for_the_answer_before_it(start_server, start_gateway):
    gateway, poll = with_server(start_server, start_gateway)
    with gateway.connect() as sock:
        sock.sendall(poll + HEAD + b"X-Big: " + b"a" * 200_000)
        first, _, refusal = answer(sock).partition(b"}HTTP/1.1 ")
        assert first.startswith(b"HTTP/1.1 200 "), first[-300:]
        assert b'"id"' in first  # the task, not an error
        error_of(b"HTTP/1.1 " + refusal, 431, "HEADER")


def test_a_pipelined_head_deadline_starts_after_the_answer_before_it(start_server, start_gateway):
    gateway, poll = with_server(start_server, start_gateway, "--header-timeout", "1")
    with gateway.connect() as sock:
        started = time.monotonic()
        sock.sendall(poll + HEAD)  # the next head never ends
        first, _, refusal = answer(sock).partition(b"}HTTP/1.1 ")
        assert first.startswith(b"HTTP/1.1 200 "), first[:300]
        error_of(b"HTTP/1.1 " + refusal, 408, "HEADER_TIMEOUT")
        assert time.monotonic() - started >= 2.5  # 2 s of poll, then 1 s for the head
