"""The steps PostgreSQL transactions are made of: reading an operation in
the caller's scope, replaying a request_id, numbering and inserting an
operation with its job (a create in one statement), settling a video,
finishing a job. Each runs on the connection of a transaction the store
opened; none commits."""

from __future__ import annotations

from typing import Any

from ...media import Media
from ...notify import JOBS_QUEUED, operation_done
from ..base import (
    CREATE,
    LeaseLost,
    NewOperation,
    NotFound,
    OperationRow,
    Outcome,
    RequestIdReused,
)
from ..columns import MEDIA_UPDATE, OPERATION_COLUMNS, media_values
from .db import CHANNEL, Conn


class Replayed(Exception):
    """A concurrent twin (same request_id) committed first: answer with its operation."""


def operation_row(row: Any) -> OperationRow:
    id_, seq, verb, target, done, percent, message, cancel, created, updated, ended, resp, err = row
    return OperationRow(
        id_, seq, verb, target, done, percent, message, cancel,
        created, updated, ended, as_bytes(resp), as_bytes(err),
    )  # fmt: skip


def as_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def caller_scope(principal: str | None) -> tuple[str, tuple[str, ...]]:
    """The condition that keeps a caller to its own rows (None: everyone's)."""
    return ("TRUE", ()) if principal is None else ("principal = %s", (principal,))


async def fetch_operation(
    conn: Conn, operation_id: str, principal: str | None = None
) -> OperationRow | None:
    mine, params = caller_scope(principal)
    cursor = await conn.execute(
        f"SELECT {OPERATION_COLUMNS} FROM operations WHERE id = %s AND {mine}",
        (operation_id, *params),
    )
    row = await cursor.fetchone()
    return None if row is None else operation_row(row)


async def operation_or_gone(
    conn: Conn, operation_id: str, principal: str | None = None
) -> OperationRow:
    row = await fetch_operation(conn, operation_id, principal)
    if row is None:
        raise NotFound(operation_id)
    return row


async def replayed_operation(conn: Conn, verb: str, op: NewOperation) -> OperationRow | None:
    if op.request_id is None:
        return None
    cursor = await conn.execute(
        "SELECT id, request_hash FROM operations"
        " WHERE principal = %s AND verb = %s AND request_id = %s",
        (op.principal, verb, op.request_id),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    if bytes(row[1]) != op.request_hash:
        raise RequestIdReused(op.request_id)
    return await operation_or_gone(conn, row[0])


async def send_signal(conn: Conn, key: str) -> None:
    """NOTIFY every listening process of key; PostgreSQL delivers it on commit
    only, so a signal is never sent for a change that did not happen, nor lost
    when a process dies between its commit and a separate send."""
    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, key))


async def next_number(conn: Conn, counter: str) -> int:
    """The next keyset number; its row lock keeps numbers in commit order."""
    cursor = await conn.execute(
        "UPDATE counters SET value = value + 1 WHERE name = %s RETURNING value", (counter,)
    )
    return int((await cursor.fetchone())[0])  # type: ignore[index]


async def insert_operation(conn: Conn, verb: str, op: NewOperation) -> OperationRow:
    cursor = await conn.execute(
        "INSERT INTO operations (seq, id, verb, target, video_id, status_message, create_time,"
        " update_time, request_id, request_hash, principal)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (principal, verb, request_id) WHERE request_id IS NOT NULL DO NOTHING"
        " RETURNING seq",
        (await next_number(conn, "operations"), op.id, verb, op.target, op.video_id,
         op.status_message, op.now, op.now, op.request_id, op.request_hash, op.principal),
    )  # fmt: skip
    row = await cursor.fetchone()
    if row is None:
        raise Replayed()
    await conn.execute(
        "INSERT INTO jobs (operation_seq, trace_parent) VALUES (%s, %s)", (row[0], op.trace_parent)
    )
    await send_signal(conn, JOBS_QUEUED)
    return await operation_or_gone(conn, op.id)


# A create in one statement, one round trip: the video, the next operation
# number (its row lock keeps numbers in commit order), the operation, its job
# and the signal to workers. An empty operation says which insert clashed.
CREATE_STATEMENT = f"""
WITH video AS (
    INSERT INTO videos (id, title, plot, state, create_time, update_time, principal)
    VALUES (%(video)s, %(title)s, %(plot)s, 'creating', %(now)s, %(now)s, %(principal)s)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), number AS (
    UPDATE counters SET value = value + 1
    WHERE name = 'operations' AND EXISTS (SELECT FROM video)
    RETURNING value
), operation AS (
    INSERT INTO operations (seq, id, verb, target, video_id, status_message, create_time,
        update_time, request_id, request_hash, principal)
    SELECT value, %(id)s, %(verb)s, %(target)s, %(video)s, %(message)s, %(now)s, %(now)s,
        %(request_id)s::text, %(request_hash)s::bytea, %(principal)s
    FROM number
    ON CONFLICT (principal, verb, request_id) WHERE request_id IS NOT NULL DO NOTHING
    RETURNING {OPERATION_COLUMNS}
), job AS (
    INSERT INTO jobs (operation_seq, trace_parent) SELECT seq, %(trace)s::text FROM operation
)
SELECT EXISTS (SELECT FROM video), made.*
FROM (VALUES (1)) AS one (x) LEFT JOIN (
    SELECT operation.*, pg_notify(%(channel)s, %(signal)s) FROM operation
) AS made ON TRUE
"""


async def settle_video(
    conn: Conn, verb: str, video_id: str, ok: bool, now: int, media: Media | None
) -> None:
    if verb == CREATE and ok:
        if media is not None:
            await conn.execute(
                f"UPDATE videos SET {MEDIA_UPDATE.format('%s')} WHERE id = %s",
                (*media_values(media), video_id),
            )
        await conn.execute(
            "UPDATE videos SET state = 'active', create_time = %s, update_time = %s,"
            " list_seq = %s WHERE id = %s",
            (now, now, await next_number(conn, "videos"), video_id),
        )
    elif verb == CREATE:
        await conn.execute("DELETE FROM videos WHERE id = %s AND state = 'creating'", (video_id,))
    elif ok:
        await conn.execute("DELETE FROM videos WHERE id = %s", (video_id,))
    else:
        await conn.execute(
            "UPDATE videos SET state = 'active' WHERE id = %s AND state = 'deleting'", (video_id,)
        )


async def finish_job(conn: Conn, seq: int, now: int, outcome: Outcome) -> None:
    cursor = await conn.execute("SELECT verb, video_id, id FROM operations WHERE seq = %s", (seq,))
    verb, video_id, operation_id = await cursor.fetchone()  # type: ignore[misc]
    ok = outcome.error is None
    await settle_video(conn, verb, video_id, ok, now, outcome.media)
    await conn.execute(
        "UPDATE operations SET done = TRUE, end_time = %s, update_time = %s, response = %s,"
        " error = %s, error_code = %s, status_message = %s,"
        " progress_percent = CASE WHEN %s THEN 100 ELSE progress_percent END WHERE seq = %s",
        (now, now, outcome.response, outcome.error, outcome.error_code, outcome.message, ok, seq),
    )
    await conn.execute("DELETE FROM jobs WHERE operation_seq = %s", (seq,))
    await send_signal(conn, operation_done(operation_id))


async def leased_seq(conn: Conn, operation_id: str, owner: str) -> int:
    cursor = await conn.execute(
        "SELECT o.seq FROM operations o JOIN jobs j ON j.operation_seq = o.seq"
        " WHERE o.id = %s AND j.lease_owner = %s FOR UPDATE OF j",
        (operation_id, owner),
    )
    row = await cursor.fetchone()
    if row is None:
        raise LeaseLost(operation_id)
    return int(row[0])
