"""`video-gateway`: the REST gateway, served by uvicorn on a socket bound here.

Binding the socket ourselves gives a clear error for a taken port and lets
port 0 report the port it got.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import ssl
import sys
from pathlib import Path

import grpc
import uvicorn
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry

from longreel.common import logs, numbers
from longreel.common.metrics_http import Endpoint, MetricsUnavailable, serve
from longreel.common.net import is_loopback
from longreel.common.rlimits import raise_open_files_limit
from longreel.common.tracing import add_flag as add_trace_flag

from . import edge, hosts, tracing
from .app import create_app
from .bodies import BODY_TIMEOUT
from .connections import fit_to_fd_limit, held_room
from .edge import SEND_TIMEOUT, Limits
from .holds import MAX_HELD, SERVER_STREAMS, HoldLimits
from .metrics import GatewayMetrics

log = logging.getLogger("longreel.gateway")

MIN_TIMEOUT, MAX_TIMEOUT = 0.001, 3600.0  # seconds: any of the edge's deadlines
MAX_CONNECTIONS = 1_000_000  # any connection cap at most: past it is a typo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="video-gateway",
        description="Serve the HTTP async-task API (POST /videos/tasks → 202, then 200 pending / "
        "303 done) in front of the gRPC video-server.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--listen",
        type=numbers.host_port,
        default=env("VIDEO_GATEWAY_LISTEN", "127.0.0.1:4000"),
        help="HOST:PORT to serve HTTP on; port 0 picks a free one [VIDEO_GATEWAY_LISTEN]",
    )
    parser.add_argument(
        "--target",
        type=numbers.host_port,
        default=env("VIDEO_TARGET", "127.0.0.1:50051"),
        help="HOST:PORT of the gRPC video-server [VIDEO_TARGET]",
    )
    parser.add_argument(
        "--tls-ca",
        type=Path,
        default=env("VIDEO_TLS_CA"),
        metavar="FILE",
        help="reach the server over TLS, trusting the PEM CAs in FILE [VIDEO_TLS_CA]",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        default=env("VIDEO_GATEWAY_TLS_CERT"),
        metavar="FILE",
        help="serve HTTPS with this PEM certificate chain [VIDEO_GATEWAY_TLS_CERT]",
    )
    parser.add_argument(
        "--tls-key",
        type=Path,
        default=env("VIDEO_GATEWAY_TLS_KEY"),
        metavar="FILE",
        help="its PEM private key [VIDEO_GATEWAY_TLS_KEY]",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="serve plain HTTP on an address other than loopback (TLS terminated in front)",
    )
    parser.add_argument(
        "--metrics-port",
        type=numbers.port,
        default=env("VIDEO_GATEWAY_METRICS_PORT") or None,
        metavar="PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics, HOST being that of"
        " --listen; 0 picks a free port; off unless given [VIDEO_GATEWAY_METRICS_PORT]",
    )
    bounds = parser.add_argument_group(
        "limits on HTTP callers (past one: an error, and the connection closed)"
    )
    bounds.add_argument(
        "--header-timeout",
        type=numbers.float_flag(MIN_TIMEOUT, MAX_TIMEOUT),
        default=env("VIDEO_GATEWAY_HEADER_TIMEOUT", "10"),
        metavar="SECONDS",
        help="a request's head must arrive within this, or 408 [VIDEO_GATEWAY_HEADER_TIMEOUT]",
    )
    bounds.add_argument(
        "--body-timeout",
        type=numbers.float_flag(MIN_TIMEOUT, MAX_TIMEOUT),
        default=env("VIDEO_GATEWAY_BODY_TIMEOUT", f"{BODY_TIMEOUT:g}"),
        metavar="SECONDS",
        help="a request's body must arrive within this after its head, or 408"
        " [VIDEO_GATEWAY_BODY_TIMEOUT]",
    )
    bounds.add_argument(
        "--max-connections",
        type=numbers.int_flag(1, MAX_CONNECTIONS),
        default=env("VIDEO_GATEWAY_MAX_CONNECTIONS", "4096"),
        metavar="N",
        help="open connections at most (lowered to fit the open-files limit); when full, the"
        " longest idle keep-alive one is closed, else 503 [VIDEO_GATEWAY_MAX_CONNECTIONS]",
    )
    bounds.add_argument(
        "--max-connections-per-address",
        type=numbers.int_flag(1, MAX_CONNECTIONS),
        default=env("VIDEO_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS", "256"),
        metavar="N",
        help="open connections from one client address at most, else 429; behind a proxy all"
        " come from its address: raise it [VIDEO_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS]",
    )
    bounds.add_argument(
        "--send-timeout",
        type=numbers.float_flag(MIN_TIMEOUT, MAX_TIMEOUT),
        default=env("VIDEO_GATEWAY_SEND_TIMEOUT", f"{SEND_TIMEOUT:g}"),
        metavar="SECONDS",
        help="a response may wait this long for a client that stops reading it, then the"
        " connection is closed and its held call released [VIDEO_GATEWAY_SEND_TIMEOUT]",
    )
    bounds.add_argument(
        "--allowed-hosts",
        default=env("VIDEO_GATEWAY_ALLOWED_HOSTS"),
        metavar="NAMES",
        help="comma-separated Host names to answer to, others get 421 (a defence against DNS"
        " rebinding); `loopback` stands for localhost and loopback addresses; * for any;"
        " default: loopback when --listen is loopback, else * [VIDEO_GATEWAY_ALLOWED_HOSTS]",
    )
    add_hold_flags(parser)
    add_trace_flag(parser)
    logs.add_flags(parser)
    args = parser.parse_args(argv)
    logs.check_flags(parser, args)
    if (problem := hold_limits(args).problem()) is not None:
        parser.error(problem)
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        parser.error("--metrics-port must be 0-65535")
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


def add_hold_flags(parser: argparse.ArgumentParser) -> None:
    """Caps on held calls (long polls, event streams, downloads): see holds.py."""
    env, default = os.environ.get, HoldLimits()
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
    for flag, var, value, text in flags:
        parser.add_argument(flag, type=numbers.int_flag(1, MAX_HELD), metavar="N",
                            default=env(var) or value, help=f"{text} [{var}]")  # fmt: skip


def hold_limits(args: argparse.Namespace) -> HoldLimits:
    return HoldLimits(
        per_caller=args.max_waits_per_caller,
        per_address=args.max_waits_per_address,
        total=args.max_waits,
        lanes=args.wait_channels,
    )


def bind(listen: str) -> socket.socket:
    """A listening socket on HOST:PORT, or SystemExit with a message for a person."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"video-gateway: cannot listen on {listen}: {exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_metrics(
    registry: CollectorRegistry, listen: str, port: int, tls: tuple[Path, Path] | None = None
) -> Endpoint:
    """Serve registry on --listen's host at port, over HTTPS when the gateway
    serves HTTPS, or SystemExit with a message for a person."""
    host = listen.rpartition(":")[0].strip("[]") or "127.0.0.1"
    try:
        return serve(registry, host, port, tls)
    except MetricsUnavailable as exc:
        raise SystemExit(f"video-gateway: {exc}") from None


def server(
    sock: socket.socket,
    target: str,
    log_level: str = "info",
    *,
    backend_ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    metrics: GatewayMetrics | None = None,
    tracer_provider: TracerProvider | None = None,
    limits: Limits | None = None,
    allowed_hosts: frozenset[str] | None = None,
    holds: HoldLimits | None = None,
) -> uvicorn.Server:
    credentials = None
    if backend_ca is not None:
        ssl.create_default_context(cafile=backend_ca)  # a bad file fails here, in one line
        credentials = grpc.ssl_channel_credentials(root_certificates=backend_ca.read_bytes())
    config = uvicorn.Config(
        create_app(
            target,
            credentials,
            metrics=metrics,
            tracer_provider=tracer_provider,
            allowed_hosts=allowed_hosts,
            holds=holds,
        ),
        log_config=None,  # uvicorn's loggers write through ours (logs.setup)
        log_level=log_level,
        access_log=False,  # access.AccessLog writes one without query strings
        http=edge.protocol(limits or Limits()),  # bounds on what callers send, and how slowly
        ws="none",
        server_header=False,
        # The caller is its connection's address, never an X-Forwarded-For it
        # wrote: uvicorn would believe one from 127.0.0.1, and the server's
        # per-address limits (failed logins) follow the address we forward.
        proxy_headers=False,
        lifespan="on",
        ssl_certfile=cert,
        ssl_keyfile=key,
    )
    return uvicorn.Server(config)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logs.setup(args.log_level, args.log_format)
    raise_open_files_limit()
    connections = fit_to_fd_limit(args.max_connections)
    limits = Limits(
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=connections,
        max_connections_per_address=args.max_connections_per_address,
        max_held=held_room(connections),
        send_timeout=args.send_timeout,
    )
    sock = bind(args.listen)
    provider = None if args.otlp_endpoint is None else tracing.otlp_provider(args.otlp_endpoint)
    registry, measured = CollectorRegistry(), args.metrics_port is not None
    try:
        gateway = server(
            sock, args.target, args.log_level,
            backend_ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key,
            metrics=GatewayMetrics(registry) if measured else None,
            tracer_provider=provider, limits=limits, holds=hold_limits(args),
            allowed_hosts=hosts.parse(
                hosts.default(args.listen) if args.allowed_hosts is None else args.allowed_hosts
            ),
        )  # fmt: skip
        gateway.config.load()  # reads the certificates now: a bad file is one line, not a trace
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"video-gateway: cannot use the TLS files: {exc}") from None
    metrics_url = ""
    if measured:
        tls = None if args.tls_cert is None else (args.tls_cert, args.tls_key)
        url = serve_metrics(registry, args.listen, args.metrics_port, tls).url
        metrics_url = f"; metrics at {url}"
    host, port = sock.getsockname()[:2]
    scheme = "https" if args.tls_cert else "http"
    backend = f"{args.target} over {'TLS' if args.tls_ca else 'plaintext'}"
    logs.announce(
        log,
        f"video-gateway listening on {scheme}://{host}:{port}; gRPC backend {backend}; "
        f"web page at {scheme}://{host}:{port}/ui, API docs at /docs{metrics_url}",
    )
    try:
        asyncio.run(edge.serve(gateway, [sock], limits))
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        if provider is not None:
            provider.shutdown()  # type: ignore[attr-defined]  # the SDK's: sends what is batched


if __name__ == "__main__":
    main()
