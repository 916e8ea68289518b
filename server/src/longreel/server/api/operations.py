"""google.longrunning.Operations: get, list, cancel, delete and wait (AIP-151)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import empty_pb2

from longreel.common import logs
from longreel.common.api_names import ORDER_BY_KEY

from .. import convert, filtering, names, notify, validation
from ..auth import caller
from ..errors import cancelled, invalid_argument, not_found, rpc_errors
from ..store import NotFound, OperationRow, Store
from ..store.pagination import PageTokens
from . import pages

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
OPERATION = "operation"

MAX_WAIT = 60.0  # seconds a WaitOperation is held at most (also when it gives no timeout)
# A wait also re-reads the operation this often: the in-process signal does
# not hear of work that another process (a second server) finished.
RECHECK = 5.0  # seconds
# A wait ends this much before the caller's deadline, so the answer arrives in time.
DEADLINE_MARGIN = 0.5  # seconds, or a tenth of the time left if that is less

# What ListOperations can filter on (AIP-160), as the caller names it.
FILTER_FIELDS = {
    "done": filtering.FieldSpec("done", "bool"),
    "metadata.verb": filtering.FieldSpec("verb", "string", ("create", "delete")),
    "metadata.target": filtering.FieldSpec("target", "string"),
    "metadata.create_time": filtering.FieldSpec("create_time", "timestamp"),
    "error.code": filtering.FieldSpec("error_code", "int"),
}


class Operations(operations_pb2_grpc.OperationsServicer):  # type: ignore[misc]
    def __init__(self, store: Store, tokens: PageTokens) -> None:
        self.store = store
        self.tokens = tokens

    async def _get(self, name: str) -> OperationRow:
        row = await self.store.get_operation(_operation_id(name), caller())
        if row is None:
            raise not_found(OPERATION, name)
        return row

    @rpc_errors
    async def GetOperation(
        self, request: operations_pb2.GetOperationRequest, context: Context
    ) -> operations_pb2.Operation:
        return convert.operation(await self._get(request.name))

    @rpc_errors
    async def ListOperations(
        self, request: operations_pb2.ListOperationsRequest, context: Context
    ) -> operations_pb2.ListOperationsResponse:
        v = validation.Violations()
        if request.name not in ("", names.OPERATIONS):
            v.add("name", f"must be empty or {names.OPERATIONS!r}")
        size = validation.page_size(v, request.page_size)
        where = validation.filter_tree(v, request.filter, FILTER_FIELDS)
        latest = pages.newest_first(context.invocation_metadata())
        if latest is None:
            v.add("order_by", f"{ORDER_BY_KEY} must be one of {', '.join(pages.ORDERS)}")
        v.raise_if_any()
        query = f"{names.OPERATIONS}?filter={request.filter}"
        query += "&order_by=desc" if latest else ""  # a token is for one order only
        after = validation.page_token(self.tokens, request.page_token, query)
        rows = await self.store.list_operations(where, after, size + 1, caller(), bool(latest))
        shown = pages.fit([convert.operation(r) for r in rows[:size]])
        response = operations_pb2.ListOperationsResponse(operations=shown)
        if len(rows) > len(shown):
            response.next_page_token = self.tokens.encode(rows[len(shown) - 1].seq, query)
        return response

    @rpc_errors
    async def DeleteOperation(
        self, request: operations_pb2.DeleteOperationRequest, context: Context
    ) -> empty_pb2.Empty:
        # An unfinished operation runs on, out of the caller's sight (the
        # store's delete_operation): delete means "no longer interested".
        try:
            await self.store.delete_operation(_operation_id(request.name), caller())
        except NotFound:
            raise not_found(OPERATION, request.name) from None
        return empty_pb2.Empty()

    @rpc_errors
    async def CancelOperation(
        self, request: operations_pb2.CancelOperationRequest, context: Context
    ) -> empty_pb2.Empty:
        error = cancelled().SerializeToString()
        try:
            row = await self.store.cancel_operation(
                _operation_id(request.name), self.store.now(), error, caller()
            )
        except NotFound:
            raise not_found(OPERATION, request.name) from None
        log.info("cancellation requested; %s", "done" if row.done else "its worker will stop")
        return empty_pb2.Empty()

    @rpc_errors
    async def WaitOperation(
        self, request: operations_pb2.WaitOperationRequest, context: Context
    ) -> operations_pb2.Operation:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _wait_seconds(request, context.time_remaining())
        # Subscribe before reading, so a finish in between is not missed; the
        # store signals it once committed.
        with self.store.signals.subscribe(
            notify.operation_done(_operation_id(request.name))
        ) as done:
            row = await self._get(request.name)
            while not row.done and (left := deadline - loop.time()) > 0:
                await done.wait(min(left, RECHECK))
                row = await self._get(request.name)
        return convert.operation(row)


def _wait_seconds(request: operations_pb2.WaitOperationRequest, remaining: float | None) -> float:
    """How long a WaitOperation may hold: its timeout, within MAX_WAIT and the deadline."""
    wait = MAX_WAIT
    if request.HasField("timeout"):
        seconds, nanos = request.timeout.seconds, request.timeout.nanos
        if seconds < 0 or nanos < 0:
            raise invalid_argument([("timeout", "must not be negative")])
        if nanos > 999_999_999:  # google.protobuf.Duration's own bound
            raise invalid_argument([("timeout", "nanos must be at most 999,999,999")])
        wait = min(seconds + nanos / 1e9, MAX_WAIT)
    if remaining is not None:
        wait = min(wait, remaining - min(DEADLINE_MARGIN, remaining / 10))
    return wait


def _operation_id(name: str) -> str:
    """The id in a valid operation name; the call's later lines carry the name."""
    v = validation.Violations()
    operation_id = validation.name(v, "name", name, names.OPERATIONS)
    v.raise_if_any()
    logs.bind(operation=name)
    return operation_id
