"""Pages of operations that no late commit can slip behind, with no lock
held through anyone's commit.

An operation's number (seq, the keyset of its pages) comes from a sequence,
which hands numbers out in the order nextval is called, not in the order
transactions commit: a create can take 41, another take 42 and commit first.
A page that returned 42 and a token after it would skip 41 for good once it
commits. So a page is read only as far as it is final.

The argument. Every writer of operations asks for its transaction's id
before it takes a number (pg_current_xact_id() in a materialized CTE that
the INSERT's nextval reads from), and the sequence hands numbers out one at
a time (CACHE 1). A page's first read returns rows by its snapshot S and,
evaluated after S was taken, an id B of its own (pg_current_xact_id): every
transaction given an id before S has an id below B. Let M be the largest
number on the page and W any writer of a number s < M. W took s before M's
writer took M, which was before M's writer committed, which was before S
(its row is visible). W's id was given before s, so before S: it is below B.
So once every transaction with an id below B has finished, every row
numbered up to M is visible, or never will be:

- S itself shows that when nothing below B was running at S: its list of
  running transactions is empty and its xmax (one past the latest finished
  id) is B. Then the page is final: one statement, the common case. (A
  snapshot leaves out running transactions with ids at or past its xmax, so
  the list alone would not do.)
- Otherwise the page is read again, numbers up to M only, in a later
  statement whose snapshot's xmin (the oldest running id) is at least B.
  Until then the read waits: the transactions in the way are this service's
  own short ones (LIST_WAIT bounds it against an outside one).

A writer given its id after S takes its number after every number visible
in S, so it lands after M, where the next page starts. Rows past M that the
second read sees are left for the next page. Newest first, the same holds
with the order turned: M is the page's first row, the pages go down from
it, and a row past M is newer than the list (a reader sees it on a fresh
first page). So a page never passes a
number that may still commit, and a just-committed create is in the next
list at once: the read waits rather than answer stale. Numbers can have gaps
(rolled back creates), which keyset pages do not mind. The price: a list
takes a transaction id (its commit record is not flushed: it wrote nothing).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ...filtering import Filter
from .. import rules
from ..base import OperationRow, StoreUnavailable
from ..columns import FILTER_COLUMNS, OPERATION_COLUMNS
from ..sqlfilter import compile_filter
from .db import Conn
from .queries import POSTGRES, param

LIST_WAIT = 5.0  # seconds a page waits for the transactions that might still fill it
POLL_FIRST, POLL_MOST = 0.0005, 0.02  # seconds between reads while it waits (doubling)

# A page in its caller's scope and filter, up to a number, with what says
# whether it is final: {snapshot} is either the read's snapshot and an id
# taken after it (a first read), or whether no transaction with an id below
# %(below)s was running at the read's snapshot (a read again).
PAGE = (
    f"SELECT {OPERATION_COLUMNS}, {{snapshot}}"
    " FROM operations WHERE {after} AND seq <= %(through)s AND {mine} AND {condition}"
    " ORDER BY {order} LIMIT %(limit)s"
)
FIRST = "pg_current_snapshot()::text, (SELECT pg_current_xact_id()::text)"
AGAIN = "pg_snapshot_xmin(pg_current_snapshot()) >= %(below)s::xid8, NULL"


async def list_operations(
    conn: Conn,
    where: Filter | None,
    after_seq: int,
    limit: int,
    principal: str | None,
    newest_first: bool = False,
) -> list[OperationRow]:
    """The page after `after_seq`, final: see the module's docstring."""
    condition, params = (
        ("TRUE", {}) if where is None else compile_filter(where, FILTER_COLUMNS, param)
    )
    fill, scoped = rules.operation_scope(POSTGRES, principal)
    bound, after = rules.keyset(POSTGRES, after_seq, newest_first)
    fill |= bound
    params |= {**scoped, **after, "limit": limit, "through": rules.NO_END}
    rows = await _read(conn, PAGE.format(**fill, condition=condition, snapshot=FIRST), params)
    if not rows or _final(*rows[0][-2:]):
        return _page(rows)
    most = max(row[1] for row in rows)  # seq is the second column
    params |= {"through": most, "below": rows[0][-1]}
    again = PAGE.format(**fill, condition=condition, snapshot=AGAIN)
    deadline, pause = time.monotonic() + LIST_WAIT, POLL_FIRST
    while time.monotonic() < deadline:
        await asyncio.sleep(pause)
        rows = await _read(conn, again, params)
        if not rows:  # all of it deleted meanwhile: start afresh
            return await list_operations(conn, where, after_seq, limit, principal, newest_first)
        if rows[0][-2]:
            return _page(rows)
        pause = min(pause * 2, POLL_MOST)
    raise StoreUnavailable("a transaction still running holds back the list of operations")


async def _read(conn: Conn, sql: str, params: dict[str, Any]) -> list[Any]:
    cursor = await conn.execute(sql, params)
    return await cursor.fetchall()


def _page(rows: list[Any]) -> list[OperationRow]:
    return [rules.operation_row(row[:-2]) for row in rows]  # less the snapshot's two


def _final(snapshot: str, mine: str) -> bool:
    """Whether every transaction given an id before the snapshot had
    finished by it: none running below its xmax, and its xmax the id taken
    after it (`mine`), so no id was given in between."""
    _, xmax, running = snapshot.split(":")
    return not running and xmax == mine
