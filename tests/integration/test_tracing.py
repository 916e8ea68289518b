"""One trace per operation: the gateway's HTTP span, its gRPC call, the
server's span for that call, and the job's span in the worker, each the
child of the one before, across the store that carries the job."""

from __future__ import annotations

import json
import logging

import pytest
from google.longrunning import operations_pb2
from google.rpc import code_pb2
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from longreel.common import logs
from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create, until, wait
from ..processors import GatedProcessor

pytestmark = pytest.mark.any_store  # spans are the same whatever the store

CREATE = "/longreel.video.v1.VideoService/CreateVideo"


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def job_span(exporter: InMemorySpanExporter, operation: str) -> ReadableSpan:
    """The job's span, once it has ended (it ends after the operation does)."""
    found = until(
        lambda: [
            s
            for s in exporter.get_finished_spans()
            if s.name == "job create"
            and (s.attributes or {}).get("longreel.operation") == operation
        ],
        what=f"the job span of {operation}",
    )
    assert len(found) == 1, found
    return found[0]


def child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    assert span.parent is not None and span.context is not None and parent.context is not None
    return (span.parent.span_id, span.context.trace_id) == (
        parent.context.span_id,
        parent.context.trace_id,
    )


def test_one_trace_runs_from_the_http_request_to_the_job(
    make_backend, start_server, start_gateway, spans
):
    provider, exporter = spans
    processor = GatedProcessor(open_gate=True)
    api = start_server(processor, backend=make_backend(), tracer_provider=provider)
    http = start_gateway(api, tracer_provider=provider)
    answer = http.client.post("/videos/tasks", json={"title": "Traced", "plot": "p"})
    assert answer.status_code == 202
    operation = "operations/" + answer.headers["content-location"].rsplit("/", 1)[1]
    assert wait(api, operation).done

    job = job_span(exporter, operation)
    request = next(s for s in exporter.get_finished_spans() if s.name == "POST /videos/tasks")
    call = next(
        s for s in exporter.get_finished_spans() if s.name == CREATE and s.kind == SpanKind.CLIENT
    )
    served = next(
        s for s in exporter.get_finished_spans() if s.name == CREATE and s.kind == SpanKind.SERVER
    )
    assert request.kind == SpanKind.SERVER and request.parent is None
    assert child_of(call, request)
    assert child_of(served, call)
    assert child_of(job, served)
    assert job.status.status_code != StatusCode.ERROR


def test_a_caller_s_traceparent_is_the_parent_and_a_failed_job_says_so(start_server, spans):
    provider, exporter = spans
    processor = GatedProcessor(open_gate=True)
    processor.fail_with, processor.failures_left = RuntimeError("the renderer broke"), 1
    api = start_server(processor, tracer_provider=provider, max_attempts=1)
    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    traceparent = f"00-{trace_id}-{span_id}-01"
    request = pb.CreateVideoRequest(video=pb.Video(title="Fails"))
    op = api.videos.CreateVideo(request, metadata=[("traceparent", traceparent)], timeout=10)
    assert wait(api, op.name).error.code != 0

    job = job_span(exporter, op.name)
    served = next(s for s in exporter.get_finished_spans() if s.name == CREATE)
    assert served.parent is not None and served.parent.span_id == int(span_id, 16)
    assert served.context is not None and served.context.trace_id == int(trace_id, 16)
    assert child_of(job, served)
    assert job.status.status_code == StatusCode.ERROR
    assert any(event.name == "exception" for event in job.events)


def test_a_cancelled_job_s_span_is_no_error(start_server, spans):
    provider, exporter = spans
    processor = GatedProcessor()
    api = start_server(processor, tracer_provider=provider)
    name = create(api, title="Changed my mind").name
    assert processor.started.wait(10)
    api.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=name), timeout=10)
    assert wait(api, name).error.code == code_pb2.CANCELLED

    job = job_span(exporter, name)
    assert job.status.status_code != StatusCode.ERROR


class Lines(logging.Handler):
    """The JSON lines the programs would write, kept for the test."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, object]] = []
        self.addFilter(logs.ContextFilter())
        self.setFormatter(logs.JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_log_lines_carry_the_trace_of_the_call_or_job_they_belong_to(start_server, spans):
    provider, exporter = spans
    lines = Lines()
    logger = logging.getLogger("longreel.server")
    logger.addHandler(lines)
    level = logger.level
    logger.setLevel(logging.INFO)  # setLevel, not .level: it clears the loggers' caches
    try:
        api = start_server(GatedProcessor(open_gate=True), tracer_provider=provider)
        name = create(api, title="Logged").name
        assert wait(api, name).done
        job = job_span(exporter, name)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
    assert job.context is not None
    trace_id = format(job.context.trace_id, "032x")
    mine = [line for line in lines.lines if line.get("operation") == name]
    assert {line["message"].split(" ")[0] for line in mine} == {"accepted", "claimed", "finished:"}
    assert all(line.get("trace_id") == trace_id for line in mine), mine
