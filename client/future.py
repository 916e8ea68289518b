"""Operation futures: google-api-core's, told of completion by WaitOperation.

api-core's Operation polls GetOperation with backoff from 1 s to 20 s, so it
learns of completion up to 20 s late. These subclasses keep its whole
interface (result, exception, done, running, cancel, cancelled, metadata,
add_done_callback) and only replace the blocking wait: a WaitOperation long
poll, re-issued until the caller's timeout, which the server answers the
moment the operation is done. done() stays a cheap GetOperation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable
from typing import Any

from google.api_core import exceptions, operation, operation_async
from google.api_core.future import polling as api_polling
from google.longrunning import operations_pb2

from ._core import DEFAULT_RESULT_TIMEOUT, WAIT_SLICE

Wait = Callable[[str, float], operations_pb2.Operation]
AsyncWait = Callable[[str, float], Awaitable[operations_pb2.Operation]]
_DEFAULT = api_polling.PollingFuture._DEFAULT_VALUE  # "timeout not given", as api-core marks it


class Operation(operation.Operation):
    """A long-running operation; `result()` blocks until it is done.

    Example::

        op = client.create_video("My movie", "A plot")
        print(op.name, op.metadata.progress_percent)
        video = op.result(timeout=60)
    """

    def __init__(self, proto: operations_pb2.Operation, *, wait: Wait, **kwargs: Any) -> None:
        super().__init__(proto, **kwargs)  # type: ignore[no-untyped-call]
        self._wait = wait

    @property
    def name(self) -> str:
        """The operation's resource name, `operations/{id}`."""
        return str(self._operation.name)

    def _blocking_poll(
        self, timeout: Any = _DEFAULT, retry: Any = None, polling: Any = None
    ) -> None:
        # retry and polling are api-core's knobs for GetOperation polling; a
        # long poll has no use for them (retries live in the wait callable).
        if timeout is _DEFAULT:
            timeout = DEFAULT_RESULT_TIMEOUT
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._result_set:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise concurrent.futures.TimeoutError(
                    f"{self.name} did not complete within {timeout} seconds"
                )
            slice_ = WAIT_SLICE if left is None else min(WAIT_SLICE, left)
            self._operation = self._wait(self.name, slice_)
            self._set_result_from_operation()  # type: ignore[no-untyped-call]


class AsyncOperation(operation_async.AsyncOperation):
    """The asyncio twin of Operation: `await op.result()`.

    Example::

        op = await client.create_video("My movie", "A plot")
        video = await op.result(timeout=60)
    """

    def __init__(self, proto: operations_pb2.Operation, *, wait: AsyncWait, **kwargs: Any) -> None:
        super().__init__(proto, **kwargs)  # type: ignore[no-untyped-call]
        self._wait = wait

    @property
    def name(self) -> str:
        return str(self._operation.name)

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
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._future.done():
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise TimeoutError(f"{self.name} did not complete within {timeout} seconds")
            self._operation = await self._wait(
                self.name, WAIT_SLICE if left is None else min(WAIT_SLICE, left)
            )
            self._set_result_from_operation()
