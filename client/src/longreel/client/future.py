"""Operation futures with google-api-core's interface, told of completion
by WaitOperation.

api-core's Operation polls GetOperation with backoff from 1 s to 20 s, so it
learns of completion up to 20 s late. These futures keep its whole public
interface (result, exception, done, running, cancel, cancelled, operation,
metadata, add_done_callback, set_result, set_exception; the abstract
`google.api_core.future.base.Future`) and wait by long poll instead: a
WaitOperation, re-issued until the caller's timeout, which the server
answers the moment the operation is done. done() stays a cheap GetOperation.

They own their state (a concurrent.futures.Future, an asyncio.Future) rather
than subclass api-core's polling futures, whose private attributes
(_result_set, _polling_thread, _blocking_poll...) a release may rename: only
api-core's public names are used here.

As with api-core: cancel() asks; cancelled() is true once the server has
ended the operation (a moment later for running work). Closing the client
abandons waits in progress: they end with the error the closed channel gives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from google.api_core import exceptions, protobuf_helpers
from google.api_core.future import base
from google.longrunning import operations_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2

from ._core import DEFAULT_RESULT_TIMEOUT, WAIT_SLICE

# wait(name, seconds to hold the call, seconds the caller has left or None):
# the client retries UNAVAILABLE within the caller's time, not a budget of its own.
Wait = Callable[[str, float, float | None], operations_pb2.Operation]
AsyncWait = Callable[[str, float, float | None], Awaitable[operations_pb2.Operation]]


def _slices(
    timeout: float | None, now: Callable[[], float]
) -> Iterator[tuple[float, float | None]]:
    """(hold, left) for each WaitOperation until the deadline; the first even
    at timeout 0, so result(timeout=0) still asks the server once."""
    deadline = None if timeout is None else now() + timeout
    first = True
    while True:
        left = None if deadline is None else deadline - now()
        if left is not None and left <= 0 and not first:
            return
        first = False
        hold = WAIT_SLICE if left is None else max(0.0, min(WAIT_SLICE, left))
        yield hold, left


class _LongPolled:
    """What both futures share: the operation as last seen, what it holds,
    and the outcome a done one stands for."""

    _operation: operations_pb2.Operation
    _result_type: type[Message]
    _metadata_type: type[Message]

    def _keep(self, proto: operations_pb2.Operation, **types: type[Message]) -> None:
        self._operation = proto
        self._result_type = types["result_type"]
        self._metadata_type = types["metadata_type"]

    @property
    def name(self) -> str:
        """The operation's resource name, `operations/{id}`."""
        return str(self._operation.name)

    @property
    def operation(self) -> operations_pb2.Operation:
        """The google.longrunning.Operation as last seen."""
        return self._operation

    @property
    def metadata(self) -> Any:
        """The operation's OperationMetadata as last seen (None if it has none)."""
        if not self._operation.HasField("metadata"):
            return None
        return protobuf_helpers.from_any_pb(self._metadata_type, self._operation.metadata)

    @classmethod
    def deserialize(cls, payload: bytes) -> operations_pb2.Operation:
        return operations_pb2.Operation.FromString(payload)

    def _outcome(self) -> tuple[Any, BaseException | None]:
        """(result, None) or (None, the api-core exception) of the done operation:
        a failure gets its code's class (Cancelled, FailedPrecondition...)."""
        op = self._operation
        if op.HasField("response"):
            return protobuf_helpers.from_any_pb(self._result_type, op.response), None
        if op.HasField("error"):
            error = exceptions.from_grpc_status(
                op.error.code, op.error.message, errors=(op.error,), response=op
            )
            return None, error
        return None, exceptions.GoogleAPICallError("the operation is done with no result")

    def _is_cancelled(self) -> bool:
        return bool(
            self._operation.HasField("error") and self._operation.error.code == code_pb2.CANCELLED
        )

    def _timed_out(self, timeout: float | None, error: Exception | None = None) -> TimeoutError:
        # concurrent.futures.TimeoutError and asyncio.TimeoutError are TimeoutError since 3.11.
        why = f": {error.cause}" if isinstance(error, exceptions.RetryError) else ""
        return TimeoutError(f"{self.name} did not complete within {timeout} seconds{why}")


class Operation(_LongPolled, base.Future):
    """A long-running operation; `result()` blocks until it is done.

    Example::

        op = client.create_video(video={"title": "My movie"})
        print(op.name, op.metadata.progress_percent)
        video = op.result(timeout=60)
    """

    def __init__(
        self,
        proto: operations_pb2.Operation,
        *,
        wait: Wait,
        refresh: Callable[[], operations_pb2.Operation],
        cancel: Callable[[], None],
        **types: type[Message],
    ) -> None:
        self._keep(proto, **types)
        self._wait, self._refresh, self._cancel = wait, refresh, cancel
        self._state: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._settled = False
        self._waiter: threading.Thread | None = None
        self._update(proto)

    def _update(self, proto: operations_pb2.Operation) -> None:
        """Keep the latest state; settle the future once it is done."""
        with self._lock:
            self._operation = proto
            if not proto.done or self._settled:
                return
            self._settled = True
        result, error = self._outcome()
        if error is None:
            self._state.set_result(result)
        else:
            self._state.set_exception(error)

    def done(self, retry: Any = None) -> bool:
        """Asks the server (one GetOperation) unless the future is settled."""
        if not self._state.done():
            self._update(self._refresh())
        return self._state.done()

    def running(self) -> bool:
        return not self.done()

    def cancel(self) -> bool:
        """Ask the server to cancel; False if the operation is already done."""
        if self.done():
            return False
        self._cancel()
        return True

    def cancelled(self) -> bool:
        self.done()
        return self._is_cancelled()

    def result(
        self, timeout: float | None = DEFAULT_RESULT_TIMEOUT, retry: Any = None, polling: Any = None
    ) -> Any:
        """The result (a Video; Empty for a delete), or the failure raised.
        `retry` and `polling` are api-core's knobs for GetOperation polling:
        a long poll has no use for them (retries live in the wait)."""
        self._long_poll(timeout)
        return self._state.result(timeout=0)

    def exception(self, timeout: float | None = DEFAULT_RESULT_TIMEOUT) -> BaseException | None:
        self._long_poll(timeout)
        return self._state.exception(timeout=0)

    def _long_poll(self, timeout: float | None) -> None:
        if self._state.done():
            return
        try:
            for hold, left in _slices(timeout, time.monotonic):
                self._update(self._wait(self.name, hold, left))
                if self._state.done():
                    return
        except exceptions.RetryError as error:  # the server stayed away past the deadline
            raise self._timed_out(timeout, error) from error
        raise self._timed_out(timeout)

    def add_done_callback(self, fn: Callable[[Operation], Any]) -> None:
        """Call fn(self) once the operation is done (from a background thread).

        Unlike api-core's, the background wait has no time limit, and if it
        fails for good (the client closed, the operation deleted) the
        callbacks still run, with exception() telling why.
        """
        self._state.add_done_callback(lambda _: fn(self))
        with self._lock:
            if self._waiter is not None or self._state.done():
                return
            self._waiter = threading.Thread(target=self._wait_for_callbacks, daemon=True)
        self._waiter.start()

    def _wait_for_callbacks(self) -> None:
        try:
            self._long_poll(None)
        except Exception as error:
            self.set_exception(error)

    def set_result(self, result: Any) -> None:
        """Settle the future by hand (as api-core's allows); later news is ignored."""
        if self._claim():
            self._state.set_result(result)

    def set_exception(self, exception: BaseException) -> None:
        if self._claim():
            self._state.set_exception(exception)

    def _claim(self) -> bool:
        with self._lock:
            first, self._settled = not self._settled, True
            return first


class AsyncOperation(_LongPolled, base.Future):
    """The asyncio twin of Operation: `await op.result()`.

    Example::

        op = await client.create_video(video={"title": "My movie"})
        video = await op.result(timeout=60)
    """

    def __init__(
        self,
        proto: operations_pb2.Operation,
        *,
        wait: AsyncWait,
        refresh: Callable[[], Awaitable[operations_pb2.Operation]],
        cancel: Callable[[], Awaitable[None]],
        **types: type[Message],
    ) -> None:
        self._keep(proto, **types)
        self._wait, self._refresh, self._cancel = wait, refresh, cancel
        self._state: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiter: asyncio.Task[None] | None = None
        self._update(proto)

    def _update(self, proto: operations_pb2.Operation) -> None:
        # One event loop: no lock needed between the check and the set.
        self._operation = proto
        if not proto.done or self._state.done():
            return
        result, error = self._outcome()
        if error is None:
            self._state.set_result(result)
        else:
            self._state.set_exception(error)

    async def done(self, retry: Any = None) -> bool:
        if not self._state.done():
            self._update(await self._refresh())
        return self._state.done()

    async def running(self) -> bool:
        return not await self.done()

    async def cancel(self) -> bool:
        if await self.done():
            return False
        await self._cancel()
        return True

    async def cancelled(self) -> bool:
        await self.done()
        return self._is_cancelled()

    async def result(self, timeout: float | None = None) -> Any:
        """The result, or the failure raised; waits at most `timeout` seconds (None: no limit)."""
        await self._long_poll(timeout)
        return self._state.result()

    async def exception(self, timeout: float | None = None) -> BaseException | None:
        await self._long_poll(timeout)
        return self._state.exception()

    async def _long_poll(self, timeout: float | None) -> None:
        if self._state.done():
            return
        now = asyncio.get_running_loop().time
        try:
            for hold, left in _slices(timeout, now):
                self._update(await self._wait(self.name, hold, left))
                if self._state.done():
                    return
        except exceptions.RetryError as error:
            raise self._timed_out(timeout, error) from error
        raise self._timed_out(timeout)

    def add_done_callback(self, fn: Callable[[AsyncOperation], Any]) -> None:
        """Call fn(self) once the operation is done; a wait that fails for good
        still runs the callbacks, with exception() telling why."""
        self._state.add_done_callback(lambda _: fn(self))
        if self._waiter is None and not self._state.done():
            self._waiter = asyncio.get_running_loop().create_task(self._wait_for_callbacks())

    async def _wait_for_callbacks(self) -> None:
        try:
            await self._long_poll(None)
        except Exception as error:
            self.set_exception(error)

    def set_result(self, result: Any) -> None:
        if not self._state.done():
            self._state.set_result(result)

    def set_exception(self, exception: BaseException) -> None:
        if not self._state.done():
            self._state.set_exception(exception)
