"""Point reads (GetOperation, GetVideo) on connections of their own, and
those that arrive together sent together.

A point read is one statement outside a transaction, and most of its cost
is not the row: it is the driver's Python, the event loop's wake-up, and the
database backend's reading and writing of its socket, each paid per round
trip on the same cores as the server. So reads wait in one queue, and up to
LANE_SIZE sender tasks, a connection each, take every read waiting (up to
BATCH) and send each group of the same statement as one `executemany` in
pipeline mode: a round trip and a wake-up per statement, not per read.
A read that finds nothing ahead of it goes out at once, through a sender;
reads that arrive while the senders are busy, or in the same turn of the
event loop, go together. In-process, 64 reads in flight: ~98 µs of the
process's CPU a read one at a time, 23-26 µs batched, and ~4 times the
reads a second. Behind gRPC on 2 cores the server's own work per call paces
the reads, so they reach the lane about one at a time (1.02 a round trip
in make bench's case 9) and nothing changes there (docs/benchmarks.md).

The lane skips psycopg_pool's checkout and return (its locks, its checks of
the connection's state, its stats: a third of a read's CPU); writes and
longer reads keep the pool, whose sizing and health checks they need.

A connection found closed (the server restarted, an administrator killed
it) is replaced when it is next lent; a read that fails on a connection
that turns out closed runs again on another, as reads may. A value the
database refuses (a NUL in a string) fails its own read, not its batch's.
A read that no connection has taken within POOL_WAIT (the database hangs)
fails as the pool's would: the store is unavailable.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, errors
from psycopg.pq import TransactionStatus

from ..base import InvalidValue, StoreUnavailable
from .db import CONNECT_TIMEOUT, POOL_WAIT, Conn

T = TypeVar("T")
LANE_SIZE = 6  # connections for point reads, besides the pool's
BATCH = 64  # reads sent in one round trip at most

Params = Mapping[str, Any]
Waiting = tuple[str, Params, "asyncio.Future[Any]"]


class ReadLane:
    def __init__(self, conninfo: str, size: int = LANE_SIZE) -> None:
        self._conninfo = conninfo
        self._size = size
        self._idle: asyncio.Queue[Conn | None] = asyncio.Queue()
        self._waiting: list[Waiting] = []
        self._senders: set[asyncio.Task[None]] = set()
        self._closed = False

    async def open(self) -> None:
        for _ in range(self._size):
            self._idle.put_nowait(None)  # connected when first lent

    async def close(self) -> None:
        self._closed = True
        waiting, self._waiting = self._waiting, []
        _fail(waiting, StoreUnavailable("the store is closing"))
        for sender in list(self._senders):
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                await conn.close()

    async def fetch_one(self, sql: str, params: Params) -> Any:
        """The first row of a statement that only reads (None if it has none)."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = (sql, params, answer)
        self._waiting.append(entry)
        if len(self._senders) < self._size:
            sender = asyncio.create_task(self._send())
            self._senders.add(sender)
        try:
            async with asyncio.timeout(POOL_WAIT):
                return await asyncio.shield(answer)
        except TimeoutError:
            if any(waiting is entry for waiting in self._waiting):
                # Every connection is still busy with earlier reads: a hung database.
                self._waiting.remove(entry)
                raise StoreUnavailable("no connection to the database came free") from None
            return await answer  # on its way: as long as a read takes
        except asyncio.CancelledError:
            answer.cancel()  # its caller went away: its sender drops the row
            raise

    async def _send(self) -> None:
        try:
            await self._send_all()
        finally:  # at once, in the step that saw nothing waiting: a read queued
            # after it starts a sender of its own (a done-callback would come too late)
            self._senders.discard(asyncio.current_task())

    async def _send_all(self) -> None:
        """Send what waits, a batch per free connection, until nothing does."""
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            reads = [(sql, params) for sql, params, _ in batch]
            try:
                rows = await self._read(functools.partial(_rows, reads=reads))
            except Exception as exc:
                _fail(batch, exc)
                continue
            except BaseException:  # cancelled: the lane is closing
                _fail(batch, StoreUnavailable("the store is closing"))
                raise
            for (_, _, answer), row in zip(batch, rows, strict=True):
                if answer.done():
                    continue  # its caller went away
                if isinstance(row, Exception):
                    answer.set_exception(row)
                else:
                    answer.set_result(row)

    async def _read(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """work(conn) on a lane connection, again on another if this one was closed."""
        for _ in range(self._size + 1):
            # Never empty: a sender holds one connection at a time, and there
            # are no more senders than connections.
            conn = self._idle.get_nowait()
            try:
                conn = await self._connected(conn)
                return await work(conn)
            except (psycopg.OperationalError, errors.AdminShutdown) as exc:
                if conn is not None and not conn.closed:
                    raise StoreUnavailable(f"the database is unavailable: {exc}") from exc
            finally:
                self._idle.put_nowait(conn)
        raise StoreUnavailable("every connection to the database was closed")

    async def _connected(self, conn: Conn | None) -> Conn:
        if conn is not None and not conn.closed:
            if conn.info.transaction_status == TransactionStatus.IDLE:
                return conn
            await conn.close()  # a read cancelled mid-way left it busy
        try:
            return await AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(f"the database is unavailable: {exc}") from exc


def _fail(waiting: list[Waiting], exc: BaseException) -> None:
    for _, _, answer in waiting:
        if not answer.done():
            answer.set_exception(exc)


async def _rows(conn: Conn, *, reads: list[tuple[str, Params]]) -> list[Any]:
    """Each read's first row, or the error the database gave that read alone."""
    rows: list[Any] = [None] * len(reads)
    groups: dict[str, list[int]] = {}
    for index, (sql, _) in enumerate(reads):
        groups.setdefault(sql, []).append(index)
    for sql, indexes in groups.items():
        try:
            for index, row in zip(indexes, await _many(conn, sql, indexes, reads), strict=True):
                rows[index] = row
        except errors.DataError:  # one read's value; find whose
            for index in indexes:
                rows[index] = await _alone(conn, sql, reads[index][1])
    return rows


async def _many(
    conn: Conn, sql: str, indexes: list[int], reads: list[tuple[str, Params]]
) -> list[Any]:
    if len(indexes) == 1:
        cursor = await conn.execute(sql, reads[indexes[0]][1])
        return [await cursor.fetchone()]
    cursor = conn.cursor()
    await cursor.executemany(sql, [reads[index][1] for index in indexes], returning=True)
    rows = [await cursor.fetchone()]
    while cursor.nextset():
        rows.append(await cursor.fetchone())
    return rows


async def _alone(conn: Conn, sql: str, params: Params) -> Any:
    try:
        cursor = await conn.execute(sql, params)
        return await cursor.fetchone()
    except errors.DataError as exc:  # e.g. a NUL in a string: the caller's input
        return InvalidValue(str(exc).splitlines()[0])
