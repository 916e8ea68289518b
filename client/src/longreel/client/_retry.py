"""Retry policies that also retry RESOURCE_EXHAUSTED when the server says
when to come back (a google.rpc.RetryInfo), and wait at least that long.

api-core's Retry backs off on its own schedule and never reads RetryInfo: a
shed call (SERVER_OVERLOADED, TOO_MANY_WAITS) would come back at once, into
the same overload. A RESOURCE_EXHAUSTED without RetryInfo (a full backlog)
is an answer, not retried. A delay past the retry's deadline ends the retry
at once, instead of sleeping in vain.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from google.api_core import exceptions, retry, retry_async
from google.api_core.retry import exponential_sleep_generator
from google.rpc import error_details_pb2

Predicate = Callable[[Exception], bool]


def retry_delay(exc: Exception) -> float | None:
    """Seconds from the error's RetryInfo, if it carries one."""
    for detail in getattr(exc, "details", None) or ():
        if isinstance(detail, error_details_pb2.RetryInfo):
            return float(detail.retry_delay.ToTimedelta().total_seconds())
    return None


def shed(exc: Exception) -> bool:
    """RESOURCE_EXHAUSTED that says when to retry."""
    return isinstance(exc, exceptions.ResourceExhausted) and retry_delay(exc) is not None


def unavailable_or_shed(exc: Exception) -> bool:
    return isinstance(exc, exceptions.ServiceUnavailable) or shed(exc)


class _Hint:
    """One call's retries: what the last error asked for, kept for the next sleep."""

    def __init__(self, predicate: Predicate) -> None:
        self.predicate = predicate
        self.delay = 0.0

    def check(self, exc: Exception) -> bool:
        retried = self.predicate(exc)
        self.delay = (retry_delay(exc) or 0.0) if retried else 0.0
        return retried

    def sleeps(self, initial: float, maximum: float, multiplier: float) -> Iterator[float]:
        for backoff in exponential_sleep_generator(initial, maximum, multiplier=multiplier):
            yield max(backoff, self.delay)


class Retry(retry.Retry):
    """retry.Retry, sleeping at least what RetryInfo asks."""

    def __call__(self, func: Callable[..., Any], on_error: Any = None) -> Callable[..., Any]:
        on_error = self._on_error or on_error

        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            hint = _Hint(self._predicate)
            return retry.retry_target(
                functools.partial(func, *args, **kwargs),
                hint.check,
                hint.sleeps(self._initial, self._maximum, self._multiplier),
                timeout=self._timeout,
                on_error=on_error,
            )

        return wrapped


class AsyncRetry(retry_async.AsyncRetry):
    """retry_async.AsyncRetry, sleeping at least what RetryInfo asks."""

    def __call__(self, func: Callable[..., Any], on_error: Any = None) -> Callable[..., Any]:
        on_error = self._on_error or on_error

        @functools.wraps(func)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            hint = _Hint(self._predicate)
            return await retry_async.retry_target(
                functools.partial(func, *args, **kwargs),
                hint.check,
                hint.sleeps(self._initial, self._maximum, self._multiplier),
                timeout=self._timeout,
                on_error=on_error,
            )

        return wrapped
