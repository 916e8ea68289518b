"""Small helpers the tests share: unpacking operations and reading error details."""

from __future__ import annotations

from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from longreel.video.v1 import video_service_pb2 as pb


def metadata(op: operations_pb2.Operation) -> pb.OperationMetadata:
    meta = pb.OperationMetadata()
    assert op.metadata.Unpack(meta)
    return meta


def video(op: operations_pb2.Operation) -> pb.Video:
    result = pb.Video()
    assert op.response.Unpack(result), op
    return result


def wait(api: Any, name: str, seconds: float = 10.0) -> operations_pb2.Operation:
    request = operations_pb2.WaitOperationRequest(
        name=name, timeout=duration_pb2.Duration(seconds=int(seconds), nanos=int(seconds % 1 * 1e9))
    )
    op: operations_pb2.Operation = api.operations.WaitOperation(request, timeout=seconds + 5)
    return op


def create(
    api: Any, title: str = "My movie", plot: str = "A plot", **fields: Any
) -> operations_pb2.Operation:
    request = pb.CreateVideoRequest(video=pb.Video(title=title, plot=plot), **fields)
    op: operations_pb2.Operation = api.videos.CreateVideo(request, timeout=10)
    return op


def details(error: grpc.RpcError) -> dict[str, Any]:
    """The google.rpc details of a failed call, by type name."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status on {error}"
    found: dict[str, Any] = {}
    for packed in status.details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.ResourceInfo,
            error_details_pb2.RetryInfo,
        ):
            if packed.Is(kind.DESCRIPTOR):
                message = kind()
                packed.Unpack(message)
                found[kind.DESCRIPTOR.name] = message
    return found


def violations(error: grpc.RpcError) -> dict[str, str]:
    bad = details(error)["BadRequest"]
    return {v.field: v.description for v in bad.field_violations}
