"""Caps on the calls a caller may hold open: long polls (`?wait=`), event
streams and content downloads.

Each one holds a server-side stream for up to a minute, and the server's
streams are finite (per connection, per caller). Without a cap, one client's
thousand long polls took long polls away from everyone else. A caller is
the digest of its Authorization value, or its address when it gives none
(an IPv6 address by its /64, which one host commonly owns); every call is
also counted against its address, so minting credentials does not escape
the cap. Past a cap: 429 with Retry-After, in the API's error shape.

Held calls are spread over `lanes` (gRPC channels of their own, see
backend.py): each takes the least busy lane, so no lane holds more than
ceil(total / lanes) streams.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from .errors import HttpError

RETRY_AFTER = 5  # seconds a refused caller is told to wait
MAX_HELD = 1_000_000  # any of the caps at most: a flag past it is a typo
MAX_LANES = 64  # each lane is a connection the server keeps too
SERVER_STREAMS = 1_000  # the server's concurrent streams per connection (its MAX_STREAMS)


@dataclass(frozen=True)
class HoldLimits:
    per_caller: int = 100
    per_address: int = 1_000
    total: int = 3_800
    lanes: int = 4  # gRPC channels the held calls share

    def problem(self) -> str | None:
        """Why these limits cannot work, or None."""
        if min(self.per_caller, self.per_address, self.total, self.lanes) < 1:
            return "the wait limits and --wait-channels must be at least 1"
        if self.lanes > MAX_LANES:
            return f"--wait-channels must be at most {MAX_LANES}"
        if self.total > self.lanes * SERVER_STREAMS:
            return (
                f"--max-waits {self.total} exceeds what {self.lanes} wait channels carry"
                f" ({SERVER_STREAMS} streams each): raise --wait-channels"
            )
        return None


class Ticket:
    """One held call: its lane, released once (a context manager too)."""

    def __init__(self, holds: Holds, keys: tuple[str, ...], lane: int) -> None:
        self._holds, self._keys, self.lane = holds, keys, lane
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._holds._give_back(self._keys, self.lane)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class Holds:
    """Counts held calls per caller, per address, per lane and in all."""

    def __init__(self, limits: HoldLimits) -> None:
        self.limits = limits
        self._counts: Counter[str] = Counter()
        self._lanes = [0] * limits.lanes
        self.total = 0

    def take(self, request: Request) -> Ticket:
        """A ticket for one more held call, or HttpError (429) past a cap."""
        address = address_of(request)
        caller = caller_of(request, address)
        keys = (caller,) if caller == address else (caller, address)
        if self.total >= self.limits.total:
            raise too_many("the gateway holds all the waits it can", "GATEWAY_WAITS_FULL")
        if self._counts[caller] >= self.limits.per_caller:
            raise too_many(f"at most {self.limits.per_caller} held calls per caller")
        if self._counts[address] >= self.limits.per_address:
            raise too_many(f"at most {self.limits.per_address} held calls per address")
        lane = min(range(len(self._lanes)), key=self._lanes.__getitem__)
        for key in keys:
            self._counts[key] += 1
        self._lanes[lane] += 1
        self.total += 1
        return Ticket(self, keys, lane)

    def _give_back(self, keys: tuple[str, ...], lane: int) -> None:
        for key in keys:
            self._counts[key] -= 1
            if self._counts[key] <= 0:
                del self._counts[key]  # no memory kept of callers that hold nothing
        self._lanes[lane] -= 1
        self.total -= 1


def too_many(message: str, reason: str = "TOO_MANY_WAITS") -> HttpError:
    delay = duration_pb2.Duration(seconds=RETRY_AFTER)
    return HttpError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"{message}; retry in {RETRY_AFTER} s",
        reason,
        error_details_pb2.RetryInfo(retry_delay=delay),
    )


def network_of(host: str) -> str:
    """The client a host address stands for: an IPv6 address by its /64 (one
    host commonly owns the whole of it), any other address as it is."""
    with contextlib.suppress(ValueError):
        ip = ipaddress.ip_address(host)
        if ip.version == 6:
            return str(ipaddress.ip_network(f"{host}/64", strict=False))
    return host


def address_of(request: Request) -> str:
    return f"address:{network_of(request.client.host if request.client else '')}"


def caller_of(request: Request, address: str) -> str:
    """A digest, never the credential itself: the counts must not hold secrets.
    The value is normalized first (scheme in lower case, white space around
    and within the token collapsed), as `Bearer K` and `bearer  K` are one
    credential to the server."""
    value = request.headers.get("authorization")
    if value is None:
        return address
    scheme, _, token = value.strip().partition(" ")
    normal = f"{scheme.lower()} {' '.join(token.split())}"
    return "credential:" + hashlib.sha256(normal.encode("utf-8", "replace")).hexdigest()


class HeldStream(StreamingResponse):
    """A streamed answer that gives its ticket back when it ends, however it
    ends (a generator that never started would never run its `finally`)."""

    def __init__(self, ticket: Ticket, content: AsyncIterator[bytes], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.ticket = ticket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.ticket:
            await super().__call__(scope, receive, send)
