"""Where the data lives: the store and the signals that travel with it,
chosen once from the Config for video-server and video-worker alike.

SQLite is one process's store, so its signals are in-process events;
PostgreSQL is shared by many processes, so its signals also arrive from
the others by LISTEN/NOTIFY. This is the one module that knows which is
which: everything else takes a Backend and asks no type.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from .config import DATABASE_FILE, Config
from .notify import Notifier, Signals
from .store import Store
from .store.postgres import PostgresStore
from .store.postgres.notify import PostgresNotifier
from .store.sqlite import SQLiteStore


@dataclass
class Backend:
    """A store, the signals of its changes, and the listener (if any) that
    brings other processes' signals: opened and closed together."""

    store: Store
    signals: Signals
    listener: PostgresNotifier | None = None

    async def open(self) -> None:
        """Open (and migrate) the store, then listen for others' signals."""
        await self.store.open()
        if self.listener is not None:
            await self.listener.start()

    async def close(self) -> None:
        """Stop listening, then close the store; safe on a backend never opened."""
        if self.listener is not None:
            await self.listener.stop()
        await self.store.close()


def open_backend(config: Config) -> Backend:
    """PostgreSQL when config names a database, else SQLite under the data
    directory. Nothing is connected yet: Backend.open() does that."""
    if config.database:
        listener = PostgresNotifier(config.database)
        return Backend(PostgresStore(config.database), listener, listener)
    return Backend(SQLiteStore(config.data_dir / DATABASE_FILE), Notifier())


def describe_store(config: Config) -> str:
    """Where the data is, for people: the database URL without its password."""
    if config.database:
        info = psycopg.conninfo.conninfo_to_dict(config.database)
        return f"PostgreSQL database {info.get('dbname', '?')} on {info.get('host', 'localhost')}"
    return str(config.data_dir / DATABASE_FILE)
