"""OpenTelemetry traces, off unless a tracer provider is given.

A trace follows an operation from the request to its end: the RPC's span
(the gRPC instrumentation's interceptor, whose parent comes from the
caller's `traceparent`) is written with the job as a W3C traceparent, and
the worker that runs the job, in this process or another, starts the job's
span as its child. Only opentelemetry-api is needed to carry the context;
the SDK, the instrumentation and the OTLP exporter are the `tracing` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from longreel.common.tracing import TracingUnavailable, otlp_provider

from .config import Config, ConfigError

TRACEPARENT = "traceparent"


def configured(config: Config, service: str) -> trace.TracerProvider | None:
    """The provider config.otlp_endpoint asks for, if any."""
    if config.otlp_endpoint is None:
        return None
    try:
        return otlp_provider(service, config.otlp_endpoint)
    except TracingUnavailable as exc:
        raise ConfigError(str(exc)) from None


def flush(provider: trace.TracerProvider | None) -> None:
    """Send what is batched before the process ends."""
    shutdown = getattr(provider, "shutdown", None)  # the SDK's; the API's has none
    if shutdown is not None:
        shutdown()


def server_interceptors(provider: trace.TracerProvider | None) -> list[Any]:
    """The interceptor that gives every RPC a span (none without a provider)."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=provider)]


def current_traceparent() -> str | None:
    """The current span as a W3C traceparent, to store with a job."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


@contextmanager
def job_span(
    tracer: trace.Tracer, name: str, traceparent: str | None, **attributes: Any
) -> Iterator[Span]:
    """A span for one attempt at a job, the child of the request that made it."""
    parent = propagate.extract({TRACEPARENT: traceparent}) if traceparent else None
    with tracer.start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        yield span


def mark_failed(span: Span, description: str) -> None:
    span.set_status(Status(StatusCode.ERROR, description))
