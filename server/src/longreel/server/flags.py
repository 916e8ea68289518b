"""What `video-server` and `video-worker` share on the command line (the
store, the work, metrics, logging), and the one function that turns either
program's parsed flags into a Config.

Each flag falls back to a VIDEO_* environment variable (common/flags.py),
given as a string default so that argparse checks it like a typed flag.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from longreel.common import logs, numbers, s3
from longreel.common.flags import add_flag
from longreel.common.tracing import add_flag as add_trace_flag

from .config import DATABASE_FILE, MAX_ATTEMPTS, MIN_LEASE_SECONDS, Config, default_data_dir
from .processor import Profile
from .processor.rendering import MEMORY_MB

PROCESSORS = ("render", "simulated")
DAY = 86400.0  # seconds; the most any duration flag may say
MAX_SIDE = 3840  # pixels: 4K UHD, landscape or portrait
MAX_AREA = 3840 * 2160  # pixels a frame; a 4K render fits in MEMORY_MB
MIN_MEMORY_MB = 512  # less fails every render: an ordinary one maps ~300 MB, a 4K one more


def add_store_flags(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser, "--data-dir", env="VIDEO_DATA_DIR", type=Path, default=str(default_data_dir()),
        help=f"directory of the SQLite database ({DATABASE_FILE})",
    )  # fmt: skip
    add_flag(
        parser, "--database", env="VIDEO_DATABASE_URL",
        help="postgresql://... to share one database among servers and workers; "
        "without it, SQLite under --data-dir",
    )  # fmt: skip


def add_work_flags(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser, "--processor", env="VIDEO_PROCESSOR", choices=PROCESSORS, default="render",
        help="render: real MP4s (PyAV); simulated: sleep --work-seconds",
    )  # fmt: skip
    add_flag(
        parser, "--media-dir", env="VIDEO_MEDIA_DIR", type=Path,
        help="where rendered files go without --media-url (default: media/ under"
        " --data-dir); servers and workers sharing a database must share it too",
    )  # fmt: skip
    add_media_flags(parser)
    add_flag(
        parser, "--render-size", env="VIDEO_RENDER_SIZE", type=render_size, default="640x360",
        help="WIDTHxHEIGHT of rendered videos, even numbers",
    )  # fmt: skip
    add_flag(parser, "--render-fps", env="VIDEO_RENDER_FPS", type=numbers.int_flag(1, 120),
             default="24", help="frames a second")  # fmt: skip
    add_flag(
        parser, "--render-seconds", env="VIDEO_RENDER_SECONDS", default="10",
        type=numbers.float_flag(0, 3600, above=True), help="length of rendered videos",
    )  # fmt: skip
    add_flag(
        parser, "--render-memory-mb", env="VIDEO_RENDER_MEMORY_MB", type=render_memory_mb,
        default=str(MEMORY_MB), metavar="MB",
        help="address space each render may use (RLIMIT_AS); past it the one video fails"
        " with RENDER_OUT_OF_MEMORY; 0: no limit",
    )  # fmt: skip
    add_flag(
        parser, "--work-seconds", env="VIDEO_WORK_SECONDS", type=numbers.float_flag(0, DAY),
        default="5", help="how long the simulated processor takes per video",
    )  # fmt: skip
    add_flag(
        parser, "--lease-seconds", env="VIDEO_LEASE_SECONDS", default="30",
        type=numbers.float_flag(MIN_LEASE_SECONDS, DAY),
        help="how long a job stays with a worker that stopped heartbeating",
    )  # fmt: skip
    add_flag(
        parser, "--max-attempts", env="VIDEO_MAX_ATTEMPTS", default="5", metavar="N",
        type=numbers.int_flag(1, MAX_ATTEMPTS),
        help="tries at a job (its workers failing or dying) before its operation fails",
    )  # fmt: skip


def add_media_flags(parser: argparse.ArgumentParser) -> None:
    """A bucket for rendered files, in place of the folder (media_s3.py)."""
    s3.add_flags(
        parser,
        url_help="s3://BUCKET/PREFIX: keep rendered files in a bucket, shared by every server"
        " and worker, credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and"
        " AWS_SESSION_TOKEN (or the machine's role); file:DIR or absent: the --media-dir folder",
        endpoint_help="the S3 API's URL, for storage other than AWS's (http only on loopback,"
        " unless --insecure)",
    )


def add_program_flags(parser: argparse.ArgumentParser, metrics_host: str) -> None:
    """--metrics-port (served on metrics_host, as --help says), logging and tracing."""
    add_flag(
        parser, "--metrics-port", env="VIDEO_METRICS_PORT", type=numbers.port, metavar="PORT",
        help=f"serve Prometheus metrics at http://HOST:PORT/metrics, HOST being {metrics_host};"
        " 0 picks a free port; off unless given",
    )  # fmt: skip
    logs.add_flags(parser)
    add_trace_flag(parser)


def render_size(text: str) -> tuple[int, int]:
    """An argparse `type=` for WIDTHxHEIGHT: even sides, 16 pixels to 4K."""
    width, _, height = text.partition("x")
    try:  # ASCII digits only: str.isdigit() takes "²", which int() refuses
        size = (numbers.whole(width, 99999), numbers.whole(height, 99999))
    except ValueError:
        raise argparse.ArgumentTypeError("must be WIDTHxHEIGHT, e.g. 640x360") from None
    if min(size) < 16 or any(n % 2 for n in size):
        raise argparse.ArgumentTypeError("both sides must be even and at least 16")
    if max(size) > MAX_SIDE or size[0] * size[1] > MAX_AREA:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SIDE}x{MAX_AREA // MAX_SIDE} (4K)")
    return size


def render_memory_mb(text: str) -> int:
    """0 (no limit) or MIN_MEMORY_MB up: less fails every render."""
    number = numbers.int_flag(0, 1 << 20)(text)
    if 0 < number < MIN_MEMORY_MB:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or {MIN_MEMORY_MB}-1048576")
    return number


def to_config(args: argparse.Namespace) -> Config:
    """The Config that either program's parsed flags ask for. A flag whose
    dest names a Config field sets it; the rest are converted here."""
    given = vars(args)
    values = {field.name: given[field.name] for field in fields(Config) if field.name in given}
    width, height = args.render_size
    values["profile"] = Profile(width, height, args.render_fps, args.render_seconds)
    if "retention_hours" in given:
        values["retention_seconds"] = args.retention_hours * 3600
    return Config(**values)
