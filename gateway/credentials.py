"""The caller's own credentials go to the server with each call it causes.

The gateway holds none of its own: it forwards the HTTP `Authorization`
header as the gRPC `authorization` metadata, so the server decides who the
caller is and what it may see, exactly as for a direct gRPC caller. A value
gRPC metadata cannot carry is forwarded as one the server refuses (401).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import grpc
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

AUTHORIZATION: ContextVar[str | None] = ContextVar("authorization", default=None)
UNUSABLE = "unusable"  # no scheme the server knows: it answers UNAUTHENTICATED


class ForwardAuthorization:
    """ASGI middleware: remember the request's Authorization for its calls."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = Headers(scope=scope).get("authorization")
        if value is not None and not (value.isascii() and value.isprintable()):
            value = UNUSABLE
        token = AUTHORIZATION.set(value)
        try:
            await self.app(scope, receive, send)
        finally:
            AUTHORIZATION.reset(token)


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
