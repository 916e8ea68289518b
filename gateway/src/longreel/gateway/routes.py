"""The HTTP routes: each reads the request, makes one gRPC call, shapes the answer.

Failures raise (HttpError, or the call's grpc.aio.AioRpcError) and leave
through the exception handlers in app.py, so no route chooses its own error
format.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.longrunning import operations_pb2
from google.protobuf import duration_pb2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from longreel.video.v1 import video_service_pb2 as pb

from . import bodies, content, events, tasks
from .backend import CALL_TIMEOUT, WAIT_SLACK, Backend
from .errors import bad_request

T = TypeVar("T")

RETRY_AFTER = "1"  # seconds a client should wait before reading a pending task again
NO_STORE = {"Cache-Control": "no-store"}  # a task's state is news; never serve it from a cache


def backend(request: Request) -> Backend:
    found: Backend = request.app.state.backend
    return found


def task_location(op: operations_pb2.Operation) -> dict[str, str]:
    url = tasks.task_url(op.name)
    return {"Content-Location": url, "Location": url}


def accepted(op: operations_pb2.Operation) -> Response:
    """202 for a started task, telling the caller where to watch it. A repeat
    (same Idempotency-Key) of a task that has finished answers as a read does."""
    if op.done:
        return task_response(op)
    headers = {**task_location(op), "Retry-After": RETRY_AFTER, **NO_STORE}
    return JSONResponse(tasks.task_json(op), 202, headers)


def task_response(op: operations_pb2.Operation) -> Response:
    """200 while pending (or failed, cancelled, deleted); 303 to the video once made."""
    headers = {"Content-Location": tasks.task_url(op.name), **NO_STORE}
    if not op.done:
        headers["Retry-After"] = RETRY_AFTER
    elif (video := tasks.created_video(op)) is not None:
        headers["Location"] = f"/{video.name}"
        return JSONResponse(tasks.task_json(op), 303, headers)
    return JSONResponse(tasks.task_json(op), 200, headers)


async def create_task(request: Request) -> Response:
    fields = bodies.strings(await bodies.json_object(request), ("title",), ("plot", "id"))
    call = pb.CreateVideoRequest(
        video=pb.Video(title=fields["title"], plot=fields.get("plot", "")),
        video_id=fields.get("id", ""),
        request_id=bodies.idempotency_key(request),
    )
    return accepted(await backend(request).videos.CreateVideo(call, timeout=CALL_TIMEOUT))


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
        ticket, lane = api.hold(request)
        with ticket:
            op = await until_disconnected(
                request, lane.waits.WaitOperation(call, timeout=wait + WAIT_SLACK)
            )
    return task_response(op)


async def until_disconnected(request: Request, call: Awaitable[T]) -> T:
    """Await call, cancelling it if the HTTP client goes away first: a long
    poll nobody will read must not hold a server-side wait."""
    answer = asyncio.ensure_future(call)
    gone = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not answer.done():
        answer.cancel()
        raise ClientGone()
    return answer.result()


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


class ClientGone(Exception):
    """The HTTP client left before its answer was ready."""


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
    wanted = request.query_params.get("status")
    if wanted is not None and wanted not in tasks.STATUSES:
        raise bad_request([("status", f"must be one of {', '.join(tasks.STATUSES)}")])
    call = operations_pb2.ListOperationsRequest(
        name="operations",
        filter=tasks.STATUS_FILTERS[wanted] if wanted else "",
        page_size=bodies.page_size(request),
        page_token=request.query_params.get("pageToken", ""),
    )
    order = tasks.order_by(request.query_params.get("orderBy", ""))
    page = await backend(request).operations.ListOperations(
        call, timeout=CALL_TIMEOUT, metadata=order
    )
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
        name=f"videos/{request.path_params['video']}",
        request_id=bodies.idempotency_key(request),
    )
    return accepted(await backend(request).videos.DeleteVideo(call, timeout=CALL_TIMEOUT))


def route(
    path: str, *, head: bool = True, **handlers: Callable[[Request], Awaitable[Response]]
) -> Route:
    """One route per path, dispatching on the method, so a 405 names every
    method the path allows (Allow). A GET answers HEAD too (openapi.py
    documents it), unless `head` is False: an event stream has no headers
    worth a request of their own."""

    async def endpoint(request: Request) -> Response:
        return await handlers["GET" if request.method == "HEAD" else request.method](request)

    resource = Resource(path, endpoint, methods=list(handlers))
    if not head and resource.methods is not None:
        resource.methods.discard("HEAD")
    return resource


class Resource(Route):
    """A route whose path parameters never hold ':', which starts a custom
    method (`/videos/tasks/{task}:cancel`): so `GET /videos/tasks/x:cancel` is
    that route's 405 with Allow, not a read of a task named `x:cancel` (400),
    and an unknown custom method is 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        params = child.get("path_params", {}) if match is not Match.NONE else {}
        if any(":" in str(value) for value in params.values()):
            return Match.NONE, {}
        return match, child


# Order matters: the task routes come before /videos/{video}.
ROUTES = [
    route("/videos/tasks", POST=create_task, GET=list_tasks),
    route("/videos/tasks/{task}:cancel", POST=cancel_task),
    route("/videos/tasks/{task}/events", head=False, GET=events.task_events),
    route("/videos/tasks/{task}", GET=get_task, DELETE=delete_task),
    # The seeds' own curl reads tasks at the singular path.
    route("/video/tasks/{task}", GET=get_task),
    route("/videos", GET=list_videos),
    route("/videos/{video}/content", GET=content.video_content),
    route("/videos/{video}/thumbnail", GET=content.thumbnail),
    route("/videos/{video}", GET=get_video, DELETE=delete_video),
]
