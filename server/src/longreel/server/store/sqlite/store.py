"""The SQLite backend: the embedded default, one file under the data directory.

Every method is one transaction. Writes go through the group-commit writer
(db.Database.write); reads of one row by key run on the event loop
(Database.read_row), other reads through the reader pool.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from ... import clock
from ...filtering import Filter
from ...media import Media
from ..base import (
    CREATE,
    DELETE,
    AlreadyExists,
    ClaimedJob,
    Conflict,
    FinishedCounts,
    LeaseLost,
    NewOperation,
    NotFound,
    OperationRow,
    Outcome,
    QueueCounts,
    RequestIdReused,
    VideoRow,
    revocable,
)
from ..columns import (
    CANCELLED,
    FAILURE_COUNTS,
    FILTER_COLUMNS,
    FINISHED_COUNT,
    MEDIA_UPDATE,
    OPERATION_COLUMNS,
    QUEUE_COUNTS,
    VIDEO_COLUMNS,
    VISIBLE_VIDEO,
    finished_counts,
    media_values,
    queue_counts,
    video_row,
)
from ..sqlfilter import compile_filter
from .db import Database


def _operation(row: Any) -> OperationRow:
    """Map a row selected with OPERATION_COLUMNS."""
    id_, seq, verb, target, done, percent, message, cancel, created, updated, ended, resp, err = row
    return OperationRow(
        id_, seq, verb, target, bool(done), percent, message, bool(cancel),
        created, updated, ended, resp, err,
    )  # fmt: skip


def _scope(principal: str | None) -> tuple[str, tuple[str, ...]]:
    """The condition that keeps a caller to its own rows (None: everyone's)."""
    return ("1 = 1", ()) if principal is None else ("principal = ?", (principal,))


def _fetch_operation(
    conn: sqlite3.Connection, operation_id: str, principal: str | None = None
) -> OperationRow | None:
    mine, params = _scope(principal)
    row = conn.execute(
        f"SELECT {OPERATION_COLUMNS} FROM operations WHERE id = ? AND {mine}",
        (operation_id, *params),
    ).fetchone()
    return None if row is None else _operation(row)


def _operation_or_gone(
    conn: sqlite3.Connection, operation_id: str, principal: str | None = None
) -> OperationRow:
    row = _fetch_operation(conn, operation_id, principal)
    if row is None:
        raise NotFound(operation_id)
    return row


def _replay(conn: sqlite3.Connection, verb: str, op: NewOperation) -> OperationRow | None:
    """The operation an earlier call with this request_id started, if any (AIP-155)."""
    if op.request_id is None:
        return None
    row = conn.execute(
        "SELECT id, request_hash FROM operations"
        " WHERE principal = ? AND verb = ? AND request_id = ?",
        (op.principal, verb, op.request_id),
    ).fetchone()
    if row is None:
        return None
    if row[1] != op.request_hash:
        raise RequestIdReused(op.request_id)
    return _operation_or_gone(conn, row[0])


def _insert_operation(conn: sqlite3.Connection, verb: str, op: NewOperation) -> OperationRow:
    cursor = conn.execute(
        "INSERT INTO operations (id, verb, target, video_id, status_message, create_time,"
        " update_time, request_id, request_hash, principal)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (op.id, verb, op.target, op.video_id, op.status_message, op.now, op.now,
         op.request_id, op.request_hash, op.principal),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO jobs (operation_seq, trace_parent) VALUES (?, ?)",
        (cursor.lastrowid, op.trace_parent),
    )
    return _operation_or_gone(conn, op.id)


def _settle_video(
    conn: sqlite3.Connection, verb: str, video_id: str, ok: bool, now: int, media: Media | None
) -> None:
    """Bring the video to where the finished operation leaves it."""
    if verb == CREATE and ok:
        if media is not None:
            conn.execute(
                f"UPDATE videos SET {MEDIA_UPDATE.format('?')} WHERE id = ?",
                (*media_values(media), video_id),
            )
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('video_list_seq', 1)"
            " ON CONFLICT (key) DO UPDATE SET value = value + 1"
        )
        conn.execute(
            "UPDATE videos SET state = 'active', create_time = ?, update_time = ?,"
            " list_seq = (SELECT value FROM meta WHERE key = 'video_list_seq') WHERE id = ?",
            (now, now, video_id),
        )
    elif verb == CREATE:
        conn.execute("DELETE FROM videos WHERE id = ? AND state = 'creating'", (video_id,))
    elif ok:
        conn.execute("DELETE FROM videos WHERE id = ?", (video_id,))
    else:
        conn.execute(
            "UPDATE videos SET state = 'active' WHERE id = ? AND state = 'deleting'", (video_id,)
        )


def _finish(conn: sqlite3.Connection, seq: int, now: int, outcome: Outcome) -> None:
    verb, video_id = conn.execute(
        "SELECT verb, video_id FROM operations WHERE seq = ?", (seq,)
    ).fetchone()
    ok = outcome.error is None
    _settle_video(conn, verb, video_id, ok, now, outcome.media)
    conn.execute(
        "UPDATE operations SET done = 1, end_time = ?, update_time = ?, response = ?, error = ?,"
        " error_code = ?, status_message = ?,"
        " progress_percent = CASE WHEN ? THEN 100 ELSE progress_percent END WHERE seq = ?",
        (now, now, outcome.response, outcome.error, outcome.error_code, outcome.message, ok, seq),
    )
    conn.execute("DELETE FROM jobs WHERE operation_seq = ?", (seq,))


def _leased_seq(conn: sqlite3.Connection, operation_id: str, owner: str) -> int:
    row = conn.execute(
        "SELECT o.seq FROM operations o JOIN jobs j ON j.operation_seq = o.seq"
        " WHERE o.id = ? AND j.lease_owner = ?",
        (operation_id, owner),
    ).fetchone()
    if row is None:
        raise LeaseLost(operation_id)
    return int(row[0])


class SQLiteStore:
    """Store on one SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: Path) -> None:
        self._db = Database(path)

    def now(self) -> int:
        """This machine's clock: every process on one SQLite file runs on it."""
        return clock.now()

    async def open(self) -> None:
        # Off the event loop: a migration may wait out another process's lock.
        await asyncio.to_thread(self._db.open)

    async def close(self) -> None:
        self._db.close()

    async def ping(self) -> None:
        await self._db.write(lambda conn: None)  # an empty write transaction

    async def secret(self) -> bytes:
        def write(conn: sqlite3.Connection) -> bytes:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('page_token_secret', ?)",
                (secrets.token_bytes(32),),
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'page_token_secret'").fetchone()
            return bytes(row[0])

        return await self._db.write(write)

    async def start_create(self, op: NewOperation, title: str, plot: str) -> OperationRow:
        def write(conn: sqlite3.Connection) -> OperationRow:
            if (earlier := _replay(conn, CREATE, op)) is not None:
                return earlier
            if conn.execute("SELECT 1 FROM videos WHERE id = ?", (op.video_id,)).fetchone():
                raise AlreadyExists(op.target)
            conn.execute(
                "INSERT INTO videos (id, title, plot, state, create_time, update_time, principal)"
                " VALUES (?, ?, ?, 'creating', ?, ?, ?)",
                (op.video_id, title, plot, op.now, op.now, op.principal),
            )
            return _insert_operation(conn, CREATE, op)

        return await self._db.write(write)

    async def start_delete(self, op: NewOperation) -> OperationRow:
        def write(conn: sqlite3.Connection) -> OperationRow:
            if (earlier := _replay(conn, DELETE, op)) is not None:
                return earlier
            row = conn.execute(
                "SELECT state FROM videos WHERE id = ? AND principal = ?",
                (op.video_id, op.principal),
            ).fetchone()
            if row is None or row[0] == "creating":
                raise NotFound(op.target)
            if row[0] == "deleting":  # DELETE is idempotent: the delete under way answers
                running = conn.execute(
                    "SELECT id FROM operations WHERE verb = ? AND video_id = ? AND done = 0",
                    (DELETE, op.video_id),
                ).fetchone()
                return _operation_or_gone(conn, running[0])
            conn.execute(
                "UPDATE videos SET state = 'deleting', update_time = ? WHERE id = ?",
                (op.now, op.video_id),
            )
            return _insert_operation(conn, DELETE, op)

        return await self._db.write(write)

    async def get_operation(
        self, operation_id: str, principal: str | None = None
    ) -> OperationRow | None:
        return await self._db.read_row(lambda c: _fetch_operation(c, operation_id, principal))

    async def list_operations(
        self, where: Filter | None, after_seq: int, limit: int, principal: str | None = None
    ) -> list[OperationRow]:
        condition, params = (
            ("1 = 1", []) if where is None else compile_filter(where, FILTER_COLUMNS)
        )
        mine, scope = _scope(principal)
        sql = (
            f"SELECT {OPERATION_COLUMNS} FROM operations"
            f" WHERE seq > ? AND {mine} AND {condition} ORDER BY seq LIMIT ?"
        )
        rows = await self._db.read(
            lambda c: c.execute(sql, [after_seq, *scope, *params, limit]).fetchall()
        )
        return [_operation(r) for r in rows]

    async def get_video(self, video_id: str, principal: str | None = None) -> VideoRow | None:
        mine, scope = _scope(principal)
        sql = f"SELECT {VIDEO_COLUMNS} FROM videos WHERE id = ? AND {mine} AND {VISIBLE_VIDEO}"
        row = await self._db.read_row(lambda c: c.execute(sql, (video_id, *scope)).fetchone())
        return None if row is None else video_row(row)

    async def list_videos(
        self, after_seq: int, limit: int, principal: str | None = None
    ) -> list[VideoRow]:
        mine, scope = _scope(principal)
        sql = (
            f"SELECT {VIDEO_COLUMNS} FROM videos"
            f" WHERE list_seq > ? AND {mine} AND {VISIBLE_VIDEO} ORDER BY list_seq LIMIT ?"
        )
        rows = await self._db.read(lambda c: c.execute(sql, (after_seq, *scope, limit)).fetchall())
        return [video_row(r) for r in rows]

    async def cancel_operation(
        self, operation_id: str, now: int, error: bytes, principal: str | None = None
    ) -> OperationRow:
        def write(conn: sqlite3.Connection) -> OperationRow:
            row = _operation_or_gone(conn, operation_id, principal)
            if row.done:
                return row  # the result stands
            conn.execute(
                "UPDATE operations SET cancel_requested = 1, update_time = ? WHERE seq = ?",
                (now, row.seq),
            )
            lease = conn.execute(
                "SELECT lease_expires, attempts FROM jobs WHERE operation_seq = ?", (row.seq,)
            ).fetchone()
            if lease is not None and lease[0] <= now and revocable(row.verb, lease[1]):
                outcome = Outcome("cancelled", error=error, error_code=CANCELLED)
                _finish(conn, row.seq, now, outcome)
            return _operation_or_gone(conn, operation_id)

        return await self._db.write(write)

    async def delete_operation(self, operation_id: str, principal: str | None = None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            row = _fetch_operation(conn, operation_id, principal)
            if row is None:
                raise NotFound(operation_id)
            if not row.done:
                raise Conflict("the operation is still running; cancel it first")
            conn.execute("DELETE FROM operations WHERE id = ?", (operation_id,))

        await self._db.write(write)

    async def expire_operations(self, ended_before: int, limit: int) -> int:
        def write(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "DELETE FROM operations WHERE seq IN (SELECT seq FROM operations"
                " WHERE done = 1 AND end_time < ? ORDER BY end_time LIMIT ?)",
                (ended_before, limit),
            )
            return cursor.rowcount

        return await self._db.write(write)

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

    async def claim_job(self, owner: str, now: int, lease: int) -> ClaimedJob | None:
        def write(conn: sqlite3.Connection) -> ClaimedJob | None:
            row = conn.execute(
                "SELECT j.operation_seq, o.id, o.verb, o.video_id, v.title, v.plot,"
                " j.attempts + 1, o.cancel_requested, j.lease_owner, j.trace_parent"
                " FROM jobs j JOIN operations o ON o.seq = j.operation_seq"
                " LEFT JOIN videos v ON v.id = o.video_id"
                " WHERE j.lease_expires <= ? AND j.not_before <= ?"
                " ORDER BY j.operation_seq LIMIT 1",
                (now, now),
            ).fetchone()
            if row is None:
                return None
            seq, op_id, verb, video_id, title, plot, attempts, cancel, previous, trace = row
            conn.execute(
                "UPDATE jobs SET lease_owner = ?, lease_expires = ?, attempts = ?"
                " WHERE operation_seq = ?",
                (owner, now + lease, attempts, seq),
            )
            conn.execute(
                "UPDATE operations SET status_message = ?, update_time = ? WHERE seq = ?",
                ("started" if attempts == 1 else f"started again (attempt {attempts})", now, seq),
            )
            return ClaimedJob(
                op_id, verb, video_id, title or "", plot or "", attempts, bool(cancel),
                previous, trace,
            )  # fmt: skip

        return await self._db.write(write)

    async def heartbeat(
        self, operation_id: str, owner: str, now: int, lease: int, percent: int, message: str
    ) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            seq = _leased_seq(conn, operation_id, owner)
            conn.execute(
                "UPDATE jobs SET lease_expires = ? WHERE operation_seq = ?", (now + lease, seq)
            )
            conn.execute(
                "UPDATE operations SET progress_percent = ?, status_message = ?, update_time = ?"
                " WHERE seq = ?",
                (percent, message, now, seq),
            )
            row = conn.execute("SELECT cancel_requested FROM operations WHERE seq = ?", (seq,))
            return bool(row.fetchone()[0])

        return await self._db.write(write)

    async def finish(self, operation_id: str, owner: str, now: int, outcome: Outcome) -> None:
        await self._db.write(
            lambda conn: _finish(conn, _leased_seq(conn, operation_id, owner), now, outcome)
        )

    async def retry_later(
        self, operation_id: str, owner: str, now: int, not_before: int, message: str
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            seq = _leased_seq(conn, operation_id, owner)
            conn.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires = 0, not_before = ?"
                " WHERE operation_seq = ?",
                (not_before, seq),
            )
            conn.execute(
                "UPDATE operations SET status_message = ?, update_time = ? WHERE seq = ?",
                (message, now, seq),
            )

        await self._db.write(write)

    async def release(self, operation_id: str, owner: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            seq = _leased_seq(conn, operation_id, owner)
            conn.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_expires = 0,"
                " attempts = MAX(attempts - 1, 0) WHERE operation_seq = ?",
                (seq,),
            )

        await self._db.write(write)
