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
import sys

import uvicorn

from .app import create_app


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
        default=env("VIDEO_GATEWAY_LISTEN", "127.0.0.1:4000"),
        help="HOST:PORT to serve HTTP on; port 0 picks a free one [VIDEO_GATEWAY_LISTEN]",
    )
    parser.add_argument(
        "--target",
        default=env("VIDEO_TARGET", "127.0.0.1:50051"),
        help="HOST:PORT of the gRPC video-server [VIDEO_TARGET]",
    )
    parser.add_argument(
        "--log-level",
        default=env("VIDEO_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="[VIDEO_LOG_LEVEL]",
    )
    return parser.parse_args(argv)


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


def server(sock: socket.socket, target: str, log_level: str = "info") -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(target),
        log_level=log_level,
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    return uvicorn.Server(config)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sock = bind(args.listen)
    host, port = sock.getsockname()[:2]
    print(
        f"video-gateway listening on http://{host}:{port} (HTTP); gRPC backend {args.target}; "
        f"API docs at http://{host}:{port}/docs",
        flush=True,
    )
    try:
        asyncio.run(server(sock, args.target, args.log_level).serve(sockets=[sock]))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
