"""`video-gateway`: the REST gateway, served by uvicorn on a socket bound here.

Binding the socket ourselves gives a clear error for a taken port and lets
port 0 report the port it got.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import sys
from pathlib import Path

import grpc
import uvicorn
from opentelemetry.trace import TracerProvider
from prometheus_client import CollectorRegistry

from longreel.common import logs
from longreel.common.metrics_http import Endpoint, MetricsUnavailable, serve
from longreel.common.rlimits import raise_open_files_limit
from longreel.common.s3 import BucketError

from . import edge, hosts, tracing
from .app import create_app
from .connections import fit_to_fd_limit, held_room
from .flags import hold_limits, parse_args
from .holds import HoldLimits
from .metrics import GatewayMetrics
from .redirect import Redirects
from .refusals import Limits

log = logging.getLogger("longreel.gateway")


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
    redirects: Redirects | None = None,
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
            redirects=redirects,
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
    redirects = None
    if args.content_redirect:
        try:
            redirects = Redirects(
                args.media_url, endpoint=args.s3_endpoint, region=args.s3_region,
                insecure=args.insecure,
            )  # fmt: skip
        except BucketError as exc:
            raise SystemExit(f"video-gateway: {exc}") from None
    sock = bind(args.listen)
    provider = None if args.otlp_endpoint is None else tracing.otlp_provider(args.otlp_endpoint)
    registry, measured = CollectorRegistry(), args.metrics_port is not None
    try:
        gateway = server(
            sock, args.target, args.log_level,
            backend_ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key,
            metrics=GatewayMetrics(registry) if measured else None,
            tracer_provider=provider, limits=limits, holds=hold_limits(args), redirects=redirects,
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
