"""One caller's view of the server: stubs that send its API key (or none),
and the keys of the two callers the security and rate-limit tests use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc

from longreel.video.v1 import video_service_pb2 as pb
from longreel.video.v1 import video_service_pb2_grpc as pb_grpc

ALICE, BOB = "alice-key-0123456789abcdef", "bob-key-9876543210fedcba"


def write_keys(path: Path) -> Path:
    """An --api-keys-file naming alice and bob."""
    path.write_text(f"# token principal\n{ALICE} alice\n{BOB} bob\n")
    return path


class Caller:
    """Stubs that send one caller's token (or none) on every call."""

    def __init__(self, channel: grpc.Channel, token: str | None) -> None:
        self.md = [("authorization", f"Bearer {token}")] if token else []
        self.videos = pb_grpc.VideoServiceStub(channel)
        self.operations = operations_pb2_grpc.OperationsStub(channel)

    def create(self, title: str, **fields: Any) -> operations_pb2.Operation:
        request = pb.CreateVideoRequest(video=pb.Video(title=title), **fields)
        return self.videos.CreateVideo(request, metadata=self.md, timeout=10)

    def get(self, name: str) -> operations_pb2.Operation:
        request = operations_pb2.GetOperationRequest(name=name)
        return self.operations.GetOperation(request, metadata=self.md, timeout=10)

    def wait(self, name: str) -> operations_pb2.Operation:
        request = operations_pb2.WaitOperationRequest(name=name)
        request.timeout.FromSeconds(10)
        return self.operations.WaitOperation(request, metadata=self.md, timeout=15)

    def list_operations(self) -> list[str]:
        request = operations_pb2.ListOperationsRequest(name="operations")
        found = self.operations.ListOperations(request, metadata=self.md, timeout=10)
        return [op.name for op in found.operations]

    def list_videos(self) -> list[str]:
        found = self.videos.ListVideos(pb.ListVideosRequest(), metadata=self.md, timeout=10)
        return [video.name for video in found.videos]


def refused(call: Any, code: grpc.StatusCode = grpc.StatusCode.NOT_FOUND) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == code, err.value
    return err.value
