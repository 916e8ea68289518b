"""The ASGI app: routes, the OpenAPI document and docs, one way out for errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from opentelemetry.trace import TracerProvider
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import docs, tracing, transcode, web
from .access import AccessLog
from .backend import Backend
from .credentials import ForwardAuthorization
from .errors import HttpError, build_status, error_response, status_of
from .holds import HoldLimits
from .hosts import AllowedHosts
from .metrics import GatewayMetrics, RequestMetrics
from .redirect import Redirects
from .routes import ROUTES, ClientGone

log = logging.getLogger(__name__)

# Routing errors in the same shape as every other error.
_ROUTING = {
    404: (grpc.StatusCode.NOT_FOUND, "ROUTE_NOT_FOUND", "no such resource"),
    405: (grpc.StatusCode.UNIMPLEMENTED, "METHOD_NOT_ALLOWED", "method not allowed here"),
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    response = error_response(exc.status, exc.http_status)
    response.headers.update(exc.headers)
    return response


async def _rpc_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, grpc.aio.AioRpcError)
    return error_response(status_of(exc))


async def _client_gone(request: Request, exc: Exception) -> Response:
    return Response(status_code=499)  # nobody reads it; nginx's "client closed request"


async def _routing(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, reason, text = _ROUTING.get(
        exc.status_code, (grpc.StatusCode.INVALID_ARGUMENT, "BAD_REQUEST", str(exc.detail))
    )
    error = HttpError(code, f"{text}: {request.method} {request.url.path}", reason)
    response = error_response(error.status, exc.status_code)
    response.headers.update(exc.headers or {})
    return response


class CatchAll:
    """The last resort: an unexpected error becomes one logged traceback and a
    JSON 500 (Starlette's own handler would log it twice and re-raise)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not started and scope["type"] == "http":
                response = error_response(build_status(grpc.StatusCode.INTERNAL, "internal error"))
                await response(scope, receive, send)


async def _home(request: Request) -> Response:
    return RedirectResponse("/ui", 303)


def create_app(
    target: str,
    credentials: grpc.ChannelCredentials | None = None,
    *,
    metrics: GatewayMetrics | None = None,
    tracer_provider: TracerProvider | None = None,
    allowed_hosts: frozenset[str] | None = None,
    holds: HoldLimits | None = None,
    redirects: Redirects | None = None,
) -> Starlette:
    """The gateway in front of the gRPC server at target (HOST:PORT), over TLS
    when given credentials, counting its requests into metrics if given,
    traced when given a tracer provider, answering only to allowed_hosts
    (None: any), holding long-lived calls within holds, sending callers to
    the bucket for files when given redirects (--content-redirect)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.backend = Backend(target, credentials, tracer_provider, holds)
        app.state.redirects = redirects
        try:
            yield
        finally:
            await app.state.backend.close()

    handlers: dict[Any, Any] = {
        HttpError: _http_error,
        grpc.aio.AioRpcError: _rpc_error,
        ClientGone: _client_gone,
        # A client that leaves while sending its body: nobody to answer, nothing to log.
        ClientDisconnect: _client_gone,
        HTTPException: _routing,
    }
    # The seeds' routes and /v1, the REST surface the protos declare (transcode/), side by side.
    routes = [
        *ROUTES,
        *transcode.routes(),
        *docs.ROUTES,
        *web.ROUTES,
        Route("/", _home, methods=["GET"]),
    ]
    middleware = [
        Middleware(AccessLog),
        Middleware(AllowedHosts, allowed=allowed_hosts),
        Middleware(CatchAll),
        Middleware(ForwardAuthorization),
    ]
    if metrics is not None:
        middleware.insert(0, Middleware(RequestMetrics, metrics=metrics, routes=routes))
    middleware[:0] = tracing.middleware(tracer_provider)  # outermost: it times everything
    app = Starlette(
        routes=routes,
        exception_handlers=handlers,
        middleware=middleware,
        lifespan=lifespan,
    )
    # /videos/ is a 404 like any unknown path, not a redirect built from Host:.
    app.router.redirect_slashes = False
    return app
