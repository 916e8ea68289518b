"""Server reflection v1 (`grpc.reflection.v1.ServerReflection`) beside v1alpha.

grpcurl, grpc-java and newer tools ask v1 first and fall back to v1alpha;
some ask v1 only. grpcio-reflection serves v1alpha alone (grpc/grpc#38576).
v1's messages are v1alpha's under another package, field for field and
number for number, so the bytes on the wire are the same: v1alpha's servicer
answers v1 calls unchanged. v1's file descriptor, made from v1alpha's, goes
into the pool too, so reflection can describe the v1 service itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha

FILE_NAME = "grpc/reflection/v1/reflection.proto"
PACKAGE = "grpc.reflection.v1"
SERVICE_NAME = f"{PACKAGE}.ServerReflection"
METHOD = "ServerReflectionInfo"


def v1_file() -> descriptor_pb2.FileDescriptorProto:
    """v1alpha's reflection.proto, renamed to v1's file and package."""
    proto = descriptor_pb2.FileDescriptorProto()
    v1alpha.DESCRIPTOR.CopyToProto(proto)
    old = f".{proto.package}."
    proto.name, proto.package = FILE_NAME, PACKAGE
    proto.ClearField("options")  # v1alpha's Java/C# package names

    def renamed(type_name: str) -> str:
        return f".{PACKAGE}.{type_name[len(old) :]}" if type_name.startswith(old) else type_name

    messages = list(proto.message_type)
    while messages:
        message = messages.pop()
        messages.extend(message.nested_type)
        for field in message.field:
            if field.HasField("type_name"):  # setting it on a scalar breaks the file
                field.type_name = renamed(field.type_name)
    for service in proto.service:
        for method in service.method:
            method.input_type, method.output_type = (
                renamed(method.input_type),
                renamed(method.output_type),
            )
    return proto


def add_to_pool(pool: descriptor_pool.DescriptorPool | None = None) -> None:
    """Put v1's descriptor into the pool reflection reads (once)."""
    pool = pool or descriptor_pool.Default()
    try:
        pool.FindFileByName(FILE_NAME)
    except KeyError:
        pool.AddSerializedFile(v1_file().SerializeToString())


def enable_server_reflection(service_names: Iterable[str], server: grpc.aio.Server) -> None:
    """Serve reflection as v1alpha and as v1, both listing `service_names`."""
    names = (*service_names, reflection.SERVICE_NAME, SERVICE_NAME)
    add_to_pool()
    reflection.enable_server_reflection(names, server)
    servicer: Any = reflection.aio.ReflectionServicer(names)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=v1alpha.ServerReflectionRequest.FromString,
        response_serializer=v1alpha.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE_NAME, {METHOD: handler}),)
    )
