"""The caller's own credentials go to the server with each call it causes.

The gateway holds none of its own: it forwards the HTTP `Authorization`
header as the gRPC `authorization` metadata, so the server decides who the
caller is and what it may see, exactly as for a direct gRPC caller. A value
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
        token = AUTHORIZATION.set(value)
        try:
            await self.app(scope, receive, send)
        finally:
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
    value = AUTHORIZATION.get()
    if value is None:
        return details
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata.add("authorization", value)
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )
