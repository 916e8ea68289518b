"""Clients nobody here wrote can use the service: google-api-core's LRO client,
the standard health checker and server reflection (v1alpha and v1)."""

from __future__ import annotations

import pytest
from google.api_core import exceptions, operation, operations_v1
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from longreel.video.v1 import video_service_pb2 as pb

from ..helpers import create

pytestmark = pytest.mark.any_store  # other clients see the same API whatever the store


def test_api_core_drives_an_operation_to_its_result(api):
    operations_client = operations_v1.OperationsClient(api.channel)
    op = create(api, title="Through api-core")
    future = operation.from_gapic(
        op, operations_client, pb.Video, metadata_type=pb.OperationMetadata
    )
    assert not future.done()
    assert future.metadata.verb == "create"
    api.processor.gate.set()
    result = future.result(timeout=30)
    assert isinstance(result, pb.Video)
    assert result.title == "Through api-core"
    assert future.metadata.progress_percent == 100


def test_api_core_sees_a_cancelled_operation_as_cancelled(api):
    operations_client = operations_v1.OperationsClient(api.channel)
    future = operation.from_gapic(
        create(api), operations_client, pb.Video, metadata_type=pb.OperationMetadata
    )
    assert api.processor.started.wait(5)
    assert future.cancel()
    with pytest.raises(exceptions.Cancelled):
        future.result(timeout=30)
    assert future.cancelled()


def test_health_answers_serving_for_the_server_and_each_service(api):
    health = health_pb2_grpc.HealthStub(api.channel)
    for service in ("", "longreel.video.v1.VideoService", "google.longrunning.Operations"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_describes_every_service_and_the_types_in_operations(api):
    database = ProtoReflectionDescriptorDatabase(api.channel)
    services = set(database.get_services())
    assert {
        "longreel.video.v1.VideoService",
        "google.longrunning.Operations",
        "grpc.health.v1.Health",
    } <= services
    for symbol in (
        "longreel.video.v1.Video",
        "longreel.video.v1.OperationMetadata",
        "google.longrunning.Operation",
        "google.rpc.Status",
        "google.protobuf.Any",
    ):
        assert database.FindFileContainingSymbol(symbol) is not None, symbol


# grpc.reflection.v1: what grpcurl asks first. Its messages are v1alpha's
# under another package name, so v1alpha's classes write the same bytes.
REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def reflect_v1(api, *requests):
    call = api.channel.stream_stream(
        REFLECTION_V1,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return list(call(iter(requests), timeout=10))


def test_reflection_v1_lists_the_services_and_describes_itself(api):
    listed, described = reflect_v1(
        api,
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        ),
    )
    services = {s.name for s in listed.list_services_response.service}
    assert {
        "longreel.video.v1.VideoService",
        "google.longrunning.Operations",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in described.file_descriptor_response.file_descriptor_proto
    ]
    v1 = next(f for f in files if f.name == "grpc/reflection/v1/reflection.proto")
    assert v1.package == "grpc.reflection.v1"
    method = v1.service[0].method[0]
    assert method.input_type == ".grpc.reflection.v1.ServerReflectionRequest"


def test_reflection_v1_describes_our_api(api):
    (answer,) = reflect_v1(
        api,
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="longreel.video.v1.OperationMetadata"
        ),
    )
    names = {
        descriptor_pb2.FileDescriptorProto.FromString(raw).name
        for raw in answer.file_descriptor_response.file_descriptor_proto
    }
    assert "longreel/video/v1/video_service.proto" in names
