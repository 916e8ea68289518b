"""Hostile HTTP requests against the real gateway program: bounded heads,
bodies, deadlines, credentials and Host names, each answered in the API's own
JSON and at a cost to the gateway that does not grow with the attack.

The gateway runs as a subprocess (tests/gateway_process.py) in front of no
server at all: every refusal here happens before a call would be made.
"""

from __future__ import annotations

import select
import time

from ..gateway_process import (  # noqa: F401 (gateway_program, start_gateway_program: fixtures)
    CHUNKED,
    HEAD,
    Gateway,
    MiB,
    answer,
    error_of,
    gateway_program,
    send_until_answered,
    start_gateway_program,
)


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
