"""The PostgreSQL backend: several servers and workers on one database.

Every write is one transaction (db.Database.run), and a read one statement
outside any (Database.read), most running one of the store's rules
(../rules.py, run by ../ruled.py) on PostgreSQL's queries (queries.py).
Starting a create and finishing a job share their transaction with
concurrent ones of the same kind (batch.py: group commit). Workers claim jobs with FOR UPDATE SKIP
LOCKED, so any number share the queue without taking one job twice. Locks
are taken in one order everywhere: a job's row, then its operation's.
Creates hold no lock through their commit: operations are numbered from a
sequence, and pages of them are read only as far as they are final
(listing.py), so servers' creates do not take turns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ...filtering import Filter
from .. import rules
from ..base import (
    CREATE,
    DELETE,
    FinishedCounts,
    NewOperation,
    OperationRow,
    Outcome,
    QueueCounts,
)
from ..columns import FAILURE_COUNTS, FINISHED_COUNT, QUEUE_COUNTS, finished_counts, queue_counts
from ..dialect import Rule
from ..ruled import RuledStore
from ..rules import Replayed
from .batch import Batcher
from .clock import DatabaseClock, monotonic_us
from .db import Conn, Database
from .lane import ReadLane
from .listing import list_operations
from .notify import PostgresNotifier
from .queries import POSTGRES
from .steps import run, start_create

T = TypeVar("T")
COUNT_TIMEOUT = "5s"  # statement_timeout of the metrics' counts: they never hold a connection long


class PostgresStore(RuledStore):
    """Store on a PostgreSQL database, shared by any number of processes."""

    dialect = POSTGRES

    def __init__(self, conninfo: str, *, local_clock: Callable[[], int] = monotonic_us) -> None:
        self.conninfo = conninfo
        # Sent by the rules with pg_notify, delivered on commit; this process
        # hears its own signals over LISTEN like everyone else's.
        self.signals = PostgresNotifier(conninfo)
        self._db = Database(conninfo)
        self._lane = ReadLane(conninfo)  # point reads, without the pool's bookkeeping
        # Group commit for creates and finishes; one batcher each, so no
        # transaction both numbers operations and holds the videos counter's
        # lock (finishes), and none waits for the other's batch.
        self._batchers = (Batcher(self._db, pipelined=True), Batcher(self._db))
        self._creates, self._finishes = (batcher.run for batcher in self._batchers)
        self._clock = DatabaseClock(self._db, local_clock)

    def now(self) -> int:
        """The database server's clock, so leases mean the same on every machine."""
        return self._clock.now()

    async def open(self) -> None:
        await self._db.open()
        await self._lane.open()
        await self._clock.start()
        await self.signals.start()

    async def close(self) -> None:
        await self.signals.stop()
        for batcher in self._batchers:
            await batcher.close()
        await self._clock.stop()
        await self._lane.close()
        await self._db.close()

    async def _write(self, rule: Callable[[], Rule[T]]) -> T:
        """The rule in a transaction of its own (made afresh for each attempt)."""
        return await self._db.run(lambda conn: run(conn, rule()))

    async def _read(self, rule: Callable[[], Rule[T]]) -> T:
        """A rule of one statement that only reads, outside any transaction."""
        return await self._db.read(lambda conn: run(conn, rule()))

    async def _read_row(self, rule: Callable[[], Rule[T]]) -> T:
        """A rule that reads one row by key, on a connection of the read lane."""
        return await self._lane.read(lambda conn: run(conn, rule()))

    async def ping(self) -> None:
        await self._db.read(lambda conn: conn.execute("SELECT 1"))

    async def start_create(self, op: NewOperation, title: str, plot: str) -> OperationRow:
        return await self._replaying(lambda conn: start_create(conn, op, title, plot), CREATE, op)

    async def start_delete(self, op: NewOperation) -> OperationRow:
        return await self._replaying(
            lambda conn: run(conn, rules.start_delete(POSTGRES, op)), DELETE, op
        )

    async def _replaying(
        self, work: Callable[[Conn], Awaitable[OperationRow]], verb: str, op: NewOperation
    ) -> OperationRow:
        """Run work; if a twin with the same request_id won the race, answer with its operation."""
        try:
            return await (self._creates if verb == CREATE else self._db.run)(work)
        except Replayed:

            async def replay(conn: Conn) -> OperationRow:
                found = await run(conn, rules.replay(POSTGRES, verb, op))
                assert found is not None
                return found

            return await self._db.run(replay)

    async def list_operations(
        self,
        where: Filter | None,
        after_seq: int,
        limit: int,
        principal: str | None = None,
        newest_first: bool = False,
    ) -> list[OperationRow]:
        """A page read only as far as no running transaction can still add to it (listing.py)."""
        return await self._db.read(
            lambda conn: list_operations(conn, where, after_seq, limit, principal, newest_first)
        )

    async def backlog(self) -> int:
        async def work(conn: Conn) -> int:
            cursor = await conn.execute("SELECT count(*) FROM jobs")
            return int((await cursor.fetchone())[0])  # type: ignore[index]

        return await self._db.read(work)

    async def count_queue(self, now: int) -> QueueCounts:
        async def work(conn: Conn) -> QueueCounts:
            await conn.execute(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")
            cursor = await conn.execute(QUEUE_COUNTS.format("%s"), (now,) * 3)
            return queue_counts(await cursor.fetchone())

        return await self._db.run(work)

    async def count_finished(self) -> FinishedCounts:
        async def work(conn: Conn) -> FinishedCounts:
            await conn.execute(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")
            cursor = await conn.execute(FINISHED_COUNT.format(done="done"))
            finished = (await cursor.fetchone())[0]  # type: ignore[index]
            cursor = await conn.execute(FAILURE_COUNTS.format(failures="operations", done="done"))
            return finished_counts(finished, await cursor.fetchone())

        return await self._db.run(work)

    async def finish(self, operation_id: str, owner: str, now: int, outcome: Outcome) -> None:
        await self._finishes(
            lambda conn: run(conn, rules.finish_leased(operation_id, owner, now, outcome))
        )
