"""Completion signals across processes: PostgreSQL LISTEN/NOTIFY.

The PostgreSQL store's signals (PostgresStore.signals): its rules send them
with pg_notify inside the transaction that makes the change, so they are
delivered on commit and only then, to every process on the database, this
one included; this notifier listens, turning each into a local wake-up of
the subscribers of its key (notify.Notifier). Nothing else sends: the one
signal a waiter here gets is the one every other process gets. A listener
that loses its connection reconnects and wakes every subscriber to re-read
what it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ...notify import Notifier, Subscription
from .db import CHANNEL

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0  # seconds between attempts to get the listener back
LISTEN_WAIT = 10.0  # seconds start() waits for the listener before going on without it


class PostgresNotifier:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._local = Notifier()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="pg listen")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LISTEN_WAIT):
                await self._listening.wait()
        if not self._listening.is_set():
            log.error("not listening for other processes' signals yet; waits re-read every 5 s")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    @contextmanager
    def subscribe(self, key: str) -> Iterator[Subscription]:
        with self._local.subscribe(key) as subscription:
            yield subscription

    async def _listen(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                try:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    # What was sent while we were not listening is lost: let
                    # every waiter and worker look again.
                    self._local.notify_all()
                    async for note in conn.notifies():
                        self._local.notify(note.payload)
                finally:
                    # Closed, not rolled back: stopping interrupts notifies()
                    # mid-read, and a rollback then could only fail.
                    await conn.close()
            except psycopg.Error as exc:
                log.warning("lost the notification listener (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_DELAY)
