"""The store interface (a Protocol), its records and its errors.

Times are integer microseconds since the Unix epoch. `seq` is a store-assigned,
strictly increasing number per table: the keyset for pagination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..filtering import Filter
from ..media import Media
from ..notify import Signals

CREATE = "create"
DELETE = "delete"


def revocable(verb: str, attempts: int) -> bool:
    """Whether a cancel may still end a job that no worker holds: not a delete
    that a worker has started, whose files may be gone already (cancelling it
    then would bring the video back without content)."""
    return verb != DELETE or attempts == 0


class StoreError(Exception):
    """Base of what the store raises on purpose; the API maps each to a status."""


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """The resource is in a state that forbids the call (e.g. not done yet)."""


class RequestIdReused(StoreError):
    """A request_id came back with a different request (AIP-155)."""


class InvalidValue(StoreError):
    """The database cannot hold a value the caller sent (a NUL in a string, say)."""


class LeaseLost(StoreError):
    """The job is no longer leased to this worker: another one took it over."""


class StoreUnavailable(StoreError):
    """The database could not be reached, read or written; worth retrying."""


@dataclass(frozen=True, slots=True)
class VideoRow:
    id: str
    seq: int
    title: str
    plot: str
    create_time: int
    update_time: int
    media: Media | None = None


@dataclass(frozen=True, slots=True)
class OperationRow:
    id: str
    seq: int
    verb: str
    target: str
    done: bool
    progress_percent: int
    status_message: str
    cancel_requested: bool
    create_time: int
    update_time: int
    end_time: int | None
    response: bytes | None
    error: bytes | None
    title: str = ""  # the video's, copied when the operation started


@dataclass(frozen=True, slots=True)
class NewOperation:
    """What the API hands the store to start an operation."""

    id: str
    video_id: str
    target: str
    now: int
    status_message: str
    request_id: str | None = None
    request_hash: bytes | None = None
    principal: str = ""  # the caller it belongs to ('' without authentication)
    trace_parent: str | None = None  # the request's trace context, for the job's span


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    operation_id: str
    verb: str
    video_id: str
    title: str
    plot: str
    attempts: int
    cancel_requested: bool
    previous_owner: str | None = None  # a worker whose lease ran out: it stopped or stalled
    trace_parent: str | None = None  # the request's trace context, for the job's span

    @property
    def taken_over(self) -> bool:
        """Claimed from a worker whose lease ran out, not from the queue, a
        retry's wait or a hand-back."""
        return self.previous_owner is not None


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Unfinished operations: queued ones wait for a worker (a retry's backoff
    included), running ones are held under a live lease."""

    queued: int
    running: int
    oldest_queued: int | None  # create_time of the oldest queued operation


@dataclass(frozen=True, slots=True)
class FinishedCounts:
    """Finished operations still stored (retention forgets them), by how they ended."""

    done: int
    failed: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended: exactly one of response and error is set.

    `message` becomes the operation's final status_message. `error_code` is
    the google.rpc.Code inside `error`, so the store can tell a cancellation
    from a failure without parsing the bytes.
    """

    message: str
    response: bytes | None = None
    error: bytes | None = None
    error_code: int = 0
    media: Media | None = None  # a create's rendered files, recorded on the video


class Store(Protocol):
    @property
    def signals(self) -> Signals:
        """What its commits changed, for waiters in this process: each key once
        per commit that changed it, after that commit, never for a write
        that did not commit (see notify.py for the keys)."""
        ...

    def now(self) -> int:
        """The time to record and to compare leases by: one clock for every
        process on the database, whatever the machines' clocks say."""
        ...

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store can take a write right now."""
        ...

    async def secret(self) -> bytes:
        """A random key made once per database, for signing page tokens."""
        ...

    # --- starting operations (one transaction each: operation, job, video) ---
    async def start_create(self, op: NewOperation, title: str, plot: str) -> OperationRow:
        """Reserve video `op.target` for `op.principal` and queue its creation;
        a repeat of the same request_id by the same caller returns the first
        operation. Video ids are one namespace for all callers."""
        ...

    async def start_delete(self, op: NewOperation) -> OperationRow:
        """Queue the deletion of `op.principal`'s video `op.target`; while one is
        under way, that operation is the answer (deleting twice is deleting once)."""
        ...

    # --- reading (and steering): `principal` keeps a caller to its own
    # operations and videos, as if no others existed; None (the workers,
    # the sweeper) sees them all ---
    async def get_operation(
        self, operation_id: str, principal: str | None = None
    ) -> OperationRow | None: ...
    async def list_operations(
        self,
        where: Filter | None,
        after_seq: int,
        limit: int,
        principal: str | None = None,
        newest_first: bool = False,
    ) -> list[OperationRow]:
        """A page past `after_seq` (0: from the start), in the order the
        operations were made, or the latest first (`newest_first`)."""
        ...

    async def get_video(self, video_id: str, principal: str | None = None) -> VideoRow | None: ...
    async def list_videos(
        self, after_seq: int, limit: int, principal: str | None = None
    ) -> list[VideoRow]: ...

    # --- steering ---
    async def cancel_operation(
        self, operation_id: str, now: int, error: bytes, principal: str | None = None
    ) -> OperationRow:
        """Ask for cancellation; a job no worker holds ends at once with `error`
        (unless it is a delete that a worker started: see revocable)."""
        ...

    async def delete_operation(self, operation_id: str, principal: str | None = None) -> None:
        """Forget an operation: a finished one at once; an unfinished one is
        hidden from its caller at once and goes when its job ends, the job
        untouched (google.longrunning: delete is not cancel)."""
        ...

    async def expire_operations(self, ended_before: int, limit: int) -> int:
        """Forget up to `limit` operations that finished before `ended_before`;
        returns how many went."""
        ...

    async def backlog(self) -> int:
        """How many jobs are not finished (queued, running or waiting to retry)."""
        ...

    # --- counts for metrics ---
    async def count_queue(self, now: int) -> QueueCounts:
        """Count the unfinished operations: at most --max-backlog rows."""
        ...

    async def count_finished(self) -> FinishedCounts:
        """Count the stored finished operations: every one of them, so callers
        do it seldom (an index-only scan; tens of ms per million)."""
        ...

    # --- workers ---
    async def claim_job(self, owner: str, now: int, lease: int) -> ClaimedJob | None: ...
    async def heartbeat(
        self, operation_id: str, owner: str, now: int, lease: int, percent: int, message: str
    ) -> bool:
        """Extend the lease and record progress; True if cancellation was asked."""
        ...

    async def finish(self, operation_id: str, owner: str, now: int, outcome: Outcome) -> None: ...
    async def retry_later(
        self, operation_id: str, owner: str, now: int, not_before: int, message: str
    ) -> None: ...
    async def release(self, operation_id: str, owner: str) -> None:
        """Hand a job back unfinished (shutdown): the next claim starts it over."""
        ...
