"""Clients nobody here wrote can use the service: google-api-core's LRO client,
the standard health checker and server reflection."""

from __future__ import annotations

import pytest
from google.api_core import exceptions, operation, operations_v1
from grpc_health.v1 import health_pb2, health_pb2_grpc
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
