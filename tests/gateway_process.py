"""The gateway program as a subprocess for the hostile-HTTP tests: its memory
and descriptors are its own to measure, and raw sockets speak to it."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import resource
import select
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

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


@contextlib.contextmanager
def gateway_processes() -> Iterator[Callable[..., Gateway]]:
    """start(*flags): the gateway program in front of nothing (--target 127.0.0.1:9);
    every one started is stopped on the way out."""
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


# Fixtures of the modules that try the program (test_hostile_*.py import
# them): named there as `start_gateway` and `gateway`, in place of the
# in-process gateway of tests/conftest.py.
@pytest.fixture(name="start_gateway")
def start_gateway_program() -> Iterator[Callable[..., Gateway]]:
    with gateway_processes() as start:
        yield start


@pytest.fixture(name="gateway")
def gateway_program(start_gateway: Callable[..., Gateway]) -> Gateway:
    """The program with 1 s header and body deadlines, so refusals come quickly."""
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


def open_files(gateway: Gateway) -> int:
    return len(os.listdir(f"/proc/{gateway.process.pid}/fd"))
