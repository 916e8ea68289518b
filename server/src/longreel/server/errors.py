"""One place that turns failures into gRPC statuses (AIP-193).

Every status carries a google.rpc.ErrorInfo (reason, domain) first, then
BadRequest, ResourceInfo or RetryInfo where they apply. Handlers raise
ApiError (or let a StoreError through); `rpc_errors` converts it once at the
boundary. Anything unexpected becomes INTERNAL with a generic message: the
traceback goes to the log, never to the caller.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .store import base as store

DOMAIN = "video.longreel.dev"
log = logging.getLogger(__name__)

R = TypeVar("R")


class ApiError(Exception):
    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str,
        *,
        metadata: dict[str, str] | None = None,
        details: Iterable[Message] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata or {}
        self.details = list(details)

    def to_status(self) -> status_pb2.Status:
        info = error_details_pb2.ErrorInfo(
            reason=self.reason, domain=DOMAIN, metadata=self.metadata
        )
        return status(self.code.value[0], self.message, info, *self.details)


def status(code: int, message: str, *details: Message) -> status_pb2.Status:
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    return status_pb2.Status(code=code, message=message, details=packed)


def operation_error(code: int, message: str, reason: str) -> status_pb2.Status:
    """The google.rpc.Status that ends a failed or cancelled operation."""
    return status(code, message, error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN))


def cancelled() -> status_pb2.Status:
    """How every cancelled operation ends: code 1 (CANCELLED)."""
    return operation_error(code_pb2.CANCELLED, "cancelled by the caller", "CANCELLED")


def invalid_argument(violations: list[tuple[str, str]]) -> ApiError:
    request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
            for f, d in violations
        ]
    )
    summary = "; ".join(f"{f}: {d}" for f, d in violations)
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, summary, "INVALID_FIELD", details=[request])


def not_found(kind: str, name: str) -> ApiError:
    resource = error_details_pb2.ResourceInfo(resource_type=kind, resource_name=name)
    return ApiError(
        grpc.StatusCode.NOT_FOUND,
        f"{name} does not exist",
        f"{kind.upper()}_NOT_FOUND",
        metadata={"resource": name},
        details=[resource],
    )


def unavailable(
    message: str, reason: str = "STORE_UNAVAILABLE", retry_after: float = 1.0
) -> ApiError:
    return ApiError(grpc.StatusCode.UNAVAILABLE, message, reason, details=[retry_info(retry_after)])


def retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    """When the caller may try again."""
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(int(seconds * 1000))
    return error_details_pb2.RetryInfo(retry_delay=delay)


def from_store_error(exc: store.StoreError) -> ApiError:
    """Store errors the handlers did not translate themselves."""
    if isinstance(exc, store.StoreUnavailable):
        return unavailable("the operation store is unavailable; retry shortly")
    if isinstance(exc, store.RequestIdReused):
        return ApiError(
            grpc.StatusCode.ALREADY_EXISTS,
            f"request_id {exc} was already used for a different request",
            "REQUEST_ID_REUSED",
            metadata={"request_id": str(exc)},
        )
    if isinstance(exc, store.InvalidValue):
        return ApiError(grpc.StatusCode.INVALID_ARGUMENT, str(exc), "INVALID_VALUE")
    if isinstance(exc, store.Conflict):
        return ApiError(grpc.StatusCode.FAILED_PRECONDITION, str(exc), "FAILED_PRECONDITION")
    log.error("unmapped store error %r", exc)
    return ApiError(grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


class Undecodable:
    """Stands in for a request whose bytes are not the message they should be."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def lenient(parse: Callable[[bytes], Message]) -> Callable[[bytes], Message | Undecodable]:
    """A request deserializer that never raises: gRPC would answer UNKNOWN with
    the parser's internals; rpc_errors answers INVALID_ARGUMENT instead."""

    def deserialize(data: bytes) -> Message | Undecodable:
        try:
            return parse(data)
        except DecodeError as exc:
            return Undecodable(str(exc))

    return deserialize


Handler = Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[R]]
StreamHandler = Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[R]]


def _decodable(request: Any) -> None:
    if isinstance(request, Undecodable):
        raise ApiError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the request could not be decoded: {request.reason}",
            "MALFORMED_REQUEST",
        )


def _as_api_error(exc: Exception, where: str) -> ApiError:
    """What a handler's failure tells the caller; the unexpected are logged."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, store.StoreError):
        return from_store_error(exc)
    log.error("unexpected error in %s", where, exc_info=exc)
    return ApiError(grpc.StatusCode.INTERNAL, "internal error", "INTERNAL")


def rpc_errors(handler: Handler[R]) -> Handler[R]:
    """Decorate an aio handler so every failure leaves as a proper status."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> R:
        try:
            _decodable(request)
            return await handler(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await abort(context, _as_api_error(exc, handler.__qualname__))

    return wrapper


def rpc_stream_errors(handler: StreamHandler[R]) -> StreamHandler[R]:
    """rpc_errors for a server-streaming handler (an async generator)."""

    @functools.wraps(handler)
    async def wrapper(
        self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[R]:
        try:
            _decodable(request)
            async for item in handler(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await abort(context, _as_api_error(exc, handler.__qualname__))

    return wrapper


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: ApiError) -> NoReturn:
    await context.abort_with_status(rpc_status.to_status(error.to_status()))
    raise AssertionError("abort_with_status returned")  # pragma: no cover
