"""The store's rules, written once for both SQL dialects.

Who sees which rows, when a request_id replays an earlier operation, where a
finished operation leaves its video, how a job finishes, which lease still
holds, what a cancel ends at once, and which signal each change sends: these
are decided here and nowhere else. A rule is a generator that yields the
named queries it needs (Query) and the signals its change calls for
(Signal), and is sent each query's answer; it never touches a connection
(dialect.py). So one rule runs on SQLite's writer thread and on a PostgreSQL
connection alike, with each dialect's SQL for a name kept beside its store in
queries.py.
"""

from __future__ import annotations

from typing import Any

from ..filtering import Filter
from ..media import Media
from ..notify import JOBS_QUEUED, cancel_requested, operation_done
from .base import (
    CREATE,
    DELETE,
    AlreadyExists,
    ClaimedJob,
    LeaseLost,
    NewOperation,
    NotFound,
    OperationRow,
    Outcome,
    RequestIdReused,
    VideoRow,
    revocable,
)
from .columns import CANCELLED, FILTER_COLUMNS, VIDEO_FILTER_COLUMNS, media_params, video_row
from .dialect import Dialect, Query, Rule, Signal
from .sqlfilter import compile_filter


class Replayed(Exception):
    """A concurrent twin (same request_id) committed first: answer with its operation."""


def single(query: Query) -> Rule[Any]:
    """A rule of one query, its answer the rule's."""
    return (yield query)


# --- reading in the caller's scope ---


def scope(dialect: Dialect, principal: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    """The condition that keeps a caller to its own rows (None: everyone's)."""
    if principal is None:
        return {"mine": dialect.true}, {}
    return {"mine": f"principal = {dialect.param('principal')}"}, {"principal": principal}


def operation_scope(
    dialect: Dialect, principal: str | None
) -> tuple[dict[str, str], dict[str, Any]]:
    """scope, for operations: a caller also no longer sees the unfinished ones
    it deleted (forgotten: see delete_operation); the workers still do."""
    fill, params = scope(dialect, principal)
    if principal is not None:
        fill = {"mine": f"{fill['mine']} AND NOT forgotten"}
    return fill, params


def operation_row(row: Any) -> OperationRow:
    """Map a row selected with OPERATION_COLUMNS (flags as 0/1 or booleans)."""
    id_, seq, verb, target, done, percent, message, cancel, created, updated, ended, *rest = row
    resp, err, title = rest
    return OperationRow(
        id_, seq, verb, target, bool(done), percent, message, bool(cancel),
        created, updated, ended, _bytes(resp), _bytes(err), title,
    )  # fmt: skip


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def fetch_operation(
    dialect: Dialect, operation_id: str, principal: str | None = None
) -> Rule[OperationRow | None]:
    fill, params = operation_scope(dialect, principal)
    row = yield Query("operation", {"id": operation_id, **params}, fill=fill)
    return None if row is None else operation_row(row)


def operation_or_gone(
    dialect: Dialect, operation_id: str, principal: str | None = None
) -> Rule[OperationRow]:
    row = yield from fetch_operation(dialect, operation_id, principal)
    if row is None:
        raise NotFound(operation_id)
    return row


NO_END = 2**63 - 1  # past every seq: where a newest-first list starts


def keyset(
    dialect: Dialect, after_seq: int, newest_first: bool
) -> tuple[dict[str, str], dict[str, Any]]:
    """The page's bound and order: past `after_seq` (the previous page's
    last seq; 0 for the first page) in seq order, or before it, latest first."""
    after = dialect.param("after")
    if not newest_first:
        return {"after": f"seq > {after}", "order": "seq"}, {"after": after_seq}
    return {"after": f"seq < {after}", "order": "seq DESC"}, {"after": after_seq or NO_END}


def list_operations(
    dialect: Dialect,
    where: Filter | None,
    after_seq: int,
    limit: int,
    principal: str | None,
    newest_first: bool = False,
) -> Rule[list[OperationRow]]:
    condition, filtered = (
        (dialect.true, {})
        if where is None
        else compile_filter(where, FILTER_COLUMNS, dialect.param)
    )
    fill, params = operation_scope(dialect, principal)
    bound, after = keyset(dialect, after_seq, newest_first)
    params |= {"limit": limit, **after, **filtered}
    fill |= {**bound, "condition": condition}
    rows = yield Query("list_operations", params, "all", fill)
    return [operation_row(row) for row in rows]


def get_video(dialect: Dialect, video_id: str, principal: str | None) -> Rule[VideoRow | None]:
    fill, params = scope(dialect, principal)
    row = yield Query("video", {"video": video_id, **params}, fill=fill)
    return None if row is None else video_row(row)


def list_videos(
    dialect: Dialect, where: Filter | None, after_seq: int, limit: int, principal: str | None
) -> Rule[list[VideoRow]]:
    condition, filtered = (
        (dialect.true, {})
        if where is None
        else compile_filter(where, VIDEO_FILTER_COLUMNS, dialect.param)
    )
    fill, params = scope(dialect, principal)
    params |= {"after": after_seq, "limit": limit, **filtered}
    rows = yield Query("list_videos", params, "all", {**fill, "condition": condition})
    return [video_row(row) for row in rows]


# --- starting operations ---


def secret(candidate: bytes) -> Rule[bytes]:
    """The database's page-token key: the first candidate ever offered."""
    yield Query("keep_secret", {"secret": candidate}, "count")
    row = yield Query("secret")
    return bytes(row[0])


def start_create(dialect: Dialect, op: NewOperation, title: str, plot: str) -> Rule[OperationRow]:
    """Reserve the video id (one namespace for all callers) and queue its
    creation; a repeat of the same request_id returns the first operation.
    PostgreSQL runs the same steps fused in one statement (postgres/steps.py)."""
    if (earlier := (yield from replay(dialect, CREATE, op))) is not None:
        return earlier
    if (yield Query("video_exists", {"video": op.video_id})) is not None:
        raise AlreadyExists(op.target)
    yield Query("insert_video", {
        "video": op.video_id, "title": title, "plot": plot, "now": op.now,
        "principal": op.principal,
    }, "count")  # fmt: skip
    return (yield from insert_operation(dialect, CREATE, op, title))


def replay(dialect: Dialect, verb: str, op: NewOperation) -> Rule[OperationRow | None]:
    """The operation an earlier call with this request_id started, if any (AIP-155)."""
    if op.request_id is None:
        return None
    params = {"principal": op.principal, "verb": verb, "request_id": op.request_id}
    row = yield Query("request", params)
    if row is None:
        return None
    if bytes(row[1]) != op.request_hash:
        raise RequestIdReused(op.request_id)
    # Asking again is being interested again, if the caller forgot it (a
    # retry of a create its caller deleted must not make a second video).
    yield Query("remember_operation", {"id": row[0]}, "count")
    return (yield from operation_or_gone(dialect, row[0]))


def insert_operation(
    dialect: Dialect, verb: str, op: NewOperation, title: str
) -> Rule[OperationRow]:
    """The operation (with its video's title) and its job; workers hear of
    it. Replayed if a twin with the same request_id got there first
    (PostgreSQL only: SQLite's one writer saw it in replay)."""
    row = yield Query("insert_operation", {
        "id": op.id, "verb": verb, "target": op.target, "video": op.video_id, "title": title,
        "message": op.status_message, "now": op.now, "request_id": op.request_id,
        "request_hash": op.request_hash, "principal": op.principal,
    })  # fmt: skip
    if row is None:
        raise Replayed()
    yield Query("insert_job", {"seq": row[0], "trace": op.trace_parent}, "count")
    yield Signal(JOBS_QUEUED)
    return (yield from operation_or_gone(dialect, op.id))


def start_delete(dialect: Dialect, op: NewOperation) -> Rule[OperationRow]:
    """Mark the caller's video for deletion and queue the job; while one is
    under way, that operation is the answer (deleting twice is deleting once)."""
    if (earlier := (yield from replay(dialect, DELETE, op))) is not None:
        return earlier
    row = yield Query("lock_video", {"video": op.video_id, "principal": op.principal})
    if row is None or row[0] == "creating":
        raise NotFound(op.target)
    state, title = row
    if state == "deleting":
        running = yield Query("running_delete", {"verb": DELETE, "video": op.video_id})
        # Asking again is being interested again, if the caller forgot it.
        yield Query("remember_operation", {"id": running[0]}, "count")
        return (yield from operation_or_gone(dialect, running[0]))
    yield Query("mark_deleting", {"now": op.now, "video": op.video_id}, "count")
    return (yield from insert_operation(dialect, DELETE, op, title))


# --- finishing ---


def settle_video(verb: str, video_id: str, ok: bool, now: int, media: Media | None) -> Rule[None]:
    """Bring the video to where the finished operation leaves it: a create
    that succeeded lists it (next in list order), one that failed frees its
    id; a delete that succeeded removes it, one that failed restores it."""
    video = {"video": video_id}
    if verb == CREATE and ok:
        if media is not None:
            yield Query("set_media", {**video, **media_params(media)}, "count")
        number = yield Query("next_video_number")
        yield Query("activate_video", {**video, "now": now, "number": number[0]}, "count")
    elif verb == CREATE:
        yield Query("forget_creating", video, "count")
    elif ok:
        yield Query("delete_video", video, "count")
    else:
        yield Query("restore_video", video, "count")


def finish(seq: int, now: int, outcome: Outcome) -> Rule[None]:
    """End the operation with its outcome, settle its video, drop its job, and
    wake its waiters."""
    verb, video_id, operation_id = yield Query("job_operation", {"seq": seq})
    ok = outcome.error is None
    yield from settle_video(verb, video_id, ok, now, outcome.media)
    ended = yield Query("end_operation", {
        "seq": seq, "now": now, "response": outcome.response, "error": outcome.error,
        "code": outcome.error_code, "message": outcome.message, "ok": ok,
    })  # fmt: skip
    yield Query("delete_job", {"seq": seq}, "count")
    if ended[0]:  # its caller deleted it while it ran: the work is done, the record goes
        yield Query("delete_operation", {"id": operation_id}, "count")
    yield Signal(operation_done(operation_id))


def cancel(
    dialect: Dialect, operation_id: str, now: int, error: bytes, principal: str | None
) -> Rule[OperationRow]:
    """Ask for cancellation: a job no worker holds ends at once (unless it is
    a delete a worker started: see revocable), else its worker is told. A
    done operation's result stands. Locks in the workers' order, the job's
    row first, then the operation's: the other order deadlocks against
    heartbeats and finishes."""
    fill, params = operation_scope(dialect, principal)
    row = yield Query("operation_seq", {"id": operation_id, **params}, fill=fill)
    if row is None:
        raise NotFound(operation_id)
    seq = row[0]
    lease = yield Query("lock_job", {"seq": seq})
    done, verb = yield Query("lock_operation", {"seq": seq})
    if not done:
        yield Query("request_cancel", {"seq": seq, "now": now}, "count")
        if lease is not None and lease[0] <= now and revocable(verb, lease[1]):
            yield from finish(seq, now, Outcome("cancelled", error=error, error_code=CANCELLED))
        else:
            yield Signal(cancel_requested(operation_id))
    return (yield from operation_or_gone(dialect, operation_id))


def delete_operation(
    dialect: Dialect, operation_id: str, principal: str | None, now: int
) -> Rule[None]:
    """Forget an operation: its caller is no longer interested in the result
    (google.longrunning), which does not cancel it. A finished one goes at
    once. An unfinished one is marked forgotten: hidden from its caller from
    this commit on (a repeat of its request_id brings it back: see replay),
    its job running on to the end (the video is still made or removed), and
    the row goes when the job ends (see finish). Its waiters wake, to find it
    gone."""
    row = yield from fetch_operation(dialect, operation_id, principal)
    if row is None:
        raise NotFound(operation_id)
    # PostgreSQL: a finish may commit between the read and this update; then
    # the update matches nothing and the finished operation is deleted.
    if not row.done and (
        yield Query("forget_operation", {"id": operation_id, "now": now}, "count")
    ):
        yield Signal(operation_done(operation_id))
        return
    yield Query("delete_operation", {"id": operation_id}, "count")


# --- leases ---


def claim(owner: str, now: int, lease: int) -> Rule[ClaimedJob | None]:
    """Lease the oldest job that is due (queued, its retry's wait over, or
    its lease run out) to `owner`, counting the attempt."""
    job = yield Query("next_job", {"now": now})
    if job is None:
        return None
    seq, attempts, previous, trace = job
    leasing = {"seq": seq, "owner": owner, "until": now + lease, "attempts": attempts}
    yield Query("lease_job", leasing, "count")
    message = "started" if attempts == 1 else f"started again (attempt {attempts})"
    op = yield Query("claimed_operation", {"seq": seq, "message": message, "now": now})
    operation_id, verb, video_id, cancel_asked = op
    title, plot = (yield Query("video_text", {"video": video_id})) or ("", "")
    return ClaimedJob(
        operation_id, verb, video_id, title, plot, attempts, bool(cancel_asked), previous, trace
    )


def leased_seq(operation_id: str, owner: str) -> Rule[int]:
    """The job's number while `owner` holds its lease; LeaseLost once another took it."""
    row = yield Query("leased", {"id": operation_id, "owner": owner})
    if row is None:
        raise LeaseLost(operation_id)
    return int(row[0])


def heartbeat(
    operation_id: str, owner: str, now: int, lease: int, percent: int, message: str
) -> Rule[bool]:
    """Extend the lease and record progress; True if cancellation was asked."""
    seq = yield from leased_seq(operation_id, owner)
    yield Query("extend_lease", {"seq": seq, "until": now + lease}, "count")
    progress = {"seq": seq, "percent": percent, "message": message, "now": now}
    row = yield Query("progress", progress)
    return bool(row[0])


def finish_leased(operation_id: str, owner: str, now: int, outcome: Outcome) -> Rule[None]:
    yield from finish((yield from leased_seq(operation_id, owner)), now, outcome)


def retry_later(
    operation_id: str, owner: str, now: int, not_before: int, message: str
) -> Rule[None]:
    """Hand the job back to be claimed again from `not_before`."""
    seq = yield from leased_seq(operation_id, owner)
    yield Query("retry_later", {"seq": seq, "not_before": not_before}, "count")
    yield Query("status", {"seq": seq, "message": message, "now": now}, "count")
    yield Signal(JOBS_QUEUED)


def release(operation_id: str, owner: str) -> Rule[None]:
    """Hand a job back unfinished (shutdown), the attempt uncounted: another
    worker may take it now."""
    seq = yield from leased_seq(operation_id, owner)
    yield Query("release", {"seq": seq}, "count")
    yield Signal(JOBS_QUEUED)
