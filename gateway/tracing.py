"""OpenTelemetry at the gateway, off unless a tracer provider is given: a span
for each HTTP request (the ASGI instrumentation) and for each gRPC call it
makes, whose traceparent carries the trace on to the server and its jobs.
The gateway keeps away from the server's modules, so it builds its own
provider (server/tracing.py has the server's)."""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry.trace import TracerProvider
from starlette.middleware import Middleware


def otlp_provider(endpoint: str) -> TracerProvider:
    """A provider that batches spans to an OTLP/gRPC collector at endpoint."""
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise SystemExit(
            "video-gateway: tracing needs the tracing extra"
            f" (pip install 'longreel[tracing]'): {exc}"
        ) from None
    provider = SdkProvider(resource=Resource.create({"service.name": "video-gateway"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


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
