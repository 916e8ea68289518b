"""Running the store's rules on a PostgreSQL connection, and the one step
PostgreSQL does its own way: a create fused into one statement.

Each rule runs on the connection of a transaction the store opened; none
commits. A rule's signals become pg_notify in that transaction, which
PostgreSQL delivers on commit and only then (and once per key however often
a transaction sends it), so a signal is never sent for a change that did
not happen, nor lost when a process dies between its commit and a separate
send.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ...notify import JOBS_QUEUED
from .. import rules
from ..base import CREATE, AlreadyExists, NewOperation, OperationRow
from ..columns import OPERATION_COLUMNS
from ..dialect import Query, Rule, drive_async
from ..rules import Replayed
from .db import CHANNEL, Conn
from .queries import POSTGRES

T = TypeVar("T")


async def run(conn: Conn, rule: Rule[T]) -> T:
    """Run a rule (a fresh one: a retried transaction runs it again) on conn."""

    async def execute(query: Query) -> Any:
        cursor = await conn.execute(POSTGRES.sql(query), query.params or None)
        if query.fetch == "count":
            return cursor.rowcount
        return await (cursor.fetchall() if query.fetch == "all" else cursor.fetchone())

    async def signal(key: str) -> None:
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, key))

    return await drive_async(rule, execute, signal)


# rules.start_create in one statement, one round trip: the video, the
# transaction's id and then the next operation number (that order is what
# listing.py relies on: see WRITER_FIRST), the operation, its job and the
# signal to workers. An empty operation says which insert clashed. The video
# is not inserted when an operation with our request_id exists (a retry):
# the statement then answers like a taken id, and the replay below finds it
# without failing the batch the create runs in.
CREATE_STATEMENT = f"""
WITH video AS (
    INSERT INTO videos (id, title, plot, state, create_time, update_time, principal)
    SELECT %(video)s, %(title)s, %(plot)s, 'creating', %(now)s, %(now)s, %(principal)s
    WHERE NOT EXISTS (SELECT FROM operations WHERE principal = %(principal)s
        AND verb = %(verb)s AND request_id = %(request_id)s::text)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), writer AS MATERIALIZED (
    SELECT pg_current_xact_id() WHERE EXISTS (SELECT FROM video)
), operation AS (
    INSERT INTO operations (seq, id, verb, target, video_id, title, status_message,
        create_time, update_time, request_id, request_hash, principal)
    SELECT nextval('operation_numbers'), %(id)s, %(verb)s, %(target)s, %(video)s, %(title)s,
        %(message)s, %(now)s, %(now)s, %(request_id)s::text, %(request_hash)s::bytea, %(principal)s
    FROM writer
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


async def start_create(conn: Conn, op: NewOperation, title: str, plot: str) -> OperationRow:
    """rules.start_create, fused: the same answers, the same signal.

    The request_id is not looked up first, as rules.replay does: a repeat is
    rare (a client's retry), and the statement notices one itself. Looking
    first cost every create a second statement, and every client create
    carries a request_id."""
    cursor = await conn.execute(CREATE_STATEMENT, {
        "video": op.video_id, "title": title, "plot": plot, "now": op.now,
        "principal": op.principal, "id": op.id, "verb": CREATE, "target": op.target,
        "message": op.status_message, "request_id": op.request_id,
        "request_hash": op.request_hash, "channel": CHANNEL, "signal": JOBS_QUEUED,
        "trace": op.trace_parent,
    })  # fmt: skip
    made, *row, _ = await cursor.fetchone()  # type: ignore[misc]
    if row[0] is not None:
        return rules.operation_row(row)
    if made:
        raise Replayed()  # a twin with our request_id committed while we ran
    # An earlier operation has our request_id, or the id is taken (perhaps by it).
    if (earlier := await run(conn, rules.replay(POSTGRES, CREATE, op))) is not None:
        return earlier
    raise AlreadyExists(op.target)
