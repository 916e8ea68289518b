"""Reading what HTTP callers send: JSON bodies, query parameters, headers."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import grpc
from starlette.requests import Request

from longreel.common import numbers
from longreel.common.api_names import UUID

from .errors import HttpError, bad_request

MAX_BODY = 64 * 1024  # bytes; a title and a plot fit many times over
BODY_TIMEOUT = 15.0  # seconds for a body to arrive once the headers have (--body-timeout)
MAX_WAIT = 60.0  # seconds a ?wait= long poll may ask for
MAX_INT32 = 2**31 - 1
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._~-]{1,36}")
# The namespace of the UUIDs derived from keys that are not UUIDs: fixed, so
# every gateway (and every restart) derives the same one.
KEY_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5d7e-9c0f-1a2b3c4d5e6f")


async def json_object(request: Request, *, empty_is_object: bool = False) -> dict[str, Any]:
    """The body as a JSON object, or a 400/413/415 that says what is wrong.

    With empty_is_object, no body at all (`curl -X POST`: neither
    Content-Length nor a chunk) or an empty one is `{}`, whatever its type,
    as Google's transcoders take it; a body with bytes still needs JSON's type."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    typed = media == "application/json" or media.endswith("+json")
    if not typed and not empty_is_object:
        raise _untyped(media)
    raw = await _body(request)
    if empty_is_object and not raw:
        return {}
    if not typed:
        raise _untyped(media)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, too deep, too long a number
        raise HttpError(
            grpc.StatusCode.INVALID_ARGUMENT, f"the body is not valid JSON: {exc}", "MALFORMED_JSON"
        ) from None
    if not isinstance(value, dict):
        raise HttpError(
            grpc.StatusCode.INVALID_ARGUMENT, "the body must be a JSON object", "MALFORMED_JSON"
        )
    return value


def _untyped(media: str) -> HttpError:
    return HttpError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the body must be JSON (Content-Type: application/json), not {media or 'untyped'}",
        "UNSUPPORTED_MEDIA_TYPE",
        http_status=415,
    )


async def _body(request: Request) -> bytes:
    too_large = HttpError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the body is larger than {MAX_BODY} bytes",
        "BODY_TOO_LARGE",
        http_status=413,
    )
    declared = request.headers.get("content-length", "")
    if _too_large(declared):
        raise too_large
    chunks, size = [], 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise HttpError(
            grpc.StatusCode.DEADLINE_EXCEEDED,
            f"the body did not arrive within {BODY_TIMEOUT:g} s",
            "BODY_TIMEOUT",
            http_status=408,
        ) from None
    return b"".join(chunks)


def strings(
    body: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, str]:
    """The body's string fields; unknown, missing or mistyped fields are refused together."""
    known = (*required, *optional)
    problems = [
        (k, f"is not a field here; expected {', '.join(known)}") for k in body if k not in known
    ]
    problems += [(k, "is required") for k in required if k not in body]
    problems += [
        (k, f"must be a string, not {type(v).__name__ if v is not None else 'null'}")
        for k, v in body.items()
        if k in known and not isinstance(v, str)
    ]
    problems += [
        (k, "must be valid Unicode (it holds a lone surrogate)")
        for k, v in body.items()
        if k in known and isinstance(v, str) and not _encodable(v)
    ]
    if problems:
        raise bad_request(problems)
    return {k: v for k, v in body.items() if isinstance(v, str)}


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def idempotency_key(request: Request) -> str:
    """Idempotency-Key (or Request-Id) as the request_id it stands for.

    The IETF draft sends the key as a quoted string, and lets it be any
    token; request_id is a UUID (AIP-155). A key that is a UUID is passed on
    as it is, any other becomes a UUID derived from it (version 5, so the same
    key is the same request_id on every gateway, for ever).
    """
    header = "idempotency-key" if request.headers.get("idempotency-key") else "request-id"
    raw = request.headers.get(header, "")
    key = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    if not key:
        return ""
    if not IDEMPOTENCY_KEY.fullmatch(key):
        name = "Idempotency-Key" if header == "idempotency-key" else "Request-Id"
        raise bad_request([(name, "must be 1 to 36 of letters, digits, '-', '_', '.' or '~'")])
    return key.lower() if UUID.fullmatch(key) else str(uuid.uuid5(KEY_NAMESPACE, key))


def page_size(request: Request) -> int:
    """AIP-158: 0 (or absent) means the default, above 1000 means 1000."""
    raw = request.query_params.get("pageSize", "0")
    try:  # above 1000 is cut to 1000 by the server; past int32 is nonsense
        return numbers.whole(raw, MAX_INT32)
    except ValueError:
        raise bad_request(
            [("pageSize", "must be a whole number (0 for the default, at most 1000)")]
        ) from None


def wait_seconds(request: Request) -> float | None:
    """?wait=10s (or 500ms, or 10): how long a task read may wait for the end.

    Longer waits are cut to MAX_WAIT, as WaitOperation does.
    """
    raw = request.query_params.get("wait")
    if raw is None:
        return None
    number, unit = (raw[:-2], 1000) if raw.endswith("ms") else (raw.removesuffix("s"), 1)
    try:
        seconds = numbers.decimal(number, float(10**numbers.MAX_DIGITS)) / unit
    except ValueError:
        raise bad_request(
            [("wait", "must be a duration such as 10s, 500ms or 10 (seconds)")]
        ) from None
    return min(seconds, MAX_WAIT)


def _too_large(declared: str) -> bool:
    """Whether a Content-Length is past MAX_BODY, however many digits it has
    (one that is not a number is the HTTP parser's to refuse)."""
    text = declared.strip()
    if not (text.isascii() and text.isdigit()):
        return False
    try:
        numbers.whole(text, MAX_BODY)
    except ValueError:
        return True
    return False
