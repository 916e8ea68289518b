"""Where the data lives: the store and the signals that travel with it,
chosen once from the Config for video-server and video-worker alike.

The store sends its own signals, after each commit (store.signals): on
SQLite in-process events, on PostgreSQL LISTEN/NOTIFY, which also brings
other processes' signals. This is the one module that knows which store is
which: everything else takes a Backend and asks no type.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from .config import DATABASE_FILE, Config
from .notify import Signals
from .store import Store
from .store.postgres import PostgresStore
from .store.sqlite import SQLiteStore


@dataclass
class Backend:
    """A store and the signals of its changes (its own: store.signals),
    opened and closed together."""

    store: Store

    @property
    def signals(self) -> Signals:
        return self.store.signals

    async def open(self) -> None:
        """Open (and migrate) the store; on PostgreSQL it then listens for signals."""
        await self.store.open()

    async def close(self) -> None:
        """Close the store, its listener first; safe on a backend never opened."""
        await self.store.close()


def open_backend(config: Config) -> Backend:
    """PostgreSQL when config names a database, else SQLite under the data
    directory. Nothing is connected yet: Backend.open() does that."""
    if config.database:
        return Backend(PostgresStore(config.database))
    return Backend(SQLiteStore(config.data_dir / DATABASE_FILE))


def describe_store(config: Config) -> str:
    """Where the data is, for people: the database URL without its password."""
    if config.database:
        info = psycopg.conninfo.conninfo_to_dict(config.database)
        return f"PostgreSQL database {info.get('dbname', '?')} on {info.get('host', 'localhost')}"
    return str(config.data_dir / DATABASE_FILE)
