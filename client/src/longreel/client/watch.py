"""`videoctl operations list --watch`: operations as they move, learnt of by
WaitOperation rather than by re-listing on a timer.

The server's WaitOperation answers the moment an operation is done, but not
when its progress moves (only completion is signalled). So each unfinished
operation is waited on in slices of WAIT_HOLD seconds: a finish shows at once,
progress at most once a slice. At most MAX_WAITS waits are in flight; more
unfinished operations take turns. ListOperations is read again every RELIST
seconds for new operations, and soon after one finishes.

ListOperations pages oldest first and cannot be reversed, so "the newest N"
would mean reading every page. The watch instead asks for what is happening:
the first `limit` unfinished operations (the head of the queue, the ones the
workers are on) and those created since it last looked, which it keeps in
view once they finish, newest first, `limit` rows at most.

Threads make the calls; the main thread only draws, so Ctrl-C lands there.
"""

from __future__ import annotations

import itertools
import json
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO, TypeAlias

from google.api_core import exceptions
from google.longrunning import operations_pb2
from google.protobuf import json_format, timestamp_pb2

from ._rows import metadata, operation_row
from .sync import VideoClient

WAIT_HOLD = 1.0  # seconds one WaitOperation is held: how stale progress may be
MAX_WAITS = 16  # WaitOperations in flight at once
RELIST = 2.0  # seconds between ListOperations that pick up new operations
MIN_RELIST = 1.0  # seconds at least between them, however many operations finish


@dataclass(frozen=True)
class Listed:
    ops: list[operations_pb2.Operation]


@dataclass(frozen=True)
class Gone:
    """The operation was deleted while watched."""

    name: str


Event: TypeAlias = operations_pb2.Operation | Listed | Gone | BaseException


class Board:
    """The operations in view, at most `limit`; finished ones leave first
    when there are too many, and an older copy never replaces a newer one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.version = 0  # counts changes, so a view redraws only when there is news
        self._ops: dict[str, operations_pb2.Operation] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def running(self, name: str) -> bool:
        return name in self._ops and not self._ops[name].done

    def put(self, op: operations_pb2.Operation) -> bool:
        """Keep op if it is news; True if it is now in view."""
        old = self._ops.get(op.name)
        if old is not None and (old == op or _freshness(op) < _freshness(old)):
            return False
        self._ops[op.name] = op
        self.version += 1
        while len(self._ops) > self.limit:
            leaving = min(self._ops.values(), key=lambda each: (not each.done, _created(each)))
            del self._ops[leaving.name]
        return op.name in self._ops

    def drop(self, name: str) -> None:
        if self._ops.pop(name, None) is not None:
            self.version += 1

    def rows(self) -> list[operations_pb2.Operation]:
        """Newest first."""
        return sorted(self._ops.values(), key=_created, reverse=True)


def _created(op: operations_pb2.Operation) -> tuple[int, str]:
    return metadata(op).create_time.ToMicroseconds(), op.name


def _freshness(op: operations_pb2.Operation) -> tuple[bool, int]:
    """Done is final; otherwise the later update wins (a listing may be older than a wait)."""
    return op.done, metadata(op).update_time.ToMicroseconds()


class Tracker:
    """Turns what the calling threads report into the board, and hands each
    unfinished operation in view to the waiters, once."""

    def __init__(self, board: Board, todo: queue.Queue[str], relist: threading.Event) -> None:
        self.board = board
        self.todo = todo
        self.relist = relist
        self.waiting: set[str] = set()

    def apply(self, event: Event) -> list[operations_pb2.Operation]:
        """What changed in view; a failed call is raised here, in the main thread."""
        if isinstance(event, BaseException):
            raise event
        if isinstance(event, Gone):
            self.waiting.discard(event.name)
            self.board.drop(event.name)
            return []
        if isinstance(event, Listed):
            return [op for op in event.ops if self._take(op)]
        self.waiting.discard(event.name)
        if event.done:
            self.relist.set()  # a waiter is free for whatever is new
        return [event] if self._take(event) else []

    def _take(self, op: operations_pb2.Operation) -> bool:
        changed = self.board.put(op)
        if self.board.running(op.name) and op.name not in self.waiting:
            self.waiting.add(op.name)
            self.todo.put(op.name)
        return changed


def list_loop(
    client: VideoClient, query: str, limit: int, events: queue.Queue[Event], relist: threading.Event
) -> None:
    """Unfinished operations and those created since the newest seen, every
    RELIST seconds or when woken, never more often than MIN_RELIST."""
    since = timestamp_pb2.Timestamp()
    since.FromMicroseconds(int(time.time() * 1e6))
    try:
        while True:
            relist.clear()
            found = client.list_operations(
                request={"filter": _query(query, since), "page_size": limit}
            )
            ops = list(itertools.islice(found, limit))  # paging stops at the limit
            for op in ops:
                created = metadata(op).create_time
                if created.ToMicroseconds() > since.ToMicroseconds():
                    since.CopyFrom(created)
            events.put(Listed(ops))
            time.sleep(MIN_RELIST)
            relist.wait(RELIST - MIN_RELIST)
    except BaseException as error:  # handed to the main thread, whatever it is
        events.put(error)


def _query(query: str, since: timestamp_pb2.Timestamp) -> str:
    # >=: operations created in the same microsecond as the newest seen are not lost.
    recent = f'done = false OR metadata.create_time >= "{since.ToJsonString()}"'
    return f"({query}) AND ({recent})" if query.strip() else recent


def wait_loop(client: VideoClient, todo: queue.Queue[str], events: queue.Queue[Event]) -> None:
    """Wait on one operation at a time for at most WAIT_HOLD seconds."""
    while True:
        name = todo.get()
        try:
            events.put(client.wait_operation(name=name, timeout=WAIT_HOLD))
        except exceptions.NotFound:
            events.put(Gone(name))
        except BaseException as error:
            events.put(error)
            return


class View(Protocol):
    def __enter__(self) -> View: ...
    def __exit__(self, *exc: object) -> None: ...
    def show(self, board: Board, changed: list[operations_pb2.Operation]) -> None: ...


def watch(client: VideoClient, query: str, limit: int, view: View) -> int:
    """Show operations until Ctrl-C, which is how a watch ends: exit code 0."""
    events: queue.Queue[Event] = queue.Queue()
    todo: queue.Queue[str] = queue.Queue()
    relist = threading.Event()
    tracker = Tracker(Board(limit), todo, relist)
    _start(list_loop, client, query, limit, events, relist)
    for _ in range(min(limit, MAX_WAITS)):
        _start(wait_loop, client, todo, events)
    with view:
        try:
            view.show(tracker.board, [])
            while True:
                changed = tracker.apply(events.get())
                while not events.empty():
                    changed += tracker.apply(events.get_nowait())
                view.show(tracker.board, changed)
        except KeyboardInterrupt:
            return 0


def _start(target: Callable[..., None], *args: Any) -> None:
    # Daemons: a call in flight must not hold the process open after Ctrl-C.
    threading.Thread(target=target, args=args, name="videoctl-watch", daemon=True).start()


def view_for(form: str, stream: TextIO) -> View:
    """A live table on a terminal (with rich, the `cli` extra); one line per
    change for pipes, logs, JSON, and terminals without rich."""
    if form == "json" or not stream.isatty():
        return Lines(stream, as_json=form == "json")
    try:
        from . import live_table
    except ImportError:
        print(
            "videoctl: a line per change; for a live table: pip install 'longreel-client[cli]'",
            file=sys.stderr,
        )
        return Lines(stream, as_json=False)
    return live_table.LiveTable(stream)


class Lines:
    """A line per change: the `operations list` row, or the operation as one
    JSON object (JSON Lines); a row that reads the same is not repeated."""

    def __init__(self, stream: TextIO, *, as_json: bool) -> None:
        self.stream = stream
        self.json = as_json
        self.last: dict[str, str] = {}

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def show(self, board: Board, changed: list[operations_pb2.Operation]) -> None:
        for op in changed:
            line = (
                json.dumps(json_format.MessageToDict(op))
                if self.json
                else "  ".join(operation_row(op))
            )
            if self.last.get(op.name) != line:
                self.last[op.name] = line
                self.stream.write(line + "\n")
        self.last = {name: line for name, line in self.last.items() if name in board}
        self.stream.flush()
