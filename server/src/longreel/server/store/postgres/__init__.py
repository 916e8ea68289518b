"""The PostgreSQL backend, for several servers and workers on one database:
the store (store.py) with its transaction steps, group commit, the database's
clock, and the LISTEN/NOTIFY signals between processes, all in one place."""

from .store import PostgresStore

__all__ = ["PostgresStore"]
