"""`video-gateway`'s command line: where it listens and what it forwards to,
its TLS on both sides, and the bounds on what HTTP callers may hold.

Each flag falls back to a VIDEO_* environment variable (common/flags.py);
the bad combinations are refused here, exit 2, before anything is opened.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from longreel.common import logs, numbers, s3
from longreel.common.flags import add_flag
from longreel.common.net import is_loopback
from longreel.common.tracing import add_flag as add_trace_flag

from .bodies import BODY_TIMEOUT
from .holds import MAX_HELD, SERVER_STREAMS, HoldLimits
from .refusals import SEND_TIMEOUT

MIN_TIMEOUT, MAX_TIMEOUT = 0.001, 3600.0  # seconds: any of the edge's deadlines
MAX_CONNECTIONS = 1_000_000  # any connection cap at most: past it is a typo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="video-gateway",
        description="Serve the HTTP async-task API (POST /videos/tasks → 202, then 200 pending / "
        "303 done) in front of the gRPC video-server.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_address_flags(parser)
    add_bound_flags(parser)
    add_hold_flags(parser)
    add_redirect_flags(parser)
    add_trace_flag(parser)
    logs.add_flags(parser)
    args = parser.parse_args(argv)
    if (problem := hold_limits(args).problem()) is not None:
        parser.error(problem)
    if args.content_redirect and not (args.media_url or "").startswith("s3://"):
        parser.error("--content-redirect needs the bucket: --media-url s3://BUCKET/PREFIX")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_ca is None and not args.insecure and not is_loopback(args.target):
        parser.error(
            f"refusing to forward callers' credentials in plaintext to {args.target}, which is"
            " not loopback: give --tls-ca, or --insecure"
        )
    if args.tls_cert is None and not args.insecure and not is_loopback(args.listen):
        parser.error(
            f"refusing to serve plain HTTP on {args.listen}, which is not loopback: give"
            " --tls-cert and --tls-key, or --insecure if something in front terminates TLS"
        )
    return args


def add_address_flags(parser: argparse.ArgumentParser) -> None:
    """Where to listen, what to forward to, TLS on each side, metrics."""
    add_flag(
        parser, "--listen", env="VIDEO_GATEWAY_LISTEN", type=numbers.host_port,
        default="127.0.0.1:4000", help="HOST:PORT to serve HTTP on; port 0 picks a free one",
    )  # fmt: skip
    add_flag(parser, "--target", env="VIDEO_TARGET", type=numbers.host_port,
             default="127.0.0.1:50051", help="HOST:PORT of the gRPC video-server")  # fmt: skip
    for flag, env, text in (
        ("--tls-ca", "VIDEO_TLS_CA", "reach the server over TLS, trusting the PEM CAs in FILE"),
        ("--tls-cert", "VIDEO_GATEWAY_TLS_CERT", "serve HTTPS with this PEM certificate chain"),
        ("--tls-key", "VIDEO_GATEWAY_TLS_KEY", "its PEM private key"),
    ):
        add_flag(parser, flag, env=env, type=Path, metavar="FILE", help=text)
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="serve plain HTTP on an address other than loopback (TLS terminated in front)",
    )
    add_flag(
        parser, "--metrics-port", env="VIDEO_GATEWAY_METRICS_PORT", type=numbers.port,
        metavar="PORT", help="serve Prometheus metrics at http://HOST:PORT/metrics, HOST being"
        " that of --listen; 0 picks a free port; off unless given",
    )  # fmt: skip


def add_redirect_flags(parser: argparse.ArgumentParser) -> None:
    """--content-redirect, and the bucket it signs links to (the server's)."""
    bucket = parser.add_argument_group(
        "files from the bucket: credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"
        " and AWS_SESSION_TOKEN (or the machine's role)"
    )
    bucket.add_argument(
        "--content-redirect", action="store_true",
        help="answer GET /videos/{id}/content and /thumbnail with 307 to a presigned URL"
        " of the file (valid 5 minutes), so its bytes bypass the gateway",
    )  # fmt: skip
    s3.add_flags(
        bucket,
        url_help="s3://BUCKET/PREFIX: the server's --media-url",
        endpoint_help="the S3 API's URL for storage other than AWS's, as callers reach it"
        " (the links name it)",
    )


def add_bound_flags(parser: argparse.ArgumentParser) -> None:
    """Deadlines and connection caps on HTTP callers (edge.py)."""
    bounds = parser.add_argument_group(
        "limits on HTTP callers (past one: an error, and the connection closed)"
    )
    seconds = numbers.float_flag(MIN_TIMEOUT, MAX_TIMEOUT)
    connections = numbers.int_flag(1, MAX_CONNECTIONS)
    add_flag(
        bounds, "--header-timeout", env="VIDEO_GATEWAY_HEADER_TIMEOUT", type=seconds,
        default="10", metavar="SECONDS",
        help="a request's head must arrive within this, or 408",
    )  # fmt: skip
    add_flag(
        bounds, "--body-timeout", env="VIDEO_GATEWAY_BODY_TIMEOUT", type=seconds,
        default=f"{BODY_TIMEOUT:g}", metavar="SECONDS",
        help="a request's body must arrive within this after its head, or 408",
    )  # fmt: skip
    add_flag(
        bounds, "--max-connections", env="VIDEO_GATEWAY_MAX_CONNECTIONS", type=connections,
        default="4096", metavar="N", help="open connections at most (lowered to fit the"
        " open-files limit); when full, the longest idle keep-alive one is closed, else 503",
    )  # fmt: skip
    add_flag(
        bounds, "--max-connections-per-address", env="VIDEO_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS",
        type=connections, default="256", metavar="N", help="open connections from one client"
        " address at most, else 429; behind a proxy all come from its address: raise it",
    )  # fmt: skip
    add_flag(
        bounds, "--send-timeout", env="VIDEO_GATEWAY_SEND_TIMEOUT", type=seconds,
        default=f"{SEND_TIMEOUT:g}", metavar="SECONDS",
        help="a response may wait this long for a client that stops reading it, then the"
        " connection is closed and its held call released",
    )  # fmt: skip
    add_flag(
        bounds, "--allowed-hosts", env="VIDEO_GATEWAY_ALLOWED_HOSTS", metavar="NAMES",
        help="comma-separated Host names to answer to, others get 421 (a defence against DNS"
        " rebinding); `loopback` stands for localhost and loopback addresses; * for any;"
        " default: loopback when --listen is loopback, else *",
    )  # fmt: skip


def add_hold_flags(parser: argparse.ArgumentParser) -> None:
    """Caps on held calls (long polls, event streams, downloads): see holds.py."""
    default = HoldLimits()
    flags = (
        ("--max-waits-per-caller", "VIDEO_GATEWAY_MAX_WAITS_PER_CALLER", default.per_caller,
         "held calls (?wait= long polls, event streams, downloads) per credential, or per"
         " address without one; past it 429 + Retry-After"),
        ("--max-waits-per-address", "VIDEO_GATEWAY_MAX_WAITS_PER_ADDRESS", default.per_address,
         "held calls per client address (IPv6 by /64), whatever its credentials"),
        ("--max-waits", "VIDEO_GATEWAY_MAX_WAITS", default.total, "held calls in all"),
        ("--wait-channels", "VIDEO_GATEWAY_WAIT_CHANNELS", default.lanes,
         "gRPC connections the held calls share (the server allows"
         f" {SERVER_STREAMS} streams on each); short calls keep one of their own"),
    )  # fmt: skip
    for flag, env, value, text in flags:
        add_flag(parser, flag, env=env, type=numbers.int_flag(1, MAX_HELD), metavar="N",
                 default=value, help=text)  # fmt: skip


def hold_limits(args: argparse.Namespace) -> HoldLimits:
    return HoldLimits(
        per_caller=args.max_waits_per_caller,
        per_address=args.max_waits_per_address,
        total=args.max_waits,
        lanes=args.wait_channels,
    )
