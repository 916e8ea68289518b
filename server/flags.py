"""What `video-server` and `video-worker` share on the command line: the store,
the work, logging. Each flag falls back to a VIDEO_* environment variable,
given as a string default so that argparse checks it like a typed flag."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import psycopg

from .app import DATABASE_FILE, MIN_LEASE_SECONDS, Config, default_data_dir

LOG_LEVELS = ("debug", "info", "warning", "error")


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=env("VIDEO_DATA_DIR", str(default_data_dir())),
        help=f"directory of the SQLite database ({DATABASE_FILE}) [VIDEO_DATA_DIR]",
    )
    parser.add_argument(
        "--database",
        default=env("VIDEO_DATABASE_URL") or None,
        help="postgresql://... to share one database among servers and workers; "
        "without it, SQLite under --data-dir [VIDEO_DATABASE_URL]",
    )


def add_work_flags(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--work-seconds",
        type=float,
        default=env("VIDEO_WORK_SECONDS", "5"),
        help="how long the simulated renderer takes per video [VIDEO_WORK_SECONDS]",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=env("VIDEO_LEASE_SECONDS", "30"),
        help="how long a job stays with a worker that stopped heartbeating [VIDEO_LEASE_SECONDS]",
    )


def add_log_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default=os.environ.get("VIDEO_LOG_LEVEL", "info"),
        choices=LOG_LEVELS,
        help="[VIDEO_LOG_LEVEL]",
    )


def check_shared(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse bad values of the shared flags (exit 2); `choices` skips defaults."""
    if args.log_level not in LOG_LEVELS:
        parser.error(f"VIDEO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    if args.work_seconds < 0:
        parser.error("--work-seconds must be 0 or more")
    if args.lease_seconds < MIN_LEASE_SECONDS:
        parser.error(f"--lease-seconds must be at least {MIN_LEASE_SECONDS:g}")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def describe_store(config: Config) -> str:
    """Where the data is, for people: the database URL without its password."""
    if config.database:
        info = psycopg.conninfo.conninfo_to_dict(config.database)
        return f"PostgreSQL database {info.get('dbname', '?')} on {info.get('host', 'localhost')}"
    return str(config.data_dir / DATABASE_FILE)
