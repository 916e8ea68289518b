"""GET /videos/tasks/{task}/events: a task's progress as Server-Sent Events.

The stream is fed by WaitOperation, which wakes the moment the operation ends
but not when its progress moves. So while a task runs, each wait holds for
PROGRESS_EVERY at most and an event goes out only when the task changed: one
call a second per open stream, however many streams, and the end is told at
once. A stream lives LIFETIME at most, as a long poll does (the page opens
another), so a gateway that is stopping is not held open by it. A client that
goes away ends the stream and its wait: Starlette cancels the response.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2
from starlette.requests import Request
from starlette.responses import Response

from . import tasks
from .backend import CALL_TIMEOUT, WAIT_SLACK, Backend, Lane
from .bodies import MAX_WAIT
from .errors import http_status, status_json, status_of
from .holds import HeldStream

PROGRESS_EVERY = 1.0  # seconds: how stale a running task's progress may get
HEARTBEAT = 15.0  # seconds of silence before a comment keeps proxies from closing the stream
LIFETIME = MAX_WAIT  # seconds a stream lasts at most
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # nginx: do not buffer
MEDIA_TYPE = "text/event-stream"


async def task_events(request: Request) -> Response:
    """The task's state now, then each change, then its end. An unknown task
    is an ordinary error answer: the first read happens before the stream."""
    api: Backend = request.app.state.backend
    name = tasks.operation_name(request.path_params["task"])
    op = await api.operations.GetOperation(
        operations_pb2.GetOperationRequest(name=name), timeout=CALL_TIMEOUT
    )
    if request.method == "HEAD":
        return Response(headers=HEADERS, media_type=MEDIA_TYPE)
    ticket, lane = api.hold(request)
    return HeldStream(ticket, _changes(lane, op), headers=HEADERS, media_type=MEDIA_TYPE)


async def _changes(api: Lane, op: operations_pb2.Operation) -> AsyncIterator[bytes]:
    clock = asyncio.get_running_loop().time
    ends = clock() + LIFETIME
    sent: tuple[Any, ...] | None = None
    said = clock()
    while True:
        body = tasks.task_json(op)
        shown = (body["status"], body["progress"], body["requestedCancellation"])
        if shown != sent:
            yield event("done" if op.done else "progress", body)
            sent, said = shown, clock()
        elif clock() - said >= HEARTBEAT:
            yield b": still running\n\n"
            said = clock()
        if op.done or clock() >= ends:
            return
        try:
            op = await _wait(api, op.name)
        except grpc.aio.AioRpcError as exc:
            status = status_of(exc)
            yield event("error", {"error": status_json(status, http_status(status.code))})
            return


async def _wait(api: Lane, name: str) -> operations_pb2.Operation:
    timeout = duration_pb2.Duration()
    timeout.FromMilliseconds(int(PROGRESS_EVERY * 1000))
    call = operations_pb2.WaitOperationRequest(name=name, timeout=timeout)
    op: operations_pb2.Operation = await api.waits.WaitOperation(
        call, timeout=PROGRESS_EVERY + WAIT_SLACK
    )
    return op


def event(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()
