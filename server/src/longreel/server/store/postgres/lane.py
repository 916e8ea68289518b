"""Connections kept for point reads (GetOperation, GetVideo), lent with no
bookkeeping but a queue.

A point read is one statement outside a transaction, and most of its cost is
the driver's Python on the same cores as the server: psycopg_pool's checkout
and return (its locks, its checks of the connection's state, its stats)
cost about as much CPU as a third of the read itself (in-process, 64 reads
in flight: ~110 µs a read through the pool, ~85 µs through this queue). So
point reads take a connection of their own from here; writes and longer
reads keep the pool, whose sizing and health checks they need.

Sending the reads that wait together as one executemany was tried and not
kept (docs/benchmarks.md): 3 times the reads a second in-process at 64 in
flight, but behind gRPC the server's own work paces reads to about one at
a time here, where the hand-off to a sender task only added ~25 µs a read.

A connection found closed (the server restarted, an administrator killed
it) is replaced when it is next lent; a read that fails on a connection
that turns out closed runs again on another, as reads may.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from psycopg import AsyncConnection, errors
from psycopg.pq import TransactionStatus

from ..base import InvalidValue, StoreUnavailable
from .db import CONNECT_TIMEOUT, POOL_WAIT, Conn

T = TypeVar("T")
LANE_SIZE = 6  # connections for point reads, besides the pool's


class ReadLane:
    def __init__(self, conninfo: str, size: int = LANE_SIZE) -> None:
        self._conninfo = conninfo
        self._size = size
        self._idle: asyncio.Queue[Conn | None] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self._size):
            self._idle.put_nowait(None)  # connected when first lent

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                await conn.close()

    async def read(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """work(conn), one statement that only reads, on a lane connection."""
        for _ in range(self._size + 1):
            try:
                async with asyncio.timeout(POOL_WAIT):
                    conn = await self._idle.get()
            except TimeoutError:
                raise StoreUnavailable("no connection to the database came free") from None
            try:
                conn = await self._connected(conn)
                return await work(conn)
            except errors.DataError as exc:  # e.g. a NUL in a string: the caller's input
                raise InvalidValue(str(exc).splitlines()[0]) from exc
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
