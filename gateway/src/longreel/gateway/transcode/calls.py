"""Making the gRPC call a binding names, over the gateway's own stubs.

Short calls go over the shared channel with CALL_TIMEOUT, as the seeds'
routes do. Held calls, WaitOperation and server streams, take a ticket and a
lane of their own (backend.py, holds.py), 429 past the caps. A server stream
is answered as Envoy's and ESPv2's transcoders answer one: a JSON array of
its messages, written as they come; the first message is awaited before any
header, so an error at the start is an ordinary error answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf.message import Message
from starlette.requests import Request

from ..backend import CALL_TIMEOUT, WAIT_SLACK, Backend
from ..bodies import MAX_WAIT
from ..errors import HttpError
from ..holds import HeldStream
from ..routes import until_disconnected
from .messages import response_part, to_json
from .rules import Binding

log = logging.getLogger(__name__)

# The Backend (and Lane) attribute holding each service's stub.
STUBS = {"longreel.video.v1.VideoService": "videos", "google.longrunning.Operations": "operations"}
LANE_STUBS = {"longreel.video.v1.VideoService": "videos", "google.longrunning.Operations": "waits"}
WAIT = "google.longrunning.Operations.WaitOperation"


async def unary(request: Request, binding: Binding, message: Message) -> Message:
    """The answer of a unary call; WaitOperation held on a lane."""
    api: Backend = request.app.state.backend
    if binding.method.full_name == WAIT:
        assert isinstance(message, operations_pb2.WaitOperationRequest)
        waited: Message = await _wait(request, api, message)
        return waited
    rpc = getattr(getattr(api, STUBS[_service(binding)]), binding.method.name)
    answer = await rpc(message, timeout=CALL_TIMEOUT)
    assert isinstance(answer, Message)
    return answer


async def _wait(
    request: Request, api: Backend, message: operations_pb2.WaitOperationRequest
) -> operations_pb2.Operation:
    # No timeout means the longest wait, MAX_WAIT, which the server allows too.
    wait = MAX_WAIT
    if message.HasField("timeout"):
        wait = min(message.timeout.ToTimedelta().total_seconds(), MAX_WAIT)
        message.timeout.FromMilliseconds(int(max(wait, 0) * 1000))
    ticket, lane = api.hold(request)
    with ticket:
        call = lane.waits.WaitOperation(message, timeout=max(wait, 0) + WAIT_SLACK)
        answer: operations_pb2.Operation = await until_disconnected(request, call)
    return answer


async def stream(
    request: Request, binding: Binding, message: Message, enum_ints: bool
) -> HeldStream:
    """A server stream as a JSON array, on a held lane, without a deadline for
    the whole (a reader may be slow), but CALL_TIMEOUT for the first message."""
    api: Backend = request.app.state.backend
    ticket, lane = api.hold(request)
    try:
        rpc = getattr(getattr(lane, LANE_STUBS[_service(binding)]), binding.method.name)
        call = rpc(message)
        first = await _first(call)
    except BaseException:
        ticket.release()
        raise
    pieces = _array(call, first, binding, enum_ints)
    return HeldStream(ticket, pieces, media_type="application/json")


async def _first(call: grpc.aio.UnaryStreamCall[Any, Any]) -> object:
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            return await call.read()
    except TimeoutError:
        call.cancel()
        raise HttpError(
            grpc.StatusCode.UNAVAILABLE, "the server did not start its answer", "SLOW_READ"
        ) from None
    except BaseException:
        call.cancel()
        raise


async def _array(
    call: grpc.aio.UnaryStreamCall[Any, Any], first: object, binding: Binding, enum_ints: bool
) -> AsyncIterator[bytes]:
    """`[`, the messages separated by commas, `]`. A failure after the first
    message ends the body without its `]`: no JSON parser takes it as whole."""
    try:
        separator = b"["
        item = first
        while item is not grpc.aio.EOF:
            assert isinstance(item, Message)
            part = to_json(response_part(item, binding), enum_ints)
            yield separator + json.dumps(part).encode()
            separator = b","
            item = await call.read()
        yield b"]" if separator == b"," else b"[]"
    except grpc.aio.AioRpcError as exc:
        log.warning("%s broke off: %s %s", binding.method.full_name, exc.code(), exc.details())
    finally:
        call.cancel()  # the client went away mid-stream: stop the server's work too


def _service(binding: Binding) -> str:
    return str(binding.method.containing_service.full_name)
