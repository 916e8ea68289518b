"""The PostgreSQL backend: several servers and workers on one database.

Every write is one transaction (db.Database.run), and a read one
statement outside any (Database.read); starting a create and finishing a
job share their transaction with concurrent ones of the same kind
(batch.py: group commit). Workers claim
jobs with FOR UPDATE SKIP LOCKED, so any number share the queue without
taking one job twice. Locks are taken in one order everywhere: a job's row,
then its operation's.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from ...filtering import Filter
from ...notify import JOBS_QUEUED, cancel_requested
from ..base import (
    CREATE,
    DELETE,
    AlreadyExists,
    ClaimedJob,
    Conflict,
    FinishedCounts,
    NewOperation,
    NotFound,
    OperationRow,
    Outcome,
    QueueCounts,
    VideoRow,
    revocable,
)
from ..columns import (
    CANCELLED,
    FAILURE_COUNTS,
    FILTER_COLUMNS,
    FINISHED_COUNT,
    OPERATION_COLUMNS,
    QUEUE_COUNTS,
    VIDEO_COLUMNS,
    VISIBLE_VIDEO,
    finished_counts,
    queue_counts,
    video_row,
)
from ..sqlfilter import compile_filter
from .batch import Batcher
from .clock import DatabaseClock, monotonic_us
from .db import CHANNEL, Conn, Database
from .steps import (
    CREATE_STATEMENT,
    Replayed,
    caller_scope,
    fetch_operation,
    finish_job,
    insert_operation,
    leased_seq,
    operation_or_gone,
    operation_row,
    replayed_operation,
    send_signal,
)

COUNT_TIMEOUT = "5s"  # statement_timeout of the metrics' counts: they never hold a connection long


class PostgresStore:
    """Store on a PostgreSQL database, shared by any number of processes."""

    def __init__(self, conninfo: str, *, local_clock: Callable[[], int] = monotonic_us) -> None:
        self.conninfo = conninfo
        self._db = Database(conninfo)
        self._run = self._db.run
        self._read = self._db.read
        # Group commit for the writes that hold a counter's lock to commit; one
        # batcher per counter, so no transaction waits for both (no deadlock
        # between two processes' batches taking them in opposite orders).
        self._batchers = (Batcher(self._db), Batcher(self._db))
        self._creates, self._finishes = (batcher.run for batcher in self._batchers)
        self._clock = DatabaseClock(self._db, local_clock)

    def now(self) -> int:
        """The database server's clock, so leases mean the same on every machine."""
        return self._clock.now()

    async def open(self) -> None:
        await self._db.open()
        await self._clock.start()

    async def close(self) -> None:
        for batcher in self._batchers:
            await batcher.close()
        await self._clock.stop()
        await self._db.close()

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1"))

    async def secret(self) -> bytes:
        async def work(conn: Conn) -> bytes:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('page_token_secret', %s)"
                " ON CONFLICT (key) DO NOTHING",
                (secrets.token_bytes(32),),
            )
            cursor = await conn.execute("SELECT value FROM meta WHERE key = 'page_token_secret'")
            return bytes((await cursor.fetchone())[0])  # type: ignore[index]

        return await self._run(work)

    async def start_create(self, op: NewOperation, title: str, plot: str) -> OperationRow:
        async def work(conn: Conn) -> OperationRow:
            if (earlier := await replayed_operation(conn, CREATE, op)) is not None:
                return earlier
            cursor = await conn.execute(CREATE_STATEMENT, {
                "video": op.video_id, "title": title, "plot": plot, "now": op.now,
                "principal": op.principal, "id": op.id, "verb": CREATE, "target": op.target,
                "message": op.status_message, "request_id": op.request_id,
                "request_hash": op.request_hash, "channel": CHANNEL, "signal": JOBS_QUEUED,
                "trace": op.trace_parent,
            })  # fmt: skip
            made, *row, _ = await cursor.fetchone()  # type: ignore[misc]
            if row[0] is not None:
                return operation_row(row)
            if made:
                raise Replayed()  # a twin with our request_id committed first
            # The id is taken; perhaps by a twin with our request_id that just committed.
            if (earlier := await replayed_operation(conn, CREATE, op)) is not None:
                return earlier
            raise AlreadyExists(op.target)

        return await self._replaying(work, CREATE, op)

    async def start_delete(self, op: NewOperation) -> OperationRow:
        async def work(conn: Conn) -> OperationRow:
            if (earlier := await replayed_operation(conn, DELETE, op)) is not None:
                return earlier
            cursor = await conn.execute(
                "SELECT state FROM videos WHERE id = %s AND principal = %s FOR UPDATE",
                (op.video_id, op.principal),
            )
            row = await cursor.fetchone()
            if row is None or row[0] == "creating":
                raise NotFound(op.target)
            if row[0] == "deleting":  # DELETE is idempotent: the delete under way answers
                cursor = await conn.execute(
                    "SELECT id FROM operations WHERE verb = %s AND video_id = %s AND NOT done",
                    (DELETE, op.video_id),
                )
                return await operation_or_gone(conn, (await cursor.fetchone())[0])  # type: ignore[index]
            await conn.execute(
                "UPDATE videos SET state = 'deleting', update_time = %s WHERE id = %s",
                (op.now, op.video_id),
            )
            return await insert_operation(conn, DELETE, op)

        return await self._replaying(work, DELETE, op)

    async def _replaying(
        self, work: Callable[[Conn], Awaitable[OperationRow]], verb: str, op: NewOperation
    ) -> OperationRow:
        """Run work; if a twin with the same request_id won the race, answer with its operation."""
        try:
            return await (self._creates if verb == CREATE else self._run)(work)
        except Replayed:

            async def replay(conn: Conn) -> OperationRow:
                found = await replayed_operation(conn, verb, op)
                assert found is not None
                return found

            return await self._run(replay)

    async def get_operation(
        self, operation_id: str, principal: str | None = None
    ) -> OperationRow | None:
        return await self._read(lambda conn: fetch_operation(conn, operation_id, principal))

    async def list_operations(
        self, where: Filter | None, after_seq: int, limit: int, principal: str | None = None
    ) -> list[OperationRow]:
        condition, params = (
            ("TRUE", []) if where is None else compile_filter(where, FILTER_COLUMNS, "%s")
        )
        mine, scope = caller_scope(principal)
        sql = (
            f"SELECT {OPERATION_COLUMNS} FROM operations"
            f" WHERE seq > %s AND {mine} AND {condition} ORDER BY seq LIMIT %s"
        )

        async def work(conn: Conn) -> list[OperationRow]:
            cursor = await conn.execute(sql, [after_seq, *scope, *params, limit])
            return [operation_row(r) for r in await cursor.fetchall()]

        return await self._read(work)

    async def get_video(self, video_id: str, principal: str | None = None) -> VideoRow | None:
        mine, scope = caller_scope(principal)

        async def work(conn: Conn) -> VideoRow | None:
            cursor = await conn.execute(
                f"SELECT {VIDEO_COLUMNS} FROM videos WHERE id = %s AND {mine} AND {VISIBLE_VIDEO}",
                (video_id, *scope),
            )
            row = await cursor.fetchone()
            return None if row is None else video_row(row)

        return await self._read(work)

    async def list_videos(
        self, after_seq: int, limit: int, principal: str | None = None
    ) -> list[VideoRow]:
        mine, scope = caller_scope(principal)

        async def work(conn: Conn) -> list[VideoRow]:
            cursor = await conn.execute(
                f"SELECT {VIDEO_COLUMNS} FROM videos"
                f" WHERE list_seq > %s AND {mine} AND {VISIBLE_VIDEO} ORDER BY list_seq LIMIT %s",
                (after_seq, *scope, limit),
            )
            return [video_row(row) for row in await cursor.fetchall()]

        return await self._read(work)

    async def cancel_operation(
        self, operation_id: str, now: int, error: bytes, principal: str | None = None
    ) -> OperationRow:
        mine, scope = caller_scope(principal)

        async def work(conn: Conn) -> OperationRow:
            # Locks in the workers' order, job row first, then the operation:
            # the other order deadlocks against heartbeats and finishes.
            cursor = await conn.execute(
                f"SELECT seq FROM operations WHERE id = %s AND {mine}", (operation_id, *scope)
            )
            row = await cursor.fetchone()
            if row is None:
                raise NotFound(operation_id)
            seq = row[0]
            cursor = await conn.execute(
                "SELECT lease_expires, attempts FROM jobs WHERE operation_seq = %s FOR UPDATE",
                (seq,),
            )
            lease = await cursor.fetchone()
            cursor = await conn.execute(
                "SELECT done, verb FROM operations WHERE seq = %s FOR UPDATE", (seq,)
            )
            done = await cursor.fetchone()
            if done is not None and not done[0]:
                await conn.execute(
                    "UPDATE operations SET cancel_requested = TRUE, update_time = %s"
                    " WHERE seq = %s",
                    (now, seq),
                )
                if lease is not None and lease[0] <= now and revocable(done[1], lease[1]):
                    outcome = Outcome("cancelled", error=error, error_code=CANCELLED)
                    await finish_job(conn, seq, now, outcome)
                else:
                    await send_signal(conn, cancel_requested(operation_id))
            return await operation_or_gone(conn, operation_id)

        return await self._run(work)

    async def delete_operation(self, operation_id: str, principal: str | None = None) -> None:
        async def work(conn: Conn) -> None:
            row = await fetch_operation(conn, operation_id, principal)
            if row is None:
                raise NotFound(operation_id)
            if not row.done:
                raise Conflict("the operation is still running; cancel it first")
            await conn.execute("DELETE FROM operations WHERE id = %s", (operation_id,))

        await self._run(work)

    async def expire_operations(self, ended_before: int, limit: int) -> int:
        async def work(conn: Conn) -> int:
            cursor = await conn.execute(
                "DELETE FROM operations WHERE seq IN (SELECT seq FROM operations"
                " WHERE done AND end_time < %s ORDER BY end_time LIMIT %s FOR UPDATE SKIP LOCKED)",
                (ended_before, limit),
            )
            return cursor.rowcount

        return await self._run(work)

    async def backlog(self) -> int:
        async def work(conn: Conn) -> int:
            cursor = await conn.execute("SELECT count(*) FROM jobs")
            return int((await cursor.fetchone())[0])  # type: ignore[index]

        return await self._read(work)

    async def count_queue(self, now: int) -> QueueCounts:
        async def work(conn: Conn) -> QueueCounts:
            await conn.execute(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")
            cursor = await conn.execute(QUEUE_COUNTS.format("%s"), (now,) * 3)
            return queue_counts(await cursor.fetchone())

        return await self._run(work)

    async def count_finished(self) -> FinishedCounts:
        async def work(conn: Conn) -> FinishedCounts:
            await conn.execute(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")
            cursor = await conn.execute(FINISHED_COUNT.format(done="done"))
            finished = (await cursor.fetchone())[0]  # type: ignore[index]
            cursor = await conn.execute(FAILURE_COUNTS.format(failures="operations", done="done"))
            return finished_counts(finished, await cursor.fetchone())

        return await self._run(work)

    async def claim_job(self, owner: str, now: int, lease: int) -> ClaimedJob | None:
        async def work(conn: Conn) -> ClaimedJob | None:
            cursor = await conn.execute(
                "WITH next AS (SELECT operation_seq, lease_owner FROM jobs"
                " WHERE lease_expires <= %s AND not_before <= %s"
                " ORDER BY operation_seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
                " UPDATE jobs SET lease_owner = %s, lease_expires = %s, attempts = attempts + 1"
                " FROM next WHERE jobs.operation_seq = next.operation_seq"
                " RETURNING jobs.operation_seq, jobs.attempts, next.lease_owner, jobs.trace_parent",
                (now, now, owner, now + lease),
            )
            claimed = await cursor.fetchone()
            if claimed is None:
                return None
            seq, attempts, previous, trace_parent = claimed
            message = "started" if attempts == 1 else f"started again (attempt {attempts})"
            cursor = await conn.execute(
                "UPDATE operations SET status_message = %s, update_time = %s WHERE seq = %s"
                " RETURNING id, verb, video_id, cancel_requested",
                (message, now, seq),
            )
            op_id, verb, video_id, cancel = await cursor.fetchone()  # type: ignore[misc]
            cursor = await conn.execute("SELECT title, plot FROM videos WHERE id = %s", (video_id,))
            video = await cursor.fetchone() or ("", "")
            return ClaimedJob(
                op_id, verb, video_id, video[0], video[1], attempts, cancel, previous, trace_parent
            )

        return await self._run(work)

    async def heartbeat(
        self, operation_id: str, owner: str, now: int, lease: int, percent: int, message: str
    ) -> bool:
        async def work(conn: Conn) -> bool:
            seq = await leased_seq(conn, operation_id, owner)
            await conn.execute(
                "UPDATE jobs SET lease_expires = %s WHERE operation_seq = %s", (now + lease, seq)
            )
            cursor = await conn.execute(
                "UPDATE operations SET progress_percent = %s, status_message = %s,"
                " update_time = %s WHERE seq = %s RETURNING cancel_requested",
                (percent, message, now, seq),
            )
            return bool((await cursor.fetchone())[0])  # type: ignore[index]

        return await self._run(work)

    async def finish(self, operation_id: str, owner: str, now: int, outcome: Outcome) -> None:
        async def work(conn: Conn) -> None:
            await finish_job(conn, await leased_seq(conn, operation_id, owner), now, outcome)

        await self._finishes(work)

    async def retry_later(
        self, operation_id: str, owner: str, now: int, not_before: int, message: str
    ) -> None:
        async def work(conn: Conn) -> None:
            seq = await leased_seq(conn, operation_id, owner)
            await conn.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires = 0, not_before = %s"
                " WHERE operation_seq = %s",
                (not_before, seq),
            )
            await send_signal(conn, JOBS_QUEUED)
            await conn.execute(
                "UPDATE operations SET status_message = %s, update_time = %s WHERE seq = %s",
                (message, now, seq),
            )

        await self._run(work)

    async def release(self, operation_id: str, owner: str) -> None:
        async def work(conn: Conn) -> None:
            seq = await leased_seq(conn, operation_id, owner)
            await conn.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires = 0,"
                " attempts = GREATEST(attempts - 1, 0) WHERE operation_seq = %s",
                (seq,),
            )
            await send_signal(conn, JOBS_QUEUED)  # handed back: another worker may take it now

        await self._run(work)
