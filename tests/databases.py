"""Real databases for the tests: SQLite files under tmp_path, and PostgreSQL
schemas in one database made for this test run and dropped after it.

PostgreSQL is found at VIDEO_TEST_DATABASE_URL (default: the local server,
user postgres). Without it the PostgreSQL tests skip with one line saying how
to enable them, except on CI (CI=true), where they fail: CI must run them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN_URL = os.environ.get("VIDEO_TEST_DATABASE_URL", LOCAL)
HOW = (
    "PostgreSQL tests need a server at VIDEO_TEST_DATABASE_URL "
    f"({ADMIN_URL}); start one with "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
)


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{HOW} ({reason})")
    pytest.skip(f"{HOW} ({reason})")


@contextmanager
def fresh_database() -> Iterator[str]:
    """A fresh database for this run; yields its URL and drops it afterwards."""
    name = f"longreel_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        _missing(str(exc).strip().splitlines()[0])
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_schema(database_url: str) -> str:
    """A URL whose connections live in a schema of their own (one per test)."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return psycopg.conninfo.make_conninfo(database_url, options=f"-c search_path={schema}")
