"""Completion signals across processes: PostgreSQL LISTEN/NOTIFY.

Same interface as notify.Notifier. notify() wakes local subscribers at once
and sends pg_notify, which every process listening on the channel (other
servers, video-worker processes) turns into the same local wake-up. A
listener that loses its connection reconnects; WaitOperation's periodic
re-read covers the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from .notify import Notifier, Subscription

log = logging.getLogger(__name__)

CHANNEL = "longreel"
RECONNECT_DELAY = 1.0  # seconds between attempts to get the listener back
LISTEN_WAIT = 10.0  # seconds start() waits for the listener before going on without it


class PostgresNotifier:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._local = Notifier()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="pg listen"),
            asyncio.create_task(self._send(), name="pg notify"),
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LISTEN_WAIT):
                await self._listening.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def notify(self, key: str) -> None:
        self._local.notify(key)
        self._outbox.put_nowait(key)

    @contextmanager
    def subscribe(self, key: str) -> Iterator[Subscription]:
        with self._local.subscribe(key) as subscription:
            yield subscription

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    # What was sent while we were not listening is lost: let
                    # every waiter and worker look again.
                    self._local.notify_all()
                    async for note in conn.notifies():
                        self._local.notify(note.payload)
            except psycopg.Error as exc:
                log.warning("lost the notification listener (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_DELAY)

    async def _send(self) -> None:
        conn: psycopg.AsyncConnection[object] | None = None
        try:
            while True:
                key = await self._outbox.get()
                try:
                    if conn is None or conn.closed:
                        conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, key))
                except psycopg.Error as exc:
                    log.warning("could not send a notification (%s)", exc)
                    conn = None
        finally:
            if conn is not None:
                await conn.close()
