"""The OTLP tracer provider each program builds for --otlp-endpoint."""

from __future__ import annotations

from opentelemetry.trace import TracerProvider


class TracingUnavailable(Exception):
    """The tracing extra is not installed; the message says how to get it."""


def otlp_provider(service: str, endpoint: str) -> TracerProvider:
    """A provider that batches service's spans to an OTLP/gRPC collector."""
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise TracingUnavailable(
            f"tracing needs the tracing extra (pip install 'longreel[tracing]'): {exc}"
        ) from None
    provider = SdkProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider
