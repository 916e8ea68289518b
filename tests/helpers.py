"""Small helpers the tests share: unpacking operations, reading error details,
and waiting on a condition (never a fixed sleep)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from longreel.server import notify
from longreel.video.v1 import video_service_pb2 as pb

T = TypeVar("T")
POLL = 0.02  # seconds between two looks at a condition


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


def until(condition: Callable[[], T], timeout: float = 10.0, what: str = "the condition") -> T:
    """Wait for `condition()` to give a true value, and return that value.

    In place of a fixed sleep: as quick as the condition, and no guess that a
    slow machine outlasts. Fails the test if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(POLL)
    return value


def waiters(api: Any, name: str | None = None) -> int:
    """How many calls wait on operation `name` (any operation if None) in the
    in-process server: a long poll counts once it has subscribed, so a test
    waits for this rather than sleeping "long enough" for the call to arrive."""
    notifier = api.server.server.notifier
    local = getattr(notifier, "_local", notifier)  # PostgresNotifier fans out from a Notifier
    subscribers = dict(local._subscribers)  # a copy: the server's loop changes it meanwhile
    if name is not None:
        return len(subscribers.get(notify.operation_done(name.split("/", 1)[1]), ()))
    return sum(
        len(s) for key, s in subscribers.items() if key.startswith(notify.operation_done(""))
    )


def ctrl_c(process: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """Ctrl-C a program; what it wrote on stderr once it ended. One that does
    not end in time is sent SIGABRT, so that faulthandler (started with
    PYTHONFAULTHANDLER=1 in its environment) prints where each of its
    threads stood, and the failure says it with its signal masks."""
    process.send_signal(signal.SIGINT)
    try:
        return str(process.communicate(timeout=timeout)[1])
    except subprocess.TimeoutExpired:
        status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
        masks = [line for line in status if line.startswith(("Sig", "ShdPnd"))]
        process.send_signal(signal.SIGABRT)
        stderr = process.communicate(timeout=10)[1]
        pytest.fail(f"still running {timeout} s after SIGINT ({masks}); its threads:\n{stderr}")
