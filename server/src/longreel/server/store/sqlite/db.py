"""SQLite plumbing: one writer thread with group commit, a pool of readers.

SQLite allows one writer at a time, and a commit per call costs far more CPU
than the rows it writes. So every write is a function queued to one thread,
which drains all that are waiting into a single transaction, each inside its
own SAVEPOINT (one caller's error rolls back only its own changes; an error of
the database itself, such as a full disk, fails the whole batch), commits
once with synchronous=FULL, and only then answers the callers and sends the
signals of the writes that committed (each key once per commit). Reads run in
parallel on their own connections: WAL lets them see the last commit
without blocking the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..base import Conflict, StoreError, StoreUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

READERS = 4
MAX_BATCH = 512  # writes per transaction
BUSY_TIMEOUT_MS = 5_000  # another process holding the write lock

# A write: its function, its caller's future and loop, and the signals it sends if it commits.
_Write = tuple[
    Callable[[sqlite3.Connection], Any],
    asyncio.Future[Any],
    asyncio.AbstractEventLoop,
    Sequence[str],
]
Publish = Callable[[str], None]


def connect(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: a commit is on disk before we reply (NORMAL could lose the last
    # acknowledged operations on power loss).
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Apply migrations/NNNN_*.sql newer than PRAGMA user_version."""
    folder = importlib.resources.files(__package__).joinpath("migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(files, start=1):
            if number > current:
                for statement in _statements(script.read_text()):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending)
            pending = ""
    return out


class _Busy(Exception):
    """A read that would have had to wait for a lock."""


class Database:
    def __init__(self, path: Path, publish: Publish | None = None) -> None:
        self.path = path
        self._publish = publish  # sends a signal, on the loop of the write that made it
        self._writes: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="sqlite-read")
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.transactions = 0  # committed group transactions, for tests and metrics

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(self.path)
            migrate(conn)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open the database {self.path}: {exc}") from exc
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="sqlite-write", daemon=True
        )
        self._writer.start()

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            self._writes.put(None)
            writer.join()
        self._readers.shutdown(wait=True)
        for conn in self._reader_conns:
            conn.close()

    async def write(self, fn: Callable[[sqlite3.Connection], T], signals: Sequence[str] = ()) -> T:
        """Run fn in the next group transaction; return once it is committed.
        `signals` (a list fn fills as it runs) are published after the
        commit, on this loop, if fn succeeded; never otherwise."""
        if self._writer is None or not self._writer.is_alive():
            raise StoreUnavailable("the database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._writes.put((fn, future, loop, signals))
        return await future

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, fn)

    async def read_row(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read of one row by key, run on the caller's thread: a B-tree
        descent costs less than the hop to a reader thread and back. In WAL
        mode such a read waits for nothing; should it find the database busy
        all the same (a WAL recovery), it goes to a reader thread, which may
        wait, rather than block the event loop."""
        try:
            return self._read(fn, waitless=True)
        except _Busy:
            return await self.read(fn)

    def _read(self, fn: Callable[[sqlite3.Connection], T], waitless: bool = False) -> T:
        """fn on this thread's own connection (one that never waits, if asked)."""
        key = "waitless" if waitless else "conn"
        conn = getattr(self._local, key, None)
        try:
            if conn is None:
                conn = connect(self.path, busy_timeout_ms=0 if waitless else BUSY_TIMEOUT_MS)
                setattr(self._local, key, conn)
                with self._lock:
                    self._reader_conns.append(conn)
            return fn(conn)
        except sqlite3.Error as exc:
            # PROTOCOL: SQLite gave up its own retries of a WAL read; a thread may wait.
            waiting = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_PROTOCOL)
            if waitless and getattr(exc, "sqlite_errorcode", 0) & 0xFF in waiting:
                raise _Busy from exc
            if is_outage(exc):
                raise StoreUnavailable(f"reading the database failed: {exc}") from exc
            raise

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while (first := self._writes.get()) is not None:
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._writes.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._writes.put(None)  # stop after this batch
                        break
                    batch.append(item)
                if (failure := self._commit(conn, batch)) is not None:
                    self._fail_waiting(failure)
        except BaseException:  # pragma: no cover - the thread must not die silently
            log.exception("the database writer stopped")
            raise
        finally:
            conn.close()

    def _fail_waiting(self, failure: StoreUnavailable) -> None:
        """Writes that queued while a batch waited out the busy timeout have
        waited as long: fail them now rather than make each wait again."""
        while True:
            try:
                item = self._writes.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._writes.put(None)
                return
            _answer([item], [(False, failure)], self._publish)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Write]) -> StoreUnavailable | None:
        """One transaction for the batch; every caller is answered, whatever
        happens. Returns the failure if the database could not be written."""
        results: list[tuple[bool, Any]] = []
        failure: StoreUnavailable | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _, _, _ in batch:
                results.append(_in_savepoint(conn, fn))
            conn.execute("COMMIT")
            self.transactions += 1
        except Exception as exc:
            log.error("database write failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            failure = StoreUnavailable(f"writing the database failed: {exc}")
            results = [(False, failure)] * len(batch)
        _answer(batch, results, self._publish)
        return failure


def _in_savepoint(
    conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]
) -> tuple[bool, Any]:
    conn.execute("SAVEPOINT one_write")
    try:
        value = fn(conn)
    except (StoreError, sqlite3.IntegrityError) as exc:
        conn.execute("ROLLBACK TO one_write")
        conn.execute("RELEASE one_write")
        if isinstance(exc, sqlite3.IntegrityError):
            return False, Conflict(f"the write breaks a database constraint: {exc}")
        return False, exc
    except sqlite3.Error as exc:
        if is_outage(exc):
            raise  # the whole transaction is in doubt: fail the batch
        log.exception("a database write failed")
        conn.execute("ROLLBACK TO one_write")
        conn.execute("RELEASE one_write")
        return False, exc
    except Exception as exc:  # a bug in one write must not take down the others
        log.exception("unexpected error in a database write")
        conn.execute("ROLLBACK TO one_write")
        conn.execute("RELEASE one_write")
        return False, exc
    conn.execute("RELEASE one_write")
    return True, value


# Errors of the database's state rather than of one statement: worth a retry.
_OUTAGES = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_PROTOCOL,
}


def is_outage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is None or code & 0xFF in _OUTAGES


_Answer = tuple[asyncio.Future[Any], bool, Any]


def _answer(batch: list[_Write], results: list[tuple[bool, Any]], publish: Publish | None) -> None:
    """Settle the batch's futures with one wake-up per event loop, not one
    per caller: each call_soon_threadsafe writes to the loop's self-pipe.
    Then the signals of the writes that committed, each key once."""
    by_loop: dict[asyncio.AbstractEventLoop, tuple[list[_Answer], dict[str, None]]] = {}
    for (_, future, loop, signals), (ok, value) in zip(batch, results, strict=True):
        answers, keys = by_loop.setdefault(loop, ([], {}))
        answers.append((future, ok, value))
        if ok:
            keys.update(dict.fromkeys(signals))
    for loop, (answers, keys) in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that caller's loop is closed
            loop.call_soon_threadsafe(_settle, answers, list(keys), publish)


def _settle(answers: list[_Answer], keys: list[str], publish: Publish | None) -> None:
    """Answer the callers first: whoever a signal wakes finds them past the
    write (a worker has counted its finish before a waiter sees it)."""
    for future, ok, value in answers:
        if future.done():  # the caller went away (cancelled); the write stands
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    if publish is not None:
        for key in keys:
            publish(key)
