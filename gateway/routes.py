"""The HTTP routes: each reads the request, makes one gRPC call, shapes the answer.

Failures raise (HttpError, or the call's grpc.aio.AioRpcError) and leave
through the exception handlers in app.py, so no route chooses its own error
format.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from longreel.video.v1 import video_service_pb2 as pb

from . import bodies, tasks
from .backend import CALL_TIMEOUT, WAIT_SLACK, Backend
from .errors import bad_request, status_of

RETRY_AFTER = "1"  # seconds a client should wait before reading a pending task again

# gRPC field paths as HTTP callers know them, for field violations.
CREATE_FIELDS = {
    "video.title": "title",
    "video.plot": "plot",
    "video_id": "id",
    "request_id": "Idempotency-Key",
}


def backend(request: Request) -> Backend:
    found: Backend = request.app.state.backend
    return found


def task_location(op: operations_pb2.Operation) -> dict[str, str]:
    url = tasks.task_url(op.name)
    return {"Content-Location": url, "Location": url}


def accepted(op: operations_pb2.Operation) -> Response:
    """202 for a newly started task, telling the caller where to watch it."""
    headers = {**task_location(op), "Retry-After": RETRY_AFTER}
    return JSONResponse(tasks.task_json(op), 202, headers)


def task_response(op: operations_pb2.Operation) -> Response:
    """200 while pending (or failed, cancelled, deleted); 303 to the video once made."""
    headers = {"Content-Location": tasks.task_url(op.name)}
    if not op.done:
        headers["Retry-After"] = RETRY_AFTER
    elif (video := tasks.created_video(op)) is not None and tasks.status(op) == tasks.DONE:
        headers["Location"] = f"/{video.name}"
        return JSONResponse(tasks.task_json(op), 303, headers)
    return JSONResponse(tasks.task_json(op), 200, headers)


def idempotency_key(request: Request) -> str:
    return request.headers.get("idempotency-key") or request.headers.get("request-id") or ""


async def create_task(request: Request) -> Response:
    fields = bodies.strings(await bodies.json_object(request), ("title",), ("plot", "id"))
    call = pb.CreateVideoRequest(
        video=pb.Video(title=fields["title"], plot=fields.get("plot", "")),
        video_id=fields.get("id", ""),
        request_id=idempotency_key(request),
    )
    try:
        op = await backend(request).videos.CreateVideo(call, timeout=CALL_TIMEOUT)
    except grpc.aio.AioRpcError as exc:
        raise RenamedFields(exc, CREATE_FIELDS) from None
    return accepted(op)


async def get_task(request: Request) -> Response:
    name = tasks.operation_name(request.path_params["task"])
    wait = bodies.wait_seconds(request)
    api = backend(request)
    if wait is None:
        call = operations_pb2.GetOperationRequest(name=name)
        op = await api.operations.GetOperation(call, timeout=CALL_TIMEOUT)
    else:
        timeout = duration_pb2.Duration()
        timeout.FromMilliseconds(int(wait * 1000))
        call = operations_pb2.WaitOperationRequest(name=name, timeout=timeout)
        op = await api.waits.WaitOperation(call, timeout=wait + WAIT_SLACK)
    return task_response(op)


async def cancel_task(request: Request) -> Response:
    name = tasks.operation_name(request.path_params["task"])
    api = backend(request)
    await api.operations.CancelOperation(
        operations_pb2.CancelOperationRequest(name=name), timeout=CALL_TIMEOUT
    )
    op = await api.operations.GetOperation(
        operations_pb2.GetOperationRequest(name=name), timeout=CALL_TIMEOUT
    )
    return JSONResponse(tasks.task_json(op), 200, {"Content-Location": tasks.task_url(name)})


async def delete_task(request: Request) -> Response:
    name = tasks.operation_name(request.path_params["task"])
    await backend(request).operations.DeleteOperation(
        operations_pb2.DeleteOperationRequest(name=name), timeout=CALL_TIMEOUT
    )
    return Response(status_code=204)


async def list_tasks(request: Request) -> Response:
    wanted = request.query_params.get("status", "")
    if wanted and wanted not in tasks.STATUSES:
        raise bad_request([("status", f"must be one of {', '.join(tasks.STATUSES)}")])
    call = operations_pb2.ListOperationsRequest(
        name="operations",
        filter=tasks.STATUS_FILTERS.get(wanted, ""),
        page_size=bodies.page_size(request),
        page_token=request.query_params.get("pageToken", ""),
    )
    page = await backend(request).operations.ListOperations(call, timeout=CALL_TIMEOUT)
    body: dict[str, Any] = {"tasks": [tasks.task_json(op) for op in page.operations]}
    if page.next_page_token:
        body["nextPageToken"] = page.next_page_token
    return JSONResponse(body)


async def get_video(request: Request) -> Response:
    call = pb.GetVideoRequest(name=f"videos/{request.path_params['video']}")
    video = await backend(request).videos.GetVideo(call, timeout=CALL_TIMEOUT)
    return JSONResponse(tasks.message_json(video))


async def list_videos(request: Request) -> Response:
    call = pb.ListVideosRequest(
        page_size=bodies.page_size(request), page_token=request.query_params.get("pageToken", "")
    )
    page = await backend(request).videos.ListVideos(call, timeout=CALL_TIMEOUT)
    return JSONResponse({"videos": [], **tasks.message_json(page)})


async def delete_video(request: Request) -> Response:
    call = pb.DeleteVideoRequest(
        name=f"videos/{request.path_params['video']}", request_id=idempotency_key(request)
    )
    try:
        op = await backend(request).videos.DeleteVideo(call, timeout=CALL_TIMEOUT)
    except grpc.aio.AioRpcError as exc:
        raise RenamedFields(exc, {"request_id": "Idempotency-Key"}) from None
    return accepted(op)


class RenamedFields(Exception):
    """A failed call whose field violations should use the HTTP caller's names."""

    def __init__(self, error: grpc.aio.AioRpcError, names: dict[str, str]) -> None:
        super().__init__(error.details())
        self.status = status_of(error)
        for detail in self.status.details:
            request = error_details_pb2.BadRequest()
            if detail.Unpack(request):
                for violation in request.field_violations:
                    violation.field = names.get(violation.field, violation.field)
                detail.Pack(request)


# Order matters: the task routes come before /videos/{video}.
ROUTES = [
    Route("/videos/tasks", create_task, methods=["POST"]),
    Route("/videos/tasks", list_tasks, methods=["GET"]),
    Route("/videos/tasks/{task}:cancel", cancel_task, methods=["POST"]),
    Route("/videos/tasks/{task}", get_task, methods=["GET"]),
    Route("/videos/tasks/{task}", delete_task, methods=["DELETE"]),
    # The seeds' own curl reads tasks at the singular path.
    Route("/video/tasks/{task}", get_task, methods=["GET"]),
    Route("/videos", list_videos, methods=["GET"]),
    Route("/videos/{video}", get_video, methods=["GET"]),
    Route("/videos/{video}", delete_video, methods=["DELETE"]),
]
