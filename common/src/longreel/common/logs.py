"""Logs for video-server, video-worker and video-gateway: one line per event,
as text for people or JSON for log pipelines, carrying the context of the
call or job it belongs to (operation, request_id, principal, method, trace).

In longreel.common because all three programs log alike, and the gateway
may not import the server's modules (DESIGN); a copy in each would drift.
It depends on nothing but the standard library (OpenTelemetry is read when
installed).

Context comes from `context()`/`bind()`, kept in a ContextVar: asyncio tasks
copy it when they start, so a call's or job's fields reach every line logged
on its behalf. Only the fields named in FIELDS are written: never a token,
a header or a request body.

Callers' text reaches the log (paths, names, messages), so in text form every
control character, line separator and bidi override is escaped, and traceback
lines are indented: no caller can forge or hide a line. JSON escapes them all
already (ensure_ascii). uvicorn's own lines go through the same handler, their
query strings cut off (WebSocket attempts carry tokens there).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import logging
import re
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

from .flags import add_flag

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
# Set by context()/bind(): what the line is about.
CONTEXT_FIELDS = ("operation", "request_id", "principal", "method", "path")
# Given with `extra=` by the line that reports an event.
EVENT_FIELDS = ("verb", "outcome", "attempt", "status", "duration_ms")
FIELDS = (*CONTEXT_FIELDS, *EVENT_FIELDS, "trace_id", "span_id")

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "log_context", default=types.MappingProxyType({})
)

try:
    _trace: Any = importlib.import_module("opentelemetry.trace")
except ImportError:
    _trace = None


@contextmanager
def context(**fields: str | None) -> Iterator[None]:
    """Add fields to every line logged inside the block, and in tasks it starts."""
    token = _context.set({**_context.get(), **_present(fields)})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: str | None) -> None:
    """Add fields for the rest of the current context: a call's task, or the
    enclosing context() block, which takes them away again as it ends."""
    _context.set({**_context.get(), **_present(fields)})


def _present(fields: Mapping[str, str | None]) -> dict[str, str]:
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"not log context fields: {', '.join(sorted(unknown))}")
    return {key: value for key, value in fields.items() if value}


class ContextFilter(logging.Filter):
    """Stamps each record with the current context and OpenTelemetry span."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if _trace is not None:
            span = _trace.get_current_span().get_span_context()
            if span.is_valid:
                record.trace_id = format(span.trace_id, "032x")
                record.span_id = format(span.span_id, "016x")
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    found = {key: getattr(record, key, None) for key in FIELDS}
    return {key: value for key, value in found.items() if value is not None and value != ""}


def _time(record: logging.LogRecord) -> str:
    """RFC 3339 in UTC, to the millisecond."""
    when = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...`, a traceback below it."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        shown = " ".join(f"{key}={_quoted(value)}" for key, value in _fields(record).items())
        head = f"{_time(record)} {record.levelname} {record.name}: {escape(record.message)}"
        return f"{head} {shown}" if shown else head

    def formatException(self, ei: Any) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    """A traceback's lines, escaped and indented: an exception's message may
    hold a caller's newline, and must not start a line of its own."""
    return "\n".join("  " + escape(line) for line in text.splitlines())


class QueryFilter(logging.Filter):
    """Cuts query strings from uvicorn's own lines: its WebSocket lines write
    the full URL, and tokens travel there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn") and isinstance(record.args, tuple):
            record.args = tuple(_no_query(arg) for arg in record.args)
        return True


def _no_query(arg: object) -> object:
    return arg.split("?", 1)[0] + "?…" if isinstance(arg, str) and "?" in arg else arg


# C0, DEL, C1, bidi marks, embeddings, overrides and isolates, line separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """text with the characters that could forge, split or reorder a log line
    written as escapes (\\n, \\x1b, \\u202e)."""
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def _quoted(value: object) -> str:
    text = str(value)
    plain = text.isprintable() and not any(c in text for c in ' "=')
    return text if plain and text else json.dumps(text)


def handler(form: str, stream: IO[str] | None = None) -> logging.Handler:
    """Writes lines in form (text or json), with their context, to stream (stderr)."""
    writer = logging.StreamHandler(stream)
    writer.addFilter(ContextFilter())
    writer.addFilter(QueryFilter())
    writer.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    return writer


def setup(level: str, form: str) -> None:
    """Send every logger's lines, warnings included, to stderr in form."""
    logging.basicConfig(level=level.upper(), handlers=[handler(form)], force=True)
    logging.captureWarnings(True)


def announce(log: logging.Logger, line: str) -> None:
    """A program's start-up line: on stdout, where scripts read the address
    from, and in the log as the event it is."""
    print(line, flush=True)
    log.info("%s", line)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """--log-format and --log-level, spelled alike by every program."""
    add_flag(
        parser,
        "--log-format",
        env="VIDEO_LOG_FORMAT",
        default="text",
        choices=FORMATS,
        help="text: for people; json: one object a line, for log pipelines",
    )
    add_flag(
        parser,
        "--log-level",
        env="VIDEO_LOG_LEVEL",
        default="info",
        choices=LEVELS,
        help="the least severe lines written",
    )
