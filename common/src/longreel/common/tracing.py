"""--otlp-endpoint, and the OTLP tracer provider each program builds for it."""

from __future__ import annotations

import argparse

from opentelemetry.trace import TracerProvider

from . import flags


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
            "tracing needs the tracing extra (pip install 'longreel-server[tracing]'"
            f" or 'longreel-gateway[tracing]'): {exc}"
        ) from None
    provider = SdkProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def add_flag(parser: argparse.ArgumentParser) -> None:
    """--otlp-endpoint, spelled alike by every program."""
    flags.add_flag(
        parser,
        "--otlp-endpoint",
        env="VIDEO_OTLP_ENDPOINT",
        metavar="URL",
        help="send OpenTelemetry traces to this OTLP/gRPC collector, e.g."
        " http://127.0.0.1:4317 (needs the tracing extra); off by default",
    )
