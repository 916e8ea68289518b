"""Operations as the seeds' HTTP tasks: status, progress, links, and where to go next.

A task is `/videos/tasks/{id}` for operation `operations/{id}`. Its status is
`pending` until the operation is done, then `done`, `failed` or `cancelled`
(error code 1). A done creation points at the video it made, in the seeds'
link format.
"""

from __future__ import annotations

from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import json_format
from google.rpc import code_pb2

from longreel.common.api_names import ORDER_BY_KEY
from longreel.video.v1 import video_service_pb2 as pb

from .errors import bad_request, http_status, status_json

TASKS = "/videos/tasks"
PENDING, DONE, FAILED, CANCELLED = "pending", "done", "failed", "cancelled"
STATUSES = (PENDING, DONE, FAILED, CANCELLED)

# ListOperations filters (AIP-160) for GET /videos/tasks?status=...
STATUS_FILTERS = {
    PENDING: "done = false",
    DONE: "done = true AND error.code = 0",
    FAILED: "done = true AND error.code != 0 AND error.code != 1",
    CANCELLED: "done = true AND error.code = 1",
}

# GET /videos/tasks?orderBy=... (AIP-132's syntax, in the JSON field name) as
# the server takes it: ListOperationsRequest has no order_by field, so the
# server reads it from request metadata (ORDER_BY_KEY).
ORDERS = {
    "createTime": "create_time",
    "createTime asc": "create_time asc",
    "createTime desc": "create_time desc",
}


def order_by(wanted: str) -> tuple[tuple[str, str], ...]:
    """The call's metadata for ?orderBy (none if absent); 400 if unknown."""
    if not wanted.strip():
        return ()
    order = ORDERS.get(" ".join(wanted.split()))
    if order is None:
        raise bad_request([("orderBy", f"must be one of {', '.join(map(repr, ORDERS))}")])
    return ((ORDER_BY_KEY, order),)


def task_id(operation_name: str) -> str:
    return operation_name.split("/", 1)[1]


def task_url(operation_name: str) -> str:
    return f"{TASKS}/{task_id(operation_name)}"


def operation_name(task: str) -> str:
    return f"operations/{task}"


def status(op: operations_pb2.Operation) -> str:
    if not op.done:
        return PENDING
    if op.HasField("error"):
        return CANCELLED if op.error.code == code_pb2.CANCELLED else FAILED
    return DONE


def created_video(op: operations_pb2.Operation) -> pb.Video | None:
    """The video a done creation made, if this is one."""
    video = pb.Video()
    if op.done and op.HasField("response") and op.response.Unpack(video):
        return video
    return None


def link(name: str) -> dict[str, Any]:
    """A resource in the seeds' format: {"name", "links": [{"rel": "self", "href"}]}."""
    return {"name": name, "links": [{"rel": "self", "href": f"/{name}"}]}


def task_json(op: operations_pb2.Operation) -> dict[str, Any]:
    meta = pb.OperationMetadata()
    op.metadata.Unpack(meta)
    body: dict[str, Any] = {
        "id": task_id(op.name),
        "name": op.name,
        "status": status(op),
        "verb": meta.verb,
        "target": meta.target,
        "progress": {"percent": meta.progress_percent, "message": meta.status_message},
        "title": meta.title,
        "requestedCancellation": meta.requested_cancellation,
        "createTime": meta.create_time.ToJsonString(),
        "updateTime": meta.update_time.ToJsonString(),
        "links": [{"rel": "self", "href": task_url(op.name)}],
    }
    if meta.HasField("end_time"):
        body["endTime"] = meta.end_time.ToJsonString()
    if (video := created_video(op)) is not None:
        body["resources"] = [link(video.name)]
    if op.HasField("error"):
        body["error"] = status_json(op.error, http_status(op.error.code))
    return body


def message_json(message: Any) -> dict[str, Any]:
    """A proto message in protobuf's JSON mapping (lowerCamelCase, RFC 3339)."""
    result: dict[str, Any] = json_format.MessageToDict(message)
    return result
