"""The caller's own credentials go to the server with each call it causes.

The gateway holds none of its own: it forwards the HTTP `Authorization`
header as the gRPC `authorization` metadata, so the server decides who the
caller is and what it may see, exactly as for a direct gRPC caller. The
caller's address goes as `x-forwarded-for`, which the server believes from
its --trusted-proxies only: one client's failed logins then spend that
client's budget, not the gateway's, which every caller shares. A value
gRPC metadata cannot carry is forwarded as one the server refuses (401). Two
values are refused here, as gRPC refuses them (401), and so is a value too
long for any key or token (431), in the API's words rather than gRPC's
transport text.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import grpc
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import HttpError, error_response

AUTHORIZATION: ContextVar[str | None] = ContextVar("authorization", default=None)
CLIENT: ContextVar[str | None] = ContextVar("client", default=None)  # the caller's address
FORWARDED_FOR = "x-forwarded-for"  # the server trusts it from --trusted-proxies only
UNUSABLE = "unusable"  # no scheme the server knows: it answers UNAUTHENTICATED
MAX_AUTHORIZATION = 4096  # bytes; API keys and tokens are far shorter


class ForwardAuthorization:
    """ASGI middleware: remember the request's Authorization for its calls."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = Headers(scope=scope).getlist("authorization")
        if (error := _refusal(values)) is not None:
            await error_response(error.status, error.http_status)(scope, receive, send)
            return
        value = values[0] if values else None
        if value is not None and not (value.isascii() and value.isprintable()):
            value = UNUSABLE
        client = scope.get("client")
        token = AUTHORIZATION.set(value)
        address = CLIENT.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT.reset(address)
            AUTHORIZATION.reset(token)


def _refusal(values: list[str]) -> HttpError | None:
    if len(values) > 1:
        return HttpError(
            grpc.StatusCode.UNAUTHENTICATED,
            "send one Authorization header, not several",
            "CREDENTIALS_REPEATED",
            http_status=401,
        )
    if values and len(values[0]) > MAX_AUTHORIZATION:
        return HttpError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the Authorization header is longer than {MAX_AUTHORIZATION} bytes",
            "CREDENTIALS_TOO_LARGE",
            http_status=431,
        )
    return None


def interceptors() -> list[grpc.aio.ClientInterceptor]:
    """For a channel: gRPC takes one interceptor object per kind of call."""
    return [AuthorizationInterceptor(), StreamAuthorizationInterceptor()]


class AuthorizationInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds the current request's Authorization to each unary call."""

    async def intercept_unary_unary(
        self, continuation: Any, details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_authorization(details), request)


class StreamAuthorizationInterceptor(grpc.aio.UnaryStreamClientInterceptor):
    """The same for the streamed reads of a video's files."""

    async def intercept_unary_stream(
        self, continuation: Any, details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_authorization(details), request)


def _with_authorization(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    """The caller's Authorization, and its address as x-forwarded-for (the
    server's failed-login budget and per-address limits are per client, not
    per gateway); an x-forwarded-for from anywhere else is dropped."""
    value, client = AUTHORIZATION.get(), CLIENT.get()
    metadata = grpc.aio.Metadata(*((k, v) for k, v in details.metadata or () if k != FORWARDED_FOR))
    if value is not None:
        metadata.add("authorization", value)
    if client is not None:
        metadata.add(FORWARDED_FOR, client)
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )
