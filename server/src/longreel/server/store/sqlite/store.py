"""The SQLite backend: the embedded default, one file under the data directory.

Every method is one transaction, most of them one of the store's rules
(../rules.py, run by ../ruled.py) on SQLite's queries (queries.py). Writes
go through the group-commit writer (db.Database.write), which sends a
write's signals to this process's waiters (self.signals) after its commit;
reads of one row by key run on the event loop (Database.read_row), other
reads through the reader pool.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ... import clock
from ...notify import Notifier
from ..base import FinishedCounts, QueueCounts
from ..columns import FAILURE_COUNTS, FINISHED_COUNT, QUEUE_COUNTS, finished_counts, queue_counts
from ..dialect import Query, Rule, drive
from ..ruled import RuledStore
from .db import Database
from .queries import SQLITE

T = TypeVar("T")


def run(conn: sqlite3.Connection, rule: Rule[T], signals: list[str] | None = None) -> T:
    """Run a rule on conn; its signals go to `signals`, to be sent after the commit."""

    def execute(query: Query) -> Any:
        cursor = conn.execute(SQLITE.sql(query), query.params)
        if query.fetch == "count":
            return cursor.rowcount
        return cursor.fetchall() if query.fetch == "all" else cursor.fetchone()

    def signal(key: str) -> None:
        if signals is not None:
            signals.append(key)

    return drive(rule, execute, signal)


class SQLiteStore(RuledStore):
    """Store on one SQLite file (WAL, synchronous=FULL)."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        # In process only: other processes on the file (video-worker) poll.
        self.signals = Notifier()
        self._db = Database(path, self.signals.notify)

    def now(self) -> int:
        """This machine's clock: every process on one SQLite file runs on it."""
        return clock.now()

    async def open(self) -> None:
        # Off the event loop: a migration may wait out another process's lock.
        await asyncio.to_thread(self._db.open)

    async def close(self) -> None:
        self._db.close()

    # Each takes a rule's maker: a read tried on the loop first may run again
    # on a reader thread (Database.read_row), and a rule runs only once.
    async def _write(self, rule: Callable[[], Rule[T]]) -> T:
        signals: list[str] = []  # sent by the writer once the write commits
        return await self._db.write(lambda conn: run(conn, rule(), signals), signals)

    async def _read_row(self, rule: Callable[[], Rule[T]]) -> T:
        return await self._db.read_row(lambda conn: run(conn, rule()))

    async def _read(self, rule: Callable[[], Rule[T]]) -> T:
        return await self._db.read(lambda conn: run(conn, rule()))

    async def ping(self) -> None:
        await self._db.write(lambda conn: None)  # an empty write transaction

    async def backlog(self) -> int:
        sql = "SELECT value FROM meta WHERE key = 'backlog'"
        row = await self._db.read(lambda c: c.execute(sql).fetchone())
        return int(row[0])

    async def count_queue(self, now: int) -> QueueCounts:
        sql = QUEUE_COUNTS.format("?")
        return queue_counts(await self._db.read(lambda c: c.execute(sql, (now,) * 3).fetchone()))

    async def count_finished(self) -> FinishedCounts:
        # Without statistics (no ANALYZE), SQLite would rather read the failures
        # through operations_by_done, row by row.
        failures = FAILURE_COUNTS.format(
            failures="operations INDEXED BY operations_by_failure", done="done = 1"
        )

        def read(conn: sqlite3.Connection) -> FinishedCounts:
            finished = conn.execute(FINISHED_COUNT.format(done="done = 1")).fetchone()[0]
            return finished_counts(finished, conn.execute(failures).fetchone())

        return await self._db.read(read)
