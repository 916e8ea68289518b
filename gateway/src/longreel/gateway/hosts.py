"""Which Host names the gateway answers to: a defence against DNS rebinding.

A page on another site can make a browser resolve its own name to 127.0.0.1
and then read a loopback gateway as if it were that site; such requests carry
the attacker's name in Host. With an allow-list, others are 421 (RFC 9110:
this server does not serve that name), the web page and the API both. A
gateway listening on loopback has one by default (loopback names only).
"""

from __future__ import annotations

import ipaddress

import grpc
from starlette.types import ASGIApp, Receive, Scope, Send

from longreel.common.net import is_loopback

from .errors import HttpError, error_response

ANY = "*"
LOOPBACK = "loopback"  # in --allowed-hosts: the names of this machine's loopback interface
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def default(listen: str) -> str:
    """--allowed-hosts when not given: loopback names for a gateway on loopback
    (the one a rebinding page can reach through a browser), else any."""
    return LOOPBACK if is_loopback(listen) else ANY


def is_loopback_name(name: str) -> bool:
    """localhost, a name under .localhost (RFC 6761), or a loopback address (127.0.0.0/8, ::1)."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse(value: str) -> frozenset[str] | None:
    """--allowed-hosts (comma-separated names, `loopback`, or `*`) as names; None: any."""
    names = {n.strip().lower().strip("[]") for n in value.split(",") if n.strip()}
    if not names or ANY in names:
        return None
    if LOOPBACK in names:  # kept as a marker too: any loopback address is allowed
        names |= LOOPBACK_NAMES
    return frozenset(names)


def allowed(name: str, names: frozenset[str]) -> bool:
    return name in names or (LOOPBACK in names and is_loopback_name(name))


def host_name(value: str) -> str:
    """The name in a Host value, without port or IPv6 brackets, lowercased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


class AllowedHosts:
    """ASGI middleware: one Host per HTTP/1.1 request (else 400), and an allowed one (else 421)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (error := self.check(scope)) is not None:
            response = error_response(error.status, error.http_status)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> HttpError | None:
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
        if len(hosts) > 1 or (not hosts and scope.get("http_version") == "1.1"):
            return HttpError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "an HTTP/1.1 request needs exactly one Host header",
                "HOST_MISSING" if not hosts else "HOST_REPEATED",
                http_status=400,
            )
        if self.allowed is None or (hosts and allowed(host_name(hosts[0]), self.allowed)):
            return None
        return HttpError(
            grpc.StatusCode.PERMISSION_DENIED,
            "this gateway does not serve that host name (see --allowed-hosts)",
            "HOST_NOT_ALLOWED",
            http_status=421,
        )
