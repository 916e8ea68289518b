"""`video-server`: flags (with VIDEO_* environment fallbacks) → Config → run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from longreel.common import exits, logs, numbers
from longreel.common.flags import add_flag
from longreel.common.rlimits import raise_open_files_limit

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
    parser = argparse.ArgumentParser(
        prog="video-server",
        description="Serve VideoService and google.longrunning.Operations over gRPC, with "
        "workers that run the operations, on an embedded SQLite store.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_flag(
        parser, "--listen", env="VIDEO_LISTEN", type=numbers.host_port, default="127.0.0.1:50051",
        help="HOST:PORT to serve gRPC on; port 0 picks a free one",
    )  # fmt: skip
    flags.add_store_flags(parser)
    add_flag(parser, "--workers", env="VIDEO_WORKERS", type=numbers.int_flag(0, 1000),
             default="2", help="operations run at once in this process")  # fmt: skip
    parser.add_argument(
        "--no-workers", dest="workers", action="store_const", const=0,
        default=argparse.SUPPRESS, help="serve the API only; other processes run the operations",
    )  # fmt: skip
    flags.add_work_flags(parser)
    add_flag(
        parser, "--max-backlog", env="VIDEO_MAX_BACKLOG", type=numbers.int_flag(1, 10**9),
        default="10000", help="unfinished operations allowed; past it, creates and deletes"
        " answer RESOURCE_EXHAUSTED",
    )  # fmt: skip
    add_flag(
        parser, "--retention-hours", env="VIDEO_RETENTION_HOURS", default="168",
        type=numbers.float_flag(0, 24 * 365 * 100, above=True),
        help="how long finished operations are kept before they expire",
    )  # fmt: skip
    add_security_flags(parser)
    add_overload_flags(parser)
    flags.add_program_flags(parser, "that of --listen")
    return parser.parse_args(argv)


def add_overload_flags(parser: argparse.ArgumentParser) -> None:
    """What one caller, and all of them, may hold at once (admission.py, holds.py)."""
    add_flag(
        parser, "--max-calls-in-flight", env="VIDEO_MAX_CALLS_IN_FLIGHT", default="8000",
        type=numbers.int_flag(1, MAX_CALLS), help="calls served at once; past it,"
        " RESOURCE_EXHAUSTED (SERVER_OVERLOADED) with RetryInfo, counted in"
        " longreel_calls_shed_total",
    )  # fmt: skip
    add_flag(
        parser, "--max-waits-per-caller", env="VIDEO_MAX_WAITS_PER_CALLER", default="4000",
        type=numbers.int_flag(1, MAX_CALLS), help="WaitOperation and ReadVideoContent calls"
        " one principal (or address, under --auth none) holds at once; past it,"
        " RESOURCE_EXHAUSTED (TOO_MANY_WAITS) with RetryInfo",
    )  # fmt: skip


def add_security_flags(parser: argparse.ArgumentParser) -> None:
    tls = parser.add_argument_group("TLS (plaintext is allowed on loopback only)")
    for flag, env, text in (
        ("--tls-cert", "VIDEO_TLS_CERT", "PEM certificate chain to serve TLS with"),
        ("--tls-key", "VIDEO_TLS_KEY", "its PEM private key"),
        ("--tls-client-ca", "VIDEO_TLS_CLIENT_CA",
         "PEM CAs that client certificates must chain to (mutual TLS)"),
    ):  # fmt: skip
        add_flag(tls, flag, env=env, type=Path, metavar="FILE", help=text)
    tls.add_argument(
        "--insecure",
        action="store_true",
        help="serve plaintext on an address other than loopback (TLS terminated in front)",
    )
    auth = parser.add_argument_group("authentication: `authorization: Bearer TOKEN` on each call")
    add_flag(
        auth, "--auth", env="VIDEO_AUTH", choices=AUTH_MODES, default="none",
        help="none: every caller is the same one; api-keys: tokens from"
        " --api-keys-file; jwt: tokens signed with --jwt-key",
    )  # fmt: skip
    add_flag(auth, "--api-keys-file", env="VIDEO_API_KEYS_FILE", type=Path, metavar="FILE",
             help="lines of 'token principal'")  # fmt: skip
    add_flag(
        auth, "--jwt-key", env="VIDEO_JWT_KEY", type=Path, metavar="FILE",
        help="PEM public key (RS/PS/ES/EdDSA) or an HMAC secret of 32+ bytes"
        " (HS256); the principal is the token's sub",
    )  # fmt: skip
    add_flag(auth, "--jwt-issuer", env="VIDEO_JWT_ISSUER", help="the iss tokens must carry")
    add_flag(auth, "--jwt-audience", env="VIDEO_JWT_AUDIENCE", help="the aud tokens must carry")
    add_limit_flags(auth)
    auth.add_argument("--no-reflection", dest="reflection", action="store_false",
                      help="do not serve gRPC reflection")  # fmt: skip


def add_limit_flags(auth: argparse._ArgumentGroup) -> None:
    """Per-caller and per-address rates, and whose word on the address counts."""
    add_flag(
        auth, "--rate-limit", env="VIDEO_RATE_LIMIT", type=numbers.float_flag(0, 1e6),
        default="0", help="calls a second per caller (bursts of twice that); past it,"
        " RESOURCE_EXHAUSTED; 0: no limit",
    )  # fmt: skip
    add_flag(
        auth, "--failed-login-limit", env="VIDEO_FAILED_LOGIN_LIMIT", type=_failed_login_limit,
        default="60", help="failed logins a minute per address (bursts of as many); past it,"
        " every login from there answers RESOURCE_EXHAUSTED; 0: no limit",
    )  # fmt: skip
    add_flag(
        auth, "--trusted-proxies", env="VIDEO_TRUSTED_PROXIES", type=_trusted_proxies,
        default="loopback", metavar="LIST",
        help="comma-separated addresses or CIDRs (`loopback`: 127.0.0.0/8 and ::1) of proxies,"
        " such as the gateway, whose x-forwarded-for metadata names the caller's address for"
        " the per-address limits; others' is ignored; none (or '') trusts none",
    )  # fmt: skip


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
        f"data in {describe_store(config)}; files in {server.media.describe()};"
        f" {config.workers} workers{metrics}",
    )
    await stopping.wait()
    log.info("stopping: draining calls and handing back running jobs")
    await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    raise_open_files_limit()
    config = flags.to_config(args)
    try:
        asyncio.run(serve(config))
    except (StartupError, StoreError) as exc:
        exits.leave(1, f"video-server: {exc}")
    exits.leave(0)


if __name__ == "__main__":
    main()
