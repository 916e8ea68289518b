"""Registers our servicers with the gRPC server, straight from the service
descriptors, so that every request goes through a lenient deserializer (see
errors.lenient): corrupt bytes get INVALID_ARGUMENT, not UNKNOWN; and
through admission.Limits (calls in flight, the gate's authentication and
rate limit, held calls per caller), which sets auth.PRINCIPAL for the
handler, and the method and principal on every line it logs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from longreel.common import logs

from ..admission import Limits
from ..auth import PRINCIPAL
from ..errors import ApiError, abort, lenient

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def add_service(
    server: grpc.aio.Server, servicer: Any, service: descriptor.ServiceDescriptor, limits: Limits
) -> None:
    handlers = {}
    for method in service.methods:
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        make, behind = (
            (grpc.unary_stream_rpc_method_handler, _behind_stream)
            if method.server_streaming
            else (grpc.unary_unary_rpc_method_handler, _behind)
        )
        handlers[method.name] = make(
            behind(limits, getattr(servicer, method.name), f"/{service.full_name}/{method.name}"),
            request_deserializer=lenient(request.FromString),
            response_serializer=response.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )


def _behind(limits: Limits, handler: Handler, path: str) -> Handler:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            principal, held = limits.enter(context, path)
        except ApiError as exc:
            await abort(context, exc)
        token = PRINCIPAL.set(principal)
        try:
            with held, logs.context(method=path, principal=principal):
                return await handler(request, context)
        finally:
            PRINCIPAL.reset(token)

    return call


def _behind_stream(limits: Limits, handler: Any, path: str) -> Any:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            principal, held = limits.enter(context, path)
        except ApiError as exc:
            await abort(context, exc)
        # The stream's task is its own: the value is not reset, as a generator
        # may be finished in another context than the one it started in.
        PRINCIPAL.set(principal)
        logs.bind(method=path, principal=principal)
        with held:
            async for item in handler(request, context):
                yield item

    return call
