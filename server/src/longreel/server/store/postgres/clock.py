"""The database's clock, read from this process.

Leases are compared across machines: a worker whose clock ran ahead by more
than a lease would take over jobs still running elsewhere. So every process
on one PostgreSQL database keeps time by the database server's clock: the
offset from a local monotonic clock is measured on open and again every
SYNC_INTERVAL, and a reading costs no round trip. Wall-clock steps on this
machine do not move it; the error is half a round trip plus the drift of the
monotonic clock between syncs (parts per million).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .db import Conn, Database

log = logging.getLogger(__name__)

SYNC_INTERVAL = 60.0  # seconds between measurements of the offset
SAMPLES = 3  # per measurement; the one with the shortest round trip wins


def monotonic_us() -> int:
    return time.monotonic_ns() // 1_000


class DatabaseClock:
    def __init__(self, db: Database, local: Callable[[], int] = monotonic_us) -> None:
        self._db = db
        self._local = local
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None

    def now(self) -> int:
        """Microseconds since the epoch, by the database's clock."""
        if self._offset is None:
            raise RuntimeError("the database clock is read before the store is open")
        return self._local() + self._offset

    async def start(self) -> None:
        await self.sync()
        self._task = asyncio.create_task(self._follow(), name="database clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def sync(self) -> None:
        """Measure the offset; the sample with the shortest round trip bounds the error best."""
        best: tuple[int, int] | None = None
        for _ in range(SAMPLES):
            before, remote, after = await self._db.run(self._sample)
            trip = after - before
            if best is None or trip < best[0]:
                best = (trip, remote - (before + after) // 2)
        assert best is not None
        self._offset = best[1]

    async def _sample(self, conn: Conn) -> tuple[int, int, int]:
        before = self._local()
        cursor = await conn.execute(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
        )
        remote = int((await cursor.fetchone())[0])  # type: ignore[index]
        return before, remote, self._local()

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(SYNC_INTERVAL)
            try:
                await self.sync()
            except Exception as exc:  # keep the last offset; it drifts by ppm only
                log.warning("could not read the database clock: %s", exc)
