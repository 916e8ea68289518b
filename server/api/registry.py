"""Registers our servicers with the gRPC server, straight from the service
descriptors, so that every request goes through a lenient deserializer (see
errors.lenient): corrupt bytes get INVALID_ARGUMENT, not UNKNOWN."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from ..errors import lenient


def add_service(
    server: grpc.aio.Server, servicer: Any, service: descriptor.ServiceDescriptor
) -> None:
    handlers = {}
    for method in service.methods:
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name),
            request_deserializer=lenient(request.FromString),
            response_serializer=response.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
