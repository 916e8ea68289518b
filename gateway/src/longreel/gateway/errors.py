"""The one gRPC-status → HTTP table, and the one writer of error bodies.

Every error the gateway sends, routing errors and its own input checks
included, leaves through `error_response` with a google.rpc.Status-shaped JSON
body: {"error": {"code": <http status>, "message", "status": <gRPC code
name>, "details": [...]}}, details in protobuf's JSON mapping (field
violations included), as Google's HTTP APIs do.
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from starlette.responses import Response

log = logging.getLogger(__name__)

DOMAIN = "video.longreel.dev"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

# Exhaustive on purpose: a code missing here would silently become 500.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,  # client closed request, as Google's APIs map it
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    # 400, not 412: If-Match and friends are not involved (grpc-gateway's choice too).
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
CODE_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}

# gRPC request fields by the names an HTTP caller knows them (field violations).
HTTP_FIELD_NAMES = {
    "video.title": "title",
    "video.plot": "plot",
    "video_id": "id",
    "request_id": "Idempotency-Key",
    "page_token": "pageToken",
    "page_size": "pageSize",
    "timeout": "wait",
    "name": "path",
}

_FALLBACK = b'{"error": {"code": 500, "message": "internal error", "status": "INTERNAL"}}'


class HttpError(Exception):
    """An error the gateway finds itself, before or instead of calling the server."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str,
        *details: Message,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN)
        self.status = build_status(code, message, (info, *details))
        self.http_status = http_status
        self.headers = headers or {}


def bad_request(violations: Iterable[tuple[str, str]]) -> HttpError:
    found = list(violations)
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in found
        ]
    )
    message = "; ".join(f"{f}: {d}" for f, d in found)
    return HttpError(grpc.StatusCode.INVALID_ARGUMENT, message, "INVALID_FIELD", detail)


def build_status(
    code: grpc.StatusCode, message: str, details: Iterable[Message] = ()
) -> status_pb2.Status:
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    return status_pb2.Status(code=code.value[0], message=message, details=packed)


def http_status(code_number: int) -> int:
    return HTTP_STATUS.get(CODE_BY_NUMBER.get(code_number, grpc.StatusCode.UNKNOWN), 500)


def status_of(error: grpc.aio.AioRpcError, *, http_names: bool = True) -> status_pb2.Status:
    """The rich status the server sent (fields named as the seeds' HTTP callers
    know them, unless http_names is False: /v1 callers know the proto's), or
    a plain one built from the call."""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            return _http_field_names(status) if http_names else status
    code = error.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        # Connection failures carry transport detail nobody outside needs.
        return build_status(
            code,
            "the video service cannot be reached; retry shortly",
            [error_details_pb2.ErrorInfo(reason="BACKEND_UNAVAILABLE", domain=DOMAIN)],
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return build_status(code, "the video service did not answer in time")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and too_large(error.details()):
        # Our own receive limit, not the server's load: no retry would help (not 429).
        return build_status(
            grpc.StatusCode.INTERNAL,
            "the video service's answer was too large for the gateway",
            [error_details_pb2.ErrorInfo(reason="RESPONSE_TOO_LARGE", domain=DOMAIN)],
        )
    return build_status(code, error.details() or code.name.lower())


def too_large(details: str | None) -> bool:
    """Whether gRPC's RESOURCE_EXHAUSTED is a message past the receiver's size limit."""
    return "message larger than max" in (details or "")


def _http_field_names(status: status_pb2.Status) -> status_pb2.Status:
    """Rename the field violations, and rebuild the message from them."""
    for detail in status.details:
        request = error_details_pb2.BadRequest()
        if detail.Unpack(request):
            for violation in request.field_violations:
                violation.field = HTTP_FIELD_NAMES.get(violation.field, violation.field)
            detail.Pack(request)
            status.message = "; ".join(
                f"{v.field}: {v.description}" for v in request.field_violations
            )
    return status


def status_json(status: status_pb2.Status, http_status: int) -> dict[str, object]:
    code = CODE_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
    body: dict[str, object] = {"code": http_status, "message": status.message, "status": code.name}
    if status.details:
        body["details"] = [json_format.MessageToDict(d) for d in status.details]
    return body


def retry_after(status: status_pb2.Status) -> int | None:
    """Whole seconds from a google.rpc.RetryInfo detail, if there is one."""
    for detail in status.details:
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return max(1, round(int(info.retry_delay.ToMilliseconds()) / 1000))
    return None


def www_authenticate(status: status_pb2.Status) -> str:
    """The RFC 6750 challenge: no error code when credentials were missing."""
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.reason != "CREDENTIALS_MISSING":
            return 'Bearer realm="longreel", error="invalid_token"'
    return 'Bearer realm="longreel"'


def error_response(status: status_pb2.Status, status_code: int | None = None) -> Response:
    code = CODE_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
    status_code = status_code or http_status(status.code)
    headers = {}
    if (delay := retry_after(status)) is not None:
        headers["Retry-After"] = str(delay)
    elif code == grpc.StatusCode.UNAVAILABLE:
        headers["Retry-After"] = "1"
    if code == grpc.StatusCode.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = www_authenticate(status)
    try:
        body = json.dumps({"error": status_json(status, status_code)}).encode()
    except Exception:  # a detail that does not marshal must not become a traceback
        log.exception("could not write an error body")
        body, status_code = _FALLBACK, 500
    return Response(body, status_code, headers, media_type="application/json")


def error_bytes(
    status: status_pb2.Status, status_code: int, headers: dict[str, str] | None = None
) -> bytes:
    """The same answer as a whole HTTP/1.1 response, for errors found below the
    ASGI app (in the request head itself) and written straight to the socket;
    it says `connection: close`, as the connection closes after it."""
    response = error_response(status, status_code)
    response.headers.update(headers or {})
    response.headers["connection"] = "close"
    try:
        phrase = http.HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = ""
    head = [f"HTTP/1.1 {response.status_code} {phrase}"]
    head += [f"{name}: {value}" for name, value in response.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + bytes(response.body)
