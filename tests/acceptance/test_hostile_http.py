"""Hostile HTTP callers against the real gateway program: bounded heads, bodies,
deadlines, connections, credentials and Host names, each answered in the API's
own JSON and at a cost to the gateway that does not grow with the attack.

The gateway runs as a subprocess (its memory is its own to measure) in front
of no server at all: every refusal here happens before a call would be made;
only the downloads nobody reads have a server behind them.
The metrics endpoint, which every program serves alike, is tried in process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from longreel.common.metrics_http import Endpoint, serve
from longreel.gateway.connections import RESERVED_FDS
from longreel.server.media import Media, MediaFiles
from longreel.server.processor.base import Progress, VideoSpec
from longreel.video.v1 import video_service_pb2 as pb

from ..certs import make_pki
from ..helpers import video, wait
from ..processors import GatedProcessor

HEAD = b"GET /ui HTTP/1.1\r\nHost: localhost\r\n"
MiB = 1024 * 1024
CHUNKED = (  # to a route that reads its body
    b"POST /videos/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


@dataclass
class Gateway:
    process: subprocess.Popen[str]
    port: int

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.port))
        return sock

    def rss(self) -> int:
        """The gateway's resident memory, in bytes."""
        with open(f"/proc/{self.process.pid}/status") as status:
            line = next(x for x in status if x.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024


def _low_open_files_limit(hard: int | None = None) -> None:
    """In the child: a soft limit below the hard one, as shells often set."""
    hard = hard or resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(512, hard), hard))


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., Gateway]]:
    started: list[subprocess.Popen[str]] = []

    def start(*flags: str, forked: bool = True, open_files: int | None = None) -> Gateway:
        """forked=False: no preexec_fn, so no fork() of a test process whose
        in-process gRPC server has threads (the child may then fail to start).
        open_files: the child's hard limit on descriptors."""
        process = subprocess.Popen(
            [sys.executable, "-m", "longreel.gateway", "--listen", "127.0.0.1:0",
             "--target", "127.0.0.1:9", "--log-level", "error", *flags],
            stdout=subprocess.PIPE, text=True,
            preexec_fn=functools.partial(_low_open_files_limit, open_files) if forked else None,
        )  # fmt: skip
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(line.split("://127.0.0.1:")[1].split(";")[0])
        return Gateway(process, port)

    yield start
    for process in started:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway]) -> Gateway:
    return start_gateway("--header-timeout", "1", "--body-timeout", "1")


def answer(sock: socket.socket) -> bytes:
    """Everything the gateway sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def one_response(sock: socket.socket) -> bytes:
    """One whole response whose body has a Content-Length, the connection left open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def error_of(response: bytes, status: int, reason: str) -> dict[str, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), response[:300]
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == status
    assert reason in json.dumps(error["details"])
    return error  # type: ignore[no-any-return]


def send_until_answered(sock: socket.socket, start: bytes, filler: bytes, most: int) -> int:
    """Send start, then filler until the gateway answers (or most bytes); the bytes sent."""
    sock.sendall(start)
    sent = len(start)
    while sent < most:
        if select.select([sock], [], [], 0)[0]:
            return sent
        try:
            sent += sock.send(filler)
        except (BrokenPipeError, ConnectionResetError):
            return sent
    return sent


def test_a_200_mb_header_is_431_early_and_the_gateway_memory_barely_moves(gateway):
    before = gateway.rss()
    with gateway.connect() as sock:
        sent = send_until_answered(sock, HEAD + b"X-Big: ", b"a" * MiB, 200 * MiB)
        response = answer(sock)
    error_of(response, 431, "HEADER")
    assert sent < 100 * MiB  # refused long before the end
    assert gateway.rss() - before < 30 * MiB


def test_what_is_sent_after_a_refusal_is_read_only_up_to_a_bound(gateway):
    # Lingering, the gateway reads on so that closing does not reset its
    # answer; an attacker that keeps sending must not keep it busy reading.
    with gateway.connect() as sock:
        sock.sendall(HEAD + b"X-Big: " + b"a" * 128 * 1024)  # refused past 64 KiB
        sock.setblocking(False)
        accepted, until = 0, time.monotonic() + 1.5  # within the 2 s linger
        while time.monotonic() < until:
            try:
                accepted += sock.send(b"a" * MiB)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                break
    # Read on at full speed, 1.5 s is gigabytes; kernel buffers hold a few MiB.
    assert accepted < 32 * MiB


def test_a_head_of_many_lines_is_431_past_64_kib(gateway):
    with gateway.connect() as sock:
        line = b"X-Some: " + b"a" * 4000 + b"\r\n"
        send_until_answered(sock, HEAD, line, 10 * MiB)
        error_of(answer(sock), 431, "HEADERS_TOO_LARGE")


def test_a_header_line_over_8_kib_is_431(gateway):
    with gateway.connect() as sock:
        sock.sendall(HEAD + b"X-Long: " + b"a" * 9000 + b"\r\n\r\n")
        error_of(answer(sock), 431, "HEADER_LINE_TOO_LONG")


def test_over_100_header_fields_is_431(gateway):
    with gateway.connect() as sock:
        sock.sendall(HEAD + b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n")
        error_of(answer(sock), 431, "TOO_MANY_HEADERS")


def test_a_url_over_8_kib_is_414(gateway):
    with gateway.connect() as sock:
        sock.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        error_of(answer(sock), 414, "URL_TOO_LONG")


def test_a_content_length_over_the_limit_is_413_before_the_body_is_sent(gateway):
    with gateway.connect() as sock:
        sock.sendall(
            b"POST /nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n"
        )
        error_of(answer(sock), 413, "BODY_TOO_LARGE")


def test_a_chunked_body_past_the_limit_is_413_as_it_arrives(gateway):
    start = CHUNKED
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024)
    with gateway.connect() as sock:
        sent = send_until_answered(sock, start, chunk, 200 * MiB)
        response = answer(sock)
    error_of(response, 413, "BODY_TOO_LARGE")
    assert b"connection: close" in response.lower()  # the edge's answer, not the app's
    assert sent < 100 * MiB


def test_endless_chunked_trailers_are_refused_as_they_arrive(gateway):
    start = CHUNKED
    with gateway.connect() as sock:
        sent = send_until_answered(sock, start + b"0\r\nX-Trailer: ", b"a" * MiB, 200 * MiB)
        response = answer(sock)
    error_of(response, 413, "BODY_TOO_LARGE")
    assert b"connection: close" in response.lower()  # the edge's answer, not the app's
    assert sent < 100 * MiB


def test_a_slowloris_head_is_408_at_the_header_deadline(gateway):
    with gateway.connect() as sock:
        sock.sendall(b"GET /ui HTTP/1.1\r\n")
        started = time.monotonic()
        while not select.select([sock], [], [], 0.2)[0]:
            sock.sendall(b"X")  # one byte of an endless header at a time
            assert time.monotonic() - started < 8, "no answer within 8 s of a 1 s deadline"
        error_of(answer(sock), 408, "HEADER_TIMEOUT")


def test_a_connection_that_sends_nothing_is_closed_at_the_header_deadline(gateway):
    with gateway.connect() as sock:
        error_of(answer(sock), 408, "HEADER_TIMEOUT")


def test_a_slow_body_is_408_at_the_body_deadline(gateway):
    with gateway.connect() as sock:
        sock.sendall(
            b"POST /videos/tasks HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        started = time.monotonic()
        while not select.select([sock], [], [], 0.2)[0]:
            sock.sendall(b" ")
            assert time.monotonic() - started < 8, "no answer within 8 s of a 1 s deadline"
        error_of(answer(sock), 408, "BODY_TIMEOUT")


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


def open_files(gateway: Gateway) -> int:
    return len(os.listdir(f"/proc/{gateway.process.pid}/fd"))


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


def test_two_authorization_headers_are_401_as_grpc_would_refuse_them(gateway):
    with gateway.connect() as sock:
        sock.sendall(
            b"GET /videos HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            b"Authorization: Bearer one\r\nAuthorization: Bearer two\r\n\r\n"
        )
        response = answer(sock)
    error_of(response, 401, "CREDENTIALS_REPEATED")
    assert b"www-authenticate: bearer" in response.lower()


def test_an_authorization_over_4_kib_is_431_in_the_apis_own_words(gateway):
    with gateway.connect() as sock:
        sock.sendall(
            b"GET /videos HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            b"Authorization: Bearer " + b"t" * 5000 + b"\r\n\r\n"
        )
        error = error_of(answer(sock), 431, "CREDENTIALS_TOO_LARGE")
    assert "Authorization" in str(error["message"])


def test_only_allowed_host_names_are_served(start_gateway):
    gateway = start_gateway("--allowed-hosts", "loopback,videos.example")
    for host, status in [
        (b"evil.example", b"421"),
        (b"evil.example:4000", b"421"),
        (b"localhost:4000", b"200"),
        (b"127.0.0.1", b"200"),
        (b"[::1]:4000", b"200"),
        (b"Videos.Example", b"200"),
    ]:
        with gateway.connect() as sock:
            sock.sendall(b"GET /ui HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host)
            response = answer(sock)
        assert response.startswith(b"HTTP/1.1 " + status), (host, response[:200])
        if status == b"421":
            error_of(response, 421, "HOST_NOT_ALLOWED")


def test_a_loopback_gateway_serves_only_loopback_host_names_by_default(start_gateway):
    """DNS rebinding: a page's own name resolved to 127.0.0.1 is refused
    without any flag, while the names `make run` prints still work."""
    gateway = start_gateway()  # on 127.0.0.1, no --allowed-hosts
    port = str(gateway.port).encode()
    for host, status in [
        (b"evil.example", b"421"),
        (b"evil.example:" + port, b"421"),
        (b"localhost:4000", b"200"),
        (b"localhost:" + port, b"200"),
        (b"127.0.0.1:" + port, b"200"),
        (b"127.0.0.1", b"200"),
        (b"[::1]:" + port, b"200"),
    ]:
        for path in (b"/ui", b"/videos"):  # the web page and the API both
            with gateway.connect() as sock:
                request = b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                sock.sendall(request % (path, host))
                response = answer(sock)
            if status == b"421":
                error_of(response, 421, "HOST_NOT_ALLOWED")
            else:
                assert not response.startswith(b"HTTP/1.1 421"), (host, path, response[:200])


def test_a_gateway_on_another_address_serves_any_host_name_by_default():
    from longreel.gateway import hosts

    assert hosts.default("0.0.0.0:4000") == hosts.ANY
    assert hosts.default("192.0.2.7:4000") == hosts.ANY
    assert hosts.default("127.0.0.1:4000") == hosts.LOOPBACK
    assert hosts.default("[::1]:4000") == hosts.LOOPBACK
    assert hosts.default("localhost:4000") == hosts.LOOPBACK


def test_an_http_1_1_request_without_host_is_400(gateway):
    with gateway.connect() as sock:
        sock.sendall(b"GET /ui HTTP/1.1\r\nConnection: close\r\n\r\n")
        error_of(answer(sock), 400, "HOST_MISSING")


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
