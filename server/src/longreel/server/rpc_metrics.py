"""RPC metrics by method and status code: a grpc.aio server interceptor.

The names are go-grpc-prometheus's, which operators know:
grpc_server_started_total, grpc_server_handled_total (with grpc_code, the
canonical name: OK, NOT_FOUND, ...) and grpc_server_handling_seconds, each
labelled grpc_type, grpc_service and grpc_method.

Long calls are counted like the others but timed apart, in
longreel_grpc_long_call_seconds: WaitOperation lasts as long as its caller
chose to wait, and a stream as long as its reader reads (the gateway relays
videos at playback speed). In grpc_server_handling_seconds they would bury
how fast the service answers under how long its callers wait.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

LONG_CALLS = frozenset({"/google.longrunning.Operations/WaitOperation"})  # and every stream
HANDLING_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
LONG_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
LABELS = ["grpc_type", "grpc_service", "grpc_method"]

# By (request streaming, response streaming): the type's name, the handler's
# attribute that holds its behaviour, and how to make one.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic in the stubs only
_KINDS: dict[tuple[bool, bool], tuple[str, str, Callable[..., Handler]]] = {
    (False, False): ("unary", "unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("server_stream", "unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("client_stream", "stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("bidi_stream", "stream_stream", grpc.stream_stream_rpc_method_handler),
}


class _Method:
    """One method's series, bound once: a call costs two lock-protected
    increments and one observation, no label lookups."""

    __slots__ = ("_codes", "_handled", "_labels", "started", "timing")

    def __init__(self, metrics: RpcMetrics, labels: tuple[str, str, str], long: bool) -> None:
        self.started = metrics.started.labels(*labels)
        self.timing = (metrics.long_seconds if long else metrics.handling_seconds).labels(*labels)
        self._handled = metrics.handled
        self._labels = labels
        self._codes: dict[grpc.StatusCode, Any] = {}
        self._code_child(grpc.StatusCode.OK)

    def _code_child(self, code: grpc.StatusCode) -> Any:
        child = self._codes.get(code)
        if child is None:
            child = self._codes[code] = self._handled.labels(*self._labels, code.name)
        return child

    def ended(self, code: grpc.StatusCode, seconds: float) -> None:
        self._code_child(code).inc()
        self.timing.observe(seconds)


class RpcMetrics(grpc.aio.ServerInterceptor):
    def __init__(self, registry: CollectorRegistry, long_calls: frozenset[str] = LONG_CALLS):
        self.started = Counter(
            "grpc_server_started_total", "RPCs started on the server.", LABELS, registry=registry
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by status code.",
            [*LABELS, "grpc_code"],
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time to answer an RPC, long calls (WaitOperation, streams) aside.",
            LABELS,
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.long_seconds = Histogram(
            "longreel_grpc_long_call_seconds",
            "Duration of long calls (WaitOperation, streams): as long as their callers wait or"
            " read.",
            LABELS,
            buckets=LONG_BUCKETS,
            registry=registry,
        )
        self._long_calls = long_calls
        # Wrapped handlers by method: the services' handlers never change, so
        # each method's is looked up and wrapped once. Only methods that exist
        # get here, which bounds the cache and the labels.
        self._handlers: dict[str, Handler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is None:
            handler = await continuation(handler_call_details)
            if handler is None:  # no such method: gRPC answers UNIMPLEMENTED
                return handler
            handler = self._handlers[method] = self._wrap(method, handler)
        return handler

    def _wrap(self, method: str, handler: Handler) -> Handler:
        kind, attribute, make = _KINDS[handler.request_streaming, handler.response_streaming]
        behavior = getattr(handler, attribute)
        service, _, name = method.lstrip("/").rpartition("/")
        series = _Method(self, (kind, service, name), kind != "unary" or method in self._long_calls)
        if inspect.isasyncgenfunction(behavior):
            wrapped: Callable[..., Any] = _timed_stream(behavior, series)
        elif inspect.iscoroutinefunction(behavior):
            wrapped = _timed(behavior, series)
        else:  # a synchronous handler: none of ours, nor of grpc's aio services
            return handler
        return make(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _timed(behavior: Callable[..., Awaitable[Any]], series: _Method) -> Callable[..., Any]:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        series.started.inc()
        start = time.perf_counter()
        try:
            response = await behavior(request, context)
        except BaseException as exc:
            series.ended(_code(context, exc), time.perf_counter() - start)
            raise
        series.ended(context.code() or grpc.StatusCode.OK, time.perf_counter() - start)
        return response

    return call


def _timed_stream(behavior: Callable[..., AsyncIterator[Any]], series: _Method) -> Any:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        series.started.inc()
        start = time.perf_counter()
        failure: BaseException | None = None
        try:
            async for item in behavior(request, context):
                yield item
        except BaseException as exc:
            failure = exc
            raise
        finally:
            code = context.code() if failure is None else _code(context, failure)
            series.ended(code or grpc.StatusCode.OK, time.perf_counter() - start)

    return call


def _code(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> grpc.StatusCode:
    """The status a call that raised exc ends with. An abort (AbortError) has
    set it on the context; a call cancelled under the handler (the caller
    left, or its deadline passed) has not."""
    code: grpc.StatusCode | None = context.code()  # None until set, whatever the stubs say
    if code is not None:
        return code
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        remaining = context.time_remaining()
        expired = remaining is not None and remaining <= 0
        return grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN
