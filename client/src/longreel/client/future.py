"""Operation futures: google-api-core's, told of completion by WaitOperation.

api-core's Operation polls GetOperation with backoff from 1 s to 20 s, so it
learns of completion up to 20 s late. These subclasses keep its whole
interface (result, exception, done, running, cancel, cancelled, metadata,
add_done_callback) and only replace the blocking wait: a WaitOperation long
poll, re-issued until the caller's timeout, which the server answers the
moment the operation is done. done() stays a cheap GetOperation.

Differences worth knowing, as with api-core: cancel() asks; cancelled() is
true once the server has ended the operation (a moment later for running
work). Closing the client abandons waits in progress: they end with the
error the closed channel gives.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from google.api_core import exceptions, operation, operation_async
from google.api_core.future import polling as api_polling
from google.longrunning import operations_pb2

from ._core import DEFAULT_RESULT_TIMEOUT, WAIT_SLICE

log = logging.getLogger(__name__)

# wait(name, seconds to hold the call, seconds the caller has left or None):
# the client retries UNAVAILABLE within the caller's time, not a budget of its own.
Wait = Callable[[str, float, float | None], operations_pb2.Operation]
AsyncWait = Callable[[str, float, float | None], Awaitable[operations_pb2.Operation]]
_DEFAULT = api_polling.PollingFuture._DEFAULT_VALUE  # "timeout not given", as api-core marks it


def _slices(timeout: float | None, now: Callable[[], float]) -> Any:
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
    """What both futures add to api-core's, named alike: the operation's
    name, and the TimeoutError of a wait that ran out."""

    _operation: operations_pb2.Operation

    @property
    def name(self) -> str:
        """The operation's resource name, `operations/{id}`."""
        return str(self._operation.name)

    def _timed_out(self, timeout: float | None, error: Exception | None = None) -> TimeoutError:
        # concurrent.futures.TimeoutError is TimeoutError since Python 3.11.
        why = f": {error.cause}" if isinstance(error, exceptions.RetryError) else ""
        return TimeoutError(f"{self.name} did not complete within {timeout} seconds{why}")


class Operation(_LongPolled, operation.Operation):
    """A long-running operation; `result()` blocks until it is done.

    Example::

        op = client.create_video("My movie", "A plot")
        print(op.name, op.metadata.progress_percent)
        video = op.result(timeout=60)
    """

    def __init__(self, proto: operations_pb2.Operation, *, wait: Wait, **kwargs: Any) -> None:
        super().__init__(proto, **kwargs)  # type: ignore[no-untyped-call]
        self._wait = wait

    def _blocking_poll(
        self, timeout: Any = _DEFAULT, retry: Any = None, polling: Any = None
    ) -> None:
        # retry and polling are api-core's knobs for GetOperation polling; a
        # long poll has no use for them (retries live in the wait callable).
        if timeout is _DEFAULT:
            timeout = DEFAULT_RESULT_TIMEOUT
        if self._result_set:
            return
        try:
            for hold, left in _slices(timeout, time.monotonic):
                self._operation = self._wait(self.name, hold, left)
                self._set_result_from_operation()  # type: ignore[no-untyped-call]
                if self._result_set:
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
        if self._result_set:
            fn(self)
            return
        self._done_callbacks.append(fn)
        if self._polling_thread is None:
            self._polling_thread = threading.Thread(target=self._wait_for_callbacks, daemon=True)
            self._polling_thread.start()

    def _wait_for_callbacks(self) -> None:
        try:
            self._blocking_poll(timeout=None)
        except Exception as error:
            with self._completion_lock:
                if not self._result_set:
                    self.set_exception(error)  # type: ignore[no-untyped-call]


class AsyncOperation(_LongPolled, operation_async.AsyncOperation):
    """The asyncio twin of Operation: `await op.result()`.

    Example::

        op = await client.create_video("My movie", "A plot")
        video = await op.result(timeout=60)
    """

    def __init__(self, proto: operations_pb2.Operation, *, wait: AsyncWait, **kwargs: Any) -> None:
        super().__init__(proto, **kwargs)  # type: ignore[no-untyped-call]
        self._wait = wait

    def _set_result_from_operation(self) -> None:
        # api-core's async twin raises a bare GoogleAPICallError for a failed
        # operation; give the class its code names (Cancelled, NotFound, ...),
        # as the sync Operation does.
        op = self._operation
        with self._completion_lock:
            if op.done and op.HasField("error") and not self._future.done():
                self.set_exception(  # type: ignore[no-untyped-call]
                    exceptions.from_grpc_status(
                        op.error.code, op.error.message, errors=(op.error,), response=op
                    )
                )
        super()._set_result_from_operation()  # type: ignore[no-untyped-call]

    async def _blocking_poll(self, timeout: float | None = None) -> None:
        if self._future.done():
            return
        now = asyncio.get_running_loop().time
        try:
            for hold, left in _slices(timeout, now):
                self._operation = await self._wait(self.name, hold, left)
                self._set_result_from_operation()
                if self._future.done():
                    return
        except exceptions.RetryError as error:
            raise self._timed_out(timeout, error) from error
        raise self._timed_out(timeout)

    def add_done_callback(self, fn: Callable[[AsyncOperation], Any]) -> None:
        """Call fn(self) once the operation is done; a wait that fails for good
        still runs the callbacks, with exception() telling why."""
        if self._background_task is None:
            self._background_task = asyncio.get_running_loop().create_task(
                self._wait_for_callbacks()
            )
        self._future.add_done_callback(lambda _: fn(self))

    async def _wait_for_callbacks(self) -> None:
        try:
            await self._blocking_poll(timeout=None)
        except Exception as error:
            if not self._future.done():
                self.set_exception(error)  # type: ignore[no-untyped-call]
