"""Log lines: the JSON and text forms, the context they carry, and the fields
allowed in it; in process, through logs.handler on a logger of the test's own."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest

from longreel.common import logs

CREATE = "/longreel.video.v1.VideoService/CreateVideo"


def capture(form: str, level: int = logging.DEBUG) -> tuple[logging.Logger, io.StringIO]:
    """A logger of its own (no global state touched) writing through logs.handler."""
    stream = io.StringIO()
    logger = logging.Logger("longreel.test", level)
    logger.addHandler(logs.handler(form, stream))
    return logger, stream


def test_the_context_and_a_traceback_make_one_json_line():
    log, stream = capture("json")
    with logs.context(operation="operations/abc", method=CREATE, principal="alice"):
        logs.bind(request_id="r-1")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("it\nbroke", extra={"attempt": 2})
    log.warning("after the block")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "it\nbroke" and first["level"] == "ERROR"
    assert first["logger"] == "longreel.test"
    assert (first["operation"], first["request_id"], first["principal"]) == (
        "operations/abc",
        "r-1",
        "alice",
    )
    assert first["method"] == CREATE and first["attempt"] == 2
    assert "ValueError: boom" in first["exc"] and "Traceback" in first["exc"]
    assert set(second) == {"time", "level", "logger", "message"}


def test_text_lines_show_the_context_compactly():
    log, stream = capture("text", logging.INFO)
    with logs.context(operation="operations/abc", path="/a b"):
        log.info("hello", extra={"status": 200})
        log.debug("not shown at info")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(
        ' INFO longreel.test: hello operation=operations/abc path="/a b" status=200'
    )


def test_only_known_fields_make_the_context():
    with pytest.raises(TypeError, match="authorization"):
        logs.bind(authorization="Bearer x")


def test_the_current_opentelemetry_span_is_on_the_line(monkeypatch):
    context = SimpleNamespace(is_valid=True, trace_id=0xABC, span_id=0x12)
    span = SimpleNamespace(get_span_context=lambda: context)
    monkeypatch.setattr(logs, "_trace", SimpleNamespace(get_current_span=lambda: span))
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
    assert logs.ContextFilter().filter(record)
    line = json.loads(logs.JsonFormatter().format(record))
    assert (line["trace_id"], line["span_id"]) == (f"{0xABC:032x}", f"{0x12:016x}")
