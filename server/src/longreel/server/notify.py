"""Completion signals: wake whoever waits on a key the moment it is notified.

Keys name what changed: `operation_done(id)` when an operation finishes,
`cancel_requested(id)` for the worker running it, JOBS_QUEUED for idle
workers. Signals are sent by the store, after the commit that makes the
change and only then (store.signals); handlers and workers only subscribe.
This in-process notifier is SQLite's, whose writer thread signals after each
COMMIT; store.postgres.notify.PostgresNotifier offers the same subscriptions
across processes, over LISTEN/NOTIFY. Waiters must subscribe before they
read the state they wait on, so a notification between the read and the
wait is never lost.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

JOBS_QUEUED = "jobs"


def operation_done(operation_id: str) -> str:
    return f"done:{operation_id}"


def cancel_requested(operation_id: str) -> str:
    return f"cancel:{operation_id}"


class Signals(Protocol):
    """What handlers and workers need of the store's signals: to wait for them."""

    def subscribe(self, key: str) -> AbstractContextManager[Subscription]: ...


class Subscription:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, timeout: float | None) -> bool:
        """True if notified (since subscribing or the last wait), False on timeout."""
        # asyncio.timeout, not wait_for: on Python 3.11, wait_for can swallow a
        # cancellation that lands as the event fires (gh-86296), and a worker
        # being stopped would then carry on forever.
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True


class Notifier:
    """In-process notifier; use it from the event loop's thread only."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)

    def notify(self, key: str) -> None:
        for subscription in self._subscribers.get(key, ()):
            subscription.set()

    def notify_all(self) -> None:
        """Wake every subscriber (to re-read): signals may have been missed."""
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.set()

    @contextmanager
    def subscribe(self, key: str) -> Iterator[Subscription]:
        subscription = Subscription()
        self._subscribers[key].add(subscription)
        try:
            yield subscription
        finally:
            waiting = self._subscribers[key]
            waiting.discard(subscription)
            if not waiting:
                del self._subscribers[key]
