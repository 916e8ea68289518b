"""What videoctl shows of an operation: its metadata, state and row, shared
by the one-shot tables and the live watch."""

from __future__ import annotations

from typing import Any

import grpc
from google.longrunning import operations_pb2

from longreel.video.v1 import video_service_pb2 as pb

CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def metadata(op: operations_pb2.Operation) -> pb.OperationMetadata:
    meta = pb.OperationMetadata()
    op.metadata.Unpack(meta)
    return meta


def state(op: operations_pb2.Operation) -> str:
    """RUNNING, DONE, or the status code an operation failed with (CANCELLED, ...)."""
    if not op.done:
        return "RUNNING"
    return code_name(op.error.code) if op.HasField("error") else "DONE"


def code_name(code: int) -> str:
    return CODE_NAMES.get(code, str(code))


def time(stamp: Any) -> str:
    return str(stamp.ToJsonString()) if stamp.seconds else ""


def operation_row(op: operations_pb2.Operation) -> list[str]:
    """NAME, VERB, TARGET, STATE, PROGRESS, MESSAGE."""
    meta = metadata(op)
    return [op.name, meta.verb, meta.target, state(op),
            f"{meta.progress_percent}%", meta.status_message]  # fmt: skip
