"""Point reads (GetOperation, GetVideo) on connections of their own, and
those that arrive together sent together.

A point read is one statement outside a transaction, and most of its cost
is not the row: it is the driver's Python, the event loop's wake-up, and the
database backend's reading and writing of its socket, each paid per round
trip on the same cores as the server. So reads wait in one queue, and a
lane connection that comes free takes every read waiting (up to BATCH) and
sends each group of the same statement as one `executemany` in pipeline
mode: one round trip, one wake-up. Alone, a read goes out at once on a free
connection, as before; only reads that would have waited for a connection
share one. In-process, 64 reads in flight: ~98 µs of the process's CPU a
read one at a time, 23-26 µs batched, and ~4 times the reads a second.
Behind gRPC on 2 cores the server's own work per call paces the reads, so
they reach the lane ~1.1 at a time and nothing changes there (docs/benchmarks.md).

The lane skips psycopg_pool's checkout and return (its locks, its checks of
the connection's state, its stats: a third of a read's CPU); writes and
longer reads keep the pool, whose sizing and health checks they need.

A connection found closed (the server restarted, an administrator killed
it) is replaced when it is next lent; a read that fails on a connection
that turns out closed runs again on another, as reads may. A value the
database refuses (a NUL in a string) fails its own read, not its batch's.
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

    async def open(self) -> None:
        for _ in range(self._size):
            self._idle.put_nowait(None)  # connected when first lent

    async def close(self) -> None:
        for sender in list(self._senders):
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                await conn.close()

    async def fetch_one(self, sql: str, params: Params) -> Any:
        """The first row of a statement that only reads (None if it has none)."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((sql, params, answer))
        if len(self._senders) < self._size:
            sender = asyncio.create_task(self._send())
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await answer

    async def _send(self) -> None:
        """Send what waits, a batch per free connection, until nothing does."""
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            try:
                rows = await self._read(functools.partial(_rows, batch=batch))
            except Exception as exc:
                for _, _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            except BaseException:  # cancelled: the lane is closing
                for _, _, answer in batch:
                    answer.cancel()
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
            try:
                async with asyncio.timeout(POOL_WAIT):
                    conn = await self._idle.get()
            except TimeoutError:
                raise StoreUnavailable("no connection to the database came free") from None
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


async def _rows(conn: Conn, *, batch: list[Waiting]) -> list[Any]:
    """Each read's first row, or the error the database gave that read alone."""
    rows: list[Any] = [None] * len(batch)
    groups: dict[str, list[int]] = {}
    for index, (sql, _, _) in enumerate(batch):
        groups.setdefault(sql, []).append(index)
    for sql, indexes in groups.items():
        try:
            for index, row in zip(indexes, await _many(conn, sql, indexes, batch), strict=True):
                rows[index] = row
        except errors.DataError:  # one read's value; find whose
            for index in indexes:
                rows[index] = await _alone(conn, sql, batch[index][1])
    return rows


async def _many(conn: Conn, sql: str, indexes: list[int], batch: list[Waiting]) -> list[Any]:
    if len(indexes) == 1:
        cursor = await conn.execute(sql, batch[indexes[0]][1])
        return [await cursor.fetchone()]
    cursor = conn.cursor()
    await cursor.executemany(sql, [batch[index][1] for index in indexes], returning=True)
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
