"""The SQLite backend, the embedded default: the store (store.py) on the
group-commit writer and reader pool of one database file (db.py)."""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
