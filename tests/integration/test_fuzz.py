"""Fuzzing every RPC with generated requests, well-formed and corrupt: the
server answers each with a status of the caller's making (never INTERNAL or
UNKNOWN), and stays up."""

from __future__ import annotations

import os

import grpc
import hypothesis
from google.longrunning import operations_pb2
from google.protobuf import descriptor, message_factory
from hypothesis import strategies as st

from longreel.video.v1 import video_service_pb2 as pb

from ..processors import GatedProcessor

SETTINGS = hypothesis.settings(
    max_examples=60,
    derandomize=bool(os.environ.get("CI")),
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
SERVICES = [
    pb.DESCRIPTOR.services_by_name["VideoService"],
    operations_pb2.DESCRIPTOR.services_by_name["Operations"],
]
# Strings that mean something somewhere: names, filters, ids, tokens.
NOTABLE = st.sampled_from(
    ["", "videos/x", "operations/x", "videos/", "operations/", "done = true", "tasks",
     "'; DROP TABLE operations; --", "\x00", "é" * 300, "x" * 70_000]
)  # fmt: skip
F = descriptor.FieldDescriptor


def field_values(field: F, depth: int) -> st.SearchStrategy[object]:
    if field.type == F.TYPE_STRING:
        return st.one_of(st.text(max_size=300), NOTABLE)
    if field.type in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return st.integers(-(2**31), 2**31 - 1)
    if field.type in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return st.integers(-(2**63), 2**63 - 1)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type == F.TYPE_MESSAGE and depth < 2:
        return messages(field.message_type, depth + 1)
    return st.nothing()


def messages(kind: descriptor.Descriptor, depth: int = 0) -> st.SearchStrategy[object]:
    """Messages of `kind` with any subset of their scalar and nested fields set."""
    cls = message_factory.GetMessageClass(kind)
    fields = {f.name: field_values(f, depth) for f in kind.fields if not f.is_repeated}
    usable = {name: strategy for name, strategy in fields.items() if not strategy.is_empty}
    return st.fixed_dictionaries({}, optional=usable).map(lambda values: cls(**values))


def code_of(call: grpc.UnaryUnaryMultiCallable, request: object) -> grpc.StatusCode:
    try:
        call(request, timeout=10)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def fuzz(call: grpc.UnaryUnaryMultiCallable, strategy: st.SearchStrategy[object]) -> None:
    @SETTINGS
    @hypothesis.given(request=strategy)
    def check(request: object) -> None:
        assert code_of(call, request) not in SERVER_FAULTS, request

    check()


def test_generated_requests_never_fault_the_server(start_server, make_backend):
    api = start_server(GatedProcessor(open_gate=True), max_backlog=100_000, backend=make_backend())
    for service in SERVICES:
        for method in service.methods:
            call = api.channel.unary_unary(
                f"/{service.full_name}/{method.name}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=lambda b: b,
            )
            fuzz(call, messages(method.input_type))


def test_corrupt_bytes_are_invalid_argument_never_a_fault(start_server):
    api = start_server(GatedProcessor(open_gate=True))
    for service in SERVICES:
        for method in service.methods:
            fuzz(
                api.channel.unary_unary(f"/{service.full_name}/{method.name}"),
                st.binary(max_size=200),
            )
    create = api.channel.unary_unary("/longreel.video.v1.VideoService/CreateVideo")
    invalid_utf8 = b"\x0a\x05\x12\x03\xff\xfe\xfd"  # CreateVideoRequest.video.title
    assert code_of(create, invalid_utf8) == grpc.StatusCode.INVALID_ARGUMENT
