"""What `video-server` and `video-worker` share on the command line: the store,
the work, metrics, logging. Each flag falls back to a VIDEO_* environment variable,
given as a string default so that argparse checks it like a typed flag."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from longreel.common import logs, numbers

from .config import DATABASE_FILE, MIN_LEASE_SECONDS, default_data_dir
from .processor import Profile
from .processor.rendering import MEMORY_MB

PROCESSORS = ("render", "simulated")
DAY = 86400.0  # seconds; the most any duration flag may say
MAX_SIDE = 3840  # pixels: 4K UHD, landscape or portrait
MAX_AREA = 3840 * 2160  # pixels a frame; a 4K render fits in MEMORY_MB
MIN_MEMORY_MB = 512  # less fails every render: an ordinary one maps ~300 MB, a 4K one more


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
        "--processor",
        choices=PROCESSORS,
        default=env("VIDEO_PROCESSOR", "render"),
        help="render: real MP4s (PyAV); simulated: sleep --work-seconds [VIDEO_PROCESSOR]",
    )
    parser.add_argument(
        "--media-dir",
        type=Path,
        default=env("VIDEO_MEDIA_DIR"),
        help="where rendered files go (default: media/ under --data-dir); servers and"
        " workers sharing a database must share it too [VIDEO_MEDIA_DIR]",
    )
    parser.add_argument(
        "--render-size",
        default=env("VIDEO_RENDER_SIZE", "640x360"),
        help="WIDTHxHEIGHT of rendered videos, even numbers [VIDEO_RENDER_SIZE]",
    )
    parser.add_argument(
        "--render-fps",
        type=numbers.int_flag(1, 120),
        default=env("VIDEO_RENDER_FPS", "24"),
        help="frames a second [VIDEO_RENDER_FPS]",
    )
    parser.add_argument(
        "--render-seconds",
        type=numbers.float_flag(0, 3600, above=True),
        default=env("VIDEO_RENDER_SECONDS", "10"),
        help="length of rendered videos [VIDEO_RENDER_SECONDS]",
    )
    parser.add_argument(
        "--render-memory-mb",
        type=numbers.int_flag(0, 1 << 20),
        default=env("VIDEO_RENDER_MEMORY_MB", str(MEMORY_MB)),
        metavar="MB",
        help="address space each render may use (RLIMIT_AS); past it the one video fails"
        " with RENDER_OUT_OF_MEMORY; 0: no limit [VIDEO_RENDER_MEMORY_MB]",
    )
    parser.add_argument(
        "--work-seconds",
        type=numbers.float_flag(0, DAY),
        default=env("VIDEO_WORK_SECONDS", "5"),
        help="how long the simulated processor takes per video [VIDEO_WORK_SECONDS]",
    )
    parser.add_argument(
        "--lease-seconds",
        type=numbers.float_flag(MIN_LEASE_SECONDS, DAY),
        default=env("VIDEO_LEASE_SECONDS", "30"),
        help="how long a job stays with a worker that stopped heartbeating [VIDEO_LEASE_SECONDS]",
    )


def add_metrics_flag(parser: argparse.ArgumentParser, host: str) -> None:
    """--metrics-port, served on `host` (for --help: where the host comes from)."""
    parser.add_argument(
        "--metrics-port",
        type=numbers.port,
        default=os.environ.get("VIDEO_METRICS_PORT") or None,
        metavar="PORT",
        help=f"serve Prometheus metrics at http://HOST:PORT/metrics, HOST being {host};"
        " 0 picks a free port; off unless given [VIDEO_METRICS_PORT]",
    )


def check_shared(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse bad values of the shared flags (exit 2); `choices` skips defaults."""
    logs.check_flags(parser, args)
    if args.work_seconds < 0:
        parser.error("--work-seconds must be 0 or more")
    if args.processor not in PROCESSORS:
        parser.error(f"VIDEO_PROCESSOR must be one of {', '.join(PROCESSORS)}")
    check_render(parser, args)
    if not 1 <= args.render_fps <= 120 or not 0 < args.render_seconds <= 3600:
        parser.error("--render-fps must be 1-120 and --render-seconds above 0, up to 3600")
    if args.lease_seconds < MIN_LEASE_SECONDS:
        parser.error(f"--lease-seconds must be at least {MIN_LEASE_SECONDS:g}")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        parser.error("--metrics-port must be 0-65535")


def check_render(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a render size or memory limit that would cost more than is sane."""
    width, _, height = args.render_size.partition("x")
    try:  # ASCII digits only: str.isdigit() takes "²", which int() refuses
        args.render_size = (numbers.whole(width, 99999), numbers.whole(height, 99999))
    except ValueError:
        parser.error("--render-size must be WIDTHxHEIGHT, e.g. 640x360")
    if min(args.render_size) < 16 or any(n % 2 for n in args.render_size):
        parser.error("--render-size: both sides must be even and at least 16")
    if max(args.render_size) > MAX_SIDE or args.render_size[0] * args.render_size[1] > MAX_AREA:
        parser.error(f"--render-size must be at most {MAX_SIDE}x{MAX_AREA // MAX_SIDE} (4K)")
    if not (args.render_memory_mb == 0 or MIN_MEMORY_MB <= args.render_memory_mb <= 1 << 20):
        parser.error(f"--render-memory-mb must be 0 (no limit) or {MIN_MEMORY_MB}-1048576")


def work_config(args: argparse.Namespace) -> dict[str, object]:
    """The Config fields the work flags set."""
    width, height = args.render_size
    return {
        "processor": args.processor,
        "media_dir": args.media_dir,
        "profile": Profile(width, height, args.render_fps, args.render_seconds),
        "render_memory_mb": args.render_memory_mb,
        "work_seconds": args.work_seconds,
        "lease_seconds": args.lease_seconds,
    }
