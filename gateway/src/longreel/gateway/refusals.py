"""What the HTTP edge (edge.py) holds callers to, and the answers it gives
itself past a bound: each a JSON error in the API's shape, with the reason a
client can act on (431, 413, 408, 429, 503)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2

from .bodies import BODY_TIMEOUT, MAX_BODY
from .connections import RETRY_AFTER, TooMany
from .errors import DOMAIN, build_status, error_bytes

SEND_TIMEOUT = 30.0  # seconds writing may stay paused (a client not reading) before closing


@dataclass(frozen=True)
class Limits:
    """What one caller may send, and how slowly; bytes and seconds."""

    max_head: int = 64 * 1024
    max_line: int = 8 * 1024
    max_fields: int = 100
    max_url: int = 8 * 1024
    max_body: int = MAX_BODY  # the one number: bodies.py refuses the same past it
    header_timeout: float = 10.0
    body_timeout: float = BODY_TIMEOUT
    max_connections: int = 4096
    max_connections_per_address: int = 256
    max_held: int = 0  # refused connections held before their answer (connections.py)
    send_timeout: float = SEND_TIMEOUT


class Refusal(Exception):
    """An answer the edge gives itself, and then closes the connection."""

    def __init__(
        self,
        http_status: int,
        reason: str,
        message: str,
        code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN)
        self.status = build_status(code, message, [info])
        self.http_status = http_status
        self.headers = headers

    def answer(self) -> bytes:
        return error_bytes(self.status, self.http_status, self.headers)


def head_too_large(limits: Limits) -> Refusal:
    return Refusal(
        431, "HEADERS_TOO_LARGE", f"the request head is larger than {limits.max_head} bytes"
    )


def body_too_large(limits: Limits) -> Refusal:
    return Refusal(413, "BODY_TOO_LARGE", f"the body is larger than {limits.max_body} bytes")


def head_late(limits: Limits) -> Refusal:
    return Refusal(
        408,
        "HEADER_TIMEOUT",
        f"the request head did not arrive within {limits.header_timeout:g} s",
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )


def body_late(limits: Limits) -> Refusal:
    return Refusal(
        408,
        "BODY_TIMEOUT",
        f"the body did not arrive within {limits.body_timeout:g} s",
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )


def too_many(exc: TooMany, limits: Limits) -> Refusal:
    retry = {"Retry-After": str(RETRY_AFTER)}
    if exc.per_address:
        return Refusal(
            429,
            "TOO_MANY_CONNECTIONS_FROM_ADDRESS",
            f"this address has {limits.max_connections_per_address} connections open already",
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            retry,
        )
    return Refusal(
        503,
        "TOO_MANY_CONNECTIONS",
        f"the gateway holds {limits.max_connections} connections already; retry shortly",
        grpc.StatusCode.UNAVAILABLE,
        retry,
    )
