"""`video-server`: flags (with VIDEO_* environment fallbacks) → Config → run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from longreel.common import logs, numbers
from longreel.common.rlimits import raise_open_files_limit
from longreel.common.tracing import add_flag as add_trace_flag

from . import flags
from .app import StartupError, VideoServer
from .backend import describe_store
from .config import Config
from .gate import trusted_proxies
from .security import AUTH_MODES, describe
from .store import StoreError

MAX_CALLS = 100_000  # --max-calls-in-flight at most: each call holds memory and a task

log = logging.getLogger("longreel.server")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="video-server",
        description="Serve VideoService and google.longrunning.Operations over gRPC, with "
        "workers that run the operations, on an embedded SQLite store.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--listen",
        type=numbers.host_port,
        default=env("VIDEO_LISTEN", "127.0.0.1:50051"),
        help="HOST:PORT to serve gRPC on; port 0 picks a free one [VIDEO_LISTEN]",
    )
    flags.add_store_flags(parser)
    parser.add_argument(
        "--workers",
        type=numbers.int_flag(0, 1000),
        default=env("VIDEO_WORKERS", "2"),
        help="operations run at once in this process [VIDEO_WORKERS]",
    )
    parser.add_argument(
        "--no-workers",
        dest="workers",
        action="store_const",
        const=0,
        default=argparse.SUPPRESS,
        help="serve the API only; other processes run the operations",
    )
    flags.add_work_flags(parser)
    parser.add_argument(
        "--max-backlog",
        type=numbers.int_flag(1, 10**9),
        default=env("VIDEO_MAX_BACKLOG", "10000"),
        help="unfinished operations allowed; past it, creates and deletes answer "
        "RESOURCE_EXHAUSTED [VIDEO_MAX_BACKLOG]",
    )
    parser.add_argument(
        "--retention-hours",
        type=numbers.float_flag(0, 24 * 365 * 100, above=True),
        default=env("VIDEO_RETENTION_HOURS", "168"),
        help="how long finished operations are kept before they expire [VIDEO_RETENTION_HOURS]",
    )
    add_security_flags(parser)
    add_overload_flags(parser)
    flags.add_metrics_flag(parser, "that of --listen")
    logs.add_flags(parser)
    add_trace_flag(parser)
    args = parser.parse_args(argv)
    flags.check_shared(parser, args)
    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    if args.max_backlog < 1 or args.retention_hours <= 0:
        parser.error("--max-backlog must be at least 1 and --retention-hours more than 0")
    return args


def add_overload_flags(parser: argparse.ArgumentParser) -> None:
    """What one caller, and all of them, may hold at once (admission.py, holds.py)."""
    env = os.environ.get
    parser.add_argument(
        "--max-calls-in-flight",
        type=numbers.int_flag(1, MAX_CALLS),
        default=env("VIDEO_MAX_CALLS_IN_FLIGHT", "8000"),
        help="calls served at once; past it, RESOURCE_EXHAUSTED (SERVER_OVERLOADED) with"
        " RetryInfo, counted in longreel_calls_shed_total [VIDEO_MAX_CALLS_IN_FLIGHT]",
    )
    parser.add_argument(
        "--max-waits-per-caller",
        type=numbers.int_flag(1, MAX_CALLS),
        default=env("VIDEO_MAX_WAITS_PER_CALLER", "4000"),
        help="WaitOperation and ReadVideoContent calls one principal (or address, under"
        " --auth none) holds at once; past it, RESOURCE_EXHAUSTED (TOO_MANY_WAITS) with"
        " RetryInfo [VIDEO_MAX_WAITS_PER_CALLER]",
    )


def add_security_flags(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    tls = parser.add_argument_group("TLS (plaintext is allowed on loopback only)")
    tls.add_argument(
        "--tls-cert",
        default=env("VIDEO_TLS_CERT"),
        type=Path,
        metavar="FILE",
        help="PEM certificate chain to serve TLS with [VIDEO_TLS_CERT]",
    )
    tls.add_argument(
        "--tls-key",
        default=env("VIDEO_TLS_KEY"),
        type=Path,
        metavar="FILE",
        help="its PEM private key [VIDEO_TLS_KEY]",
    )
    tls.add_argument(
        "--tls-client-ca",
        default=env("VIDEO_TLS_CLIENT_CA"),
        type=Path,
        metavar="FILE",
        help="PEM CAs that client certificates must chain to (mutual TLS) [VIDEO_TLS_CLIENT_CA]",
    )
    tls.add_argument(
        "--insecure",
        action="store_true",
        help="serve plaintext on an address other than loopback (TLS terminated in front)",
    )
    auth = parser.add_argument_group("authentication: `authorization: Bearer TOKEN` on each call")
    auth.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default=env("VIDEO_AUTH", "none"),
        help="none: every caller is the same one; api-keys: tokens from"
        " --api-keys-file; jwt: tokens signed with --jwt-key [VIDEO_AUTH]",
    )
    auth.add_argument(
        "--api-keys-file",
        default=env("VIDEO_API_KEYS_FILE"),
        type=Path,
        metavar="FILE",
        help="lines of 'token principal' [VIDEO_API_KEYS_FILE]",
    )
    auth.add_argument(
        "--jwt-key",
        default=env("VIDEO_JWT_KEY"),
        type=Path,
        metavar="FILE",
        help="PEM public key (RS/PS/ES/EdDSA) or an HMAC secret of 32+ bytes"
        " (HS256); the principal is the token's sub [VIDEO_JWT_KEY]",
    )
    auth.add_argument(
        "--jwt-issuer",
        default=env("VIDEO_JWT_ISSUER"),
        help="the iss tokens must carry [VIDEO_JWT_ISSUER]",
    )
    auth.add_argument(
        "--jwt-audience",
        default=env("VIDEO_JWT_AUDIENCE"),
        help="the aud tokens must carry [VIDEO_JWT_AUDIENCE]",
    )
    auth.add_argument(
        "--rate-limit",
        type=numbers.float_flag(0, 1e6),
        default=env("VIDEO_RATE_LIMIT", "0"),
        help="calls a second per caller (bursts of twice that); past it,"
        " RESOURCE_EXHAUSTED; 0: no limit [VIDEO_RATE_LIMIT]",
    )
    auth.add_argument(
        "--failed-login-limit",
        type=_failed_login_limit,
        default=env("VIDEO_FAILED_LOGIN_LIMIT", "60"),
        help="failed logins a minute per address (bursts of as many); past it, every"
        " login from there answers RESOURCE_EXHAUSTED; 0: no limit [VIDEO_FAILED_LOGIN_LIMIT]",
    )
    auth.add_argument(
        "--trusted-proxies",
        type=_trusted_proxies,
        default=env("VIDEO_TRUSTED_PROXIES", "loopback"),
        metavar="LIST",
        help="comma-separated addresses or CIDRs (`loopback`: 127.0.0.0/8 and ::1) of proxies,"
        " such as the gateway, whose x-forwarded-for metadata names the caller's address for"
        " the per-address limits; others' is ignored; '' trusts none [VIDEO_TRUSTED_PROXIES]",
    )
    auth.add_argument("--no-reflection", dest="reflection", action="store_false",
                      help="do not serve gRPC reflection")  # fmt: skip


def _failed_login_limit(text: str) -> float:
    """0 (no limit) or 1 to 1e6: below 1 a minute, an address's budget would never refill."""
    number = numbers.float_flag(0, 1e6)(text)
    if 0 < number < 1:
        raise argparse.ArgumentTypeError("must be 0 (no limit) or a number from 1 up to 1e+06")
    return number


def _trusted_proxies(text: str) -> str:
    try:
        trusted_proxies(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated addresses or CIDRs, or loopback, not {text[:80]!r}"
        ) from None
    return text


async def serve(config: Config) -> None:
    server = VideoServer(config)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    # A migration may wait on another server's lock: a signal stops the wait.
    starting = asyncio.ensure_future(server.start())
    signalled = asyncio.ensure_future(stopping.wait())
    await asyncio.wait((starting, signalled), return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("stopping before the store was open")
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)  # start() closes what it opened
        return
    signalled.cancel()
    starting.result()  # a failed start raises here
    host = config.listen.rsplit(":", 1)[0]
    metrics = f"; metrics at {server.metrics.url}" if server.metrics else ""
    logs.announce(
        log,
        f"video-server listening on {host}:{server.port} ({describe(config)}); "
        f"data in {describe_store(config)}; {config.workers} workers{metrics}",
    )
    await stopping.wait()
    log.info("stopping: draining calls and handing back running jobs")
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    raise_open_files_limit()
    config = Config(
        listen=args.listen,
        data_dir=args.data_dir,
        database=args.database,
        workers=args.workers,
        **flags.work_config(args),  # type: ignore[arg-type]
        max_backlog=args.max_backlog,
        retention_seconds=args.retention_hours * 3600,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        insecure=args.insecure,
        auth=args.auth,
        api_keys_file=args.api_keys_file,
        jwt_key=args.jwt_key,
        jwt_issuer=args.jwt_issuer,
        jwt_audience=args.jwt_audience,
        rate_limit=args.rate_limit,
        failed_login_limit=args.failed_login_limit,
        trusted_proxies=args.trusted_proxies,
        max_calls_in_flight=args.max_calls_in_flight,
        max_waits_per_caller=args.max_waits_per_caller,
        reflection=args.reflection,
        otlp_endpoint=args.otlp_endpoint,
        metrics_port=args.metrics_port,
    )
    try:
        asyncio.run(serve(config))
    except (StartupError, StoreError) as exc:
        print(f"video-server: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
