"""PostgreSQL plumbing: a connection pool, transactions, and migrations.

A call's work runs in one transaction (a read of one statement, in none);
one PostgreSQL picks as a deadlock victim runs again, and so does one that
met a connection the server had closed; outages become StoreUnavailable,
values the database cannot hold InvalidValue. The schema is migrated on open under an advisory
lock, so processes starting together do not race.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool

from ..base import InvalidValue, StoreUnavailable

T = TypeVar("T")
Conn = AsyncConnection[Any]

MIGRATION_LOCK = 0x6C6F6E67  # pg_advisory_xact_lock key ("long")
CHANNEL = "longreel"  # the LISTEN/NOTIFY channel of signals between processes
POOL_SIZE = 10
POOL_WAIT = 5.0  # seconds a call waits for a connection before the store counts as unavailable
CONNECT_TIMEOUT = 10  # seconds
TRANSACTION_ATTEMPTS = 3  # a deadlock victim is run again this many times at most


async def migrate(conn: Conn) -> None:
    """Apply migrations/NNNN_*.sql not yet applied, one process at a time."""
    folder = importlib.resources.files(__package__).joinpath("migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"
        )
        cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        current = (await cursor.fetchone())[0]  # type: ignore[index]
        if current > len(files):
            raise StoreUnavailable(
                f"the database schema is version {current}, newer than this program knows"
                f" ({len(files)}); run a newer release"
            )
        for number, script in enumerate(files, start=1):
            if number > current:
                await conn.execute(script.read_text())
                await conn.execute("INSERT INTO schema_migrations VALUES (%s)", (number,))


class Database:
    """A pool of connections to one database, and the one way to use them."""

    def __init__(self, conninfo: str, *, pool_size: int = POOL_SIZE) -> None:
        self.conninfo = conninfo
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=POOL_WAIT,
            kwargs={"autocommit": True},
        )

    async def open(self) -> None:
        try:
            # One plain connection first: its error names the cause (refused,
            # no such database, bad password), where the pool's only says it timed out.
            async with await AsyncConnection.connect(
                self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            ) as conn:
                await migrate(conn)
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except (psycopg.Error, TimeoutError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreUnavailable(f"cannot open the database: {reason}") from exc

    async def close(self) -> None:
        await self._pool.close()

    async def run(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """work(conn) in one transaction, repeated if PostgreSQL chose it as a
        deadlock victim; database outages become StoreUnavailable."""
        return await self._attempt(work, transaction=True)

    async def read(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """work(conn), one statement that only reads, outside a transaction:
        BEGIN and COMMIT would be two more round trips for nothing."""
        return await self._attempt(work, transaction=False)

    async def _attempt(self, work: Callable[[Conn], Awaitable[T]], *, transaction: bool) -> T:
        """Connections are not checked on the way out of the pool (a round
        trip per call); one the server closed while it sat idle fails before
        anything ran, and the work runs again on the next."""
        victims = 0
        for _ in range(self._pool.max_size + 2):
            started, used = False, None
            try:
                async with self._pool.connection() as conn:
                    used = conn
                    if not transaction:
                        return await work(conn)
                    async with conn.transaction():
                        started = True
                        return await work(conn)
            except (errors.DeadlockDetected, errors.SerializationFailure):
                victims += 1
                if victims == TRANSACTION_ATTEMPTS:
                    raise StoreUnavailable("the database kept aborting the transaction") from None
            except errors.DataError as exc:  # e.g. a NUL in a string: the caller's input
                raise InvalidValue(str(exc).splitlines()[0]) from exc
            except (psycopg.OperationalError, errors.AdminShutdown) as exc:
                if started or used is None or not used.closed:
                    raise StoreUnavailable(f"the database is unavailable: {exc}") from exc
        raise StoreUnavailable("every pooled connection to the database was closed")
