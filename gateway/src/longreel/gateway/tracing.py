"""OpenTelemetry at the gateway, off unless a tracer provider is given: a span
for each HTTP request (the ASGI instrumentation) and for each gRPC call it
makes, whose traceparent carries the trace on to the server and its jobs."""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry.trace import TracerProvider
from starlette.middleware import Middleware

from longreel.common import tracing


def otlp_provider(endpoint: str) -> TracerProvider:
    """The gateway's provider for --otlp-endpoint, or SystemExit saying why not."""
    try:
        return tracing.otlp_provider("video-gateway", endpoint)
    except tracing.TracingUnavailable as exc:
        raise SystemExit(f"video-gateway: {exc}") from None


def middleware(provider: TracerProvider | None) -> list[Middleware]:
    """A span per HTTP request, outermost so that it covers every answer
    (the ASGI send and receive events get none of their own)."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return [
        Middleware(
            OpenTelemetryMiddleware, tracer_provider=provider, exclude_spans=["receive", "send"]
        )
    ]


def client_interceptors(provider: TracerProvider | None) -> list[grpc.aio.ClientInterceptor]:
    if provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    interceptors: list[Any] = aio_client_interceptors(tracer_provider=provider)
    return interceptors
